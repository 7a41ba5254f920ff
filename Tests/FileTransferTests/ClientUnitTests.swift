import Foundation
import Ice
import NIOCore
import XCTest

@testable import FileTransfer

final class ClientUnitTests: XCTestCase {
    // MARK: Sizes

    func testByteSizeParsing() {
        XCTAssertEqual(ByteSize.parse("262144"), 262_144)
        XCTAssertEqual(ByteSize.parse("256K"), 262_144)
        XCTAssertEqual(ByteSize.parse("256KiB"), 262_144)
        XCTAssertEqual(ByteSize.parse("256kib"), 262_144)
        XCTAssertEqual(ByteSize.parse("256 KiB"), 262_144)
        XCTAssertEqual(ByteSize.parse("256KB"), 262_144)
        XCTAssertEqual(ByteSize.parse("1MiB"), 1 << 20)
        XCTAssertEqual(ByteSize.parse("4M"), 4 << 20)
        XCTAssertEqual(ByteSize.parse("1GiB"), 1 << 30)
        XCTAssertEqual(ByteSize.parse(" 12B "), 12)
        XCTAssertNil(ByteSize.parse(""))
        XCTAssertNil(ByteSize.parse("KiB"))
        XCTAssertNil(ByteSize.parse("-1"))
        XCTAssertNil(ByteSize.parse("1.5MiB"))
        XCTAssertNil(ByteSize.parse("12XB"))
        XCTAssertNil(ByteSize.parse("99999999999999999999"))
        XCTAssertNil(ByteSize.parse("9999999999999G"))
    }

    func testByteSizeFormatting() {
        XCTAssertEqual(ByteSize.format(999), "999 B")
        XCTAssertEqual(ByteSize.format(1536), "1.50 KiB")
        XCTAssertEqual(ByteSize.format(262_144), "256 KiB")
        XCTAssertEqual(ByteSize.format(10 << 20), "10.0 MiB")
        XCTAssertEqual(formatDecimal(2.005, digits: 1), "2.0")
        XCTAssertEqual(formatDecimal(0.5, digits: 0), "1")
        XCTAssertEqual(formatDecimal(-1.25, digits: 2), "-1.25")
    }

    // MARK: Exit codes and messages

    func testExitCodeMapping() {
        XCTAssertEqual(ClientErrors.exitCode(for: PathError(reason: "r", path: "p")), .refused)
        XCTAssertEqual(ClientErrors.exitCode(for: ConflictError(reason: "r", path: "p")), .refused)
        XCTAssertEqual(ClientErrors.exitCode(for: RangeError(reason: "r", offset: 1, length: 2, size: 3)), .refused)
        XCTAssertEqual(ClientErrors.exitCode(for: StorageError(reason: "r")), .refused)
        XCTAssertEqual(ClientErrors.exitCode(for: TransferError(reason: "r")), .refused)
        XCTAssertEqual(ClientErrors.exitCode(for: IntegrityError(reason: "r", expected: "a", actual: "b")), .integrity)
        XCTAssertEqual(ClientErrors.exitCode(for: ChecksumMismatchError(path: "p", expected: Checksum(xxh64: 1), actual: Checksum(xxh64: 2))), .integrity)
        XCTAssertEqual(ClientErrors.exitCode(for: LocalFileError(.notFound, path: "p", reason: "r")), .noInput)
        XCTAssertEqual(ClientErrors.exitCode(for: LocalFileError(.unreadable, path: "p", reason: "r")), .noInput)
        XCTAssertEqual(ClientErrors.exitCode(for: LocalFileError(.changed, path: "p", reason: "r")), .noInput)
        XCTAssertEqual(ClientErrors.exitCode(for: LocalFileError(.cannotCreate, path: "p", reason: "r")), .cannotCreate)
        XCTAssertEqual(
            ClientErrors.exitCode(for: ConnectionFailedError(target: "t", attempts: 5, underlying: ConnectionLostException())),
            .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: ConnectionRefusedException("refused")), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: ConnectionLostException()), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: CloseConnectionException()), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: InvocationTimeoutException()), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: DNSException()), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: ObjectNotExistException()), .unavailable)
        XCTAssertEqual(ClientErrors.exitCode(for: UsageError("bad")), .usage)
        XCTAssertEqual(ClientErrors.exitCode(for: ProxyParseException("bad")), .usage)
        XCTAssertEqual(ClientErrors.exitCode(for: EndpointParseException("bad")), .usage)
        XCTAssertEqual(ClientErrors.exitCode(for: InitializationException("bad config")), .usage)
        XCTAssertEqual(ClientErrors.exitCode(for: UnknownLocalException("boom")), .software)
        XCTAssertEqual(ClientErrors.exitCode(for: MarshalException("boom")), .software)
        XCTAssertEqual(ClientErrors.exitCode(for: CancellationError()), .software)
        XCTAssertEqual(ClientExitCode.allCases.map(\.rawValue), [0, 64, 65, 66, 69, 70, 73, 74])
    }

    func testMessages() {
        XCTAssertEqual(
            ClientErrors.message(for: PathError(reason: "the path escapes the root", path: "../x")),
            "refused by server: PathError: the path escapes the root (path: ../x)")
        XCTAssertEqual(
            ClientErrors.message(for: ConflictError(reason: "exists", path: "a")),
            "refused by server: ConflictError: exists (path: a)")
        XCTAssertEqual(
            ClientErrors.message(for: RangeError(reason: "outside", offset: 10, length: 5, size: 12)),
            "refused by server: RangeError: outside (offset: 10, length: 5, size: 12)")
        XCTAssertEqual(ClientErrors.message(for: StorageError(reason: "disk full")), "refused by server: StorageError: disk full")
        XCTAssertEqual(
            ClientErrors.message(for: IntegrityError(reason: "mismatch", expected: "aa", actual: "bb")),
            "integrity check failed: IntegrityError: mismatch (expected: aa, actual: bb)")
        XCTAssertEqual(
            ClientErrors.message(for: ConnectionFailedError(
                target: "store -t:tcp -h h -p 1", attempts: 5, underlying: ConnectionRefusedException("refused"))),
            "cannot reach the server at store -t:tcp -h h -p 1: ConnectionRefusedException: refused (gave up after 5 reconnection attempts)")
        XCTAssertEqual(
            ClientErrors.message(for: LocalFileError(.notFound, path: "/tmp/x", reason: "No such file or directory")),
            "local file not found: /tmp/x: No such file or directory")
    }

    func testConnectionFailureClassification() {
        XCTAssertTrue(ClientErrors.isConnectionFailure(ConnectionLostException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(ConnectionRefusedException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(ConnectFailedException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(CloseConnectionException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(ConnectionManuallyClosedException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(ConnectTimeoutException()))
        XCTAssertTrue(ClientErrors.isConnectionFailure(InvocationTimeoutException()))
        XCTAssertFalse(ClientErrors.isConnectionFailure(PathError(reason: "", path: "")))
        XCTAssertFalse(ClientErrors.isConnectionFailure(MarshalException()))
        XCTAssertFalse(ClientErrors.isConnectionFailure(CommunicatorDestroyedException()))
    }

    // MARK: JSON and text output

    private func sampleResult() -> SendResult {
        SendResult(
            info: FileInfo(path: "dir/a.bin", size: 1_048_576, checksum: "xxh64:" + String(repeating: "ab", count: 8), modified: 1_700_000_000),
            localPath: "/tmp/a.bin", remotePath: "dir/a.bin", bytes: 1_048_576, sentBytes: 786_432, wireBytes: 262_144,
            resumedBytes: 262_144, chunks: 3, compressedChunks: 3, reconnects: 1, seconds: 0.5,
            checksum: Checksum(xxh64: 0xabab_abab_abab_abab), chunkSize: 262_144, window: 8, compression: .auto)
    }

    func testSendJSONSummaryShape() throws {
        let text = try ClientOutput.json(SendSummary(sampleResult()))
        XCTAssertFalse(text.contains("\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(
            Set(object.keys),
            [
                "file", "remote", "bytes", "seconds", "mbps", "chunkSize", "window", "compress", "wireBytes",
                "compressionRatio", "checksum", "resumedBytes", "reconnects", "chunks",
            ])
        XCTAssertEqual(object["file"] as? String, "/tmp/a.bin")
        XCTAssertEqual(object["remote"] as? String, "dir/a.bin")
        XCTAssertEqual(object["bytes"] as? Int, 1_048_576)
        XCTAssertEqual(object["compress"] as? String, "auto")
        XCTAssertEqual(object["window"] as? Int, 8)
        XCTAssertEqual(object["chunkSize"] as? Int, 262_144)
        XCTAssertEqual(object["wireBytes"] as? Int, 262_144)
        XCTAssertEqual(try XCTUnwrap(object["compressionRatio"] as? Double), 3, accuracy: 1e-9)
        // (1 MiB - 256 KiB resumed) in 0.5 s = 1.572864 MB/s.
        XCTAssertEqual(try XCTUnwrap(object["mbps"] as? Double), 1.572864, accuracy: 1e-9)
        XCTAssertEqual(object["resumedBytes"] as? Int, 262_144)
        XCTAssertEqual(object["reconnects"] as? Int, 1)
        XCTAssertEqual(object["checksum"] as? String, "xxh64:" + String(repeating: "ab", count: 8))
        XCTAssertEqual(try JSONDecoder().decode(SendSummary.self, from: Data(text.utf8)), SendSummary(sampleResult()))
    }

    func testTextOutputs() {
        let summary = ClientOutput.summary(sampleResult())
        XCTAssertTrue(summary.hasPrefix("sent /tmp/a.bin -> dir/a.bin: 1.00 MiB (1048576 bytes) in 0.50 s, 1.57 MB/s"), summary)
        XCTAssertTrue(summary.contains("3 chunks of 256 KiB, window 8, compression auto (3 compressed, ratio 3.00"), summary)
        XCTAssertTrue(summary.contains("1 reconnect"), summary)
        XCTAssertTrue(summary.contains("stored: dir/a.bin  1048576 bytes  xxh64 abababababababab  modified "), summary)
        XCTAssertEqual(ClientOutput.formatTime(1_700_000_000), "2023-11-14 22:13:20Z")
        let table = ClientOutput.table([
            FileInfo(path: "a", size: 10, checksum: "", modified: 0),
            FileInfo(path: "dir/b", size: 2048, checksum: "", modified: 0),
        ])
        XCTAssertEqual(table.split(separator: "\n").count, 4)
        XCTAssertTrue(table.contains("2.00 KiB  1970-01-01 00:00:00Z  dir/b"), table)

        let sha = FileInfo(path: "s", size: 3, checksum: "sha256:" + String(repeating: "0f", count: 32), modified: 0)
        XCTAssertEqual(ClientOutput.fileInfoLine(sha), "s  3 bytes  sha256 \(String(repeating: "0f", count: 32))  modified 1970-01-01 00:00:00Z")
        let stat = ClientOutput.statText(FileInfo(path: "x", size: 3, checksum: "xxh64:44bc2cf5ad770999", modified: 0))
        XCTAssertTrue(stat.contains("\nchecksum: xxh64 44bc2cf5ad770999\n"), stat)
        XCTAssertTrue(ClientOutput.fileInfoLine(FileInfo(path: "n", size: 0, checksum: "", modified: 0)).contains("  no checksum  "))
        XCTAssertTrue(ClientOutput.fileInfoLine(FileInfo(path: "n", size: 0, checksum: "crc:1", modified: 0)).contains("  checksum crc:1  "))
        let progress = ClientOutput.progressLine(TransferProgress(
            bytesDone: 512 * 1024, totalBytes: 1 << 20, elapsed: .seconds(1), inFlight: 3, reconnects: 0,
            bytesPerSecond: 524_288, eta: .seconds(1), isFinal: false))
        XCTAssertEqual(progress, "512 KiB / 1.00 MiB 50.0%  0.52 MB/s  ETA 0:01  in flight 3")
    }

    // MARK: Settings

    func testSettingsPrecedence() throws {
        let temp = try TempDir()
        let config = try temp.file("ftclient.conf", Array("""
            # test config
            FileClient.Proxy = store:tcp -h 10.0.0.1 -p 4000
            FileClient.ChunkSize = 1MiB
            FileClient.Window = 4
            FileClient.Compress = auto
            FileClient.Level = 6
            FileClient.Checksum = sha256
            FileClient.Timeout = 0
            FileClient.Progress = 0
            """.utf8))
        var args = ["ftclient", "--Ice.Config=\(config)", "--FileClient.Window=5"]
        let properties = try Properties(arguments: &args)
        let fromConfig = try ClientSettings.resolve(properties, flags: .init())
        XCTAssertEqual(fromConfig.proxy, "store:tcp -h 10.0.0.1 -p 4000")
        XCTAssertEqual(fromConfig.chunkSize, 1 << 20)
        XCTAssertEqual(fromConfig.window, 5, "the command-line property wins over the file")
        XCTAssertEqual(fromConfig.compression, .auto)
        XCTAssertEqual(fromConfig.level, 6)
        XCTAssertEqual(fromConfig.checksum, .sha256)
        XCTAssertEqual(fromConfig.sendOptions.checksum, .sha256)
        XCTAssertEqual(fromConfig.downloadOptions.checksum, .sha256)
        XCTAssertNil(fromConfig.timeout)
        XCTAssertFalse(fromConfig.progress)

        var flags = ClientSettings.Flags()
        flags.chunkSize = "64KiB"
        flags.window = 2
        flags.compress = "off"
        flags.port = 5000
        flags.checksum = "XXH64"
        let fromFlags = try ClientSettings.resolve(properties, flags: flags)
        XCTAssertEqual(fromFlags.checksum, .xxh64, "the flag wins over the file")
        XCTAssertEqual(fromFlags.sendOptions.checksum, .xxh64)
        XCTAssertEqual(fromFlags.proxy, "store:tcp -h 127.0.0.1 -p 5000")
        XCTAssertEqual(fromFlags.chunkSize, 64 * 1024)
        XCTAssertEqual(fromFlags.window, 2)
        XCTAssertEqual(fromFlags.compression, .off)
        XCTAssertEqual(fromFlags.sendOptions.chunkSize, 64 * 1024)
        XCTAssertEqual(fromFlags.downloadOptions.window, 2)

        let defaults = try ClientSettings.resolve(Properties(), flags: .init())
        XCTAssertEqual(defaults, ClientSettings())
        XCTAssertEqual(defaults.proxy, "store:tcp -h 127.0.0.1 -p 10000")
        XCTAssertEqual(defaults.chunkSize, 256 * 1024)
        XCTAssertEqual(defaults.window, .auto, "auto is the default window")
        XCTAssertEqual(defaults.maxInFlight, 64 << 20)
        XCTAssertEqual(defaults.checksum, .xxh3, "XXH3 is the default checksum")
        XCTAssertEqual(SendOptions().checksum, .xxh3)
        XCTAssertEqual(DownloadOptions().checksum, .xxh3)
    }

    func testInvalidSettings() {
        func fails(_ configure: (inout ClientSettings.Flags) -> Void, _ props: [String] = []) {
            var flags = ClientSettings.Flags()
            configure(&flags)
            var args = ["ftclient"] + props
            XCTAssertThrowsError(try ClientSettings.resolve(try Properties(arguments: &args), flags: flags)) { error in
                XCTAssertEqual(ClientErrors.exitCode(for: error), .usage, "\(error)")
            }
        }
        fails { $0.chunkSize = "12XB" }
        fails { $0.chunkSize = "0" }
        fails { $0.chunkSize = "65MiB" }
        fails { $0.window = 0 }
        fails { $0.compress = "maybe" }
        fails { $0.level = 10 }
        fails { $0.checksum = "md5" }
        fails({ _ in }, ["--FileClient.Checksum=sha-256"])
        fails { $0.proxy = "p"; $0.port = 1 }
        fails { $0.port = 70000 }
        fails({ _ in }, ["--FileClient.Window=many"])
        fails({ _ in }, ["--FileClient.Progress=perhaps"])
    }

    func testMessageSizeMaxFitsTheChunk() {
        XCTAssertEqual(ClientSettings.messageSizeMaxKiB(forChunkSize: 256 * 1024), 1024)
        XCTAssertEqual(ClientSettings.messageSizeMaxKiB(forChunkSize: 4 << 20), 4096 + 64)
        let p = Properties()
        ClientSettings.applyMessageSizeMax(to: p, chunkSize: 8 << 20)
        XCTAssertEqual(p.getProperty("Ice.MessageSizeMax"), "8256")
        let q = Properties()
        q.setProperty("Ice.MessageSizeMax", "100")
        ClientSettings.applyMessageSizeMax(to: q, chunkSize: 8 << 20)
        XCTAssertEqual(q.getProperty("Ice.MessageSizeMax"), "100", "the user's setting is kept")
    }

    // MARK: Codec

    func testZlibChunkRoundTrip() throws {
        let data = ByteBuffer(bytes: textBytes(100_000))
        let z = try ZlibChunk.compress(data, level: 1)
        XCTAssertLessThan(z.readableBytes, 50_000)
        XCTAssertEqual(ZlibChunk.decompress(z, length: 100_000), data)
        XCTAssertNil(ZlibChunk.decompress(z, length: 99_999))
        XCTAssertNil(ZlibChunk.decompress(z, length: 100_001))
        XCTAssertNil(ZlibChunk.decompress(ByteBuffer(bytes: [1, 2, 3]), length: 3))
        let empty = try ZlibChunk.compress(ByteBuffer(), level: 1)
        XCTAssertEqual(ZlibChunk.decompress(empty, length: 0)?.readableBytes, 0)
    }
}
