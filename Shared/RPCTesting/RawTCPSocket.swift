import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain blocking TCP socket for abuse tests: idle connections by the hundred (one file
/// descriptor each, no event loop), peers that drip bytes, and peers that never read. Every
/// send and receive has a timeout, so a test cannot hang on it.
///
/// The blocking calls run on a thread pool of their own (the async methods), never on the
/// cooperative pool: a test blocking there for seconds would starve every in-process server
/// and every other test of the run.
public final class RawTCPSocket: Sendable {
    public let descriptor: Int32

    private static let blockingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    private func blocking<T: Sendable>(_ body: @escaping @Sendable (RawTCPSocket) throws -> T) async throws -> T {
        try await Self.blockingPool.runIfActive { [self] in try body(self) }
    }

    // MARK: Async (use these from tests)

    @discardableResult
    public func send(_ bytes: [UInt8]) async throws -> Int { try await blocking { try $0.sendNow(bytes) } }

    public func send(_ text: String) async throws { try await blocking { try $0.sendNow(text) } }

    public func receive(maximum: Int = 65_536) async throws -> (bytes: [UInt8], timedOut: Bool) {
        try await blocking { $0.receiveNow(maximum: maximum) }
    }

    public func readUntilClosed(limit: Duration) async throws -> (bytes: [UInt8], closed: Bool) {
        try await blocking { $0.readUntilClosedNow(limit: limit) }
    }

    public func readLines(_ count: Int, limit: Duration) async throws -> [String] {
        try await blocking { $0.readLinesNow(count, limit: limit) }
    }

    public func countNewlines(_ count: Int, limit: Duration) async throws -> Int {
        try await blocking { $0.countNewlinesNow(count, limit: limit) }
    }

    // MARK: Blocking

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Connects to 127.0.0.1:`port`. `receiveBuffer` shrinks the kernel's receive buffer before
    /// connecting (which also stops its autotuning), for a peer whose answers must back up soon.
    public init(port: Int, receiveBuffer: Int? = nil, timeout: Duration = .seconds(5)) throws {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        descriptor = fd
        if var size = receiveBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        setTimeout(timeout)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect to port \(port) failed: errno \(code)")
        }
    }

    deinit { close(descriptor) }

    /// How long a send or receive may block before it gives up.
    public func setTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: .init(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends as much of `bytes` as the kernel takes before the timeout; returns how many bytes
    /// went (fewer than given when the peer stopped reading), or throws when the peer is gone.
    @discardableResult
    public func sendNow(_ bytes: some Collection<UInt8>) throws -> Int {
        let array = Array(bytes)
        var sent = 0
        while sent < array.count {
            let n = array.withUnsafeBytes { raw in
                Glibc_send(descriptor, raw.baseAddress! + sent, array.count - sent)
            }
            if n > 0 {
                sent += n
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                return sent
            } else if n < 0, errno == EINTR {
                continue
            } else {
                throw Failure(description: "send failed: errno \(errno)")
            }
        }
        return sent
    }

    public func sendNow(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard try sendNow(bytes) == bytes.count else { throw Failure(description: "the peer stopped taking bytes") }
    }

    /// Up to `maximum` bytes; empty at end of stream or on timeout (`timedOut` tells which).
    public func receiveNow(maximum: Int = 65_536) -> (bytes: [UInt8], timedOut: Bool) {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, maximum, 0) }
            if n > 0 { return (Array(buffer[..<n]), false) }
            if n == 0 { return ([], false) }
            if errno == EINTR { continue }
            return ([], errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    /// Reads until the peer closes (or resets) the connection, or `limit` passes; returns what
    /// arrived and whether the peer closed.
    public func readUntilClosedNow(limit: Duration) -> (bytes: [UInt8], closed: Bool) {
        let end = ContinuousClock.now + limit
        var collected: [UInt8] = []
        while ContinuousClock.now < end {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, 65_536, 0) }
            if n > 0 {
                collected += chunk[..<n]
            } else if n == 0 {
                return (collected, true)
            } else if errno == ECONNRESET {
                return (collected, true)
            } else if errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                return (collected, true)
            }
        }
        return (collected, false)
    }

    /// Reads until `count` newline-ended lines arrived or `limit` passed; returns the lines.
    public func readLinesNow(_ count: Int, limit: Duration) -> [String] {
        let end = ContinuousClock.now + limit
        var lines: [String] = []
        var partial: [UInt8] = []
        while lines.count < count, ContinuousClock.now < end {
            let (bytes, timedOut) = receiveNow()
            if bytes.isEmpty, !timedOut { break }
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    lines.append(String(decoding: partial, as: UTF8.self))
                    partial.removeAll(keepingCapacity: true)
                } else {
                    partial.append(byte)
                }
            }
        }
        return lines
    }

    /// Reads and discards answers until `count` newlines arrived or `limit` passed; returns how
    /// many arrived. For large answers, where decoding each line would only cost time.
    public func countNewlinesNow(_ count: Int, limit: Duration) -> Int {
        let end = ContinuousClock.now + limit
        var seen = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while seen < count, ContinuousClock.now < end {
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, 1 << 20, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                break
            }
            chunk.withUnsafeBytes { raw in
                var offset = 0
                while offset < n, let hit = memchr(raw.baseAddress! + offset, Int32(UInt8(ascii: "\n")), n - offset) {
                    seen += 1
                    offset = UnsafeRawPointer(hit) - raw.baseAddress! + 1
                }
            }
        }
        return seen
    }
}

@inline(__always)
private func Glibc_send(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return send(fd, pointer, count, 0)
    #else
    return send(fd, pointer, count, Int32(MSG_NOSIGNAL))
    #endif
}
