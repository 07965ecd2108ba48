/// An error choosing the file format of a drawing. (A failed system call while writing it is a
/// ``SystemCallError``, as for every file the library writes.)
public enum DrawingFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path's extension names no format ObjGraphRender writes. Carries the extension
    /// (empty when the path has none) and the path.
    case unknownExtension(String, path: String)

    /// A one-line explanation naming the path.
    public var description: String {
        switch self {
        case let .unknownExtension(ext, path):
            let shown = ext.isEmpty ? "no extension" : "unknown extension \".\(ext)\""
            return "cannot choose an output format for \(path): \(shown) (use .svg, .png, .dot or .gv)"
        }
    }
}
