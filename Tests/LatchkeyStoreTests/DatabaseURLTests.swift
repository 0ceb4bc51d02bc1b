import LatchkeyStore
import Testing

@Suite struct DatabaseURLTests {
    @Test func urlsParseAndThePasswordNeverShows() throws {
        let url = try DatabaseURL("postgres://app:s3cret-pw@db.internal:6432/latchkey?sslmode=require")
        #expect(
            url
                == .postgres(
                    host: "db.internal", port: 6432, user: "app", password: "s3cret-pw", database: "latchkey",
                    requireTLS: true))
        #expect(!url.description.contains("s3cret-pw"))
        #expect(try DatabaseURL("sqlite:/tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
    }

    @Test func badURLsAreRefusedWithoutEchoingThem() {
        for bad in ["mysql://u:hunter2@h/db", "sqlite:", "postgres://:hunter2@h/db", "postgres:///db", "hunter2"] {
            do {
                _ = try DatabaseURL(bad)
                Issue.record("accepted \(bad)")
            } catch let error as StoreError {
                #expect(error.code == .invalidDatabaseURL)
                #expect(!error.message.contains("hunter2"))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
