import Foundation

/// One schema change: a SQL script applied once, in version order, and recorded in
/// `schema_migrations` with its checksum. Never edit an applied migration; add a new one.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    /// The script. Runs inside a transaction the migrator opens, so it must not contain
    /// `BEGIN`/`COMMIT` (nor statements that refuse transactions, like `CREATE INDEX CONCURRENTLY`).
    public let sql: String
    /// The file the migration came from (`0001_cases.sql`), for messages.
    public let fileName: String
    /// SHA-256 (lowercase hex) of `sql`'s UTF-8 bytes.
    public var checksum: String

    public init(version: Int, name: String, sql: String, fileName: String? = nil) {
        self.version = version
        self.name = name
        self.sql = sql
        self.fileName = fileName ?? "\(PostgresTimestamp.pad(Int64(version), 4))_\(name).sql"
        self.checksum = SHA256.hex(Array(sql.utf8))
    }
}

/// Loading migrations from a directory (usually a service's bundled `Migrations` resource folder).
public enum Migrations {
    /// Reads `NNNN_name.sql` files (e.g. `0001_cases.sql`) sorted by version. Other files
    /// (`.gitkeep`, READMEs) are ignored. Two files with the same version are an error.
    public static func load(directory: URL) throws -> [Migration] {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        } catch {
            throw PostgresError(
                code: .migrationFailed,
                message: "cannot read the migrations directory \(directory.path) (\(error.localizedDescription)); "
                    + "check that the service bundles its Migrations folder"
            )
        }
        var byVersion: [Int: Migration] = [:]
        for file in files {
            let fileName = file.lastPathComponent
            guard let (version, name) = parse(fileName) else { continue }
            let sql: String
            do {
                sql = try String(contentsOf: file, encoding: .utf8)
            } catch {
                throw PostgresError(code: .migrationFailed, message: "cannot read migration \(fileName) as UTF-8 text")
            }
            if let existing = byVersion[version] {
                let pair = [existing.fileName, fileName].sorted().joined(separator: " and ")
                throw PostgresError(
                    code: .migrationFailed,
                    message: "migrations \(pair) share version \(version); renumber the newer one"
                )
            }
            byVersion[version] = Migration(version: version, name: name, sql: sql, fileName: fileName)
        }
        return byVersion.values.sorted { $0.version < $1.version }
    }

    /// `0001_cases.sql` → (1, "cases").
    static func parse(_ fileName: String) -> (Int, String)? {
        guard fileName.hasSuffix(".sql"), let underscore = fileName.firstIndex(of: "_") else { return nil }
        let digits = fileName[..<underscore]
        let name = fileName[fileName.index(after: underscore)..<fileName.index(fileName.endIndex, offsetBy: -4)]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), !name.isEmpty,
            let version = Int(digits)
        else { return nil }
        return (version, String(name))
    }
}
