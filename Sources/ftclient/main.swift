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
      73  get: cannot create or write the local file
      74  integrity failure: checksum mismatch (IntegrityError on commit,
          or a download that does not match the server's SHA-256)
    """

let settingsHelp = """
    Every option is also a property, read from the config file (--config FILE
    or --Ice.Config=FILE) or given as --FileClient.Name=value. Flags win over
    properties, properties over the defaults:
      FileClient.Proxy      store:tcp -h 127.0.0.1 -p 10000     (--proxy)
      FileClient.Host/Port  proxy store:tcp -h HOST -p PORT  (--host/--port)
      FileClient.ChunkSize  256KiB  bytes per request, KiB/MiB suffixes
      FileClient.Window     8       requests outstanding at most (--window)
      FileClient.Compress   off     off | on | auto (--compress)
      FileClient.Level      1       zlib level, 1 to 9 (--level)
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
        subcommands: [Send.self, Get.self, List.self, StatCommand.self])
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

    @Option(help: "Requests outstanding at most (1 waits for each reply).")
    var window: Int?

    @Flag(help: "No progress display (it is shown only when stderr is a terminal).")
    var noProgress = false
}

/// A resolved configuration with its communicator.
final class ClientContext {
    let settings: ClientSettings
    let communicator: Communicator
    let store: StorePrx

    init(connection: ConnectionOptions, transfer: TransferOptions? = nil, send: Send? = nil) throws {
        var args = ["ftclient"] + PropertyArguments.values
        if let config = connection.config {
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
        flags.window = transfer?.window
        flags.noProgress = transfer?.noProgress ?? false
        flags.compress = send?.compress
        flags.level = send?.level
        flags.overwrite = send?.overwrite ?? false
        flags.resume = send?.resume ?? false
        settings = try ClientSettings.resolve(properties, flags: flags)
        ClientSettings.applyMessageSizeMax(to: properties, chunkSize: settings.chunkSize)
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
            requests outstanding, verifies it with SHA-256 on commit and prints the
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
        abstract: "Download a file (pipelined reads, verified with SHA-256).",
        discussion: """
            Writes REMOTE to LOCAL (into it if LOCAL is a directory) through a
            temporary LOCAL.ftpart, renamed into place once its SHA-256 matches the
            server's. \(seeExitCodes)
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
        commandName: "stat", abstract: "Describe a file on the server (size, SHA-256, modification time).",
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

// Line-buffer nothing: progress uses stderr, results stdout, both unbuffered via FileHandle.
var arguments = Array(CommandLine.arguments.dropFirst())
PropertyArguments.values = arguments.filter(PropertyArguments.isProperty)
arguments.removeAll(where: PropertyArguments.isProperty)
FTClient.main(arguments)
