import Foundation

/// Where the store lives: `sqlite:PATH` or `postgres://user:pass@host:port/db` (SPEC §1).
///
/// Guarantees: `description` never contains the password.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(host: String, port: Int, user: String, password: String?, database: String?, requireTLS: Bool)

    /// Parses a `--database` value; refuses anything else with `invalid_database_url` (the message omits the value,
    /// which may hold a password).
    public init(_ text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw StoreError(.invalidDatabaseURL, "sqlite: needs a file path (sqlite:PATH)")
            }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
            let components = URLComponents(string: text), let host = components.host, !host.isEmpty
        else {
            throw StoreError(
                .invalidDatabaseURL, "the database must be sqlite:PATH or postgres://user:pass@host:port/db")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError(.invalidDatabaseURL, "the PostgreSQL URL needs a user name")
        }
        let database = components.path.split(separator: "/").first.map(String.init)
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value
        self = .postgres(
            host: host, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding ?? components.password, database: database,
            requireTLS: sslmode == "require" || sslmode == "verify-full")
    }

    /// The URL with any password replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let host, let port, let user, let password, let database, _):
            return "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database ?? "")"
        }
    }
}
