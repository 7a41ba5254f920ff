import NIOCore

/// The client side of the mapping API: a mapped operation `op(...)` calls `_invoke` with
/// closures that write its in-parameters and read its results; `op(...)` blocks on the
/// returned future, `opAsync(...)` returns it.
extension ObjectPrx {
    /// Invokes `operation` and returns its future.
    ///
    /// - Parameters:
    ///   - mode: the operation's Slice mode (sent on the wire and used for retries).
    ///   - returnsData: whether the operation has a return value, out-parameters or a `throws`
    ///     clause; such operations need a twoway proxy.
    ///   - context: the request context; nil uses the proxy's.
    ///   - write: writes the in-parameters into the parameter encapsulation.
    ///   - read: reads the results from the reply encapsulation.
    ///   - userExceptions: the exceptions the operation declares, for decoding replies.
    /// - Throws: `CommunicatorDestroyedException` once the communicator is destroyed, and
    ///   `TwowayOnlyException` for a data-returning operation on a oneway or batch proxy. Every
    ///   other error is reported through the future.
    public func _invoke<T: Sendable>(
        _ operation: String, mode: OperationMode = .normal, returnsData: Bool = true, context: Context? = nil,
        write: ((inout OutputStream) -> Void)? = nil,
        read: @escaping @Sendable (inout InputStream) throws -> T,
        userExceptions: [UserException.Type] = []
    ) throws -> InvocationFuture<T> {
        let reference = _reference
        let communicator = reference.communicator
        if communicator.isDestroyed {
            throw CommunicatorDestroyedException("the communicator was destroyed")
        }
        let proxyMode = reference.descriptor.mode
        if returnsData && !proxyMode.isTwoway {
            throw TwowayOnlyException("operation '\(operation)' returns data and needs a twoway proxy")
        }
        let future = InvocationFuture<T>(
            communicator: communicator, proxy: ObjectProxy(_reference: reference), operation: operation)

        let header = RequestHeader(
            identity: reference.descriptor.identity, facet: reference.descriptor.facet, operation: operation,
            mode: mode, context: context ?? reference.context)
        let encoding = reference.descriptor.encoding
        var ostr = OutputStream(encoding: encoding, capacity: 256)
        if !proxyMode.isBatch {
            MessageHeader(type: .request).write(to: &ostr)
            ostr.write(Int32(0))  // request id, assigned by the connection
        }
        header.write(to: &ostr)
        if let write {
            ostr.startEncapsulation(encoding: encoding)
            write(&ostr)
            ostr.endEncapsulation()
        } else {
            ostr.writeEmptyEncapsulation(encoding: encoding)
        }

        let settings = communicator.settings
        if settings.messageSizeMax > 0, ostr.count > settings.messageSizeMax {
            future.setException(MemoryLimitException(
                "the request of \(ostr.count) bytes exceeds Ice.MessageSizeMax (\(settings.messageSizeMax) bytes); raise Ice.MessageSizeMax on both sides or send less per call"))
            return future
        }

        if proxyMode.isBatch {
            do {
                let connection = try reference.connection()
                future.setConnection(connection)
                try connection.queueBatchRequest(ostr, compress: reference.compressRequests)
                future.setSent(true)
                future.complete(with: Result { var empty = InputStream(ByteBuffer()); return try read(&empty) })
            } catch {
                future.setException(error)
            }
            return future
        }

        ostr.setInt32(Int32(ostr.count), atHeaderOffset: 10)
        let invocation = ProxyInvocation(
            future: future, reference: reference, mode: mode, twoway: proxyMode.isTwoway,
            segments: ostr.segments(), size: ostr.count, read: read, userExceptions: userExceptions)
        invocation.start()
        return future
    }

    /// Invokes an operation that has no results.
    public func _invoke(
        _ operation: String, mode: OperationMode = .normal, returnsData: Bool = false, context: Context? = nil,
        write: ((inout OutputStream) -> Void)? = nil, userExceptions: [UserException.Type] = []
    ) throws -> InvocationFuture<Void> {
        try _invoke(
            operation, mode: mode, returnsData: returnsData, context: context, write: write, read: { _ in },
            userExceptions: userExceptions)
    }
}
