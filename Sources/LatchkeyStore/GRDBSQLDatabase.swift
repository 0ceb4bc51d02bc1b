import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// SQLKit's `SQLDatabase` over one GRDB connection, so the SQLite backend runs the store's one set of queries.
///
/// Each statement is prepared once per connection (GRDB's statement cache) and runs on the calling thread: a
/// statement of an open transaction or a read needs no thread hop. Only the statements in `blockingStatements`
/// (`BEGIN IMMEDIATE`, which may wait up to the busy timeout for another process's write lock, and `COMMIT`, which
/// waits for the disk) run on `blockingPool`, so neither ties up a thread of Swift's cooperative pool.
///
/// Guarantees: the caller serializes use (one session at a time per connection, see ``ResourcePool``); binds of
/// `String`, integers, `Double`, `Bool`, `Data` and nil are supported, any other bind is an error, never a guess;
/// every row of a statement is read before it returns, so a `RETURNING` statement always completes.
struct GRDBSQLDatabase: SQLDatabase {
    let connection: DatabaseQueue
    let blockingStatements: Set<String>
    let blockingPool: NIOThreadPool?
    let logger: Logger
    let eventLoop: any EventLoop
    var dialect: any SQLDialect { SQLiteSQLDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLKit.SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void)
        -> EventLoopFuture<Void>
    {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLKit.SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        // GRDB's initializer over optional existentials maps with a closure; the one over `DatabaseValue`s maps with a
        // key path, which unspecialized code applies through the runtime (3% of a signed transfer under perf).
        let arguments =
            binds.isEmpty
            ? StatementArguments()
            : StatementArguments(try binds.map { try Self.databaseValue($0) as (any DatabaseValueConvertible)? })
        if let blockingPool, binds.isEmpty, blockingStatements.contains(sql) {
            let connection = self.connection
            try await blockingPool.runIfActive { try Self.run(sql, arguments, on: connection, onRow) }
        } else {
            try Self.run(sql, arguments, on: connection, onRow)
        }
    }

    /// Rolls back a transaction still open on the connection, if any (see ``SQLiteBackend``); never throws: a
    /// connection that cannot roll back fails its next `BEGIN` instead.
    func abandonOpenTransaction() {
        connection.inDatabase { db in
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
        }
    }

    /// Prepares (or reuses) the statement and steps it to the end, handing each row to `onRow`.
    private static func run(
        _ sql: String, _ arguments: StatementArguments, on connection: DatabaseQueue,
        _ onRow: @Sendable (any SQLRow) -> Void
    ) throws {
        try connection.inDatabase { db in
            let statement = try db.cachedStatement(sql: sql)
            let columns = statement.columnNames
            if columns.isEmpty {
                try statement.execute(arguments: arguments)
                return
            }
            let cursor = try Row.fetchCursor(statement, arguments: arguments)
            while let row = try cursor.next() {
                onRow(GRDBRow(columns: columns, values: Array(row.databaseValues)))
            }
        }
    }

    /// The SQLite value of one bind; SQLKit hands binds over as `Encodable` values.
    static func databaseValue(_ bind: any Encodable) throws -> DatabaseValue {
        switch bind {
        case let value as String: return value.databaseValue
        case let value as Int64: return value.databaseValue
        case let value as Int: return value.databaseValue
        case let value as Int32: return value.databaseValue
        case let value as Double: return value.databaseValue
        case let value as Bool: return value.databaseValue
        case let value as Data: return value.databaseValue
        case let value as any OptionalBind:
            guard let wrapped = value.wrappedBind else { return .null }
            return try databaseValue(wrapped)
        default:
            throw GRDBBindError(type: String(reflecting: type(of: bind)))
        }
    }
}

/// A bind of a type the SQLite backend does not store; a programming error, reported without the value.
struct GRDBBindError: Error, CustomStringConvertible {
    let type: String
    var description: String { "a bind of type \(type) cannot be stored in SQLite" }
}

/// An optional bind, looked through to its value or to NULL.
protocol OptionalBind {
    var wrappedBind: (any Encodable)? { get }
}

extension Optional: OptionalBind where Wrapped: Encodable {
    var wrappedBind: (any Encodable)? { self }
}

/// One row read from SQLite, copied out of the statement.
///
/// Guarantees: decoding is strict: an integer column decodes only as an integer, a text column only as `String`; NULL
/// only as an optional.
struct GRDBRow: SQLRow {
    let columns: [String]
    let values: [DatabaseValue]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool { try value(column).isNull }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        // The store's column types, compared by metadata: a cast to `any ColumnDecodable.Type` looks the conformance
        // up at run time on every call (3% of a lookup under perf). The types are identical, so the bit casts are too.
        if D.self == String.self { return unsafeBitCast(try String.decode(value, column: column), to: D.self) }
        if D.self == Int64.self { return unsafeBitCast(try Int64.decode(value, column: column), to: D.self) }
        if D.self == String?.self { return unsafeBitCast(try String?.decode(value, column: column), to: D.self) }
        if D.self == Int64?.self { return unsafeBitCast(try Int64?.decode(value, column: column), to: D.self) }
        guard let decodable = D.self as? any ColumnDecodable.Type,
            let decoded = try decodable.decode(value, column: column) as? D
        else {
            throw GRDBDecodeError(column: column, reason: "\(D.self) is not a column type")
        }
        return decoded
    }

    private func value(_ column: String) throws -> DatabaseValue {
        guard let index = columns.firstIndex(of: column) else {
            throw GRDBDecodeError(column: column, reason: "no such column")
        }
        return values[index]
    }
}

/// A column that cannot be decoded as asked; names the column, never its value.
struct GRDBDecodeError: Error, CustomStringConvertible {
    let column: String
    let reason: String
    var description: String { "cannot decode column \(column): \(reason)" }
}

/// A type a column decodes to.
protocol ColumnDecodable {
    static func decode(_ value: DatabaseValue, column: String) throws -> Self
}

extension ColumnDecodable where Self: DatabaseValueConvertible {
    static func decode(_ value: DatabaseValue, column: String) throws -> Self {
        switch (value.storage, Self.self) {
        case (.int64, is any BinaryInteger.Type), (.int64, is Bool.Type), (.string, is String.Type),
            (.double, is Double.Type), (.int64, is Double.Type), (.blob, is Data.Type):
            if let decoded = Self.fromDatabaseValue(value) { return decoded }
        default: break
        }
        throw GRDBDecodeError(column: column, reason: "the value is not a \(Self.self)")
    }
}

extension String: ColumnDecodable {}
extension Int64: ColumnDecodable {}
extension Int: ColumnDecodable {}
extension Double: ColumnDecodable {}
extension Bool: ColumnDecodable {}
extension Data: ColumnDecodable {}

extension Optional: ColumnDecodable where Wrapped: ColumnDecodable {
    static func decode(_ value: DatabaseValue, column: String) throws -> Self {
        value.isNull ? nil : try Wrapped.decode(value, column: column)
    }
}
