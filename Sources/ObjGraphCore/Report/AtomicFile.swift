#if canImport(Glibc)
import Glibc
#endif

/// A failed system call while writing a file: which call, which path, and `strerror(errno)`.
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var message: String

    public var description: String { "\(call) failed for \(path): \(message)" }
}

/// Writes files all at once: to a temporary file in the target's directory, then `rename(2)`
/// over the target. Readers see the old file or the whole new one, never a partial write.
public enum AtomicFile {
    /// The text after the last `.` of the last path component, or "" when there is none.
    public static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// Writes `bytes` to `path` atomically. On failure the temporary file is removed and `path`
    /// is left as it was.
    ///
    /// - Parameter durable: flush the data to disk (`fsync`) before the rename, so the file
    ///   survives a power loss too. Hand-off files that another process reads at once and then
    ///   deletes (the agent's reports) skip it: the rename alone makes them atomic for readers,
    ///   and a crash of the writing process cannot lose them.
    public static func write(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(directory).\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw systemError("mkstemp", path) }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            defer { close(fd) }
            try writeAll(fd, bytes, path: tempPath)
            // mkstemp creates files 0600; reports and drawings are ordinary output files.
            _ = fchmod(fd, 0o644)
            guard !durable || fsync(fd) == 0 else { throw systemError("fsync", tempPath) }
        }
        guard rename(tempPath, path) == 0 else { throw systemError("rename", path) }
        committed = true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw systemError("write", path)
                }
                offset += n
            }
        }
    }

    /// Writes `text` as UTF-8 to `path` atomically; `durable` as for the byte overload.
    public static func write(_ text: String, to path: String, durable: Bool = true) throws {
        try write(Array(text.utf8), to: path, durable: durable)
    }

    private static func systemError(_ call: String, _ path: String) -> FileError {
        FileError(call: call, path: path, message: String(cString: strerror(errno)))
    }
}
