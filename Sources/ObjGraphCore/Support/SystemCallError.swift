#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on which path, and its `errno`. One line:
/// `rename failed for /tmp/out.svg: Permission denied`.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed (`open`, `rename`, `mkdtemp`).
    public var call: String
    /// The file or directory involved.
    public var path: String
    /// The `errno` it set.
    public var code: Int32

    public init(call: String, path: String, code: Int32 = errno) {
        self.call = call
        self.path = path
        self.code = code
    }

    /// `strerror(code)`.
    public var message: String { String(cString: strerror(code)) }

    public var description: String { "\(call) failed for \(path): \(message)" }
}
