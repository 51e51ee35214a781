import CLibCurl
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// One transfer for libcurl to perform.
public enum CurlRequest: Sendable {
    case smtp(SMTPRequest)
    case http(HTTPRequest)
}

public struct SMTPRequest: Sendable {
    /// `smtp://host:port` or `smtps://host:port`.
    public var url: String
    public var user: String?
    public var password: String?
    public var starttls: STARTTLSMode
    public var verifyTLS: Bool
    /// A PEM bundle of trusted CAs (`CURLOPT_CAINFO`); nil = the system's store.
    public var caFile: String?
    public var from: String
    public var recipients: [String]
    public var message: [UInt8]
    public var connectTimeout: Duration
    public var timeout: Duration

    public init(url: String, user: String? = nil, password: String? = nil, starttls: STARTTLSMode = .optional, verifyTLS: Bool = true, caFile: String? = nil,
                from: String, recipients: [String], message: [UInt8], connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30)) {
        self.url = url
        self.user = user
        self.password = password
        self.starttls = starttls
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.from = from
        self.recipients = recipients
        self.message = message
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

public struct HTTPRequest: Sendable {
    public var url: String
    public var headers: [String]
    public var body: [UInt8]
    public var basicAuth: (user: String, password: String)?
    public var connectTimeout: Duration
    public var timeout: Duration

    public init(url: String, headers: [String], body: [UInt8], basicAuth: (user: String, password: String)? = nil,
                connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30)) {
        self.url = url
        self.headers = headers
        self.body = body
        self.basicAuth = basicAuth
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

/// What libcurl reported for a transfer.
public struct CurlResult: Sendable {
    /// The `CURLcode` (0 = the transfer finished; an HTTP 4xx/5xx still finishes).
    public var code: Int
    public var errorMessage: String
    /// The last SMTP reply code or the HTTP status (0 when none arrived).
    public var responseCode: Int
    /// Response headers, names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    public var elapsed: Duration

    public var finished: Bool { code == 0 }
    public var timedOut: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }
}

/// A small pool of threads, each owning reusable easy handles (so connections are kept and
/// reused), that perform libcurl transfers off the Swift cooperative pool. At most `threads`
/// transfers run at once; further requests wait in FIFO order.
public final class CurlPool: Sendable {
    private let shared: Shared

    public init(threads: Int) {
        CurlGlobal.initialize()
        shared = Shared()
        for index in 0..<max(1, threads) {
            let shared = self.shared
            let thread = Thread { CurlPool.workerLoop(shared) }
            thread.name = "curl-\(index)"
            thread.start()
        }
    }

    /// Performs `request` on a pool thread; the caller's task suspends meanwhile.
    public func perform(_ request: CurlRequest) async -> CurlResult {
        await withCheckedContinuation { continuation in
            shared.push(Pending(request: request, continuation: continuation))
        }
    }

    /// Stops the threads once the queued transfers are done.
    public func shutdown() {
        shared.stop()
    }

    deinit { shared.stop() }

    struct Pending: Sendable {
        let request: CurlRequest
        let continuation: CheckedContinuation<CurlResult, Never>
    }

    /// The queue between callers and threads. `@unchecked Sendable`: every field is read and
    /// written only while `condition` is locked.
    final class Shared: @unchecked Sendable {
        private let condition = NSCondition()
        private var queue: [Pending] = []
        private var head = 0
        private var stopped = false

        func push(_ pending: Pending) {
            condition.lock()
            if stopped {
                condition.unlock()
                pending.continuation.resume(returning: CurlResult(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), errorMessage: "the transport is shut down", responseCode: 0, headers: [:], body: [], elapsed: .zero))
                return
            }
            queue.append(pending)
            condition.signal()
            condition.unlock()
        }

        /// The next request, or nil once stopped and drained.
        func pop() -> Pending? {
            condition.lock()
            defer { condition.unlock() }
            while head == queue.count && !stopped { condition.wait() }
            guard head < queue.count else { return nil }
            let next = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return next
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
    }

    private static func workerLoop(_ shared: Shared) {
        let worker = CurlWorker()
        while let pending = shared.pop() {
            pending.continuation.resume(returning: worker.perform(pending.request))
        }
        worker.close()
    }
}

/// `curl_global_init` exactly once per process, before any handle exists.
enum CurlGlobal {
    private static let done: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return true
    }()

    static func initialize() { _ = done }
}
