#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process limits for commands that hold many connections (`serve`, `bench load`).
package enum ResourceLimits {
    /// Raises the soft limit on open files to the hard limit, so many concurrent connections are not refused with
    /// EMFILE on systems whose default soft limit is 1024. Leaves the limit unchanged if it cannot be raised.
    package static func raiseOpenFileLimit() {
        #if os(Linux)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}
