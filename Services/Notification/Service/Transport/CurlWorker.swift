import CLibCurl

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Buffers one transfer's callbacks read and write; lives on one pool thread.
private final class TransferBuffers {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var upload: [UInt8] = []
    var uploadOffset = 0
}

private let writeBody: onestop_curl_data_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let buffers = Unmanaged<TransferBuffers>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    // Provider answers are small; keep at most 64 KiB of them.
    if buffers.body.count < 65_536 {
        data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            buffers.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: min(length, 65_536 - buffers.body.count)))
        }
    }
    return length
}

private let writeHeader: onestop_curl_data_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let buffers = Unmanaged<TransferBuffers>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        buffers.headers = [:] // a new response (after a 100 Continue or a redirect)
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        buffers.headers[name] = value
    }
    return length
}

private let readUpload: onestop_curl_data_callback = { data, size, count, userdata in
    guard let data, let userdata else { return 0 }
    let buffers = Unmanaged<TransferBuffers>.fromOpaque(userdata).takeUnretainedValue()
    let room = size * count
    let remaining = buffers.upload.count - buffers.uploadOffset
    let length = min(room, remaining)
    if length > 0 {
        buffers.upload.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(data).copyMemory(from: source.baseAddress! + buffers.uploadOffset, byteCount: length)
        }
        buffers.uploadOffset += length
    }
    return length
}

/// The easy handles of one pool thread: one for SMTP and one for HTTP, each reset and reused
/// between transfers so its connection cache keeps connections open.
final class CurlWorker {
    private let smtpHandle: UnsafeMutableRawPointer
    private let httpHandle: UnsafeMutableRawPointer
    /// libcurl writes its error text here (CURLOPT_ERRORBUFFER); it lives as long as the handles.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() {
        guard let smtp = curl_easy_init(), let http = curl_easy_init() else {
            fatalError("curl_easy_init failed: libcurl cannot allocate a handle")
        }
        smtpHandle = smtp
        httpHandle = http
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    func close() {
        curl_easy_cleanup(smtpHandle)
        curl_easy_cleanup(httpHandle)
        errorBuffer.deallocate()
    }

    func perform(_ request: CurlRequest) -> CurlResult {
        switch request {
        case .smtp(let smtp): performSMTP(smtp)
        case .http(let http): performHTTP(http)
        }
    }

    private func common(_ handle: UnsafeMutableRawPointer, url: String, connectTimeout: Duration, timeout: Duration) {
        curl_easy_reset(handle)
        _ = onestop_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = onestop_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = onestop_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.wholeMilliseconds)
        _ = onestop_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeout.wholeMilliseconds)
        _ = onestop_curl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        errorBuffer[0] = 0
        _ = onestop_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
    }

    private func finish(_ handle: UnsafeMutableRawPointer, code: CURLcode, buffers: TransferBuffers, started: ContinuousClock.Instant) -> CurlResult {
        var response = 0
        _ = onestop_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &response)
        var message = String(cString: errorBuffer)
        if message.isEmpty, code != CURLE_OK { message = String(cString: curl_easy_strerror(code)) }
        return CurlResult(
            code: Int(code.rawValue), errorMessage: message, responseCode: response,
            headers: buffers.headers, body: buffers.body, elapsed: ContinuousClock.now - started
        )
    }

    private func performSMTP(_ request: SMTPRequest) -> CurlResult {
        let handle = smtpHandle
        let started = ContinuousClock.now
        var url = request.url
        // The path of an SMTP URL is the EHLO name.
        if url.dropFirst(url.hasPrefix("smtps://") ? 8 : 7).firstIndex(of: "/") == nil { url += "/onestop.local" }
        common(handle, url: url, connectTimeout: request.connectTimeout, timeout: request.timeout)
        if !request.url.hasPrefix("smtps://") {
            let mode: curl_usessl = switch request.starttls {
            case .required: CURLUSESSL_ALL
            case .optional: CURLUSESSL_TRY
            case .off: CURLUSESSL_NONE
            }
            _ = onestop_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(mode.rawValue))
        }
        if let caFile = request.caFile {
            _ = onestop_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)
        }
        if !request.verifyTLS {
            _ = onestop_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            _ = onestop_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let user = request.user, let password = request.password {
            _ = onestop_curl_setopt_string(handle, CURLOPT_USERNAME, user)
            _ = onestop_curl_setopt_string(handle, CURLOPT_PASSWORD, password)
        }
        _ = onestop_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(request.from)>")
        var recipients: UnsafeMutablePointer<curl_slist>?
        for recipient in request.recipients { recipients = curl_slist_append(recipients, "<\(recipient)>") }
        defer { curl_slist_free_all(recipients) }
        _ = onestop_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)

        let buffers = TransferBuffers()
        buffers.upload = request.message
        let opaque = Unmanaged.passUnretained(buffers).toOpaque()
        _ = onestop_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
        _ = onestop_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.message.count))
        _ = onestop_curl_setopt_callback(handle, CURLOPT_READFUNCTION, readUpload)
        _ = onestop_curl_setopt_pointer(handle, CURLOPT_READDATA, opaque)
        let code = withExtendedLifetime(buffers) { curl_easy_perform(handle) }
        return finish(handle, code: code, buffers: buffers, started: started)
    }

    private func performHTTP(_ request: HTTPRequest) -> CurlResult {
        let handle = httpHandle
        let started = ContinuousClock.now
        common(handle, url: request.url, connectTimeout: request.connectTimeout, timeout: request.timeout)
        var headers: UnsafeMutablePointer<curl_slist>?
        for header in request.headers { headers = curl_slist_append(headers, header) }
        // No "Expect: 100-continue" round trip for small bodies.
        headers = curl_slist_append(headers, "Expect:")
        defer { curl_slist_free_all(headers) }
        _ = onestop_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        if let auth = request.basicAuth {
            _ = onestop_curl_setopt_long(handle, CURLOPT_HTTPAUTH, 1) // CURLAUTH_BASIC
            _ = onestop_curl_setopt_string(handle, CURLOPT_USERNAME, auth.user)
            _ = onestop_curl_setopt_string(handle, CURLOPT_PASSWORD, auth.password)
        }
        _ = onestop_curl_setopt_long(handle, CURLOPT_POST, 1)
        _ = onestop_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, request.body.count)
        request.body.withUnsafeBufferPointer { body in
            body.withMemoryRebound(to: CChar.self) { chars in
                _ = onestop_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: chars.baseAddress))
            }
        }
        let buffers = TransferBuffers()
        let opaque = Unmanaged.passUnretained(buffers).toOpaque()
        _ = onestop_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, writeBody)
        _ = onestop_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, opaque)
        _ = onestop_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, writeHeader)
        _ = onestop_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, opaque)
        let code = withExtendedLifetime(buffers) { curl_easy_perform(handle) }
        return finish(handle, code: code, buffers: buffers, started: started)
    }
}

extension Duration {
    var wholeMilliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
