/// Reading demangled function names with nesting in mind.
enum DemangledText {
    /// First occurrence of `needle` outside any `()`, `[]` or `<>`.
    static func topLevelRange(of needle: String, in text: String, from start: String.Index? = nil)
        -> Range<String.Index>?
    {
        var depth = 0
        var previous: Character = " "
        var i = start ?? text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if depth == 0, text[i...].hasPrefix(needle) { return i..<text.index(i, offsetBy: needle.count) }
            switch c {
            case "(", "[", "<": depth += 1
            case ")", "]": depth = max(0, depth - 1)
            case ">" where previous != "-": depth = max(0, depth - 1)
            default: break
            }
            previous = c
            i = text.index(after: i)
        }
        return nil
    }

    private static let droppedPrefixes = [
        "partial apply for ", "partial apply forwarder for ", "merged ", "dispatch thunk of ",
        "async function pointer to ",
        "method descriptor for ", "@objc ",
    ]
    private static let specializations = [
        "generic specialization <", "function signature specialization <", "specialized ",
    ]

    /// See ``Symbolizer/simplifiedFunctionName(_:)``.
    static func simplify(_ demangled: String) -> String? {
        var text = Substring(demangled)
        // An async function's continuation: `(1) await resume partial function for f()`.
        for kind in [" await resume partial function for ", " suspend resume partial function for "] {
            if text.hasPrefix("("), let range = text.ranges(of: kind).first,
                text[..<range.lowerBound].dropFirst().allSatisfy({ $0.isNumber || $0 == ")" })
            {
                text = text[range.upperBound...]
            }
        }
        var changed = true
        while changed {
            changed = false
            for prefix in droppedPrefixes where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count)
                changed = true
            }
            for prefix in specializations where text.hasPrefix(prefix) {
                if let of = topLevelRange(of: " of ", in: String(text)) {
                    text = Substring(String(text)[of.upperBound...])
                    changed = true
                }
            }
        }
        if text.contains("thunk") && (text.hasPrefix("reabstraction thunk") || text.hasPrefix("thunk")) { return nil }
        if text.hasPrefix("outlined ") { return nil }
        let s = String(text)
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let rest = s[i...]
            if rest.hasPrefix("closure #") || rest.hasPrefix("implicit closure #") {
                // Copy `closure #N`, then skip its signature up to ` in `.
                var j = s.index(i, offsetBy: rest.hasPrefix("closure") ? 9 : 18)
                while j < s.endIndex, s[j].isNumber { j = s.index(after: j) }
                out += s[i..<j]
                if s[j...].hasPrefix(" in ") {
                    i = j
                } else if let inRange = topLevelRange(of: " in ", in: s, from: j) {
                    i = inRange.lowerBound
                } else {
                    break
                }
                continue
            }
            if rest.hasPrefix(" -> ") {
                // Drop the result type (and the effects before the arrow) up to the next ` in `.
                var trimmed = true
                while trimmed {
                    trimmed = false
                    for effect in [" async", " throws", " rethrows"] where out.hasSuffix(effect) {
                        out.removeLast(effect.count)
                        trimmed = true
                    }
                    if out.hasSuffix(")"), let typed = out.ranges(of: " throws(").last,
                        !out[typed.upperBound...].contains(" ")
                    {
                        out.removeSubrange(typed.lowerBound...)
                        trimmed = true
                    }
                }
                guard let inRange = topLevelRange(of: " in ", in: s, from: s.index(i, offsetBy: 4)) else { break }
                i = inRange.lowerBound
                continue
            }
            // Copy one balanced unit so arrows inside parameter lists stay.
            if s[i] == "(" || s[i] == "<" || s[i] == "[" {
                let end = matchingClose(s, from: i)
                out += s[i..<end]
                i = end
                continue
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out.isEmpty ? nil : out
    }

    /// A simplified function name as code calls it: parameter types become argument labels and
    /// the generic clause before them goes, `handle(Session)` → `handle(_:)`,
    /// `withCheckedContinuation<A>(isolation: isolated Optional<Actor>, _: (…) -> ())` →
    /// `withCheckedContinuation(isolation:_:)`, `closure #1 in start(count: Int)` →
    /// `closure #1 in start(count:)`. Only lists right after a name change; `(extension in M):`
    /// and tuple types stay.
    static func labelled(_ name: String) -> String {
        var out = ""
        var i = name.startIndex
        while i < name.endIndex {
            let c = name[i]
            let afterName = out.last.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ">" } ?? false
            if c == "<" && afterName {
                let end = matchingClose(name, from: i)
                if end < name.endIndex && name[end] == "(" {
                    i = end  // the generic clause of a function: dropped
                    continue
                }
                out += name[i..<end]
                i = end
                continue
            }
            if c == "(" && afterName && !out.hasSuffix(" in") {
                let end = matchingClose(name, from: i)
                let inner = String(name[name.index(after: i)..<name.index(before: end)])
                out += "(" + topLevelParts(inner).map(label).joined() + ")"
                i = end
                continue
            }
            out.append(c)
            i = name.index(after: i)
        }
        return out
    }

    /// `label: Type` → `label:`, a bare type → `_:`.
    private static func label(_ parameter: String) -> String {
        let trimmed = parameter.drop { $0 == " " }
        if let colon = trimmed.firstIndex(of: ":"),
            trimmed[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
            colon > trimmed.startIndex
        {
            return trimmed[..<colon] + ":"
        }
        return "_:"
    }

    /// `text` split at its top-level `, ` (empty text: no parts).
    private static func topLevelParts(_ text: String) -> [String] {
        guard !text.isEmpty else { return [] }
        var parts: [String] = []
        var start = text.startIndex
        while let comma = topLevelRange(of: ", ", in: text, from: start) {
            parts.append(String(text[start..<comma.lowerBound]))
            start = comma.upperBound
        }
        parts.append(String(text[start...]))
        return parts
    }

    /// Index just past the bracket that closes the one at `open` (arrows `->` do not count).
    private static func matchingClose(_ s: String, from open: String.Index) -> String.Index {
        var depth = 0
        var previous: Character = " "
        var i = open
        while i < s.endIndex {
            let c = s[i]
            switch c {
            case "(", "[", "<": depth += 1
            case ")", "]": depth -= 1
            case ">" where previous != "-": depth -= 1
            default: break
            }
            previous = c
            i = s.index(after: i)
            if depth == 0 { return i }
        }
        return s.endIndex
    }
}
