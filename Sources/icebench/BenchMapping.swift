import Ice
import NIOCore

/// `Demo::FileTransfer` from the captured vectors (`void send(long offset, Ice::ByteSeq bytes)`),
/// the small-request benchmark's interface: `send` has no results, so it can go oneway.
struct BenchPrx: ObjectPrx {
    let _reference: Reference
    init(_reference: Reference) { self._reference = _reference }
    static var ice_staticId: String { "::Demo::FileTransfer" }

    func sendAsync(offset: Int64, bytes: ByteBuffer) throws -> InvocationFuture<Void> {
        try _invoke("send", write: { $0.write(offset); $0.write(bytes: bytes) })
    }
}

final class BenchServant: Servant {
    var ice_ids: [String] { ["::Demo::FileTransfer", "::Ice::Object"] }
    var ice_id: String { BenchPrx.ice_staticId }

    func dispatch(_ request: IncomingRequest) -> DispatchResult? {
        switch request.current.operation {
        case "send":
            return request.dispatch(read: { (try $0.read(Int64.self), try $0.readByteSeq()) }, write: { _, _ in }) { _ in () }
        default:
            return nil
        }
    }
}
