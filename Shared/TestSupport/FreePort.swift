import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that was free a moment ago (bound to 0 and released). Another process could
/// take it before the caller binds it, so callers retry when the bind fails.
public func freeLocalPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// A loopback port nobody listens on and nobody else can take while this lives: bound, never
/// listening, so a connection to it is refused. Tests of "that service is down" point at it; a
/// port merely found free could be taken by a server of a test running alongside.
public final class RefusingPort: Sendable {
    public let port: Int
    private let descriptor: Mutex<Int32?>

    public init() throws {
        let (fd, port) = try boundLoopbackSocket()
        self.port = port
        descriptor = Mutex(fd)
    }

    /// Lets the port go, for a test that starts the missing service on it right away (the
    /// moment in between is far shorter than a test's wait, when another test's server could
    /// take a port merely found free).
    public func release() {
        if let fd = descriptor.withLock({ fd in defer { fd = nil }; return fd }) { close(fd) }
    }

    deinit { release() }
}

private func boundLoopbackSocket() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ClusterError("socket() failed (errno \(errno))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Bool in
            bind(fd, address, length) == 0 && getsockname(fd, address, &length) == 0
        }
    }
    guard bound else {
        close(fd)
        throw ClusterError("could not find a free port (errno \(errno))")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
