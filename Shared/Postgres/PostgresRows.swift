/// The result of one statement: its rows (possibly none) and how many rows it affected.
public struct PostgresRows: Sendable, RandomAccessCollection {
    final class Storage: Sendable {
        let columnNames: [String]
        let columnTypes: [PostgresDataType]
        let columnIndex: [String: Int]
        /// Row-major cells; nil is SQL NULL.
        let cells: [String?]

        init(columnNames: [String], columnTypes: [PostgresDataType], cells: [String?]) {
            self.columnNames = columnNames
            self.columnTypes = columnTypes
            self.cells = cells
            var index: [String: Int] = [:]
            for (position, name) in columnNames.enumerated() where index[name] == nil {
                index[name] = position
            }
            columnIndex = index
        }
    }

    let storage: Storage
    /// The number of rows returned.
    public let count: Int
    /// Rows inserted, updated, deleted, selected or copied, as the server's command tag reports.
    public let affectedRows: Int
    /// The server's command tag, e.g. `INSERT 0 1` or `UPDATE 3`.
    public let commandTag: String

    init(storage: Storage, count: Int, affectedRows: Int, commandTag: String) {
        self.storage = storage
        self.count = count
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    /// The result's column names, in order.
    public var columnNames: [String] { storage.columnNames }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < count, "row index \(position) out of range 0..<\(count)")
        return PostgresRow(storage: storage, row: position)
    }
}

/// One result row. Read columns by name or position.
public struct PostgresRow: Sendable {
    let storage: PostgresRows.Storage
    let row: Int

    /// The result's column names, in order.
    public var columnNames: [String] { storage.columnNames }

    /// Decodes the column named `column` (the first one, if the name repeats).
    public func decode<T: PostgresDecodable>(_ type: T.Type, column: String) throws(PostgresError) -> T {
        guard let index = storage.columnIndex[column] else {
            throw .decoding(
                "the result has no column \"\(column)\" (columns: \(storage.columnNames.joined(separator: ", "))); "
                    + "check the SELECT list or add an alias"
            )
        }
        return try decode(type, at: index)
    }

    /// Decodes the column at `index` (0-based).
    public func decode<T: PostgresDecodable>(_ type: T.Type, at index: Int) throws(PostgresError) -> T {
        let columns = storage.columnNames.count
        guard index >= 0, index < columns else {
            throw .decoding("column index \(index) is out of range; the result has \(columns) columns")
        }
        let context = PostgresDecodingContext(column: storage.columnNames[index], dataType: storage.columnTypes[index])
        guard let text = storage.cells[row * columns + index] else {
            return try T.decodeNull(context: context)
        }
        return try T.decode(postgresText: text, context: context)
    }

    /// Whether the column at `index` is SQL NULL.
    public func isNull(at index: Int) -> Bool {
        storage.cells[row * storage.columnNames.count + index] == nil
    }
}
