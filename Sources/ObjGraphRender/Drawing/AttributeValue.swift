/// The value of a Graphviz attribute: plain text, or an HTML-like label.
///
/// Plain text is passed to Graphviz as it is, so Graphviz's own escapes apply in labels
/// (`\n` centres a line break, `\l` left-aligns it, `\N` is the node's name). Use
/// ``escapedLabel(_:)`` to show arbitrary text literally. HTML values are parsed by Graphviz as
/// [HTML-like labels](https://graphviz.org/doc/info/shapes.html#html) and are written to DOT
/// between `<` and `>`.
///
/// ```swift
/// var attributes: [String: AttributeValue] = ["shape": "box", "fillcolor": "#b5e3b0"]
/// attributes["label"] = .html("<B>Session</B>")
/// ```
public enum AttributeValue: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// Plain text, interpreted by Graphviz with its usual escapes.
    case text(String)
    /// HTML-like label markup (without the enclosing `<` `>`).
    case html(String)

    /// A plain-text value from a string literal.
    public init(stringLiteral value: String) { self = .text(value) }

    /// The value as it appears in DOT: `text` as is, HTML between angle brackets.
    public var description: String {
        switch self {
        case let .text(text): return text
        case let .html(markup): return "<\(markup)>"
        }
    }

    /// A plain-text label that shows `text` literally: backslashes are doubled so Graphviz
    /// does not read `\N`, `\G`, `\n` inside it as escapes. Lines of `text` separated by `"\n"`
    /// become centred lines.
    public static func escapedLabel(_ text: String) -> AttributeValue {
        var out = ""
        for ch in text {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return .text(out)
    }

    /// Escapes `&`, `<`, `>` and `"` so `text` can sit inside an HTML-like label.
    public static func htmlEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
