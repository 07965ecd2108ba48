/// One stretch of bytes that a single label covers: a stored property, a field of a nested
/// struct (`state.cache`), a closure capture, or the whole value of a box.
struct FieldEntry: Sendable {
    var offset: Int
    var size: Int
    /// Dotted path from the table's root; empty for "the whole value".
    var path: String
    var kind: HeapSnapshot.EdgeKind
    var isWeak: Bool = false
    /// A thick closure: function pointer at `offset`, context object at `offset + 8`.
    var isClosure: Bool = false
}

/// Field entries sorted by offset, found by binary search.
struct FieldTable: Sendable {
    let entries: [FieldEntry]

    /// True when some entry is a closure (its label depends on the function pointer).
    let hasClosures: Bool

    init(_ entries: [FieldEntry]) {
        self.entries = entries.sorted { $0.offset < $1.offset }
        hasClosures = entries.contains { $0.isClosure }
    }

    /// The entry whose bytes contain `offset` (the innermost one when entries nest).
    func entry(containing offset: Int) -> FieldEntry? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0, lo - i <= 8 {
            let e = entries[i]
            if offset < e.offset + e.size { return e }
            i -= 1
        }
        return nil
    }
}

/// Flattens a value's type into ``FieldEntry`` leaves, descending into user structs, tuples and
/// optionals of them, so a reference at `state.cache` gets that path.
struct FieldTableBuilder {
    private(set) var entries: [FieldEntry] = []
    static let maxDepth = 8
    static let maxEntries = 4096
    /// Modules whose structs are labelled as a whole (`items`, not `items._buffer._storage`).
    static let opaqueModules: Set<String> = [
        "Swift", "_Concurrency", "_StringProcessing", "_RegexParser", "Foundation", "FoundationEssentials",
        "FoundationInternationalization", "Dispatch", "Synchronization", "Observation", "Distributed",
        "RegexBuilder", "Glibc", "SwiftGlibc", "Musl", "__C",
    ]

    /// Adds the value of `type` stored at `offset`, labelled `path`.
    mutating func add(_ type: Any.Type, at offset: Int, path: String, ownership: FieldOwnership, depth: Int = 0) {
        guard depth <= Self.maxDepth, entries.count < Self.maxEntries else { return }
        let size = MetadataReader.layout(of: type).size
        switch ownership {
        case .weak:
            entries.append(
                FieldEntry(offset: offset, size: max(size, 8), path: path, kind: .unownedUnsafe, isWeak: true))
            return
        case .unowned:
            entries.append(FieldEntry(offset: offset, size: max(size, 8), path: path, kind: .unowned))
            return
        case .unownedUnsafe:
            entries.append(FieldEntry(offset: offset, size: max(size, 8), path: path, kind: .unownedUnsafe))
            return
        case .strong:
            break
        }
        guard size > 0 else { return }
        let kind = MetadataReader.kind(of: type)
        switch kind {
        case RuntimeMetadataKind.struct where !Self.isOpaque(type), RuntimeMetadataKind.tuple:
            if addMembers(of: type, at: offset, prefix: path, depth: depth + 1) { return }
        case RuntimeMetadataKind.optional:
            let payload = MetadataReader.type(at: MetadataReader.word(MetadataReader.address(of: type), 2))
            let payloadKind = MetadataReader.kind(of: payload)
            let descends =
                payloadKind == RuntimeMetadataKind.tuple || payloadKind == RuntimeMetadataKind.function
                || payloadKind == RuntimeMetadataKind.optional
                || (payloadKind == RuntimeMetadataKind.struct && !Self.isOpaque(payload))
            if descends {
                let before = entries.count
                add(payload, at: offset, path: path, ownership: .strong, depth: depth + 1)
                if entries.count > before { return }
            }
        default:
            break
        }
        entries.append(
            FieldEntry(
                offset: offset, size: size, path: path, kind: .strong,
                isClosure: kind == RuntimeMetadataKind.function && size == 16))
    }

    /// Adds every stored field of a struct or tuple at `base`. False when it has none to show.
    private mutating func addMembers(of type: Any.Type, at base: Int, prefix: String, depth: Int) -> Bool {
        let fields = MetadataReader.reflectedFields(of: type)
        guard !fields.isEmpty else { return false }
        var ownerships: [FieldOwnership]? = nil
        if let desc = MetadataReader.descriptor(of: MetadataReader.address(of: type)),
            let own = MetadataReader.fieldOwnerships(descriptor: desc), own.count == fields.count
        {
            ownerships = own
        }
        for (i, field) in fields.enumerated() {
            let ownership: FieldOwnership = field.isStrong ? .strong : (ownerships?[i] ?? .unowned)
            add(
                field.type, at: base + field.offset, path: Self.join(prefix, field.name),
                ownership: ownership, depth: depth)
        }
        return true
    }

    /// Adds the stored properties of a class instance, superclass fields first.
    mutating func addClassFields(metadata: UInt) {
        let type = MetadataReader.type(at: metadata)
        let fields = MetadataReader.reflectedFields(of: type)
        let ownerships = MetadataReader.recursiveOwnerships(of: metadata, count: fields.count)
        for (i, field) in fields.enumerated() {
            let ownership: FieldOwnership = field.isStrong ? .strong : (ownerships?[i] ?? .unowned)
            add(field.type, at: field.offset, path: field.name, ownership: ownership)
        }
    }

    /// Adds a leaf the caller measured itself (a captured box or closure).
    mutating func append(_ entry: FieldEntry) {
        if entries.count < Self.maxEntries { entries.append(entry) }
    }

    func build() -> FieldTable { FieldTable(entries) }

    static func join(_ prefix: String, _ name: String) -> String {
        if prefix.isEmpty { return name.hasPrefix(".") ? String(name.dropFirst()) : name }
        return name.hasPrefix(".") ? prefix + name : prefix + "." + name
    }

    static func isOpaque(_ type: Any.Type) -> Bool {
        let name = MetadataReader.name(of: type)
        guard let dot = name.firstIndex(of: ".") else { return true }
        return opaqueModules.contains(String(name[..<dot]))
    }
}
