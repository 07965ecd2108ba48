#if canImport(Glibc)
import Glibc
#endif

/// Writes files all at once: to a temporary file in the target's directory, then `rename(2)`
/// over the target. Readers see the old file or the whole new one, never a partial write.
package enum AtomicFile {
    /// The text after the last `.` of the last path component, or "" when there is none.
    package static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// Writes `bytes` to `path` atomically. On failure the temporary file is removed and `path`
    /// is left as it was.
    ///
    /// - Parameter durable: flush the data to disk (`fsync`) before the rename, and the
    ///   directory after it, so the file survives a power loss too. Hand-off files that another process reads at once and then
    ///   deletes (the agent's reports) skip it: the rename alone makes them atomic for readers,
    ///   and a crash of the writing process cannot lose them.
    package static func write(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw SystemCallError(call: "open", path: path, code: EISDIR) }
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
        if durable {
            // Make the rename durable; a failure here cannot undo it, so it is not reported.
            let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directoryFD >= 0 {
                fsync(directoryFD)
                close(directoryFD)
            }
        }
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
    package static func write(_ text: String, to path: String, durable: Bool = true) throws {
        try write(Array(text.utf8), to: path, durable: durable)
    }

    private static func systemError(_ call: String, _ path: String) -> SystemCallError {
        SystemCallError(call: call, path: path)
    }
}
