/// Where the references of one heap type live and what to call them. Immutable once built.
final class ObjectLayout: Sendable {
    /// Key or value area of hashed storage: one element's stride, alignment and fields.
    struct Area: Sendable {
        var stride: Int
        var alignment: Int
        var table: FieldTable
    }

    enum Body: Sendable {
        /// Fixed fields at absolute offsets: class instances, boxes, closure contexts.
        /// An entry with an empty path is labelled `wholeValueName`.
        case fields(FieldTable, wholeValueName: String)
        /// `_ContiguousArrayStorage<T>`: element `i` at `start + i * stride`.
        case elements(start: Int, stride: Int, element: FieldTable)
        /// `_DictionaryStorage<K, V>` (values non-nil) or `_SetStorage<T>`: header, bitmap words,
        /// then keys, then values, all in the object.
        case hashed(headerSize: Int, keys: Area, values: Area?)
        /// Nothing known: every word is `+offset`.
        case opaque
    }

    let body: Body
    let symbolizer: Symbolizer?

    init(_ body: Body, symbolizer: Symbolizer?) {
        self.body = body
        self.symbolizer = symbolizer
    }

    static let opaque = ObjectLayout(.opaque, symbolizer: nil)

    /// True when some label names a closure from the previous word (a closure-typed field,
    /// element or capture exists).
    var usesPreviousWord: Bool {
        switch body {
        case .opaque: return false
        case let .fields(table, _): return table.hasClosures
        case let .elements(_, _, table): return table.hasClosures
        case let .hashed(_, keys, values): return keys.table.hasClosures || (values?.table.hasClosures ?? false)
        }
    }

    var wantsHeaderWords: Bool {
        if case .hashed = body { return true }
        return false
    }

    func label(offset: Int, previousWord: UInt64, header: [UInt64]) -> (label: String, kind: HeapSnapshot.EdgeKind) {
        switch body {
        case .opaque:
            return Self.unknown(offset)
        case let .fields(table, wholeValueName):
            guard let entry = table.entry(containing: offset) else { return Self.unknown(offset) }
            let text = describe(entry, offset: offset, base: 0, previousWord: previousWord)
            return (text.isEmpty || text.hasPrefix(" ") ? wholeValueName + text : text, entry.kind)
        case let .elements(start, stride, element):
            guard offset >= start, stride > 0 else { return Self.unknown(offset) }
            return elementLabel(
                "", index: (offset - start) / stride, start: start + (offset - start) / stride * stride,
                table: element, offset: offset, previousWord: previousWord)
        case let .hashed(headerSize, keys, values):
            return hashedLabel(
                headerSize: headerSize, keys: keys, values: values, offset: offset,
                previousWord: previousWord, header: header)
        }
    }

    private func elementLabel(
        _ prefix: String, index: Int, start: Int, table: FieldTable, offset: Int,
        previousWord: UInt64
    ) -> (label: String, kind: HeapSnapshot.EdgeKind) {
        let head = "\(prefix)[\(index)]"
        guard let entry = table.entry(containing: offset - start) else { return (head, .conservative) }
        let path = describe(entry, offset: offset, base: start, previousWord: previousWord)
        let text = path.isEmpty ? head : (path.hasPrefix(" ") ? head + path : head + "." + path)
        return (text, entry.kind == .strong ? .conservative : entry.kind)
    }

    private func hashedLabel(
        headerSize: Int, keys: Area, values: Area?, offset: Int, previousWord: UInt64,
        header: [UInt64]
    ) -> (label: String, kind: HeapSnapshot.EdgeKind) {
        // header[i] is the object's word i + 2: count, capacity, scale|reservedScale|extra|age,
        // seed, rawKeys (rawElements for Set), rawValues.
        guard header.count >= 5, keys.stride > 0 else { return Self.unknown(offset) }
        let scale = Int(Int8(truncatingIfNeeded: header[2]))
        guard (0...48).contains(scale) else { return Self.unknown(offset) }
        let buckets = 1 << scale
        let bitmapWords = (buckets + 63) >> 6
        let keysStart = Self.roundUp(headerSize + 8 * bitmapWords, keys.alignment)
        let keysEnd = keysStart + buckets * keys.stride
        if let values {
            let valuesStart = Self.roundUp(keysEnd, values.alignment)
            // rawValues - rawKeys must match the computed distance, else the layout changed.
            guard header.count >= 6, Int64(bitPattern: header[5] &- header[4]) == Int64(valuesStart - keysStart),
                values.stride > 0
            else { return Self.unknown(offset) }
            if offset >= valuesStart, offset < valuesStart + buckets * values.stride {
                let i = (offset - valuesStart) / values.stride
                return elementLabel(
                    "value", index: i, start: valuesStart + i * values.stride, table: values.table,
                    offset: offset, previousWord: previousWord)
            }
        }
        if offset >= keysStart, offset < keysEnd {
            let i = (offset - keysStart) / keys.stride
            return elementLabel(
                values == nil ? "element" : "key", index: i, start: keysStart + i * keys.stride,
                table: keys.table, offset: offset, previousWord: previousWord)
        }
        return Self.unknown(offset)
    }

    /// The entry's path, with ` (weak)` or the closure's function name (` (closure #1 in X.f())`)
    /// appended. A closure's function pointer is the word just before its context.
    private func describe(_ entry: FieldEntry, offset: Int, base: Int, previousWord: UInt64) -> String {
        if entry.isWeak { return entry.path + " (weak)" }
        guard entry.isClosure, offset == base + entry.offset + 8,
            let name = symbolizer?.functionName(containing: UInt(previousWord), shortNames: true)
        else { return entry.path }
        return "\(entry.path) (\(name))"
    }

    static func unknown(_ offset: Int) -> (label: String, kind: HeapSnapshot.EdgeKind) {
        ("+\(offset)", .conservative)
    }

    static func roundUp(_ value: Int, _ alignment: Int) -> Int {
        let a = max(alignment, 1)
        return (value + a - 1) / a * a
    }
}
