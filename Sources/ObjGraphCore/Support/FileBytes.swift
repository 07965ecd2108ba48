#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads with Glibc system calls (no Foundation in code loaded into programs).
package enum FileBytes {
    /// Every byte of the file at `path` (a pipe or a `/proc` file, whose size is 0, too).
    package static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallError(call: "stat", path: path) }
        // Sized from fstat; grows if the file is longer.
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            let code = errno
            if got < 0 && code == EINTR { continue }
            guard got >= 0 else { throw SystemCallError(call: "read", path: path, code: code) }
            if got == 0 { break }
            filled += got
        }
        bytes.removeSubrange(filled...)
        return bytes
    }
}
