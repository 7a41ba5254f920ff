/// The servant side of the mapping API: a mapped operation's `dispatch` case reads its
/// in-parameters, calls the implementation in one of three styles, and writes the results.
///
/// - `dispatch`: the implementation returns its result (or throws) on the dispatch thread.
/// - `dispatchFuture`: it returns a `Future` that any thread completes later (AMD); the
///   dispatch thread is freed at once.
/// - `dispatchAsync`: it is an `async` function that may await other futures.
///
/// `mode` is the operation's Slice mode (checked against the request; nil skips the check),
/// `sliced` writes user exceptions in the sliced format (`["format:sliced"]`).
extension IncomingRequest {
    public func dispatch<In, Out>(
        mode: OperationMode? = .normal, sliced: Bool = false,
        read: (inout InputStream) throws -> In,
        write: (inout OutputStream, Out) -> Void,
        _ body: (In) throws -> Out
    ) -> DispatchResult {
        do {
            if let mode { try checkMode(mode) }
            let input = try readParams(read)
            let output = try body(input)
            return .response(response(output, write: write))
        } catch {
            return .response(OutgoingResponse(error: error, current: current, sliced: sliced))
        }
    }

    public func dispatchFuture<In, Out: Sendable>(
        mode: OperationMode? = .normal, sliced: Bool = false,
        read: (inout InputStream) throws -> In,
        write: @escaping @Sendable (inout OutputStream, Out) -> Void,
        _ body: (In) throws -> Future<Out>
    ) -> DispatchResult {
        let future: Future<Out>
        do {
            if let mode { try checkMode(mode) }
            future = try body(try readParams(read))
        } catch {
            return .response(OutgoingResponse(error: error, current: current, sliced: sliced))
        }
        let reply = Future<OutgoingResponse>()
        let current = self.current
        future.addDoneCallback { f in
            switch f.lock.withLock({ f.state }) {
            case .success(let out): reply.setResult(Self.response(out, current: current, write: write))
            case .failure(let e): reply.setResult(OutgoingResponse(error: e, current: current, sliced: sliced))
            case .pending: break
            }
        }
        return .future(reply)
    }

    public func dispatchAsync<In: Sendable, Out: Sendable>(
        mode: OperationMode? = .normal, sliced: Bool = false,
        read: (inout InputStream) throws -> In,
        write: @escaping @Sendable (inout OutputStream, Out) -> Void,
        _ body: @escaping @Sendable (In) async throws -> Out
    ) -> DispatchResult {
        let input: In
        do {
            if let mode { try checkMode(mode) }
            input = try readParams(read)
        } catch {
            return .response(OutgoingResponse(error: error, current: current, sliced: sliced))
        }
        let reply = Future<OutgoingResponse>()
        let current = self.current
        Task {
            do {
                let out = try await body(input)
                reply.setResult(Self.response(out, current: current, write: write))
            } catch {
                reply.setResult(OutgoingResponse(error: error, current: current, sliced: sliced))
            }
        }
        return .future(reply)
    }

    private func response<Out>(_ out: Out, write: (inout OutputStream, Out) -> Void) -> OutgoingResponse {
        Self.response(out, current: current, write: write)
    }

    static func response<Out>(_ out: Out, current: Current, write: (inout OutputStream, Out) -> Void) -> OutgoingResponse {
        if Out.self == Void.self {
            return OutgoingResponse(empty: current)
        }
        return OutgoingResponse(ok: current) { write(&$0, out) }
    }
}
