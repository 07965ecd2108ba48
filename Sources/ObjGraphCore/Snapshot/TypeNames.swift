/// Turning runtime type names into the names a Swift programmer wrote.
enum TypeNames {
    /// Standard-library storage classes without generic arguments, renamed.
    static let storageNames: [String: String] = [
        "Swift.__StringStorage": "String storage",
        "Swift.__SharedStringStorage": "String storage (shared)",
        "Swift._StringBreadcrumbs": "String breadcrumbs",
        "Swift.__EmptyArrayStorage": "Array storage (empty)",
        "Swift.__StaticArrayStorage": "Array storage (static)",
        "Swift.__ContiguousArrayStorageBase": "Array storage",
        "Swift.__EmptyDictionarySingleton": "Dictionary storage (empty)",
        "Swift.__RawDictionaryStorage": "Dictionary storage",
        "Swift.__EmptySetSingleton": "Set storage (empty)",
        "Swift.__RawSetStorage": "Set storage",
        "Swift.__VaListBuilder": "CVarArg list",
    ]

    /// Generic storage classes: runtime prefix → readable collection name.
    static let genericStorage: [(prefix: String, collection: String)] = [
        ("Swift._ContiguousArrayStorage<", "Array"),
        ("Swift._DictionaryStorage<", "Dictionary"),
        ("Swift._SetStorage<", "Set"),
    ]

    /// The text between `prefix` and the closing `>` of a generic name.
    static func genericArguments(of name: String, prefix: String) -> String? {
        guard name.hasPrefix(prefix), name.hasSuffix(">") else { return nil }
        return String(name.dropFirst(prefix.count).dropLast())
    }

    /// Removes per-process noise from a qualified runtime name:
    /// `M.(unknown context at $55d1c3a0e4c8).Local` → `M.Local`, `M.(Thing in _1A2B3C)` → `M.Thing`.
    static func clean(_ name: String) -> String {
        guard name.contains("(") else { return name }
        var result = name
        while let open = result.firstRange(of: "(unknown context at $") {
            guard let close = result[open.upperBound...].firstIndex(of: ")") else { break }
            var end = result.index(after: close)
            if end < result.endIndex, result[end] == "." { end = result.index(after: end) }
            result.removeSubrange(open.lowerBound..<end)
        }
        var searchFrom = result.startIndex
        while let marker = result[searchFrom...].firstRange(of: " in _") {
            searchFrom = marker.upperBound
            guard let open = result[..<marker.lowerBound].lastIndex(of: "("),
                  let close = result[marker.upperBound...].firstIndex(of: ")"),
                  result[result.index(after: open)..<marker.lowerBound].allSatisfy(isIdentifier),
                  result[marker.upperBound..<close].allSatisfy({ $0.isHexDigit })
            else { continue }
            let inner = String(result[result.index(after: open)..<marker.lowerBound])
            result.replaceSubrange(open...close, with: inner)
            searchFrom = result.startIndex
        }
        return result
    }

    /// Drops the module from every qualified path in `name`, inside generic arguments and
    /// closure descriptions too: `Dictionary<Swift.String, Fixtures.Node> storage` →
    /// `Dictionary<String, Node> storage`, `Fixtures.Outer.Inner` → `Outer.Inner`.
    static func shortName(_ name: String) -> String {
        let s = Array(name.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            let startsPath = isIdentifierStart(s[i]) && (i == 0 || (!isIdentifier(s[i - 1]) && s[i - 1] != "."))
            guard startsPath else {
                out.append(s[i])
                i += 1
                continue
            }
            var j = i
            var secondComponent: Int? = nil
            while true {
                while j < s.count, isIdentifier(s[j]) { j += 1 }
                guard j + 1 < s.count, s[j] == ".", isIdentifierStart(s[j + 1]) else { break }
                j += 1
                if secondComponent == nil { secondComponent = j }
            }
            out.append(contentsOf: s[(secondComponent ?? i)..<j])
            i = j
        }
        return String(out)
    }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c.value < 128 ? c.properties.isAlphabetic : c.properties.isXIDStart)
    }

    static func isIdentifier(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || ("0"..."9").contains(c) || (c.value >= 128 && c.properties.isXIDContinue)
    }

    static func isIdentifier(_ c: Character) -> Bool {
        c.unicodeScalars.allSatisfy(isIdentifier)
    }
}

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
    private static let specializations = ["generic specialization <", "function signature specialization <", "specialized "]

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
                       !out[typed.upperBound...].contains(" ") {
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
