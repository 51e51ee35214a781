import NIOCore

/// NDJSON framing: splits a byte stream into lines ended by `\n`, strips a `\r` before it,
/// skips empty lines and bounds the line length.
///
/// An over-long line is drained to its newline (its bytes are dropped as they arrive, so memory
/// stays bounded) and reported once as `.oversized`, after which framing carries on with the
/// next line. Bytes are scanned once: a partial line remembers how far it has been searched.
public struct LineFramer: Sendable {
    public enum Frame: Sendable, Equatable {
        /// One complete line without its terminator.
        case line(ByteBuffer)
        /// A line longer than the limit was dropped. `byteCount` is its length without the
        /// terminator; `snippet` its first bytes, for a log line.
        case oversized(byteCount: Int, snippet: [UInt8])
    }

    public let maxLineLength: Int
    private var buffer: ByteBuffer
    /// Bytes after the reader index already searched for a newline.
    private var scannedBytes = 0
    /// Set while an over-long line is being dropped.
    private var draining: Draining?

    /// An over-long line being dropped: how many bytes so far, its first bytes, and whether the
    /// last byte dropped was a `\r` (which, if the newline follows, is the terminator's and not
    /// the line's: the count must not depend on where the reads were cut).
    private struct Draining: Sendable {
        var dropped: Int
        var snippet: [UInt8]
        var endsWithCarriageReturn: Bool
    }

    public init(maxLineLength: Int = RPCLimits.defaultMaxLineLength) {
        precondition(maxLineLength > 0, "the line limit must be positive")
        self.maxLineLength = maxLineLength
        self.buffer = ByteBuffer()
    }

    /// Bytes waiting for their newline (for tests and diagnostics).
    public var pendingByteCount: Int { buffer.readableBytes }

    public mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0, buffer.capacity == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() -> Frame? {
        while true {
            let newlineOffset = buffer.withUnsafeReadableBytes { raw -> Int? in
                guard raw.count > scannedBytes else { return nil }
                let searched = UnsafeRawBufferPointer(rebasing: raw[scannedBytes...])
                guard let base = searched.baseAddress,
                      let hit = memchrNewline(base, searched.count)
                else { return nil }
                return scannedBytes + (hit - base)
            }
            guard let newlineOffset else {
                scannedBytes = buffer.readableBytes
                bound()
                return nil
            }
            scannedBytes = 0
            if let drained = draining {
                let carriageReturn = newlineOffset > 0
                    ? buffer.getInteger(at: buffer.readerIndex + newlineOffset - 1, as: UInt8.self) == UInt8(ascii: "\r")
                    : drained.endsWithCarriageReturn
                buffer.moveReaderIndex(forwardBy: newlineOffset + 1)
                draining = nil
                compactIfWorthIt()
                return .oversized(byteCount: drained.dropped + newlineOffset - (carriageReturn ? 1 : 0), snippet: drained.snippet)
            }
            var lineLength = newlineOffset
            if lineLength > 0, buffer.getInteger(at: buffer.readerIndex + lineLength - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                lineLength -= 1
            }
            if lineLength > maxLineLength {
                let snippet = buffer.getBytes(at: buffer.readerIndex, length: min(lineLength, RPCLimits.logSnippetLength)) ?? []
                buffer.moveReaderIndex(forwardBy: newlineOffset + 1)
                compactIfWorthIt()
                return .oversized(byteCount: lineLength, snippet: snippet)
            }
            let line = buffer.getSlice(at: buffer.readerIndex, length: lineLength)!
            buffer.moveReaderIndex(forwardBy: newlineOffset + 1)
            compactIfWorthIt()
            if lineLength == 0 { continue }
            return .line(line)
        }
    }

    /// Called at end of stream: leftover bytes without a newline are taken as a last line (a
    /// peer such as `printf ... | nc` may omit the final newline); a line being drained is
    /// reported as oversized.
    public mutating func finish() -> Frame? {
        defer {
            buffer.clear()
            scannedBytes = 0
            draining = nil
        }
        if let drained = draining {
            let pending = buffer.readableBytes
            let carriageReturn = pending > 0
                ? buffer.getInteger(at: buffer.readerIndex + pending - 1, as: UInt8.self) == UInt8(ascii: "\r")
                : drained.endsWithCarriageReturn
            return .oversized(byteCount: drained.dropped + pending - (carriageReturn ? 1 : 0), snippet: drained.snippet)
        }
        var lineLength = buffer.readableBytes
        if lineLength > 0, buffer.getInteger(at: buffer.readerIndex + lineLength - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            lineLength -= 1
        }
        guard lineLength > 0 else { return nil }
        return .line(buffer.getSlice(at: buffer.readerIndex, length: lineLength)!)
    }

    /// Keeps memory bounded while a line has no newline yet: once it passes the limit its bytes
    /// are dropped and only counted.
    private mutating func bound() {
        let pending = buffer.readableBytes
        guard pending > 0 else { return }
        let endsWithCarriageReturn = buffer.getInteger(at: buffer.readerIndex + pending - 1, as: UInt8.self) == UInt8(ascii: "\r")
        if var drained = draining {
            drained.dropped += pending
            drained.endsWithCarriageReturn = endsWithCarriageReturn
            draining = drained
            buffer.clear()
            scannedBytes = 0
        } else if pending > maxLineLength + 1 {
            // +1: the limit counts content, and a trailing \r may still be followed by \n.
            let snippet = buffer.getBytes(at: buffer.readerIndex, length: min(pending, RPCLimits.logSnippetLength)) ?? []
            draining = Draining(dropped: pending, snippet: snippet, endsWithCarriageReturn: endsWithCarriageReturn)
            buffer.clear()
            scannedBytes = 0
        }
    }

    private mutating func compactIfWorthIt() {
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 64 * 1024 {
            buffer.discardReadBytes()
        }
    }
}

@inline(__always)
private func memchrNewline(_ base: UnsafeRawPointer, _ count: Int) -> UnsafeRawPointer? {
    guard let hit = memchr(base, Int32(UInt8(ascii: "\n")), count) else { return nil }
    return UnsafeRawPointer(hit)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
