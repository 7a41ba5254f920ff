import Dispatch
import Foundation
import Ice
import NIOConcurrencyHelpers
import NIOCore

/// Our implementation of Test.ice's Echo, using all three dispatch styles.
final class EchoI: EchoServant {
    private let recordedValues = NIOLockedValueBox<[Int32]>([])
    /// When set, `byteCount` forwards to this proxy and returns its future (AMD chaining).
    let forward: EchoPrx?

    init(forward: EchoPrx? = nil) {
        self.forward = forward
    }

    func add(a: Int32, b: Int32, current: Current) throws -> Int32 { a &+ b }

    func concat(a: String, b: String, current: Current) async throws -> (returnValue: String, length: Int32) {
        let s = a + b
        return (s, Int32(s.utf8.count))
    }

    func roundTrip(v: AllTypes, current: Current) throws -> (returnValue: AllTypes, copy: AllTypes) { (v, v) }

    func echoBytes(bytes: ByteBuffer, current: Current) throws -> ByteBuffer { bytes }

    func byteCount(bytes: ByteBuffer, current: Current) throws -> Future<Int32> {
        if let forward { return try forward.byteCountAsync(bytes) }
        return Future.completed(Int32(bytes.readableBytes))
    }

    func record(value: Int32, current: Current) throws {
        recordedValues.withLockedValue { $0.append(value) }
    }

    func recorded(current: Current) throws -> [Int32] {
        recordedValues.withLockedValue { v in
            defer { v = [] }
            return v
        }
    }

    func throwBase(reason: String, current: Current) throws { throw BaseError(reason: reason) }

    func throwDerived(reason: String, code: Int32, current: Current) async throws {
        throw DerivedError(reason: reason, code: code)
    }

    func getSelf(current: Current) throws -> EchoPrx? {
        uncheckedCast(current.adapter?.createProxy(current.id), to: EchoPrx.self)
    }

    /// Completed later from another thread (AMD): the dispatch thread is free meanwhile.
    func sleep(ms: Int32, current: Current) throws -> Future<Void> {
        let f = Future<Void>()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(ms))) { f.setResult(()) }
        return f
    }

    func context(current: Current) throws -> Context { current.ctx }
}

final class ControllerI: ControllerServant {
    let adapter: ObjectAdapter

    init(adapter: ObjectAdapter) { self.adapter = adapter }

    func holdAdapter(current: Current) throws { adapter.hold() }
    func activateAdapter(current: Current) throws { adapter.activate() }
    func shutdown(current: Current) throws { adapter.communicator.shutdown() }
}

/// A Swift server implementing Test.ice on loopback.
final class SwiftTestServer {
    let communicator: Communicator
    let testAdapter: ObjectAdapter
    let controlAdapter: ObjectAdapter

    init(properties: [String] = [], forward: EchoPrx? = nil) throws {
        communicator = try Communicator(
            ["--Ice.ThreadPool.Server.Size=4", "--Ice.ThreadPool.Server.Serialize=1",
             "--Test.Endpoints=tcp -h 127.0.0.1 -p 0", "--Control.Endpoints=tcp -h 127.0.0.1 -p 0"] + properties)
        testAdapter = try communicator.createObjectAdapter("Test")
        controlAdapter = try communicator.createObjectAdapter("Control")
        try testAdapter.add(EchoI(forward: forward), identity: Identity(name: "echo"))
        try controlAdapter.add(ControllerI(adapter: testAdapter), identity: Identity(name: "controller"))
        testAdapter.activate()
        controlAdapter.activate()
    }

    var echoProxy: String { "echo:tcp -h 127.0.0.1 -p \(testAdapter.endpoints[0].port) -t 10000" }
    var controllerProxy: String { "controller:tcp -h 127.0.0.1 -p \(controlAdapter.endpoints[0].port) -t 10000" }

    func stop() { communicator.destroy() }
}
