#if canImport(Glibc)
import Glibc
#endif

/// Private temporary directories (`mkdtemp`, mode 0700) and their removal, for the command's
/// hand-off with the agent, the test helpers' failure drawings and the benchmarks.
package enum TemporaryDirectory {
    /// Makes `$TMPDIR/PREFIX-XXXXXX` (or under /tmp) and returns its path.
    package static func make(prefix: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let pattern = (base.hasSuffix("/") ? base : base + "/") + prefix + "-XXXXXX"
        var template = Array(pattern.utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemCallError(call: "mkdtemp", path: pattern)
        }
        return String(cString: made)
    }

    /// Removes `path` and everything below it, not following symbolic links. Errors are
    /// ignored: what cannot be removed is left.
    package static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        if let directory = opendir(path) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cBuffer: $0.bindMemory(to: CChar.self)) }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
            for name in names { remove(path + "/" + name) }
        }
        rmdir(path)
    }
}
