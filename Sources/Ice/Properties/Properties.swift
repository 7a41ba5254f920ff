#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A thread-safe set of Ice configuration properties (`Name.Sub=value`), with Ice 3.7's config
/// file syntax, command-line parsing and typed getters.
public final class Properties: @unchecked Sendable {
    private struct Value {
        var value: String
        var used: Bool
    }

    private let lock = PropertiesLock()
    private var properties: [String: Value] = [:]

    /// An empty property set.
    public init() {}

    /// A copy of `other`.
    private init(copying other: [String: Value]) {
        properties = other
    }

    /// Builds properties from command-line arguments, like Ice 3.7's `createProperties(args)`:
    /// starts from a copy of `defaults`; sets `Ice.ProgramName` from the first argument unless
    /// already set; consumes `--Ice.Config[=path,path…]` and loads those files (or `$ICE_CONFIG`
    /// when the value is missing or `1`, or when no `Ice.Config` is given at all); then consumes
    /// every `--Prefix.Name=value` / `--Prefix.Name` (value `1`) argument, whatever the prefix,
    /// so the command line wins over the files. Other arguments stay in `arguments`, in order.
    /// Throws `InitializationException` for unreadable files and invalid entries.
    public convenience init(arguments: inout [String], defaults: Properties? = nil) throws {
        self.init(copying: defaults?.snapshot() ?? [:])

        if properties["Ice.ProgramName"] == nil {
            if let first = arguments.first {
                properties["Ice.ProgramName"] = Value(value: String(first.map { $0 == "\\" ? "/" : $0 }), used: true)
            }
        } else {
            properties["Ice.ProgramName"]?.used = true
        }

        var loadConfigFiles = false
        var rest: [String] = []
        for arg in arguments {
            if arg.hasPrefix("--Ice.Config") {
                try parseCommandLineEntry(arg)
                loadConfigFiles = true
            } else {
                rest.append(arg)
            }
        }
        arguments = rest
        if !loadConfigFiles {
            loadConfigFiles = getPropertyIfSet("Ice.Config") == nil
        }
        if loadConfigFiles {
            try loadConfig()
        }
        arguments = try parseCommandLineOptions(arguments) { isPropertyOption($0) }
    }

    // MARK: Reading

    /// The value of `key`, or "" when unset.
    public func getProperty(_ key: String) -> String {
        getPropertyWithDefault(key, "")
    }

    /// The value of `key`, or `value` when unset.
    public func getPropertyWithDefault(_ key: String, _ value: String) -> String {
        getPropertyIfSet(key) ?? value
    }

    /// The value of `key` as a 32-bit integer, or 0 when unset or not a number.
    public func getPropertyAsInt(_ key: String) -> Int {
        getPropertyAsIntWithDefault(key, 0)
    }

    /// The value of `key` as a 32-bit integer (C++ `>>` syntax: optional leading whitespace and
    /// sign, digits only), or `value` when unset or not a number.
    public func getPropertyAsIntWithDefault(_ key: String, _ value: Int) -> Int {
        guard let text = getPropertyIfSet(key), let n = parseCppInt32(text) else { return value }
        return Int(n)
    }

    /// The value of `key` split at whitespace and commas (quotes group, `\"` escapes), or [] .
    public func getPropertyAsList(_ key: String) -> [String] {
        getPropertyAsListWithDefault(key, [])
    }

    /// The value of `key` split like `getPropertyAsList`, or `value` when unset, empty or with
    /// mismatched quotes.
    public func getPropertyAsListWithDefault(_ key: String, _ value: [String]) -> [String] {
        guard let text = getPropertyIfSet(key) else { return value }
        guard let list = iceSplitString(text, delimiters: ", \t\r\n"), !list.isEmpty else { return value }
        return list
    }

    /// The value of `key` as a byte count: a decimal number with an optional binary-multiple
    /// suffix (`B`, `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`, case-insensitive; e.g.
    /// `262144`, `256K`, `1MiB`), or `defaultValue` when unset. Throws `InitializationException`
    /// for anything else, a negative value or an overflow.
    public func getPropertyAsSize(_ key: String, default defaultValue: Int) throws -> Int {
        guard let text = getPropertyIfSet(key) else { return defaultValue }
        guard let size = parseByteSize(text) else {
            throw InitializationException("invalid size value `\(text)' for property `\(key)'")
        }
        return size
    }

    /// All properties whose key starts with `prefix` (all of them for "").
    public func getPropertiesForPrefix(_ prefix: String) -> [String: String] {
        lock.lock()
        defer { lock.unlock() }
        var result: [String: String] = [:]
        for (key, _) in properties where prefix.isEmpty || key.hasPrefix(prefix) {
            properties[key]!.used = true
            result[key] = properties[key]!.value
        }
        return result
    }

    /// Every property as a `--key=value` argument, sorted by key.
    public func getCommandLineOptions() -> [String] {
        snapshot().sorted { $0.key < $1.key }.map { "--\($0.key)=\($0.value.value)" }
    }

    /// The keys of properties that were set but never read.
    public func getUnusedProperties() -> Set<String> {
        Set(snapshot().filter { !$0.value.used }.map(\.key))
    }

    /// An independent copy.
    public func clone() -> Properties {
        Properties(copying: snapshot())
    }

    // MARK: Writing

    /// Sets `key` (surrounding whitespace trimmed) to `value`; an empty value removes the
    /// property. A key that is empty after trimming is ignored.
    public func setProperty(_ key: String, _ value: String) {
        let key = iceTrim(key)
        guard !key.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        if value.isEmpty {
            properties[key] = nil
        } else {
            properties[key] = Value(value: value, used: properties[key]?.used ?? false)
        }
    }

    /// Loads a config file: one `key = value` per line, `#` starts a comment, `\#`, `\=` and `\\`
    /// are literal, other backslashes are kept, whitespace around keys and values is dropped
    /// (`\ ` keeps spaces at the value's edges), a UTF-8 BOM is skipped. Later settings win.
    /// Throws `InitializationException` naming the file (and line) when it cannot be read or a
    /// line is neither blank, a comment nor `key = value`.
    public func load(path: String) throws {
        var bytes = try readConfigFile(path)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
        }
        var lineNumber = 0
        for line in bytes.split(separator: IceChar.lf, omittingEmptySubsequences: false) {
            lineNumber += 1
            try parseLine(Array(line), source: (path, lineNumber))
        }
    }

    /// Consumes the arguments of the form `--prefix.Name=value` or `--prefix.Name` (value `1`),
    /// where `prefix` is e.g. `Ice` or `MyApp` (a trailing `.` is added), and returns the others.
    /// Values follow config-file syntax. Throws `InitializationException` for an invalid entry.
    @discardableResult
    public func parseCommandLineOptions(prefix: String, arguments: [String]) throws -> [String] {
        var pfx = prefix
        if !pfx.isEmpty && !pfx.hasSuffix(".") {
            pfx += "."
        }
        pfx = "--" + pfx
        return try parseCommandLineOptions(arguments) { $0.hasPrefix(pfx) }
    }

    // MARK: Internals

    private func snapshot() -> [String: Value] {
        lock.lock()
        defer { lock.unlock() }
        return properties
    }

    private func getPropertyIfSet(_ key: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard properties[key] != nil else { return nil }
        properties[key]!.used = true
        return properties[key]!.value
    }

    private func parseCommandLineOptions(
        _ arguments: [String], matching matches: (String) -> Bool
    ) throws -> [String] {
        var rest: [String] = []
        for arg in arguments {
            if matches(arg) {
                try parseCommandLineEntry(arg)
            } else {
                rest.append(arg)
            }
        }
        return rest
    }

    /// `--Key=value` (or `--Key`, meaning `Key=1`) in config-file syntax.
    private func parseCommandLineEntry(_ arg: String) throws {
        let entry = String(arg.dropFirst(2))
        try parseLine(entry.contains("=") ? entry : entry + "=1", source: nil)
    }

    /// Whether `arg` looks like `--Prefix.Name[=value]` with a non-empty prefix.
    private func isPropertyOption(_ arg: String) -> Bool {
        guard arg.hasPrefix("--") else { return false }
        let body = arg.utf8.dropFirst(2)
        guard let dot = body.firstIndex(of: IceChar.dot), dot != body.startIndex else { return false }
        if let eq = body.firstIndex(of: IceChar.equals), eq < dot { return false }
        return true
    }

    /// Ice's loadConfig: the files named by `Ice.Config` (comma-separated), or `$ICE_CONFIG`.
    private func loadConfig() throws {
        var value = getProperty("Ice.Config")
        if value.isEmpty || value == "1" {
            if let env = getenv("ICE_CONFIG").map({ String(cString: $0) }), !env.isEmpty {
                value = env
            }
        }
        guard !value.isEmpty else { return }
        for file in iceSplitString(value, delimiters: ",") ?? [] {
            try load(path: iceTrim(file))
        }
        lock.lock()
        properties["Ice.Config"] = Value(value: value, used: true)
        lock.unlock()
    }

    private func parseLine(_ line: String, source: (file: String, line: Int)?) throws {
        try parseLine(Array(line.utf8), source: source)
    }

    /// Ice 3.7's PropertiesI::parseLine.
    private func parseLine(_ line: [UInt8], source: (file: String, line: Int)?) throws {
        var key: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var whitespace: [UInt8] = []
        var escapedSpace: [UInt8] = []
        var i = 0
        scan: while i < line.count {
            var c = line[i]
            if !inValue {
                switch c {
                case IceChar.backslash:
                    if i < line.count - 1 {
                        i += 1
                        c = line[i]
                        switch c {
                        case IceChar.backslash, IceChar.hash, IceChar.equals:
                            key += whitespace
                            whitespace.removeAll()
                            key.append(c)
                        case IceChar.space:
                            if !key.isEmpty { whitespace.append(c) }
                        default:
                            key += whitespace
                            whitespace.removeAll()
                            key.append(IceChar.backslash)
                            key.append(c)
                        }
                    } else {
                        key += whitespace
                        key.append(c)
                    }
                case IceChar.space, IceChar.tab, IceChar.cr, IceChar.lf:
                    if !key.isEmpty { whitespace.append(c) }
                case IceChar.equals:
                    whitespace.removeAll()
                    inValue = true
                case IceChar.hash:
                    break scan
                default:
                    key += whitespace
                    whitespace.removeAll()
                    key.append(c)
                }
            } else {
                switch c {
                case IceChar.backslash:
                    if i < line.count - 1 {
                        i += 1
                        c = line[i]
                        switch c {
                        case IceChar.backslash, IceChar.hash, IceChar.equals:
                            value += value.isEmpty ? escapedSpace : whitespace
                            whitespace.removeAll()
                            escapedSpace.removeAll()
                            value.append(c)
                        case IceChar.space:
                            whitespace.append(c)
                            escapedSpace.append(c)
                        default:
                            value += value.isEmpty ? escapedSpace : whitespace
                            whitespace.removeAll()
                            escapedSpace.removeAll()
                            value.append(IceChar.backslash)
                            value.append(c)
                        }
                    } else {
                        value += value.isEmpty ? escapedSpace : whitespace
                        value.append(c)
                    }
                case IceChar.space, IceChar.tab, IceChar.cr, IceChar.lf:
                    if !value.isEmpty { whitespace.append(c) }
                case IceChar.hash:
                    break scan
                default:
                    value += value.isEmpty ? escapedSpace : whitespace
                    whitespace.removeAll()
                    escapedSpace.removeAll()
                    value.append(c)
                }
            }
            i += 1
        }
        value += escapedSpace

        if (!inValue && !key.isEmpty) || (inValue && key.isEmpty) {
            let text = String(decoding: line, as: UTF8.self)
            if let source {
                throw InitializationException(
                    "\(source.file):\(source.line): invalid config file entry: \"\(text)\"")
            }
            throw InitializationException("invalid property setting: \"\(text)\"")
        }
        if key.isEmpty {
            return  // blank line or comment
        }
        setProperty(String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }
}

/// Parses `262144`, `256K`, `256KiB`, `1M`, `1MiB`, `1G`, … (binary multiples, any case,
/// optionally after a space) into a byte count; nil for anything else or an overflow.
public func parseByteSize(_ text: String) -> Int? {
    let s = iceTrim(text)
    let digits = s.prefix(while: { $0.isASCII && $0.isNumber })
    guard !digits.isEmpty, let number = Int(digits) else { return nil }
    let suffix = iceTrim(String(s.dropFirst(digits.count))).uppercased()
    let multiplier: Int
    switch suffix {
    case "", "B": multiplier = 1
    case "K", "KB", "KIB": multiplier = 1 << 10
    case "M", "MB", "MIB": multiplier = 1 << 20
    case "G", "GB", "GIB": multiplier = 1 << 30
    default: return nil
    }
    let (size, overflow) = number.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : size
}

/// Reads a whole file; failures become `InitializationException` naming the file.
private func readConfigFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        throw InitializationException("cannot open config file `\(path)': \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    var contents: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        contents.append(contentsOf: buffer[0..<n])
        if n < buffer.count {
            if ferror(file) != 0 {
                throw InitializationException("cannot read config file `\(path)': \(String(cString: strerror(errno)))")
            }
            return contents
        }
    }
}

/// A pthread mutex (keeps the module free of Foundation; `Synchronization.Mutex` needs macOS 15).
private final class PropertiesLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
