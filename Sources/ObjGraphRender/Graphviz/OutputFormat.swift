/// A Graphviz output format: `svg`, `png`, `dot`, or any other name Graphviz's plugins know
/// (`pdf`, `json`, ...). Formats are checked by Graphviz itself; a name it does not know makes
/// ``Graphviz/render(_:format:warningsAreErrors:)`` throw a ``GraphvizError`` with Graphviz's
/// list of the formats it has.
public struct OutputFormat: Hashable, Sendable, RawRepresentable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The Graphviz format name passed to `gvRenderData`.
    public var rawValue: String

    /// A format by its Graphviz name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A format by its Graphviz name, from a string literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Scalable vector graphics, laid out by `dot`.
    public static let svg = OutputFormat(rawValue: "svg")
    /// A PNG bitmap (cairo), laid out by `dot`.
    public static let png = OutputFormat(rawValue: "png")
    /// The drawing as DOT source (``GraphDrawing/dotSource``), without layout or coordinates:
    /// the same drawing always gives the same bytes. For Graphviz's own laid-out DOT, ask for
    /// `"xdot"` or `"canon"`.
    public static let dot = OutputFormat(rawValue: "dot")

    /// The format for a file name's extension: `.svg`, `.png`, `.dot` and `.gv` (case-insensitive).
    /// Nil for any other extension.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "svg": self = .svg
        case "png": self = .png
        case "dot", "gv": self = .dot
        default: return nil
        }
    }

    /// The Graphviz format name.
    public var description: String { rawValue }
}
