/// What a heap-snapshot tool needs to know about one heap type: its kind, its names, and how
/// to label a reference found at a given offset inside one of its objects.
///
/// Computed once per metadata pointer by ``TypeCatalog``.
public struct TypeDescription: Sendable {
    public var kind: HeapSnapshot.ObjectKind
    /// Qualified, human-readable name: `Fixtures.Node`, `Array<Fixtures.Node> storage`,
    /// `Box<Swift.Int>`, `closure context (2 captures)`, `Task`.
    public var name: String
    /// ``name`` with module prefixes removed everywhere: `Node`, `Array<Node> storage`, `Box<Int>`.
    public var shortName: String
    let layout: ObjectLayout

    init(kind: HeapSnapshot.ObjectKind, name: String, shortName: String, layout: ObjectLayout) {
        self.kind = kind
        self.name = name
        self.shortName = shortName
        self.layout = layout
    }

    /// A description with no layout: every reference is labelled `+offset`, `.conservative`.
    public init(kind: HeapSnapshot.ObjectKind, name: String, shortName: String) {
        self.init(kind: kind, name: name, shortName: shortName, layout: .opaque)
    }

    /// For `Array<T> storage`: where element 0 starts and the distance between elements
    /// (`start` 32 and `stride` 8 for arrays of class references). Nil for every other type.
    public var arrayElements: (start: Int, stride: Int)? {
        if case let .elements(start, stride, _) = layout.body { return (start, stride) }
        return nil
    }

    /// True for `Array<Swift.AnyObject> storage`. Every array whose element type is a class
    /// (`[Node]`, `[Session]`, `[AnyObject]`) is stored in `_ContiguousArrayStorage<AnyObject>`
    /// (stdlib `getContiguousArrayStorageType`), so the metadata alone cannot name the element
    /// class. A caller that knows the elements can call ``withElementType(_:)``.
    public var isAnyObjectArrayStorage: Bool { name == "Array<Swift.AnyObject> storage" }

    /// This `Array<Swift.AnyObject> storage` description renamed after the class of its elements:
    /// `Array<Fixtures.Node> storage`. Labels are unchanged.
    public func withElementType(_ element: TypeDescription) -> TypeDescription {
        guard isAnyObjectArrayStorage else { return self }
        let name = "Array<\(element.name)> storage"
        return TypeDescription(kind: kind, name: name, shortName: TypeNames.shortName(name), layout: layout)
    }

    /// The snapshot's record for this type.
    public var typeInfo: HeapSnapshot.TypeInfo { .init(name: name, shortName: shortName, kind: kind) }

    /// True for dictionary and set storage: ``label(offset:previousWord:header:)`` then needs
    /// the object's words 2..<8 (count, capacity, scale, seed, raw keys, raw values) to find
    /// where keys and values start.
    public var wantsHeaderWords: Bool { layout.wantsHeaderWords }

    /// True when ``label(offset:previousWord:header:)`` may differ between objects of this type
    /// for the same offset because it names a closure from `previousWord` (the type stores a
    /// closure). When false and ``wantsHeaderWords`` is false, labels can be cached per offset.
    public var labelsUsePreviousWord: Bool { layout.usesPreviousWord }

    /// Label and kind for a reference word found at byte `offset` inside an object of this type.
    ///
    /// - Parameters:
    ///   - previousWord: the 8 bytes just before `offset` in the object. For a closure stored in a
    ///     field it is the closure's function pointer, which names the closure.
    ///   - header: words 2..<8 of the object (bytes 16..<64) when ``wantsHeaderWords`` is true.
    /// - Returns: for example `next` (.strong), `owner` (.unowned), `state.cache` (.strong),
    ///   `onTap (closure #1 in Screen.bind())` (.strong), `[3]` (.conservative),
    ///   `value[2]` (.conservative), `capture #1` (.strong), or `+40` (.conservative) for a word
    ///   the layout does not explain.
    public func label(offset: Int, previousWord: UInt64 = 0, header: [UInt64] = [])
        -> (label: String, kind: HeapSnapshot.EdgeKind)
    {
        layout.label(offset: offset, previousWord: previousWord, header: header)
    }
}

extension TypeDescription {
    /// Placeholder for registry slots past `OGR_MAX_TYPES`.
    static let overflow = TypeDescription(kind: .other, name: "(other types)", shortName: "(other types)")

    /// Placeholder for a registry type not described yet (no live object when last asked).
    static let undescribed = TypeDescription(kind: .other, name: "(undescribed type)", shortName: "(undescribed type)")

    /// Whether this is the ``undescribed`` placeholder.
    var isUndescribed: Bool { kind == .other && name == TypeDescription.undescribed.name }
}
