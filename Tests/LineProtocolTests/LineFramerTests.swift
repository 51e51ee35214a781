import NIOCore
import Testing

@testable import LineProtocol

@Suite("NDJSON framing")
struct LineFramerTests {
    private func frames(_ chunks: [String], limit: Int = 64, finish: Bool = false) -> [String] {
        var framer = LineFramer(maxLineLength: limit)
        var out: [String] = []
        for chunk in chunks {
            framer.append(ByteBuffer(string: chunk))
            while let frame = framer.next() { out.append(describe(frame)) }
        }
        if finish, let last = framer.finish() { out.append(describe(last)) }
        return out
    }

    private func describe(_ frame: LineFramer.Frame) -> String {
        switch frame {
        case .line(let buffer): String(buffer: buffer)
        case .oversized(let count, _): "<oversized \(count)>"
        }
    }

    @Test func bytesFedOneAtATimeMakeTheSameLines() {
        let text = "{\"a\":1}\n{\"b\":\"中文\"}\r\n\n{\"c\":3}\n"
        let dripped = Array(text.utf8).map { String(decoding: [$0], as: UTF8.self) }
        // Multi-byte characters are split across chunks too: feed raw bytes.
        var framer = LineFramer(maxLineLength: 64)
        var out: [String] = []
        for byte in Array(text.utf8) {
            framer.append(ByteBuffer(bytes: [byte]))
            while let frame = framer.next() { out.append(describe(frame)) }
        }
        #expect(out == ["{\"a\":1}", "{\"b\":\"中文\"}", "{\"c\":3}"])
        #expect(dripped.count == text.utf8.count)
    }

    @Test func manyMessagesInOneBuffer() {
        let lines = (0..<100).map { "{\"n\":\($0)}" }
        #expect(frames([lines.joined(separator: "\n") + "\n"]) == lines)
    }

    @Test func carriageReturnBeforeNewlineIsStripped() {
        #expect(frames(["a\r\nb\r\n"]) == ["a", "b"])
    }

    @Test func carriageReturnInsideALineIsKept() {
        #expect(frames(["a\rb\n"]) == ["a\rb"])
    }

    @Test func emptyLinesAreIgnored() {
        #expect(frames(["\n\n\r\na\n\n"]) == ["a"])
    }

    @Test func leftoverBytesAtEndOfStreamAreALastLine() {
        #expect(frames(["a\nb"], finish: true) == ["a", "b"])
        #expect(frames(["a\n"], finish: true) == ["a"])
        #expect(frames(["a\n\r"], finish: true) == ["a"])
    }

    @Test func overLongLineIsReportedOnceAndFramingContinues() {
        let long = String(repeating: "x", count: 200)
        #expect(frames([long + "\nnext\n"], limit: 64) == ["<oversized 200>", "next"])
    }

    @Test func overLongLineArrivingInPiecesIsDrainedWithoutBuffering() {
        var framer = LineFramer(maxLineLength: 64)
        for _ in 0..<100 {
            framer.append(ByteBuffer(string: String(repeating: "y", count: 50)))
            #expect(framer.next() == nil)
            #expect(framer.pendingByteCount <= 66)
        }
        framer.append(ByteBuffer(string: "tail\nok\n"))
        guard case .oversized(let count, let snippet)? = framer.next() else {
            Issue.record("expected an oversized frame")
            return
        }
        #expect(count == 5004)
        #expect(snippet.count == RPCLimits.logSnippetLength)
        guard case .line(let line)? = framer.next() else {
            Issue.record("expected the next line")
            return
        }
        #expect(String(buffer: line) == "ok")
    }

    /// Found by fuzz-line-protocol: an over-long line's `\r\n` split between two reads counted
    /// the `\r` as the line's, so the reported length depended on where the reads were cut.
    @Test func anOverLongLineHasOneLengthWhereverItsTerminatorIsCut() {
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 100) + Array("\r\n".utf8)
        var expected: [LineFramer.Frame] = []
        for cut in 1...line.count {
            var framer = LineFramer(maxLineLength: 64)
            var frames: [LineFramer.Frame] = []
            for start in stride(from: 0, to: line.count, by: cut) {
                framer.append(ByteBuffer(bytes: line[start..<min(start + cut, line.count)]))
                while let frame = framer.next() { frames.append(frame) }
            }
            if cut == 1 { expected = frames }
            #expect(frames == expected, "cut every \(cut) bytes")
            guard case .oversized(let count, _)? = frames.first else { Issue.record("no oversized frame at cut \(cut)"); continue }
            #expect(count == 100)
        }
    }

    @Test func lineExactlyAtTheLimitPasses() {
        let exact = String(repeating: "z", count: 64)
        #expect(frames([exact + "\r\n"], limit: 64) == [exact])
    }

    @Test func randomSplitsGiveTheSameLines() {
        let text = (0..<50).map { "{\"i\":\($0),\"s\":\"\(String(repeating: "é", count: $0 % 7))\"}" }.joined(separator: "\r\n") + "\n"
        let bytes = Array(text.utf8)
        let expected = frames([text], limit: 1000)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var framer = LineFramer(maxLineLength: 1000)
            var out: [String] = []
            var index = 0
            while index < bytes.count {
                let size = Int.random(in: 1...32, using: &generator)
                let end = min(bytes.count, index + size)
                framer.append(ByteBuffer(bytes: bytes[index..<end]))
                while let frame = framer.next() { out.append(describe(frame)) }
                index = end
            }
            #expect(out == expected)
        }
    }
}
