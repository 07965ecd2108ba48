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
        "method descriptor for ", "@objc ",
    ]
    private static let specializations = [
        "generic specialization <", "function signature specialization <", "specialized ",
    ]

    /// See ``Symbolizer/simplifiedFunctionName(_:)``.
    static func simplify(_ demangled: String) -> String? {
        var text = Substring(demangled)
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
