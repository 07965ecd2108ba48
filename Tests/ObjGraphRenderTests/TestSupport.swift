import Glibc
import ObjGraphCore
import ObjGraphRender

/// Renders `drawing` as SVG text.
func svg(_ drawing: GraphDrawing) throws -> String {
    String(decoding: try Graphviz.render(drawing, format: .svg), as: UTF8.self)
}

/// Renders `drawing` as DOT text through the public render entry point.
func dot(_ drawing: GraphDrawing) throws -> String {
    String(decoding: try Graphviz.render(drawing, format: .dot), as: UTF8.self)
}

/// The number of times `needle` occurs in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    text.ranges(of: needle).count
}

/// The attribute list of the node statement for `name` in `dot` (`o3 [ ... ];`), or "".
func dotNodeLine(_ name: String, in dot: String) -> String {
    dot.split(separator: "\n").first { $0.hasPrefix("\t\(name) [") }.map(String.init) ?? ""
}

/// The edge statements of `dot` (lines with `->`).
func dotEdgeLines(in dot: String) -> [String] {
    dot.split(separator: "\n").filter { $0.contains(" -> ") }.map(String.init)
}

/// A fresh, empty directory under /tmp.
func makeTemporaryDirectory() -> String {
    do { return try TemporaryDirectory.make(prefix: "objgraph-render-test") } catch { preconditionFailure("\(error)") }
}

/// Names in `directory` other than `.` and `..`.
func listDirectory(_ directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// The bytes of the file at `path`, or nil when it cannot be read.
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// Removes `directory` and everything in it.
func removeDirectory(_ directory: String) { TemporaryDirectory.remove(directory) }

/// The PNG file signature.
let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
