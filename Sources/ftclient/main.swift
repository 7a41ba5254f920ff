import ArgumentParser
import FileTransfer
import Foundation
import Ice
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// ftclient: sends, fetches, lists and describes files on an ftserver (or any server of
// slice/FileTransfer.ice). The transfer logic lives in FileTransfer's `Sender` and `Downloader`;
// this file parses the command line, resolves the settings and prints results.

/// `--Name.Sub=value` arguments (Ice and FileClient properties), taken out before
/// ArgumentParser sees the command line.
enum PropertyArguments {
    nonisolated(unsafe) static var values: [String] = []

    /// Whether `arg` is `--Prefix.Name[=value]` with a capitalised prefix (`--Ice.Trace.Network=1`,
    /// `--FileClient.Window=4`), as opposed to a flag such as `--chunk-size=1.5` or a path.
    static func isProperty(_ arg: String) -> Bool {
        guard arg.hasPrefix("--"), let first = arg.dropFirst(2).first, first.isUppercase else { return false }
        let name = arg.dropFirst(2).prefix(while: { $0 != "=" })
        return name.contains(".")
    }
}

let exitCodesHelp = """
    Exit status:
      0   success
      64  usage: invalid command line, option, proxy or configuration
      65  refused by the server: PathError, ConflictError, RangeError,
          StorageError
      66  the local file does not exist or cannot be read
      69  cannot connect, or the connection failed after every retry
      70  internal error, or an unexpected failure of the server
      73  get: cannot create or write the local file; tune --save: cannot
          write the config file
      74  integrity failure: checksum mismatch (IntegrityError on commit,
          or a download that does not match the server's checksum)
      130 tune interrupted (Ctrl-C); its scratch upload was aborted
    """

let settingsHelp = """
    Every option is also a property, read from the config file (--config FILE
    or --Ice.Config=FILE; without either, config/ftclient.conf if it exists,
    else ~/.config/floe/ftclient.conf if it exists) or given as
    --FileClient.Name=value. Flags win over properties, properties over the
    defaults:
      FileClient.Proxy      store:tcp -h 127.0.0.1 -p 10000     (--proxy)
      FileClient.Host/Port  proxy store:tcp -h HOST -p PORT  (--host/--port)
      FileClient.ChunkSize  256KiB  bytes per request, KiB/MiB suffixes
      FileClient.Window     auto    requests outstanding at most (--window N),
                                    or auto: twice the measured bandwidth-delay
                                    product (ftclient tune measures the link)
      FileClient.MaxInFlight 64MiB  memory cap of auto (--max-in-flight)
      FileClient.Compress   off     off | on | auto (--compress)
      FileClient.Level      1       zlib level, 1 to 9 (--level)
      FileClient.Checksum   xxh3    xxh3 | xxh64 | sha256: checksum of send and get
                                    (--checksum)
      FileClient.Retries    5       reconnections in a row (--retries)
      FileClient.RetryDelay 200     first reconnection delay (ms), doubled
      FileClient.Timeout    60      per-request timeout (s), 0 = none
      FileClient.Progress   1       progress on a terminal (--no-progress)
      FileClient.Overwrite, FileClient.Resume, FileClient.Json    0
    --Ice.* arguments configure the Ice runtime. Ice.MessageSizeMax is raised
    to fit a chunk (chunk + 64 KiB) unless set.
    """

let seeExitCodes = "Exit statuses: see ftclient --help."

struct FTClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ftclient",
        abstract: "Send and fetch files through a Floe file-transfer server (Ice protocol).",
        discussion: settingsHelp + "\n\n" + exitCodesHelp,
        subcommands: [Send.self, Get.self, List.self, StatCommand.self, Tune.self])
}

/// Options every command shares: where the server is and how to configure the client.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Stringified proxy of the store.", valueName: "proxy"))
    var proxy: String?

    @Option(help: "Server host (with --port; the proxy becomes store:tcp -h HOST -p PORT).")
    var host: String?

    @Option(help: "Server port.")
    var port: Int?

    @Option(help: ArgumentHelp("Config file with FileClient.* and Ice.* properties.", valueName: "file"))
    var config: String?

    @Option(help: "Reconnections in a row (without progress) before giving up.")
    var retries: Int?

    @Flag(help: "Print one JSON object (or array) instead of text.")
    var json = false
}

/// Options of the commands that transfer data.
struct TransferOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Bytes per request, e.g. 262144, 256KiB, 1MiB.", valueName: "size"))
    var chunkSize: String?

    @Option(help: ArgumentHelp(
        "Requests outstanding at most (1 waits for each reply), or auto (the default): twice the measured bandwidth-delay product.",
        valueName: "n|auto"))
    var window: String?

    @Option(help: ArgumentHelp("Memory cap of --window auto: bytes of chunks outstanding at most (default 64MiB).", valueName: "size"))
    var maxInFlight: String?

    @Option(help: ArgumentHelp(
        "End-to-end checksum: xxh3 (the default, fastest), xxh64, or sha256 (cryptographic, comparable with sha256sum).",
        valueName: "xxh3|xxh64|sha256"))
    var checksum: String?

    @Flag(help: "No progress display (it is shown only when stderr is a terminal).")
    var noProgress = false
}

/// A resolved configuration with its communicator.
final class ClientContext {
    let settings: ClientSettings
    let communicator: Communicator
    let store: StorePrx

    /// - Parameter minimumChunkSize: raise Ice.MessageSizeMax for chunks this large too (tune).
    init(connection: ConnectionOptions, transfer: TransferOptions? = nil, send: Send? = nil, minimumChunkSize: Int = 0) throws {
        var args = ["ftclient"] + PropertyArguments.values
        var config = connection.config
        if config == nil, !args.contains(where: { $0.hasPrefix("--Ice.Config=") }) {
            let path = ClientConfigFile.defaultPath()
            if FileManager.default.fileExists(atPath: path) { config = path }
        }
        if let config {
            if let i = args.firstIndex(where: { $0.hasPrefix("--Ice.Config=") }) {
                args[i] += "," + config
            } else {
                args.insert("--Ice.Config=\(config)", at: 1)
            }
        }
        let properties = try Properties(arguments: &args)
        var flags = ClientSettings.Flags()
        flags.proxy = connection.proxy
        flags.host = connection.host
        flags.port = connection.port
        flags.retries = connection.retries
        flags.json = connection.json
        flags.chunkSize = transfer?.chunkSize
        if let text = transfer?.window {
            guard let w = WindowSetting.parse(text) else {
                throw UsageError("invalid window `\(text)': expected auto or 1 to 1024")
            }
            flags.window = w
        }
        flags.maxInFlight = transfer?.maxInFlight
        flags.checksum = transfer?.checksum
        flags.noProgress = transfer?.noProgress ?? false
        flags.compress = send?.compress
        flags.level = send?.level
        flags.overwrite = send?.overwrite ?? false
        flags.resume = send?.resume ?? false
        settings = try ClientSettings.resolve(properties, flags: flags)
        ClientSettings.applyMessageSizeMax(to: properties, chunkSize: max(settings.chunkSize, minimumChunkSize))
        var logger = Logger(label: "ftclient")
        logger.logLevel = .error
        communicator = Communicator(properties: properties, logger: logger)
        do {
            guard let store = try communicator.stringToProxy(settings.proxy, as: StorePrx.self) else {
                throw UsageError("the proxy is empty; set --proxy or FileClient.Proxy")
            }
            self.store = store
        } catch {
            communicator.destroy()
            throw error
        }
    }

    deinit { communicator.destroy() }

    /// Progress on stderr when it is a terminal and not disabled.
    var showProgress: Bool { settings.progress && !settings.json && isatty(STDERR_FILENO) == 1 }

    func progressPrinter() -> (@Sendable (TransferProgress) -> Void)? {
        guard showProgress else { return nil }
        return { p in
            var line = "\r" + ClientOutput.progressLine(p) + "\u{1B}[K"
            if p.isFinal { line += "\n" }
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Runs one request, retrying it after connection failures like the transfers do.
    func retrying<T>(_ body: () throws -> T) throws -> T {
        try withConnectionRetries(
            target: store.description, retries: settings.retries, initialDelay: settings.retryDelay,
            onRetry: reconnectPrinter(), body)
    }

    func reconnectPrinter() -> @Sendable (Int, any Error) -> Void {
        let retries = settings.retries
        let progress = showProgress
        return { attempt, error in
            let text = (progress ? "\r\u{1B}[K" : "")
                + "ftclient: \(ClientErrors.message(for: error)); reconnecting (\(attempt)/\(retries))\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }
}

/// Prints `error` as `ftclient: …` and turns it into the matching exit status.
func failure(_ error: any Error) -> any Error {
    if error is ExitCode || error is CleanExit { return error }
    let code = ClientErrors.exitCode(for: error)
    FileHandle.standardError.write(Data("ftclient: \(ClientErrors.message(for: error))\n".utf8))
    return ExitCode(code.rawValue)
}

func printLine(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload a file (pipelined, resumable, optionally compressed).",
        discussion: """
            Sends FILE to REMOTE_PATH (default: the file's name) with up to --window
            requests outstanding, has the server verify it on commit with its
            checksum (XXH3, or another with --checksum) and prints the
            stored file. A lost connection is survived: ftclient reconnects and
            resumes from what the server received. --resume also continues an
            upload interrupted in an earlier run. \(seeExitCodes)
            """)

    @Argument(help: "The local file.")
    var file: String

    @Argument(help: "The path on the server (default: the file's name).")
    var remotePath: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var transfer: TransferOptions

    @Option(help: ArgumentHelp("off, on (deflate every chunk) or auto (only chunks that shrink).", valueName: "mode"))
    var compress: String?

    @Option(help: "zlib level, 1 (fast) to 9 (small).")
    var level: Int?

    @Flag(help: "Continue an interrupted upload of the same path and size.")
    var resume = false

    @Flag(help: "Replace an existing file.")
    var overwrite = false

    func run() throws {
        do {
            let context = try ClientContext(connection: connection, transfer: transfer, send: self)
            defer { context.communicator.destroy() }
            let remote = remotePath ?? (file.split(separator: "/").last.map(String.init) ?? file)
            let sender = Sender(store: context.store, options: context.settings.sendOptions)
            sender.onProgress = context.progressPrinter()
            sender.onReconnect = context.reconnectPrinter()
            let result = try sender.send(file: file, to: remote)
            if context.settings.json {
                printLine(try ClientOutput.json(SendSummary(result)))
            } else {
                printLine(ClientOutput.summary(result))
            }
        } catch {
            throw failure(error)
        }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a file (pipelined reads, verified with the server's checksum).",
        discussion: """
            Writes REMOTE to LOCAL (into it if LOCAL is a directory) through a
            temporary LOCAL.ftpart, renamed into place once it matches the checksum
            the server reports (XXH3). --checksum sha256 also prints its SHA-256.
            \(seeExitCodes)
            """)

    @Argument(help: "The path on the server.")
    var remote: String

    @Argument(help: "The local file or directory (default: the remote file's name).")
    var local: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var transfer: TransferOptions

    func run() throws {
        do {
            let context = try ClientContext(connection: connection, transfer: transfer)
            defer { context.communicator.destroy() }
            let downloader = Downloader(store: context.store, options: context.settings.downloadOptions)
            downloader.onProgress = context.progressPrinter()
            downloader.onReconnect = context.reconnectPrinter()
            let destination = local ?? (remote.split(separator: "/").last.map(String.init) ?? remote)
            let result = try downloader.download(remote, to: destination)
            if context.settings.json {
                printLine(try ClientOutput.json(GetSummary(result)))
            } else {
                printLine(ClientOutput.summary(result))
            }
        } catch {
            throw failure(error)
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the files of a directory on the server.",
        discussion: seeExitCodes)

    @Argument(help: "The directory (default: the root).")
    var dir: String = ""

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let context = try ClientContext(connection: connection)
            defer { context.communicator.destroy() }
            let infos = try context.retrying { try context.store.list(dir: dir) }
            if context.settings.json {
                printLine(try ClientOutput.json(infos.map(FileInfoJSON.init)))
            } else {
                printLine(ClientOutput.table(infos))
            }
        } catch {
            throw failure(error)
        }
    }
}

struct StatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat", abstract: "Describe a file on the server (size, XXH3 checksum, modification time).",
        discussion: seeExitCodes)

    @Argument(help: "The path on the server.")
    var path: String

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let context = try ClientContext(connection: connection)
            defer { context.communicator.destroy() }
            let info = try context.retrying { try context.store.stat(path: path) }
            if context.settings.json {
                printLine(try ClientOutput.json(FileInfoJSON(info)))
            } else {
                printLine(ClientOutput.statText(info))
            }
        } catch {
            throw failure(error)
        }
    }
}

struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the link to a server and recommend --chunk-size and --window.",
        discussion: """
            Measures the round trip (median of 20 pings), then sends generated data
            to a scratch upload (.tune-<random>.tmp, aborted at the end, never
            committed) with chunks of 64KiB, 256KiB and 1MiB and windows 1, 2, 4,
            8, 16, 32 (a window is doubled only while that raised throughput by more
            than 5 %), each for an equal slice of --seconds. Prints a table (chunk,
            window, MB/s, note) and recommends the smallest window within 3 % of the
            best throughput, and for it the smallest chunk. --save writes them as
            FileClient.ChunkSize and FileClient.Window into the config file (--config,
            else config/ftclient.conf if it exists, else
            ~/.config/floe/ftclient.conf), keeping its other lines. \(seeExitCodes)
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Seconds the whole measurement may take.")
    var seconds: Double = 10

    @Flag(help: "Write the recommendation into the config file.")
    var save = false

    func run() throws {
        do {
            guard seconds.isFinite, seconds >= 1, seconds <= 3600 else {
                throw UsageError("invalid --seconds \(seconds): expected 1 to 3600")
            }
            var options = TuneOptions()
            options.duration = .milliseconds(Int64(seconds * 1000))
            let context = try ClientContext(connection: connection, minimumChunkSize: options.chunkSizes.max() ?? 0)
            defer { context.communicator.destroy() }
            options.invocationTimeout = context.settings.timeout
            let tuner = Tuner(store: context.store, options: options)
            let json = context.settings.json
            if !json, isatty(STDERR_FILENO) == 1 {
                tuner.onRow = { row in
                    let line = "  measured \(ByteSize.format(Int64(row.chunkSize))) x \(row.window): "
                        + "\(String(format: "%.2f", row.megabytesPerSecond)) MB/s\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            }
            // Ctrl-C stops the sweep; the scratch upload is still aborted.
            signal(SIGINT, SIG_IGN)
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            interrupt.setEventHandler { tuner.cancel() }
            interrupt.resume()
            defer { interrupt.cancel() }
            let result: TuneResult
            do {
                result = try tuner.run()
            } catch is TuneCancelled {
                FileHandle.standardError.write(Data("ftclient: tune interrupted; the scratch upload was aborted\n".utf8))
                throw ExitCode(130)
            }
            var savedTo: String?
            if save {
                let path = connection.config ?? ClientConfigFile.defaultPath()
                do {
                    try ClientConfigFile.save(
                        [("FileClient.ChunkSize", ClientConfigFile.sizeText(result.recommendedChunkSize)),
                         ("FileClient.Window", String(result.recommendedWindow))],
                        to: path)
                } catch {
                    throw LocalFileError(.cannotCreate, path: path, reason: "\(error)")
                }
                savedTo = path
            }
            if let error = result.abortError {
                FileHandle.standardError.write(Data(
                    "ftclient: warning: could not abort the scratch upload \(result.scratchPath) (\(error)); the server removes it once it expires\n".utf8))
            }
            if json {
                printLine(try ClientOutput.json(TuneSummary(result, savedTo: savedTo)))
            } else {
                printLine(ClientOutput.tuneReport(result, savedTo: savedTo))
            }
        } catch {
            throw failure(error)
        }
    }
}

// Line-buffer nothing: progress uses stderr, results stdout, both unbuffered via FileHandle.
var arguments = Array(CommandLine.arguments.dropFirst())
PropertyArguments.values = arguments.filter(PropertyArguments.isProperty)
arguments.removeAll(where: PropertyArguments.isProperty)
FTClient.main(arguments)
