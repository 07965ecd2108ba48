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

    /// The name every report gives a class from its cleaned runtime name: standard-library
    /// storage classes as the collections they store (`Swift.__StringStorage` → `String
    /// storage`, `Swift._ContiguousArrayStorage<Swift.Int>` → `Array<Swift.Int> storage`),
    /// anything else unchanged. The live catalog and the offline names of a crashed program's
    /// types both go through it, so one type has one name in every table.
    static func readable(_ runtimeName: String) -> String {
        if let name = storageNames[runtimeName] { return name }
        if let (collection, arguments) = genericStorage(runtimeName) { return "\(collection)<\(arguments)> storage" }
        return runtimeName
    }

    /// The collection (`Array`, `Dictionary`, `Set`) and generic arguments of a generic
    /// storage class's runtime name, or nil.
    static func genericStorage(_ runtimeName: String) -> (collection: String, arguments: String)? {
        guard let (prefix, collection) = genericStorage.first(where: { runtimeName.hasPrefix($0.prefix) }),
            let arguments = genericArguments(of: runtimeName, prefix: prefix)
        else { return nil }
        return (collection, arguments)
    }

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
