import GRDB
import PostgresNIO

/// What went wrong in a database failure, in words safe for a log or an operator: the error's type and the database's
/// own code (SQLite's result code and its meaning, PostgreSQL's SQLSTATE), never a statement's values.
enum FailureCause {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as DatabaseError:
            return "SQLite \(error.extendedResultCode)"
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] { return "PostgreSQL SQLSTATE \(state)" }
            return "PostgreSQL \(error.code)"
        default:
            return String(reflecting: type(of: error))
        }
    }
}
