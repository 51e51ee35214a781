import JSONCoding
import LineProtocol
import NIOCore

/// The bytes of a connection, cut into reads wherever the input says: the first byte picks the
/// cut sizes, so the fuzzer explores every split of every message. Checked:
/// - framing does not depend on where the reads were cut (each input is also framed in one
///   piece and byte by byte, and the three must agree);
/// - no line outlives the limit, and the bytes held waiting for a newline stay bounded;
/// - every line decodes to an answerable envelope, and every answer written decodes again.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzLineProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let cut = Int(bytes[0] % 17) + 1
    let stream = Array(bytes.dropFirst())
    let limit = 64

    let inPieces = frames(of: stream, limit: limit, cutEvery: cut)
    precondition(inPieces == frames(of: stream, limit: limit, cutEvery: max(stream.count, 1)), "framing depends on where reads are cut")
    precondition(inPieces == frames(of: stream, limit: limit, cutEvery: 1), "framing byte by byte differs")

    for frame in inPieces {
        guard case .line(let line) = frame else { continue }
        precondition(line.readableBytes <= limit, "a line longer than the limit was delivered")
        precondition(!line.readableBytesView.contains(UInt8(ascii: "\n")), "a delivered line holds a newline")
        answerEveryCall(in: RPCCodec.decodeInbound(line))
    }
    return 0
}

func frames(of stream: [UInt8], limit: Int, cutEvery cut: Int) -> [LineFramer.Frame] {
    var framer = LineFramer(maxLineLength: limit)
    var frames: [LineFramer.Frame] = []
    var start = 0
    while start < stream.count {
        let end = min(start + cut, stream.count)
        framer.append(ByteBuffer(bytes: stream[start..<end]))
        while let frame = framer.next() { frames.append(frame) }
        // Held bytes: at most one line and its terminator, whatever was sent.
        precondition(framer.pendingByteCount <= limit + 2 + cut, "the framer holds \(framer.pendingByteCount) bytes")
        start = end
    }
    return frames
}

/// What a server does with a line: answer each request; the answer must parse as what was sent.
func answerEveryCall(in inbound: RPCInbound) {
    let calls: [RPCInboundCall]
    switch inbound {
    case .single(let call): calls = [call]
    case .batch(let batch): calls = batch
    }
    var responses: [RPCResponse] = []
    for call in calls {
        switch call {
        case .request(let request):
            guard let id = request.id else { continue }
            responses.append(RPCResponse(id: id, outcome: .success(.string(request.method))))
        case .invalid(let response):
            responses.append(response)
        }
    }
    guard !responses.isEmpty else { return }
    var buffer = ByteBuffer()
    RPCCodec.write(responses, into: &buffer)
    let line = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes - 1) ?? buffer
    do {
        let decoded = try RPCCodec.decodeResponses(line)
        precondition(decoded.count == responses.count, "\(responses.count) answers written, \(decoded.count) read back")
    } catch {
        preconditionFailure("an answer we wrote does not decode: \(error)")
    }
}
