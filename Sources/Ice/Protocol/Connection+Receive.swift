import NIOCore

extension Connection {
    /// A whole message arrived; its header was validated by the frame decoder. Any error here
    /// is a protocol violation: the connection is closed (other connections are unaffected).
    func received(header: MessageHeader, message: ByteBuffer) {
        do {
            var body = message
            body.moveReaderIndex(forwardBy: MessageHeader.size)
            if header.compression == 2 {
                body = try decompressBody(body)
            }
            let current = lock.withLock { () -> State in
                lastActivity = .now()
                return state
            }
            if current == .validating {
                try receivedValidation(header)
                return
            }
            guard current != .closed else { return }
            var istr = InputStream(body, encoding: .v1_0)
            switch header.type {
            case .request:
                let requestId = try istr.read(Int32.self)
                try receivedRequest(requestId: requestId, compression: header.compression, batched: false, from: &istr)
            case .batchRequest:
                let count = try istr.read(Int32.self)
                guard count >= 0 else { throw UnmarshalOutOfBoundsException("negative batch request count \(count)") }
                for _ in 0..<count {
                    try receivedRequest(requestId: 0, compression: 0, batched: true, from: &istr)
                }
                guard istr.remaining == 0 else {
                    throw MarshalException("\(istr.remaining) unexpected bytes after the last batched request")
                }
            case .reply:
                let requestId = try istr.read(Int32.self)
                let status = try istr.read(UInt8.self)
                let handler = lock.withLock { pending.removeValue(forKey: requestId) }
                // A reply to an unknown id (canceled, timed out) is ignored, as in Ice.
                handler?.handleReply(status: status, body: istr, connection: self)
                checkCloseProgress()
            case .validateConnection:
                break  // heartbeat
            case .closeConnection:
                receivedCloseConnection()
            }
        } catch {
            protocolError(error)
        }
    }

    private func decompressBody(_ body: ByteBuffer) throws -> ByteBuffer {
        var b = body
        guard let total = b.readInteger(endianness: .little, as: Int32.self) else {
            throw IllegalMessageSizeException("compressed message has no uncompressed size")
        }
        guard total > Int32(MessageHeader.size) else {
            throw IllegalMessageSizeException("uncompressed size \(total) is not larger than the header")
        }
        if settings.messageSizeMax > 0, Int(total) > settings.messageSizeMax {
            throw MemoryLimitException("uncompressed message of \(total) bytes exceeds Ice.MessageSizeMax (\(settings.messageSizeMax) bytes)")
        }
        return try BZip2.decompress(b, expectedSize: Int(total) - MessageHeader.size)
    }

    /// Client side: the first message must be a 14-byte ValidateConnection.
    private func receivedValidation(_ header: MessageHeader) throws {
        guard header.type == .validateConnection else {
            throw ConnectionNotValidatedException("the server sent message type \(header.type.rawValue) before validating the connection")
        }
        guard header.messageSize == Int32(MessageHeader.size) else {
            throw IllegalMessageSizeException("ValidateConnection of \(header.messageSize) bytes (14 expected)")
        }
        var sentLater: [@Sendable () -> Void] = []
        lock.withLock {
            state = .active
            sentLater = drainLocked()
        }
        validated.setResult(())
        for cb in sentLater { cb() }
    }

    /// The peer closes gracefully: it will not dispatch anything we sent after its
    /// CloseConnection, so outstanding requests are retried elsewhere.
    private func receivedCloseConnection() {
        let t = lock.withLock { () -> (any MessageTransport)? in
            if closeError == nil {
                closeError = CloseConnectionException("the peer closed the connection gracefully")
            }
            return transport
        }
        transportClosed(CloseConnectionException("the peer closed the connection gracefully"))
        t?.close()
    }

    /// Parses a request header and parameters and hands it to the object adapter.
    private func receivedRequest(requestId: Int32, compression: UInt8, batched: Bool, from istr: inout InputStream) throws {
        let header = try RequestHeader(from: &istr)
        let params: ByteBuffer
        do {
            params = try istr.readEncapsulation()
            guard batched || istr.remaining == 0 else {
                throw EncapsulationException("\(istr.remaining) unexpected bytes after the request parameters")
            }
        } catch let error as LocalException where !batched {
            // The message is still framed by its header: as in Ice, a bad parameter
            // encapsulation fails this request (status 5), not the connection.
            rejectRequest(header, requestId: requestId, compression: compression, error: error)
            return
        }
        let closing: Bool = lock.withLock {
            // As Ice's StateClosing: once a graceful close was asked (e.g. the adapter was
            // deactivated), new requests are not dispatched; the peer retries them.
            guard state == .active, !gracefulCloseRequested else { return true }
            dispatchCount += 1
            return false
        }
        // Requests that arrive once we started closing are dropped: the peer retries them.
        guard !closing else { return }
        let current = Current(
            adapter: adapter, connection: self, id: header.identity, facet: header.facet,
            operation: header.operation, mode: header.mode, ctx: header.context, requestId: requestId,
            encoding: Self.encapsulationEncoding(params))
        let request = IncomingRequest(current: current, params: params, compression: compression)
        if let adapter {
            adapter.dispatch(request, inOrder: batched)
        } else {
            sendResponse(OutgoingResponse(error: ObjectNotExistException(id: header.identity, facet: header.facet, operation: header.operation), current: current), for: request)
        }
    }

    /// The encoding of an encapsulation (the reply must use the request's).
    static func encapsulationEncoding(_ encapsulation: ByteBuffer) -> EncodingVersion {
        guard let major = encapsulation.getInteger(at: encapsulation.readerIndex + 4, as: UInt8.self),
            let minor = encapsulation.getInteger(at: encapsulation.readerIndex + 5, as: UInt8.self)
        else { return .v1_1 }
        return EncodingVersion(major: major, minor: minor)
    }

    /// Answers a request that cannot be dispatched with the error's reply (nothing if oneway).
    private func rejectRequest(_ header: RequestHeader, requestId: Int32, compression: UInt8, error: any Error) {
        guard lock.withLock({ state == .active && !gracefulCloseRequested }) else { return }
        let current = Current(
            adapter: adapter, connection: self, id: header.identity, facet: header.facet,
            operation: header.operation, mode: header.mode, ctx: header.context, requestId: requestId)
        let request = IncomingRequest(current: current, params: ByteBuffer(), compression: compression)
        writeResponse(OutgoingResponse(error: error, current: current), for: request)
    }

    /// Writes what a dispatch produced (nothing for oneway requests) and ends the dispatch.
    func sendResponse(_ response: OutgoingResponse, for request: IncomingRequest) {
        defer {
            lock.withLock { dispatchCount -= 1 }
            adapter?.dispatchFinished()
            checkCloseProgress()
        }
        writeResponse(response, for: request)
    }

    /// Encodes and sends the reply to `request` (nothing for oneway requests).
    private func writeResponse(_ response: OutgoingResponse, for request: IncomingRequest) {
        let requestId = request.current.requestId
        guard requestId != 0 else { return }
        var response = response
        if settings.messageSizeMax > 0, response.stream.count > settings.messageSizeMax {
            response = OutgoingResponse(
                error: UnknownLocalException(
                    "::Ice::MemoryLimitException: the reply of \(response.stream.count) bytes exceeds the server's Ice.MessageSizeMax (\(settings.messageSizeMax) bytes)"),
                current: request.current)
        }
        var stream = response.stream
        stream.setInt32(Int32(stream.count), atHeaderOffset: 10)
        stream.setInt32(requestId, atHeaderOffset: 14)
        var segments = stream.segments()
        if request.compression != 0 {
            segments = compressedSegments(segments, size: stream.count)
        }
        let t = lock.withLock { () -> (any MessageTransport)? in
            guard state != .closed else { return nil }
            lastActivity = .now()
            return transport
        }
        t?.send(segments, completion: nil)
    }
}
