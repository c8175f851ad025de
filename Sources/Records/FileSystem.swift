import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the SQLite store needs, with errors that name
/// the path and say what the system said (errno), not a Foundation code.
enum FileSystem {
    /// Creates the database's directory and its parents (0700: call records
    /// name people and numbers).
    static func makeDirectories(for file: String) throws(RecordStoreError) {
        let directory = (file as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        var partial = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) == 0 { continue }
            let error = errno
            var info = stat()
            // EEXIST is fine for a directory (or a link to one), not for a file.
            if error == EEXIST, stat(partial, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
            let reason = error == EEXIST ? "\(partial) exists and is not a directory" : "\(partial): \(describe(error))"
            throw .cannotCreateDirectory(path: directory, reason: reason)
        }
    }

    /// Creates the file readable by its owner only, and tightens an existing
    /// one. SQLite gives its -wal and -shm files the same mode.
    static func createPrivateFile(_ path: String) throws(RecordStoreError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotOpen(target: path, reason: describe(errno)) }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else {
            throw .cannotOpen(target: path, reason: "cannot set mode 0600: \(describe(errno))")
        }
    }

    static func describe(_ error: Int32) -> String {
        String(cString: strerror(error))
    }
}
