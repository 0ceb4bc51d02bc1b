import Foundation

/// Fresh, isolated databases for store tests: a new SQLite file, or a new database on the PostgreSQL server named
/// by `LATCHKEY_TEST_POSTGRES_URL` (created with `psql`).
public enum TestDatabases {
    public enum Kind: String, Sendable, CustomStringConvertible {
        case sqlite, postgres
        public var description: String { rawValue }
    }

    /// The backends to test: SQLite always; PostgreSQL when `LATCHKEY_TEST_POSTGRES_URL` is set. In CI (`CI=true`)
    /// a missing PostgreSQL is not skipped: the PostgreSQL cases stay in the list and fail.
    public static var kinds: [Kind] {
        if postgresServerURL != nil || isCI { return [.sqlite, .postgres] }
        printSkipNoticeOnce()
        return [.sqlite]
    }

    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    public static var postgresServerURL: String? {
        let value = ProcessInfo.processInfo.environment["LATCHKEY_TEST_POSTGRES_URL"]
        return value?.isEmpty == false ? value : nil
    }

    nonisolated(unsafe) private static var noticePrinted = false
    private static func printSkipNoticeOnce() {
        if !noticePrinted {
            noticePrinted = true
            print("notice: LATCHKEY_TEST_POSTGRES_URL is not set; the PostgreSQL half of the store tests is skipped")
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A `--database` URL for a new, empty database of `kind`.
    public static func fresh(_ kind: Kind) throws -> String {
        switch kind {
        case .sqlite:
            return "sqlite:" + (try Shell.temporaryDirectory("latchkey-store")) + "/latchkey.sqlite"
        case .postgres:
            guard let server = postgresServerURL else {
                throw Failure(
                    description: "CI=true but LATCHKEY_TEST_POSTGRES_URL is not set: PostgreSQL is required in CI")
            }
            let name = "lk_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
            let created = try Shell.run(["psql", server, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
            guard created.status == 0 else {
                throw Failure(description: "psql CREATE DATABASE failed: \(created.stderr)")
            }
            return replacingDatabase(in: server, with: name)
        }
    }

    /// Runs one SQL statement on a test database with the `sqlite3` or `psql` command (for tampering from outside).
    public static func execute(_ sql: String, on url: String) throws {
        let result: Shell.Result
        if url.hasPrefix("sqlite:") {
            result = try Shell.run(["sqlite3", String(url.dropFirst(7)), sql])
        } else {
            result = try Shell.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        }
        guard result.status == 0 else { throw Failure(description: "SQL failed: \(result.stderr)") }
    }

    /// The first column of the first row of a query, as the `sqlite3` or `psql` command prints it.
    public static func query(_ sql: String, on url: String) throws -> String {
        let result: Shell.Result
        if url.hasPrefix("sqlite:") {
            result = try Shell.run(["sqlite3", String(url.dropFirst(7)), sql])
        } else {
            result = try Shell.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        }
        guard result.status == 0 else { throw Failure(description: "SQL failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// The same PostgreSQL server's URL with another database name.
    public static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }
}
