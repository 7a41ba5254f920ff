import Foundation
import Ice
import XCTest

// Foundation has stream classes with the same names; these tests mean the Ice encoders.
typealias OutputStream = Ice.OutputStream
typealias InputStream = Ice.InputStream

/// One capture of real Ice 3.7 traffic from `../shared/ice-protocol/vectors` (see its README):
/// every message of one TCP connection, in causal order, and the order in which the two sides
/// closed it.
///
/// Line format: `S>C <hex>` / `C>S <hex>` (a whole message, header included) and comments such
/// as `# S>C EOF` (that side closed its end).
struct VectorFile {
    enum Direction: String, Sendable {
        case serverToClient = "S>C"
        case clientToServer = "C>S"
    }

    struct Message {
        var direction: Direction
        var bytes: [UInt8]
        /// 1-based line in the file, for failure messages.
        var line: Int
    }

    let name: String
    let messages: [Message]
    /// The `# X>Y EOF` comments, in file order: who closed first.
    let eofs: [Direction]

    /// The vectors folder: `$ICE_VECTORS_DIR`, else `<repo root>/../shared/ice-protocol/vectors`.
    static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["ICE_VECTORS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        // #filePath = <repo>/Tests/IceTests/VectorFile.swift
        let repoRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repoRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/ice-protocol/vectors", isDirectory: true)
    }

    /// Skips the calling test when the captures are not available (e.g. a bare checkout).
    static func requireDirectory() throws -> URL {
        let dir = directory
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("README.md").path) else {
            throw XCTSkip("Ice wire captures not found at \(dir.path) (set ICE_VECTORS_DIR)")
        }
        return dir
    }

    /// The names (without `.hex`) of every capture, sorted.
    static func allNames() throws -> [String] {
        let dir = try requireDirectory()
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".hex") }
            .map { String($0.dropLast(4)) }
            .sorted()
    }

    static func load(_ name: String) throws -> VectorFile {
        let url = try requireDirectory().appendingPathComponent("\(name).hex")
        let text = try String(contentsOf: url, encoding: .utf8)
        var messages: [Message] = []
        var eofs: [Direction] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let words = line.dropFirst().split(separator: " ")
                if words.count == 2, words[1] == "EOF", let d = Direction(rawValue: String(words[0])) {
                    eofs.append(d)
                }
                continue
            }
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let d = Direction(rawValue: String(parts[0])),
                let bytes = [UInt8](hex: String(parts[1]))
            else {
                throw VectorFileError(message: "\(name).hex:\(i + 1): cannot parse line '\(line.prefix(40))'")
            }
            messages.append(Message(direction: d, bytes: bytes, line: i + 1))
        }
        return VectorFile(name: name, messages: messages, eofs: eofs)
    }

    /// The messages sent in one direction.
    func messages(_ direction: Direction) -> [Message] {
        messages.filter { $0.direction == direction }
    }

    /// The only message sent in `direction` with message type `type` (throws otherwise).
    func only(_ direction: Direction, type: UInt8) throws -> [UInt8] {
        let found = messages(direction).filter { $0.bytes.count > 8 && $0.bytes[8] == type }
        guard found.count == 1 else {
            throw VectorFileError(message: "\(name): expected one \(direction.rawValue) message of type \(type), found \(found.count)")
        }
        return found[0].bytes
    }
}

struct VectorFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Array where Element == UInt8 {
    /// Parses a hex string (even length, no separators); nil if malformed.
    init?(hex: String) {
        let utf8 = Array<UInt8>(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }

    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
