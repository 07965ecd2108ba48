#if canImport(Glibc)
import Glibc
#endif

/// The drawing a failed check writes, into a fresh directory under /tmp, and the line that
/// names it in the failure message.
enum FailureDrawing {
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

    static func makeTemporaryDirectory() -> String? { try? TemporaryDirectory.make(prefix: "objgraph-check") }

    /// The failure message's last line: where the drawing is, or why there is none.
    static func messageLine(_ path: String?) -> String {
        path.map { "\nDrawing: \($0)\n" } ?? "\n(no drawing: Graphviz could not write one)\n"
    }
}
