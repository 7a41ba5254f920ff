// Hand-written Swift mapping of Tests/Interop/Test.ice over the runtime's public mapping API,
// written the way a Slice-to-Swift generator would emit it.
import Ice
import NIOCore

enum Color: Int, IceStreamable {
    case red = 0, green, blue

    init(from istr: inout InputStream) throws {
        let v = try istr.readEnum(maxValue: 2)
        guard let c = Color(rawValue: v) else { throw MarshalException("invalid Color \(v)") }
        self = c
    }
    func write(to ostr: inout OutputStream) { ostr.writeEnum(rawValue) }
    static var minWireSize: Int { 1 }
}

struct Point: IceStreamable, Equatable {
    var x: Int32
    var y: Int32

    init(x: Int32, y: Int32) {
        self.x = x
        self.y = y
    }
    init(from istr: inout InputStream) throws {
        x = try istr.read()
        y = try istr.read()
    }
    func write(to ostr: inout OutputStream) {
        ostr.write(x)
        ostr.write(y)
    }
    static var minWireSize: Int { 8 }
}

struct AllTypes: IceStreamable, Equatable {
    var b = false
    var by: UInt8 = 0
    var s: Int16 = 0
    var i: Int32 = 0
    var l: Int64 = 0
    var f: Float = 0
    var d: Double = 0
    var str = ""
    var color = Color.red
    var points: [Point] = []
    var dict: [String: Int32] = [:]
    var strings: [String] = []

    init() {}
    init(from istr: inout InputStream) throws {
        b = try istr.read()
        by = try istr.read()
        s = try istr.read()
        i = try istr.read()
        l = try istr.read()
        f = try istr.read()
        d = try istr.read()
        str = try istr.read()
        color = try istr.read()
        points = try istr.read()
        dict = try istr.read()
        strings = try istr.read()
    }
    func write(to ostr: inout OutputStream) {
        ostr.write(b)
        ostr.write(by)
        ostr.write(s)
        ostr.write(i)
        ostr.write(l)
        ostr.write(f)
        ostr.write(d)
        ostr.write(str)
        ostr.write(color)
        ostr.write(points)
        ostr.write(dict)
        ostr.write(strings)
    }
    static var minWireSize: Int { 36 }
}

class BaseError: UserException, @unchecked Sendable {
    var reason = ""
    required init() {}
    init(reason: String) { self.reason = reason }
    override class var ice_staticId: String { "::Test::BaseError" }
    override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: BaseError.ice_staticId, isLast: true)
        ostr.write(reason)
        ostr.endSlice()
    }
    override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        reason = try istr.read()
        try istr.endSlice()
    }
}

final class DerivedError: BaseError, @unchecked Sendable {
    var code: Int32 = 0
    required init() { super.init() }
    init(reason: String, code: Int32) {
        self.code = code
        super.init(reason: reason)
    }
    override class var ice_staticId: String { "::Test::DerivedError" }
    override func _writeSlices(to ostr: inout OutputStream) {
        ostr.startSlice(typeId: DerivedError.ice_staticId, isLast: false)
        ostr.write(code)
        ostr.endSlice()
        super._writeSlices(to: &ostr)
    }
    override func _readSlices(from istr: inout InputStream) throws {
        try istr.startSlice()
        code = try istr.read()
        try istr.endSlice()
        try super._readSlices(from: &istr)
    }
}

/// The exceptions Echo's operations declare (`throws BaseError`), most-derived first.
let echoUserExceptions: [UserException.Type] = [DerivedError.self, BaseError.self]

struct EchoPrx: ObjectPrx {
    let _reference: Reference
    init(_reference: Reference) { self._reference = _reference }
    static var ice_staticId: String { "::Test::Echo" }

    func addAsync(_ a: Int32, _ b: Int32, context: Context? = nil) throws -> InvocationFuture<Int32> {
        try _invoke("add", context: context, write: { $0.write(a); $0.write(b) }, read: { try $0.read(Int32.self) })
    }
    func add(_ a: Int32, _ b: Int32, context: Context? = nil) throws -> Int32 { try addAsync(a, b, context: context).result() }

    func concatAsync(_ a: String, _ b: String, context: Context? = nil) throws -> InvocationFuture<(returnValue: String, length: Int32)> {
        try _invoke(
            "concat", context: context, write: { $0.write(a); $0.write(b) },
            read: { istr in
                let length = try istr.read(Int32.self)
                return (returnValue: try istr.read(String.self), length: length)
            })
    }
    func concat(_ a: String, _ b: String) throws -> (returnValue: String, length: Int32) { try concatAsync(a, b).result() }

    func roundTripAsync(_ v: AllTypes) throws -> InvocationFuture<(returnValue: AllTypes, copy: AllTypes)> {
        try _invoke(
            "roundTrip", write: { $0.write(v) },
            read: { istr in
                let copy = try istr.read(AllTypes.self)
                return (returnValue: try istr.read(AllTypes.self), copy: copy)
            })
    }
    func roundTrip(_ v: AllTypes) throws -> (returnValue: AllTypes, copy: AllTypes) { try roundTripAsync(v).result() }

    func echoBytesAsync(_ bytes: ByteBuffer) throws -> InvocationFuture<ByteBuffer> {
        try _invoke("echoBytes", write: { $0.write(bytes: bytes) }, read: { try $0.readByteSeq() })
    }
    func echoBytes(_ bytes: ByteBuffer) throws -> ByteBuffer { try echoBytesAsync(bytes).result() }

    func byteCountAsync(_ bytes: ByteBuffer) throws -> InvocationFuture<Int32> {
        try _invoke("byteCount", write: { $0.write(bytes: bytes) }, read: { try $0.read(Int32.self) })
    }
    func byteCount(_ bytes: ByteBuffer) throws -> Int32 { try byteCountAsync(bytes).result() }

    func recordAsync(_ value: Int32) throws -> InvocationFuture<Void> {
        try _invoke("record", write: { $0.write(value) })
    }
    func record(_ value: Int32) throws { try recordAsync(value).result() }

    func recordedAsync() throws -> InvocationFuture<[Int32]> {
        try _invoke("recorded", mode: .idempotent, read: { try $0.read([Int32].self) })
    }
    func recorded() throws -> [Int32] { try recordedAsync().result() }

    func throwBaseAsync(_ reason: String) throws -> InvocationFuture<Void> {
        try _invoke("throwBase", returnsData: true, write: { $0.write(reason) }, userExceptions: echoUserExceptions)
    }
    func throwBase(_ reason: String) throws { try throwBaseAsync(reason).result() }

    func throwDerivedAsync(_ reason: String, _ code: Int32, knownExceptions: [UserException.Type] = echoUserExceptions) throws -> InvocationFuture<Void> {
        try _invoke("throwDerived", returnsData: true, write: { $0.write(reason); $0.write(code) }, userExceptions: knownExceptions)
    }
    func throwDerived(_ reason: String, _ code: Int32) throws { try throwDerivedAsync(reason, code).result() }

    func selfAsync() throws -> InvocationFuture<EchoPrx?> {
        let communicator = _reference.communicator
        return try _invoke("self", read: { try $0.readProxy(EchoPrx.self, communicator: communicator) })
    }
    func getSelf() throws -> EchoPrx? { try selfAsync().result() }

    func sleepAsync(_ ms: Int32) throws -> InvocationFuture<Void> {
        try _invoke("sleep", write: { $0.write(ms) })
    }
    func sleep(_ ms: Int32) throws { try sleepAsync(ms).result() }

    func contextAsync(context: Context? = nil) throws -> InvocationFuture<Context> {
        try _invoke("context", mode: .idempotent, context: context, read: { try $0.read(Context.self) })
    }
    func context(context: Context? = nil) throws -> Context { try contextAsync(context: context).result() }
}

/// Echo's servant protocol. Operations use the three dispatch styles: synchronous, a returned
/// future (AMD: `sleep`, `byteCount`), and `async` (`concat`, `throwDerived`).
protocol EchoServant: Servant {
    func add(a: Int32, b: Int32, current: Current) throws -> Int32
    func concat(a: String, b: String, current: Current) async throws -> (returnValue: String, length: Int32)
    func roundTrip(v: AllTypes, current: Current) throws -> (returnValue: AllTypes, copy: AllTypes)
    func echoBytes(bytes: ByteBuffer, current: Current) throws -> ByteBuffer
    func byteCount(bytes: ByteBuffer, current: Current) throws -> Future<Int32>
    func record(value: Int32, current: Current) throws
    func recorded(current: Current) throws -> [Int32]
    func throwBase(reason: String, current: Current) throws
    func throwDerived(reason: String, code: Int32, current: Current) async throws
    func getSelf(current: Current) throws -> EchoPrx?
    func sleep(ms: Int32, current: Current) throws -> Future<Void>
    func context(current: Current) throws -> Context
}

extension EchoServant {
    var ice_ids: [String] { ["::Ice::Object", "::Test::Echo"] }
    var ice_id: String { "::Test::Echo" }

    func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        let current = request.current
        switch current.operation {
        case "add":
            return request.dispatch(read: { (try $0.read(Int32.self), try $0.read(Int32.self)) }, write: { $0.write($1) }) {
                try self.add(a: $0.0, b: $0.1, current: current)
            }
        case "concat":
            return request.dispatchAsync(
                read: { (try $0.read(String.self), try $0.read(String.self)) },
                write: { o, r in o.write(r.length); o.write(r.returnValue) }
            ) { try await self.concat(a: $0.0, b: $0.1, current: current) }
        case "roundTrip":
            return request.dispatch(read: { try $0.read(AllTypes.self) }, write: { o, r in o.write(r.copy); o.write(r.returnValue) }) {
                try self.roundTrip(v: $0, current: current)
            }
        case "echoBytes":
            return request.dispatch(read: { try $0.readByteSeq() }, write: { $0.write(bytes: $1) }) {
                try self.echoBytes(bytes: $0, current: current)
            }
        case "byteCount":
            return request.dispatchFuture(read: { try $0.readByteSeq() }, write: { $0.write($1) }) {
                try self.byteCount(bytes: $0, current: current)
            }
        case "record":
            return request.dispatch(read: { try $0.read(Int32.self) }, write: { _, _ in }) {
                try self.record(value: $0, current: current)
            }
        case "recorded":
            return request.dispatch(mode: .idempotent, read: { _ in () }, write: { $0.write($1) }) {
                try self.recorded(current: current)
            }
        case "throwBase":
            return request.dispatch(sliced: true, read: { try $0.read(String.self) }, write: { _, _ in }) {
                try self.throwBase(reason: $0, current: current)
            }
        case "throwDerived":
            return request.dispatchAsync(
                sliced: true, read: { (try $0.read(String.self), try $0.read(Int32.self)) }, write: { _, _ in }
            ) { try await self.throwDerived(reason: $0.0, code: $0.1, current: current) }
        case "self":
            return request.dispatch(read: { _ in () }, write: { $0.write(proxy: $1) }) {
                try self.getSelf(current: current)
            }
        case "sleep":
            return request.dispatchFuture(read: { try $0.read(Int32.self) }, write: { _, _ in }) {
                try self.sleep(ms: $0, current: current)
            }
        case "context":
            return request.dispatch(mode: .idempotent, read: { _ in () }, write: { $0.write($1) }) {
                try self.context(current: current)
            }
        default:
            return nil
        }
    }
}

struct ControllerPrx: ObjectPrx {
    let _reference: Reference
    init(_reference: Reference) { self._reference = _reference }
    static var ice_staticId: String { "::Test::Controller" }

    func holdAdapter() throws { try _invoke("holdAdapter").result() }
    func activateAdapter() throws { try _invoke("activateAdapter").result() }
    func shutdown() throws { try _invoke("shutdown").result() }
}

protocol ControllerServant: Servant {
    func holdAdapter(current: Current) throws
    func activateAdapter(current: Current) throws
    func shutdown(current: Current) throws
}

extension ControllerServant {
    var ice_ids: [String] { ["::Ice::Object", "::Test::Controller"] }
    var ice_id: String { "::Test::Controller" }

    func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        let current = request.current
        switch current.operation {
        case "holdAdapter":
            return request.dispatch(read: { _ in () }, write: { _, _ in }) { try self.holdAdapter(current: current) }
        case "activateAdapter":
            return request.dispatch(read: { _ in () }, write: { _, _ in }) { try self.activateAdapter(current: current) }
        case "shutdown":
            return request.dispatch(read: { _ in () }, write: { _, _ in }) { try self.shutdown(current: current) }
        default:
            return nil
        }
    }
}
