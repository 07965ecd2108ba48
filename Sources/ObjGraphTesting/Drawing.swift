#if canImport(Glibc)
import Glibc
#endif

/// Writes drawings into a fresh directory under /tmp.
enum Drawing {
    /// Makes `/tmp/objgraph-check-XXXXXX` and writes `name` into it with `write`; returns the
    /// path, or nil when the directory or the drawing could not be made.
    static func write(name: String, _ write: (String) throws -> Void) -> String? {
        guard let directory = makeTemporaryDirectory() else { return nil }
        let path = directory + "/" + name
        do {
            try write(path)
            return path
        } catch {
            return nil
        }
    }

    static func makeTemporaryDirectory() -> String? {
        var template = Array("/tmp/objgraph-check-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { return nil }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
