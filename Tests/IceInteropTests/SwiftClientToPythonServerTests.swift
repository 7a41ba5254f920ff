import Foundation
import Ice
import NIOCore
import XCTest

/// Our client against the real Ice 3.7 Python server (`Tests/Interop/interop_server.py`): the
/// scenarios of `interop_expectations.md`, from the client side. Values and error types are the
/// ones observed with the real Ice client.
final class SwiftClientToPythonServerTests: XCTestCase {
    var server: PythonTestServer!
    var communicator: Communicator!
    var echo: EchoPrx!
    var controller: ControllerPrx!

    override func setUpWithError() throws {
        server = try PythonTestServer(extraArguments: ["--message-size-max", "8192"])
        communicator = try makeInteropCommunicator()
        echo = try XCTUnwrap(communicator.stringToProxy(server.echoProxy, as: EchoPrx.self))
        controller = try XCTUnwrap(communicator.stringToProxy(server.controllerProxy, as: ControllerPrx.self))
    }

    override func tearDown() {
        communicator?.destroy()
        server?.stop()
    }

    // MARK: twoway

    func testTwowayWithReturnAndOutParameters() throws {
        XCTAssertEqual(try echo.add(2, 3), 5)
        XCTAssertEqual(try echo.add(-7, 3), -4)
        XCTAssertEqual(try echo.add(2_147_483_640, 7), Int32.max)
        XCTAssertEqual(try echo.add(Int32.min, 0), Int32.min)
        XCTAssertEqual(try echo.add(Int32.max, 1), Int32.min)

        let empty = try echo.concat("", "")
        XCTAssertEqual(empty.returnValue, "")
        XCTAssertEqual(empty.length, 0)
        let r = try echo.concat("foo", "bar")
        XCTAssertEqual(r.returnValue, "foobar")
        XCTAssertEqual(r.length, 6)
        let u = try echo.concat("héllo", " wörld €")
        XCTAssertEqual(u.returnValue, "héllo wörld €")
        XCTAssertEqual(u.length, 17)
    }

    func testStringsOfAtLeast255BytesUseTheFiveByteSize() throws {
        let a = String(repeating: "x", count: 300)
        let b = String(repeating: "é", count: 200)
        let r = try echo.concat(a, b)
        XCTAssertEqual(r.returnValue, a + b)
        XCTAssertEqual(r.length, 700)
        let y254 = String(repeating: "y", count: 254)
        XCTAssertEqual(try echo.concat(y254, "").length, 254)
        let r255 = try echo.concat(y254, "z")
        XCTAssertEqual(r255.length, 255)
        XCTAssertEqual(r255.returnValue, y254 + "z")
        let huge = String(repeating: "ü", count: 70_000)
        XCTAssertEqual(try echo.concat(huge, "").length, 140_000)
    }

    func testAllTypesRoundTrip() throws {
        var full = AllTypes()
        full.b = true; full.by = 0xFE; full.s = Int16.min; full.i = Int32.min; full.l = Int64.min
        full.f = -1.5; full.d = -1e300; full.str = "ünïcødé ✓"; full.color = .blue
        full.points = [Point(x: 1, y: -2), Point(x: Int32.max, y: Int32.min)]
        full.dict = ["a": 1, "": -1, "ключ": Int32.max]
        full.strings = ["", "x", String(repeating: "ü", count: 300)]
        let rt = try echo.roundTrip(full)
        XCTAssertEqual(rt.returnValue, full)
        XCTAssertEqual(rt.copy, full)

        var extremes = AllTypes()
        extremes.b = false; extremes.by = 0x7F; extremes.s = Int16.max; extremes.i = Int32.max
        extremes.l = Int64.max; extremes.f = Float.greatestFiniteMagnitude; extremes.d = 2.2250738585072014e-308
        extremes.color = .green
        let rt2 = try echo.roundTrip(extremes)
        XCTAssertEqual(rt2.returnValue, extremes)
        XCTAssertEqual(rt2.copy, extremes)
    }

    func testByteSequencesTravelIntact() throws {
        XCTAssertEqual(Array(buffer: interopPayload(600, seed: 3)), (0..<600).map { UInt8((($0 % 251) * 31 + 3) % 251) })
        XCTAssertEqual(try echo.echoBytes(ByteBuffer()).readableBytes, 0)
        XCTAssertEqual(try echo.byteCount(ByteBuffer()), 0)
        let bytes = interopPayload(100 * 1024, seed: 3)
        XCTAssertEqual(try echo.echoBytes(bytes), bytes)
        XCTAssertEqual(try echo.byteCount(bytes), 102_400)
    }

    // MARK: oneway

    func testOnewayFuturesCompleteOnceSentAndAreAppliedInOrder() throws {
        XCTAssertEqual(try echo.recorded(), [])
        let oneway = echo.ice_oneway()
        XCTAssertTrue(oneway.ice_isOneway)
        let sentWhenDone = Locked<[Bool]>([])
        var futures: [InvocationFuture<Void>] = []
        for v in Int32(1)...5 {
            let f = try oneway.recordAsync(v)
            f.addDoneCallback { f in
                let sent = (f as? InvocationFuture<Void>)?.isSent ?? false
                sentWhenDone.with { $0.append(sent) }
            }
            futures.append(f)
        }
        for f in futures {
            XCTAssertNoThrow(try f.result(timeout: .seconds(10)))
            XCTAssertTrue(f.isSent)
            XCTAssertTrue(f.isDone)
            XCTAssertNil(try f.exception(timeout: .seconds(1)))
        }
        XCTAssertEqual(sentWhenDone.get, [true, true, true, true, true])
        XCTAssertEqual(try echo.recorded(), [1, 2, 3, 4, 5])
        XCTAssertEqual(try echo.recorded(), [])
    }

    func testDataReturningOperationOnOnewayProxyThrowsTwowayOnlyDirectly() throws {
        assertThrowsExactly(TwowayOnlyException.self) { try echo.ice_oneway().addAsync(1, 2) }
        assertThrowsExactly(TwowayOnlyException.self) { try echo.ice_batchOneway().recordedAsync() }
        assertThrowsExactly(TwowayOnlyException.self) { try echo.ice_oneway().throwBaseAsync("x") }
        // A void operation without a throws clause is fine on a oneway proxy.
        XCTAssertNoThrow(try echo.ice_oneway().recordAsync(7).result(timeout: .seconds(10)))
        XCTAssertEqual(try echo.recorded(), [7])
    }

    func testAsyncCallAfterDestroyThrowsCommunicatorDestroyedDirectly() throws {
        let c = try makeInteropCommunicator()
        let e = try XCTUnwrap(c.stringToProxy(server.echoProxy, as: EchoPrx.self))
        XCTAssertEqual(try e.add(1, 1), 2)
        c.destroy()
        assertThrowsExactly(CommunicatorDestroyedException.self) { try e.addAsync(1, 2) }
        assertThrowsExactly(CommunicatorDestroyedException.self) { try e.ice_oneway().recordAsync(1) }
        assertThrowsExactly(CommunicatorDestroyedException.self) { try e.ice_batchOneway().recordAsync(1) }
        assertThrowsExactly(CommunicatorDestroyedException.self) { try e.ice_pingAsync() }
    }

    // MARK: batch oneway

    func testBatchOnewayFlushedByProxy() throws {
        let batch = echo.ice_batchOneway()
        XCTAssertTrue(batch.ice_isBatchOneway)
        for v in Int32(10)...12 {
            let f = try batch.recordAsync(v)
            XCTAssertTrue(f.isDone, "a batch request completes when queued")
            XCTAssertTrue(f.isSentSynchronously)
        }
        let flush = batch.ice_flushBatchRequestsAsync()
        XCTAssertNoThrow(try flush.result(timeout: .seconds(10)))
        XCTAssertTrue(flush.isSent)
        XCTAssertEqual(try echo.recorded(), [10, 11, 12])
    }

    func testThousandBatchedRequestsFlushedByConnection() throws {
        let batch = echo.ice_batchOneway()
        for v in Int32(0)..<1000 { _ = try batch.recordAsync(v) }
        let connection = try batch.ice_getConnection()
        XCTAssertTrue(try echo.ice_getConnection() === connection)
        XCTAssertNoThrow(try connection.flushBatchRequestsAsync().result(timeout: .seconds(10)))
        XCTAssertEqual(try echo.recorded(), Array(0..<1000))
        // Nothing left: an empty flush completes at once.
        let empty = connection.flushBatchRequestsAsync()
        XCTAssertTrue(empty.isDone)
        XCTAssertTrue(empty.isSentSynchronously)
    }

    func testBatchFlushedByCommunicator() throws {
        let batch = echo.ice_batchOneway()
        _ = try batch.recordAsync(20)
        _ = try batch.recordAsync(21)
        XCTAssertNoThrow(try communicator.flushBatchRequestsAsync().result(timeout: .seconds(10)))
        XCTAssertEqual(try echo.recorded(), [20, 21])
    }

    func testBatchAutoFlushSize() throws {
        let c = try makeInteropCommunicator(["--Ice.BatchAutoFlushSize=1"])
        defer { c.destroy() }
        let e = try XCTUnwrap(c.stringToProxy(server.echoProxy, as: EchoPrx.self))
        let batch = e.ice_batchOneway()
        // Each batched `record` to `echo` is 26 bytes (identity 6, facet 1, "record" 7, mode 1,
        // context 1, encapsulation 10): a batch of 1 KiB holds 39 of them, and adding one more
        // sends it first. 100 requests: two batches sent by themselves, 22 left.
        for v in Int32(0)..<100 { _ = try batch.recordAsync(v) }
        XCTAssertEqual(try e.recorded(), Array(0..<78))
        try batch.ice_flushBatchRequests()
        XCTAssertEqual(try e.recorded(), Array(78..<100))
    }

    // MARK: user exceptions

    func testUserExceptions() throws {
        let base = assertThrowsExactly(BaseError.self) { try echo.throwBase("base reason") }
        XCTAssertEqual(base?.reason, "base reason")
        XCTAssertEqual(base?.ice_id, "::Test::BaseError")

        let derived = assertThrowsExactly(DerivedError.self) { try echo.throwDerived("derived reason", 42) }
        XCTAssertEqual(derived?.reason, "derived reason")
        XCTAssertEqual(derived?.code, 42)
        XCTAssertEqual(derived?.ice_id, "::Test::DerivedError")

        XCTAssertEqual(assertThrowsExactly(BaseError.self) { try echo.throwBase("") }?.reason, "")
        let ru = assertThrowsExactly(DerivedError.self) { try echo.throwDerived("ошибка", Int32.min) }
        XCTAssertEqual(ru?.reason, "ошибка")
        XCTAssertEqual(ru?.code, Int32.min)

        // Through the future: the error is reported by `exception()`.
        let f = try echo.throwDerivedAsync("caught as base", -1)
        let e = try f.exception(timeout: .seconds(10))
        XCTAssertTrue(e is BaseError)
        XCTAssertEqual((e as? DerivedError)?.code, -1)
        XCTAssertEqual(try echo.add(1, 1), 2)
    }

    func testClientKnowingOnlyTheBaseSlicesTheDerivedException() throws {
        let f = try echo.throwDerivedAsync("caught as base", 7, knownExceptions: [BaseError.self])
        let e = assertExactly(BaseError.self, try f.exception(timeout: .seconds(10)))
        XCTAssertEqual(e?.reason, "caught as base")
        XCTAssertEqual(e?.ice_id, "::Test::BaseError")
        XCTAssertEqual(try echo.add(1, 1), 2)
    }

    func testUndeclaredUserExceptionIsUnknownUserException() throws {
        let f = try echo.throwDerivedAsync("nobody knows", 1, knownExceptions: [])
        let e = assertExactly(UnknownUserException.self, try f.exception(timeout: .seconds(10)))
        XCTAssertEqual(e?.unknown, "::Test::DerivedError")
        XCTAssertEqual(try echo.add(1, 1), 2)
    }

    // MARK: proxies and built-in operations

    func testReturnedProxy() throws {
        let returned = try XCTUnwrap(echo.getSelf())
        XCTAssertEqual(returned.ice_getIdentity(), Identity(name: "echo"))
        XCTAssertEqual(returned.ice_getIdentity().category, "")
        XCTAssertEqual(returned.ice_getFacet(), "")
        XCTAssertFalse(returned.ice_getEndpoints().isEmpty)
        XCTAssertEqual(returned.ice_getEndpoints().first?.port, server.testPort)
        XCTAssertEqual(try returned.add(20, 22), 42)
    }

    func testBuiltinOperations() throws {
        XCTAssertNoThrow(try echo.ice_ping())
        XCTAssertTrue(try echo.ice_isA("::Test::Echo"))
        XCTAssertTrue(try echo.ice_isA("::Ice::Object"))
        XCTAssertFalse(try echo.ice_isA("::Test::Controller"))
        XCTAssertEqual(try echo.ice_id(), "::Test::Echo")
        XCTAssertEqual(try echo.ice_ids(), ["::Ice::Object", "::Test::Echo"])
        XCTAssertEqual(try controller.ice_id(), "::Test::Controller")
        let untyped = try XCTUnwrap(communicator.stringToProxy(server.echoProxy))
        XCTAssertNotNil(try checkedCast(untyped, to: EchoPrx.self))
        XCTAssertNil(try checkedCast(untyped, to: ControllerPrx.self))
    }

    // MARK: errors reported by the server

    func testObjectNotExist() throws {
        let nobody = echo.ice_identity(Identity(name: "nobody"))
        let ping = assertThrowsExactly(ObjectNotExistException.self) { try nobody.ice_ping() }
        XCTAssertEqual(ping?.id, Identity(name: "nobody"))
        XCTAssertEqual(ping?.facet, "")
        XCTAssertEqual(ping?.operation, "ice_ping")
        let add = assertThrowsExactly(ObjectNotExistException.self) { try nobody.add(1, 2) }
        XCTAssertEqual(add?.id, Identity(name: "nobody"))
        XCTAssertEqual(add?.operation, "add")
        XCTAssertEqual(try echo.add(1, 2), 3)
    }

    func testFacetNotExist() throws {
        let e = assertThrowsExactly(FacetNotExistException.self) { try echo.ice_facet("nofacet").ice_ping() }
        XCTAssertEqual(e?.facet, "nofacet")
        XCTAssertEqual(e?.id, Identity(name: "echo"))
        XCTAssertEqual(e?.operation, "ice_ping")
        XCTAssertEqual(try echo.add(1, 2), 3)
    }

    func testOperationNotExistAndModeMismatch() throws {
        let object = try XCTUnwrap(uncheckedCast(echo, to: ObjectProxy.self))
        let e = assertThrowsExactly(OperationNotExistException.self) { try object._invoke("nosuch").result() }
        XCTAssertEqual(e?.operation, "nosuch")
        XCTAssertEqual(e?.id, Identity(name: "echo"))
        XCTAssertEqual(e?.facet, "")

        // Real Ice checks the operation mode strictly (Object::_iceCheckMode).
        let addIdempotent = try object._invoke(
            "add", mode: .idempotent, write: { $0.write(Int32(1)); $0.write(Int32(1)) }, read: { try $0.read(Int32.self) })
        assertExactly(UnknownLocalException.self, try addIdempotent.exception(timeout: .seconds(10)))
        let recordedNormal = try object._invoke("recorded", mode: .normal, read: { try $0.read([Int32].self) })
        assertExactly(UnknownLocalException.self, try recordedNormal.exception(timeout: .seconds(10)))
        XCTAssertEqual(try object._invoke("recorded", mode: .idempotent, read: { try $0.read([Int32].self) }).result(), [])
        XCTAssertEqual(try echo.add(1, 2), 3)
    }

    // MARK: context

    func testContexts() throws {
        XCTAssertEqual(try echo.context(), [:])
        let ctx: Context = ["user": "alice", "trace": "1"]
        XCTAssertEqual(try echo.context(context: ctx), ctx)
        XCTAssertEqual(try echo.ice_context(ctx).context(), ctx)
        XCTAssertEqual(echo.ice_context(ctx).ice_getContext(), ctx)
        // An explicit context replaces the proxy's.
        XCTAssertEqual(try echo.ice_context(["a": "1"]).context(context: ["b": "2"]), ["b": "2"])
        var big: Context = ["ключ": "значение"]
        for i in 0..<300 { big["k\(i)"] = String(repeating: "v", count: i) }
        XCTAssertEqual(try echo.context(context: big), big)
    }

    // MARK: message size limits

    func testFourMiBPayloadWithRaisedMessageSizeMax() throws {
        let bytes = interopPayload(4 * 1024 * 1024, seed: 5)
        XCTAssertEqual(try echo.echoBytes(bytes), bytes)
        XCTAssertEqual(try echo.byteCount(bytes), 4_194_304)
    }

    func testRequestOverOurLimitFailsWithoutWritingAnything() throws {
        let limited = echo.ice_connectionId("limit")
        try limited.ice_ping()
        let connection = try limited.ice_getConnection()
        // 8 MiB of bytes: the message exceeds our Ice.MessageSizeMax (8192 KB).
        let f = try limited.byteCountAsync(interopPayload(8 * 1024 * 1024))
        assertExactly(MemoryLimitException.self, try f.exception(timeout: .seconds(10)))
        assertThrowsExactly(MemoryLimitException.self) { try f.result() }
        XCTAssertFalse(f.isSent)
        XCTAssertNil(f.connection, "the request never reached a connection")
        XCTAssertEqual(connection.outboundStatistics.bytesInTransport, 0)
        XCTAssertEqual(connection.outboundStatistics.messagesWaiting, 0)
        // The connection is untouched and still in use.
        XCTAssertEqual(try limited.add(5, 6), 11)
        XCTAssertTrue(try limited.ice_getConnection() === connection)
    }

    func testReplyOverOurLimitFailsWithMemoryLimit() throws {
        let c = try makeInteropCommunicator(messageSizeMaxKB: 1024)
        defer { c.destroy() }
        let e = try XCTUnwrap(c.stringToProxy(server.echoProxy, as: EchoPrx.self))
        XCTAssertEqual(try e.add(1, 2), 3)
        // roundTrip returns two copies: a 700 KB request fits our limit, its 1.4 MB reply does not.
        var v = AllTypes()
        v.strings = [String(repeating: "a", count: 700_000)]
        let f = try e.roundTripAsync(v)
        assertExactly(MemoryLimitException.self, try f.exception(timeout: .seconds(10)))
        XCTAssertTrue(f.isSent)
        // The connection was closed; the next call uses a new one.
        XCTAssertEqual(try e.add(2, 3), 5)
    }

    func testRequestOverTheServersLimitLosesTheConnection() throws {
        let small = try PythonTestServer()  // Ice.MessageSizeMax = 1024 KB
        defer { small.stop() }
        let target = try XCTUnwrap(communicator.stringToProxy(small.echoProxy, as: EchoPrx.self))
        XCTAssertEqual(try target.add(1, 2), 3)
        let big = target.ice_connectionId("big")
        try big.ice_ping()
        let f = try big.byteCountAsync(interopPayload(1024 * 1024 + 1024))
        assertExactly(ConnectionLostException.self, try f.exception(timeout: .seconds(10)))
        XCTAssertEqual(try target.add(5, 6), 11)
        XCTAssertEqual(try big.add(1, 1), 2, "a fresh connection")
    }

    // MARK: compression

    func testCompressedRequestsAndReplies() throws {
        let data = compressiblePayload(100 * 1024)
        let compressed = echo.ice_compress(true)
        XCTAssertEqual(try compressed.echoBytes(data), data)
        XCTAssertEqual(try compressed.byteCount(data), 102_400)
        let z = try XCTUnwrap(communicator.stringToProxy(server.echoProxy + " -z", as: EchoPrx.self))
        XCTAssertEqual(try z.echoBytes(data), data)
        // Incompressible data and tiny messages too.
        let random = interopPayload(50_000, seed: 9)
        XCTAssertEqual(try z.echoBytes(random), random)
        XCTAssertEqual(try z.add(1, 2), 3)
    }

    // MARK: AMD chaining

    func testSwiftServerForwardsToPythonServerThroughItsFuture() throws {
        let swiftServer = try SwiftTestServer(forward: echo)
        defer { swiftServer.stop() }
        let front = try XCTUnwrap(communicator.stringToProxy(swiftServer.echoProxy, as: EchoPrx.self))
        XCTAssertEqual(try front.byteCount(interopPayload(100 * 1024)), 102_400)
        XCTAssertEqual(try front.byteCount(ByteBuffer()), 0)
        let futures = try (0..<10).map { try front.byteCountAsync(interopPayload(1000 * $0)) }
        XCTAssertEqual(try futures.map { try $0.result(timeout: .seconds(10)) }, (0..<10).map { Int32(1000 * $0) })
    }
}
