import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

/// Loads a snapshot file, turning any failure into a one-line error.
func loadSnapshot(_ path: String) throws -> HeapSnapshot {
    guard access(path, F_OK) == 0 else { throw CommandError("no such snapshot file: \(path)") }
    do {
        return try HeapSnapshot(contentsOf: path)
    } catch {
        throw CommandError("\(error)")
    }
}

/// `path` without its last component (`/a/b/c` -> `/a/b`, `c` -> `.`).
func parentDirectory(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
}

/// Refuses early, before anything runs, when an output cannot be written.
func checkWritableDirectory(of path: String) throws {
    let directory = parentDirectory(of: ProgramRunner.absolute(path))
    guard ProgramRunner.isDirectory(directory) else {
        throw CommandError.usage("cannot write \(path): no such directory \(directory)")
    }
    guard access(directory, W_OK) == 0 else {
        throw CommandError.usage("cannot write \(path): directory \(directory) is not writable")
    }
}

/// The drawing format of `path` from its extension, or a usage error.
func drawingFormat(of path: String) throws -> OutputFormat {
    guard let format = OutputFormat(fileExtension: AtomicFile.fileExtension(of: path)) else {
        throw CommandError.usage("\(path): unknown extension (use .svg, .png or .dot)")
    }
    return format
}
