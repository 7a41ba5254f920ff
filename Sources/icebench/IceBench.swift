import ArgumentParser
import Foundation
import Ice
import NIOCore

/// Small-request benchmarks for the Ice runtime: synchronous `ice_ping` round trips and
/// oneway `send` calls per second. `scripts/icebench_ref.py` does the same with the real Ice 3.7
/// runtime (Python), so both are measured in one run.
@main
struct IceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icebench", abstract: "Ice runtime micro-benchmarks (round trips and oneways per second).",
        subcommands: [Server.self, Ping.self, Oneway.self, Throughput.self])

    struct Server: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve Demo::FileTransfer as identity 'bench' until stdin closes.")
        @Option(help: "Endpoints to listen on.") var endpoints = "tcp -h 127.0.0.1 -p 0"

        func run() throws {
            let communicator = try Communicator(["--Bench.Endpoints=\(endpoints)", "--Ice.ThreadPool.Server.Size=1", "--Ice.MessageSizeMax=65536"])
            let adapter = try communicator.createObjectAdapter("Bench")
            try adapter.add(BenchServant(), identity: Identity(name: "bench"))
            adapter.activate()
            FileHandle.standardOutput.write(Data("READY \(adapter.endpoints[0].port)\n".utf8))
            while readLine() != nil {}
            communicator.destroy()
        }
    }

    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Synchronous ice_ping round trips; prints calls/s.")
        @Option(help: "Proxy of the target.") var proxy: String
        @Option(help: "Number of calls.") var count = 20000

        func run() throws {
            let communicator = try Communicator([])
            defer { communicator.destroy() }
            guard let p = try communicator.stringToProxy(proxy) else { throw ValidationError("null proxy") }
            try p.ice_ping()
            let start = ContinuousClock.now
            for _ in 0..<count { try p.ice_ping() }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            print(String(format: "ping %d calls %.3f s %.0f calls/s", count, seconds, Double(count) / seconds))
        }
    }

    struct Oneway: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Oneway send(offset, bytes) calls; prints calls/s.")
        @Option(help: "Proxy of the target.") var proxy: String
        @Option(help: "Number of calls.") var count = 100_000
        @Option(help: "Bytes per call.") var size = 1024

        func run() throws {
            let communicator = try Communicator([])
            defer { communicator.destroy() }
            guard let p = try communicator.stringToProxy(proxy, as: BenchPrx.self) else { throw ValidationError("null proxy") }
            let payload = ByteBuffer(bytes: [UInt8](repeating: 7, count: size))
            let oneway = p.ice_oneway()
            let start = ContinuousClock.now
            var last: InvocationFuture<Void>?
            for i in 0..<count {
                let f = try oneway.sendAsync(offset: Int64(i), bytes: payload)
                // Flow control: wait until each request is sent before issuing the next.
                _ = try f.sent()
                last = f
            }
            _ = try last?.result()
            try p.ice_ping()  // the server has read everything before this round trip returns
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            print(String(format: "oneway %d calls %.3f s %.0f calls/s", count, seconds, Double(count) / seconds))
        }
    }

    struct Throughput: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Twoway send(offset, bytes) of CHUNK bytes with WINDOW outstanding; prints MB/s of the runtime alone (no disk, no hashing).")
        @Option(help: "Proxy of the target.") var proxy: String
        @Option(help: "Total bytes.") var total = 1 << 30
        @Option(help: "Bytes per call.") var chunk = 1 << 20
        @Option(help: "Calls outstanding.") var window = 4
        @Flag(help: "Allocate a new buffer for every call (as a file sender does) instead of reusing one.")
        var freshBuffers = false

        func run() throws {
            let communicator = try Communicator(["--Ice.MessageSizeMax=65536"])
            defer { communicator.destroy() }
            guard let p = try communicator.stringToProxy(proxy, as: BenchPrx.self) else { throw ValidationError("null proxy") }
            let payload = ByteBuffer(bytes: [UInt8](repeating: 7, count: chunk))
            try p.ice_ping()
            let start = ContinuousClock.now
            var outstanding: [InvocationFuture<Void>] = []
            var offset = 0
            while offset < total {
                if outstanding.count == window { try outstanding.removeFirst().result() }
                var bytes = payload
                if freshBuffers {
                    bytes = ByteBufferAllocator().buffer(capacity: chunk)
                    bytes.writeRepeatingByte(UInt8(truncatingIfNeeded: offset >> 20), count: chunk)
                }
                let f = try p.sendAsync(offset: Int64(offset), bytes: bytes)
                _ = try f.sent()
                outstanding.append(f)
                offset += chunk
            }
            for f in outstanding { try f.result() }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            print(String(format: "throughput %d bytes %.3f s %.1f MB/s", total, seconds, Double(total) / seconds / 1e6))
        }
    }
}
