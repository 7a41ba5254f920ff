// ftserver: the Floe file-transfer server. The logic lives in FileTransfer's `FileServer`; this
// file parses the command line, sets up logging and signals, and runs it.
import ArgumentParser
import Dispatch
import FileTransfer
import Ice
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct ServerOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ftserver",
        abstract: "Serve file uploads and downloads over Ice (slice/FileTransfer.ice).",
        discussion: """
            Every option is also a property of the configuration file (FileServer.Root, \
            FileServer.Endpoints, FileServer.Workers, FileServer.QueueLimit, FileServer.MaxFileSize, \
            FileServer.PublishedEndpoints, FileServer.UploadTimeout, ...; see config/ftserver.conf). \
            Any --Name.Property=value argument (e.g. --Ice.Trace.Network=1, --FileServer.MaxChunkSize=8M) \
            sets that property. Precedence: options > --Name.Property arguments > the configuration file. \
            SIGINT/SIGTERM stop the server gracefully (a second signal exits at once).
            """)

    @Option(name: .long, help: ArgumentHelp("Configuration file in Ice property syntax.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Directory the files are stored in (FileServer.Root).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("Endpoints to listen on, e.g. \"tcp -h 127.0.0.1 -p 10000\" (FileServer.Endpoints).", valueName: "endpoints"))
    var endpoints: String?

    @Option(name: .customLong("published-endpoints"), help: ArgumentHelp("Endpoints put in the upload proxies (FileServer.PublishedEndpoints).", valueName: "endpoints"))
    var publishedEndpoints: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads that inflate and write chunks (FileServer.Workers).", valueName: "n"))
    var workers: Int?

    @Option(name: .customLong("queue-limit"), help: ArgumentHelp("Most chunks held at once; beyond it the server stops reading (FileServer.QueueLimit).", valueName: "n"))
    var queueLimit: Int?

    @Option(name: .customLong("max-file-size"), help: ArgumentHelp("Largest file accepted, e.g. 10G; 0 = no limit (FileServer.MaxFileSize).", valueName: "size"))
    var maxFileSize: String?

    @Option(name: .customLong("upload-timeout"), help: ArgumentHelp("Seconds after which an idle upload is removed (FileServer.UploadTimeout).", valueName: "seconds"))
    var uploadTimeout: Int?

    @Flag(name: .long, help: "Log debug messages.")
    var verbose = false

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let queueLimit, queueLimit < 1 { throw ValidationError("--queue-limit must be at least 1") }
        if let uploadTimeout, uploadTimeout < 1 { throw ValidationError("--upload-timeout must be at least 1 second") }
    }

    /// The properties: the configuration file, then `--Name.Property` arguments, then options.
    func properties(propertyArguments: [String]) throws -> Properties {
        let fromFile = Properties()
        if let config {
            try fromFile.load(path: config)
        }
        var arguments = ["ftserver"] + propertyArguments
        let properties = try Properties(arguments: &arguments, defaults: fromFile)
        let prefix = FileServerConfig.adapterName
        func set(_ name: String, _ value: String?) {
            if let value { properties.setProperty("\(prefix).\(name)", value) }
        }
        set("Root", root)
        set("Endpoints", endpoints)
        set("PublishedEndpoints", publishedEndpoints)
        set("Workers", workers.map { "\($0)" })
        set("QueueLimit", queueLimit.map { "\($0)" })
        set("MaxFileSize", maxFileSize)
        set("UploadTimeout", uploadTimeout.map { "\($0)" })
        return properties
    }
}

/// Splits `--Name.Property[=value]` arguments (for the Ice properties) from the options.
func splitPropertyArguments(_ arguments: [String]) -> (properties: [String], options: [String]) {
    var properties: [String] = []
    var options: [String] = []
    for argument in arguments {
        let body = argument.dropFirst(2)
        let name = body.prefix { $0 != "=" }
        if argument.hasPrefix("--"), let dot = name.firstIndex(of: "."), dot != name.startIndex,
           name[name.index(after: dot)...].isEmpty == false
        {
            properties.append(argument)
        } else {
            options.append(argument)
        }
    }
    return (properties, options)
}

/// Writes `ftserver: message` to stderr in one write (unbuffered, so scripts see it at once).
func printError(_ message: String) {
    var line = Array("ftserver: \(message)\n".utf8)
    var written = 0
    while written < line.count {
        let n = line.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + written, $0.count - written) }
        if n <= 0 { break }
        written += n
    }
}

LargeBufferAllocation.useSeparateMappings()
let (propertyArguments, optionArguments) = splitPropertyArguments(Array(CommandLine.arguments.dropFirst()))
let options = ServerOptions.parseOrExit(optionArguments)

let level: Logger.Level = options.verbose ? .debug : .info
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = level
    return handler
}

let communicator: Communicator
let server: FileServer
do {
    let properties = try options.properties(propertyArguments: propertyArguments)
    communicator = Communicator(properties: properties, logger: Logger(label: "ice"))
    do {
        server = try FileServer(communicator: communicator, config: FileServerConfig(properties: properties))
        try server.start()
    } catch {
        communicator.destroy()
        throw error
    }
} catch {
    printError("\(error)")
    exit(1)
}

// Tests and scripts parse this line (with `-p 0` it carries the real port).
printError("listening on \(server.endpointsDescription)")

/// Counts signals; touched only on the signal queue.
final class SignalState: @unchecked Sendable {
    var count = 0
}

/// SIGINT/SIGTERM: the first calls `onStop` (once), a second one exits at once. The handlers run
/// on a dispatch queue (not the main actor), so this function is not isolated.
func installSignalHandlers(onStop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let queue = DispatchQueue(label: "ftserver.signals")
    let state = SignalState()
    return [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler {
            state.count += 1
            if state.count == 1 {
                printError("signal \(number) received: stopping (finishing queued chunks; signal again to exit at once)")
                onStop()
            } else {
                printError("second signal: exiting at once")
                exit(1)
            }
        }
        source.resume()
        return source
    }
}

// Graceful stop: stop accepting, reply to every queued chunk, flush, exit 0.
let stopRequested = DispatchSemaphore(value: 0)
let signalSources = installSignalHandlers { stopRequested.signal() }
stopRequested.wait()
server.stop()
communicator.destroy()
printError("stopped")
exit(0)
