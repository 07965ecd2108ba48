/// An error reported by Graphviz while building, laying out or rendering a drawing.
///
/// Graphviz reports problems through its own error channel (`agerr`) rather than return values
/// alone. ObjGraphRender installs an error function (`agseterrf`) for the duration of every call,
/// collects each message, and turns a failed return code, an error-level message or (by default)
/// a warning into a `GraphvizError` that carries Graphviz's own words:
///
/// ```
/// Graphviz failed to render as "nope": Format: "nope" not recognized. Use one of: bmp canon cmap ...
/// ```
public struct GraphvizError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step that failed: `"layout"`, `"render as \"svg\""`, `"build graph"`.
    public var operation: String
    /// The return code of the failing Graphviz call (0 when the call itself returned success but
    /// reported an error or warning).
    public var code: Int32
    /// Graphviz's messages, in the order it reported them, trailing newlines removed.
    public var messages: [String]

    /// Creates an error for `operation` with Graphviz's return `code` and `messages`.
    public init(operation: String, code: Int32, messages: [String]) {
        self.operation = operation
        self.code = code
        self.messages = messages
    }

    /// All of Graphviz's messages joined into one line.
    public var message: String {
        messages.isEmpty ? "no message (return code \(code))" : messages.joined(separator: " ")
    }

    /// `Graphviz failed to <operation>: <messages>`.
    public var description: String { "Graphviz failed to \(operation): \(message)" }
}
