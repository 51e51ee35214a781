import JSONCoding
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Bytes as they reach the gateway's HTTP server: the HTTP/1.1 request decoder it runs on
/// (NIOHTTP1, under Hummingbird), then the body through the JSON parser it reads bodies with,
/// bounded as the gateway bounds them. The input is cut into reads where its first byte says.
/// Checked: nothing crashes or traps, and a body is never delivered past the bound.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let cut = Int(bytes[0] % 31) + 1
    let stream = bytes.dropFirst()
    let maxBody = 4_096

    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    do {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
    } catch {
        preconditionFailure("cannot set up the decoder: \(error)")
    }
    var body = ByteBuffer()
    var start = stream.startIndex
    while start < stream.endIndex {
        let end = min(start + cut, stream.endIndex)
        do {
            try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
        } catch {
            return 0  // a malformed request: the server answers 400 and closes
        }
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head:
                body.clear()
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= maxBody else { return 0 }  // 413
                body.writeBuffer(&chunk)
            case .end:
                readAsTheGatewayDoes(body)
                body.clear()
            }
        }
        start = end
    }
    return 0
}

func readAsTheGatewayDoes(_ body: ByteBuffer) {
    precondition(body.readableBytes <= 4_096, "a body past the bound was delivered")
    guard let json = try? body.withUnsafeReadableBytes({ try JSON.parse($0) }) else { return }
    _ = depth(of: json)
}

func depth(of json: JSON) -> Int {
    switch json {
    case .object(let object): 1 + (object.values.map(depth).max() ?? 0)
    case .array(let array): 1 + (array.map(depth).max() ?? 0)
    default: 0
    }
}
