import NIOConcurrencyHelpers

/// A fixed set of resources (database connections) lent out one caller at a time, first come, first served.
///
/// Guarantees: a resource is lent to one caller at a time and always comes back, even when the caller's body
/// throws; a caller waits (suspended, not blocking a thread) only while every resource is out. Checking out and in
/// take a short lock, no actor hop. `drain` takes every resource back for good: later callers fail at once.
final class ResourcePool<Resource: Sendable>: Sendable {
    private struct State {
        var free: [Resource]
        var waiters: [CheckedContinuation<Resource?, Never>] = []
        var drained = false
    }

    private enum Next {
        case taken(Resource), closed, wait
    }

    private let state: NIOLockedValueBox<State>
    private let count: Int

    init(_ resources: [Resource]) {
        precondition(!resources.isEmpty, "a pool needs a resource")
        state = NIOLockedValueBox(State(free: resources))
        count = resources.count
    }

    /// Runs `body` with a resource of its own.
    func withResource<R: Sendable>(_ body: (Resource) async throws -> R) async throws -> R {
        let resource = try await checkOut()
        defer { checkIn(resource) }
        return try await body(resource)
    }

    /// Waits until every resource is back, then keeps them: the caller may close them.
    func drain() async -> [Resource] {
        var collected: [Resource] = []
        while collected.count < count {
            guard let resource = await take() else { break }
            collected.append(resource)
        }
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Resource?, Never>] in
            state.drained = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        return collected
    }

    private func checkOut() async throws -> Resource {
        guard let resource = await take() else { throw ResourcePoolClosed() }
        return resource
    }

    private func take() async -> Resource? {
        let next = state.withLockedValue { state -> Next in
            if state.drained { return .closed }
            if let resource = state.free.popLast() { return .taken(resource) }
            return .wait
        }
        switch next {
        case .taken(let resource): return resource
        case .closed: return nil
        case .wait:
            return await withCheckedContinuation { continuation in
                let immediate = state.withLockedValue { state -> Resource?? in
                    if state.drained { return .some(nil) }
                    if let resource = state.free.popLast() { return .some(resource) }
                    state.waiters.append(continuation)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        }
    }

    private func checkIn(_ resource: Resource) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Resource?, Never>? in
            if state.waiters.isEmpty {
                state.free.append(resource)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: resource)
    }
}

/// The pool was drained (its backend closed).
struct ResourcePoolClosed: Error {}
