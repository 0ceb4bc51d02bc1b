import Foundation
import GRDB
import NIOConcurrencyHelpers
import NIOPosix
import SQLKit
import Testing

@testable import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite backend's own parts: the SQLKit adapter over GRDB and the pool that lends its connections.
@Suite struct SQLiteEngineTests {
    /// The thread that calls this, as a string SQL can return.
    private static func currentThread() -> String { String(describing: pthread_self()) }

    /// A connection whose SQL function `thread_name()` names the thread that runs the statement.
    private static func connectionNamingItsThread() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        queue.inDatabase { db in
            db.add(
                function: DatabaseFunction("thread_name", argumentCount: 0) { _ in Self.currentThread() })
        }
        return queue
    }

    @Test func blockingStatementsRunOnTheBackendsThreadAndOthersOnTheCallers() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let poolThread = try await pool.runIfActive { Self.currentThread() }
        let db = GRDBSQLDatabase(
            connection: try Self.connectionNamingItsThread(), blockingStatements: ["SELECT thread_name() AS t"],
            blockingPool: pool, logger: .init(label: "test"), eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let blocking = try await db.raw("SELECT thread_name() AS t").first()?.decode(column: "t", as: String.self)
        let inline = try await db.raw("SELECT thread_name() AS t, 1 AS one").first()?.decode(column: "t", as: String.self)
        #expect(blocking == poolThread)
        #expect(inline != poolThread)
        try await pool.shutdownGracefully()
    }

    @Test func rowsDecodeStrictly() async throws {
        let db = GRDBSQLDatabase(
            connection: try DatabaseQueue(), blockingStatements: [], blockingPool: nil, logger: .init(label: "test"),
            eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let row = try #require(try await db.raw("SELECT 7 AS n, 'seven' AS s, NULL AS z").first())
        #expect(try row.decode(column: "n", as: Int64.self) == 7)
        #expect(try row.decode(column: "s", as: String.self) == "seven")
        #expect(try row.decode(column: "z", as: Int64?.self) == nil)
        #expect(try row.decodeNil(column: "z"))
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "n", as: String.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "s", as: Int64.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "z", as: Int64.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "missing", as: Int64?.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "n", as: Date.self) }
    }

    @Test func bindsAreStoredAsTheirSQLiteValuesOrRefused() async throws {
        let db = GRDBSQLDatabase(
            connection: try DatabaseQueue(), blockingStatements: [], blockingPool: nil, logger: .init(label: "test"),
            eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let none: String? = nil
        let some: Int64? = 42
        let row = try #require(
            try await db.raw(
                "SELECT typeof(\(bind: "a")) AS s, typeof(\(bind: Int64(1))) AS i, typeof(\(bind: none)) AS n, \(bind: some) AS v"
            ).first())
        #expect(try row.decode(column: "s", as: String.self) == "text")
        #expect(try row.decode(column: "i", as: String.self) == "integer")
        #expect(try row.decode(column: "n", as: String.self) == "null")
        #expect(try row.decode(column: "v", as: Int64.self) == 42)
        await #expect(throws: GRDBBindError.self) { try await db.raw("SELECT \(bind: UUID()) AS u").run() }
    }

    @Test func aPoolLendsEachResourceToOneCallerAndDrains() async throws {
        let pool = ResourcePool([0, 1])
        let inUse = NIOLockedValueBox<(now: Set<Int>, most: Int, overlaps: Int)>(([], 0, 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await pool.withResource { resource in
                        inUse.withLockedValue {
                            if $0.now.contains(resource) { $0.overlaps += 1 }
                            $0.now.insert(resource)
                            $0.most = max($0.most, $0.now.count)
                        }
                        try await Task.sleep(for: .milliseconds(2))
                        inUse.withLockedValue { _ = $0.now.remove(resource) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inUse.withLockedValue { $0.overlaps } == 0)
        #expect(inUse.withLockedValue { $0.most } == 2)
        #expect(Set(await pool.drain()) == [0, 1])
        await #expect(throws: ResourcePoolClosed.self) { try await pool.withResource { _ in 0 } }
    }
}
