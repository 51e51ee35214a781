import Contracts
import Crypto
import Sealing
import NIOPosix
import _CryptoExtras

#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation

/// Staff passwords, hashed with scrypt (memory-hard, so a stolen table is slow to attack on
/// GPUs). Stored as `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>` so the cost can rise later
/// without invalidating old hashes.
struct PasswordHasher: Sendable {
    /// log2 of scrypt's N; 14 means 16 MiB and about 50 ms per hash on this machine.
    let cost: Int
    static let blockSize = 8
    static let parallelism = 1
    static let minimumLength = 12

    /// scrypt takes tens of milliseconds of CPU on purpose: it runs on NIO's blocking thread pool,
    /// never on Swift's cooperative pool (two threads on this machine), which serves every request.
    func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { try hashNow(password) }
    }

    func verify(_ password: String, against stored: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive { verifyNow(password, against: stored) }) ?? false
    }

    func hashNow(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(16)
        let key = try derive(password, salt: salt, cost: cost, blockSize: Self.blockSize, parallelism: Self.parallelism)
        return "scrypt$\(cost)$\(Self.blockSize)$\(Self.parallelism)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// Compares in constant time; a malformed stored hash never matches.
    func verifyNow(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt",
              let cost = Int(parts[1]), (4...20).contains(cost),
              let blockSize = Int(parts[2]), let parallelism = Int(parts[3]),
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              let actual = try? derive(password, salt: Array(salt), cost: cost, blockSize: blockSize, parallelism: parallelism)
        else { return false }
        return ConstantTime.equal(actual, Array(expected))
    }

    /// Reasons a new password is refused (empty when it is acceptable).
    static func problems(with password: String) -> [LocalizedText] {
        var problems: [LocalizedText] = []
        if password.count < minimumLength {
            problems.append(LocalizedText("a password needs at least \(minimumLength) characters", zh: "密码至少需要 \(minimumLength) 个字符"))
        }
        if password.count > 256 { problems.append(LocalizedText("a password may have at most 256 characters", zh: "密码最多 256 个字符")) }
        return problems
    }

    private func derive(_ password: String, salt: [UInt8], cost: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32,
            rounds: 1 << cost, blockSize: blockSize, parallelism: parallelism
        )
        return key.withUnsafeBytes { Array($0) }
    }
}

enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// Secrets handed to clients (session cookies, API tokens): random, and stored only as SHA-256.
enum SecureRandom {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// 32 random bytes, base64url without padding.
    static func token(prefix: String = "") -> String {
        prefix + Data(bytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func sha256Hex(_ text: String) -> String {
        Hex.lowercase(SHA256.hash(data: Array(text.utf8)))
    }
}

/// A staff user's id: the login name, also the actor id the services record.
enum StaffUserID {
    static let rule = LocalizedText(
        "a user id is 2 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter",
        zh: "用户 id 为 2 至 64 个字符，只能含 a-z、0-9、'.'、'_' 或 '-'，且以字母开头"
    )

    static func isValid(_ id: String) -> Bool {
        guard (2...64).contains(id.count), let first = id.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }
}
