import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads and writes the files of the PKI: private keys with mode 0600, certificates with 0644.
///
/// Writes are atomic (a temporary file in the same directory, then rename), so a crash never leaves half a key.
/// Reading a private key refuses a file that its group or others can read.
public enum SecureFile {
    /// Writes `contents` to `path` atomically with the given mode, creating parent directories (0700).
    /// Refuses to replace an existing file unless `overwrite` is true.
    public static func write(_ contents: String, to path: String, mode: mode_t, overwrite: Bool = false) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw PKIError(.fileError, "\(path) already exists and was left unchanged")
        }
        let temporary = directory + "/.\(url.lastPathComponent).\(UInt64.random(in: 0 ... .max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw PKIError(.fileError, "cannot create \(temporary): \(errnoText())") }
        // The umask may have narrowed the mode given to open(2): set it exactly.
        fchmod(fd, mode)
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc_write(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                close(fd)
                unlink(temporary)
                throw PKIError(.fileError, "cannot write \(temporary): \(errnoText())")
            }
            written += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw PKIError(.fileError, "cannot move a new file into \(path): \(errnoText())")
        }
    }

    /// Reads a text file (a certificate or other public data).
    public static func readPublic(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw PKIError(.fileError, "cannot read \(path)")
        }
        return text
    }

    /// Reads a private key file; refuses one that is readable or writable by group or others.
    public static func readPrivate(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { throw PKIError(.fileError, "cannot read \(path): \(errnoText())") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw PKIError(
                .keyFileInsecure,
                "\(path) has mode \(String(mode, radix: 8)); a private key must be readable by its owner only (chmod 600)"
            )
        }
        return try readPublic(path)
    }

    /// The permission bits of a file, or nil if it does not exist.
    public static func mode(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

#if canImport(Darwin)
    private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        Darwin.write(fd, buffer, count)
    }
#elseif canImport(Musl)
    private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        Musl.write(fd, buffer, count)
    }
#else
    private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        Glibc.write(fd, buffer, count)
    }
#endif
