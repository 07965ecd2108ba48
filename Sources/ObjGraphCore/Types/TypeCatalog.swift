/// Describes heap types from their metadata pointers, once per type.
///
/// ```swift
/// let catalog = TypeCatalog(symbolizer: Symbolizer())
/// let type = catalog.describe(metadata: word0)   // word 0 of a heap object
/// type.name                                      // "Fixtures.Node"
/// type.label(offset: 24, previousWord: 0, header: [])  // ("next", .strong)
/// ```
///
/// Call it from normal (non-signal) context: describing a type may run the Swift runtime's
/// reflection and allocate. It never touches heap objects, only metadata, which is immortal.
/// Thread-safe: a lock guards the cache.
public final class TypeCatalog: @unchecked Sendable {
    public let symbolizer: Symbolizer
    private let lock = SymbolLock()
    private var cache: [UInt: TypeDescription] = [:]

    public init(symbolizer: Symbolizer) {
        self.symbolizer = symbolizer
    }

    /// The description of the heap type whose metadata is at `metadata` (word 0 of an object).
    public func describe(metadata: UInt) -> TypeDescription {
        lock.withLock {
            if let known = cache[metadata] { return known }
            let description = Self.make(metadata: metadata, symbolizer: symbolizer)
            cache[metadata] = description
            return description
        }
    }

    /// `name` with module prefixes removed everywhere (see ``TypeDescription/shortName``).
    public static func shortName(_ name: String) -> String { TypeNames.shortName(name) }

    private static func make(metadata md: UInt, symbolizer: Symbolizer) -> TypeDescription {
        guard md != 0, md & 7 == 0 else {
            return TypeDescription(
                kind: .other, name: "invalid metadata", shortName: "invalid metadata", layout: .opaque)
        }
        let kind = MetadataReader.kind(of: md)
        switch kind {
        case RuntimeMetadataKind.class, RuntimeMetadataKind.lastEnumerated + 1...UInt.max:
            return classInstance(metadata: md, symbolizer: symbolizer)
        case RuntimeMetadataKind.heapLocalVariable:
            return HeapContextLayout.localVariable(metadata: md, symbolizer: symbolizer)
        case RuntimeMetadataKind.heapGenericLocalVariable:
            return HeapContextLayout.genericBox(metadata: md, symbolizer: symbolizer)
        case RuntimeMetadataKind.task:
            return TypeDescription(kind: .task, name: "Task", shortName: "Task", layout: .opaque)
        case RuntimeMetadataKind.errorObject:
            // One shared metadata for every boxed `any Error`: the error's type is in the object
            // (word 2), its value from byte 32 on.
            let value = FieldEntry(offset: 32, size: 1 << 30, path: "", kind: .conservative)
            let layout = ObjectLayout(
                .fields(FieldTable([value]), wholeValueName: "error value"), symbolizer: symbolizer)
            return TypeDescription(kind: .other, name: "Error box", shortName: "Error box", layout: layout)
        default:
            let name = "heap object (kind 0x\(String(kind, radix: 16)))"
            return TypeDescription(kind: .other, name: name, shortName: name, layout: .opaque)
        }
    }

    private static func classInstance(metadata md: UInt, symbolizer: Symbolizer) -> TypeDescription {
        let type = MetadataReader.type(at: md)
        let runtimeName = TypeNames.clean(MetadataReader.name(of: type))
        if runtimeName.hasPrefix("Swift."),
            let storage = stdlibStorage(
                metadata: md, runtimeName: runtimeName,
                symbolizer: symbolizer)
        {
            return storage
        }
        var builder = FieldTableBuilder()
        builder.addClassFields(metadata: md)
        let layout = ObjectLayout(.fields(builder.build(), wholeValueName: "self"), symbolizer: symbolizer)
        return TypeDescription(
            kind: .classInstance, name: runtimeName, shortName: TypeNames.shortName(runtimeName),
            layout: layout)
    }

    /// Array, dictionary, set and string storage, renamed; element layouts from the class's
    /// generic arguments. Elements start at the class's instance size (metadata word 3, low
    /// 32 bits: 32 for arrays, 64 for dictionaries, 56 for sets).
    private static func stdlibStorage(metadata md: UInt, runtimeName: String, symbolizer: Symbolizer)
        -> TypeDescription?
    {
        func described(_ name: String, _ body: ObjectLayout.Body) -> TypeDescription {
            TypeDescription(
                kind: .classInstance, name: name, shortName: TypeNames.shortName(name),
                layout: ObjectLayout(body, symbolizer: symbolizer))
        }
        if let name = TypeNames.storageNames[runtimeName] { return described(name, .opaque) }
        guard let (collection, arguments) = TypeNames.genericStorage(runtimeName) else { return nil }
        let name = TypeNames.readable(runtimeName)
        let instanceSize = Int(UInt32(truncatingIfNeeded: MetadataReader.word(md, 3)))
        let first = MetadataReader.genericArgument(ofClass: md, index: 0)
        let second = collection == "Dictionary" ? MetadataReader.genericArgument(ofClass: md, index: 1) : nil
        // Trust the generic arguments only if they print as the runtime name says.
        let printed = [first, second].compactMap { $0.map { TypeNames.clean(MetadataReader.name(of: $0)) } }
        guard let first, printed.joined(separator: ", ") == arguments, instanceSize >= 32, instanceSize <= 256 else {
            return described(name, .opaque)
        }
        switch collection {
        case "Array":
            let layout = MetadataReader.layout(of: first)
            return described(
                name,
                .elements(
                    start: ObjectLayout.roundUp(instanceSize, layout.alignment),
                    stride: layout.stride, element: elementTable(first)))
        case "Dictionary":
            guard let second else { return described(name, .opaque) }
            return described(name, .hashed(headerSize: instanceSize, keys: area(first), values: area(second)))
        default:
            return described(name, .hashed(headerSize: instanceSize, keys: area(first), values: nil))
        }
    }

    private static func elementTable(_ type: Any.Type) -> FieldTable {
        var builder = FieldTableBuilder()
        builder.add(type, at: 0, path: "", ownership: .strong)
        return builder.build()
    }

    private static func area(_ type: Any.Type) -> ObjectLayout.Area {
        let layout = MetadataReader.layout(of: type)
        return .init(stride: layout.stride, alignment: layout.alignment, table: elementTable(type))
    }
}
