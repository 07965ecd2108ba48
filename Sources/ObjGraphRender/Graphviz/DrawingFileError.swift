/// An error writing a rendered drawing to a file.
public enum DrawingFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path's extension names no format ObjGraphRender writes. Carries the extension
    /// (empty when the path has none) and the path.
    case unknownExtension(String, path: String)
    /// A system call failed. Carries the call, the path and `strerror(errno)`.
    case system(call: String, path: String, message: String)

    /// A one-line explanation naming the path.
    public var description: String {
        switch self {
        case let .unknownExtension(ext, path):
            let shown = ext.isEmpty ? "no extension" : "unknown extension \".\(ext)\""
            return "cannot choose an output format for \(path): \(shown) (use .svg, .png, .dot or .gv)"
        case let .system(call, path, message):
            return "\(call) failed for \(path): \(message)"
        }
    }
}
