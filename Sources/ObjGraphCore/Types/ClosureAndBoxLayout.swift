import CObjGraphRuntime

/// Closure contexts and boxes: heap objects whose metadata is not a type.
///
/// Facts (Swift 6.3.1, Linux x86_64, checked by experiment):
/// - Kind 0x500 (`swift_allocBox`, generic code): metadata word 1 holds the value's offset in
///   the box (UInt32, 16 so far), word 2 the boxed type's metadata.
/// - Kind 0x400 is used for closure contexts *and* for boxes of fixed-layout types (captured
///   `var`s, existential boxes of large values). Word 1 is `OffsetToFirstCapture` (16), word 2
///   points to a capture descriptor in `swift5_capture`: NumCaptureTypes, NumMetadataSources,
///   NumBindings (UInt32 each), then one relative pointer to a mangled type per capture. After
///   the object header come NumBindings words of generic metadata, then the captures in
///   descriptor order, each aligned to its type.
/// - A box descriptor is a capture descriptor with exactly one capture and no sources or
///   bindings, so such a 0x400 object is reported as `Box<T>`. A closure that captures exactly
///   one value (not a class reference, not a `var`) has the same shape and is reported as a box too.
/// - Closure context metadata has no ELF symbol: the closure's name can only come from the
///   function pointer stored next to the context (``Symbolizer/functionName(containing:shortNames:)``).
enum HeapContextLayout {
    /// A decoded capture: its shape, size and alignment.
    private enum Capture {
        case value(Any.Type, FieldOwnership)
        case box  // a captured `var`: pointer to its box
        case closure  // a captured closure: function pointer + context
    }

    static func genericBox(metadata md: UInt, symbolizer: Symbolizer) -> TypeDescription {
        let offset = Int(UInt32(truncatingIfNeeded: MetadataReader.word(md, 1)))
        let boxed = MetadataReader.word(md, 2)
        // The boxed type is only named and measured (runtime calls) once its metadata is known
        // to be mapped and well formed.
        guard boxed != 0, offset >= 16, offset < 4096, MetadataReader.isPlausible(MetadataReader.type(at: boxed)) else {
            return TypeDescription(kind: .box, name: "Box", shortName: "Box", layout: .opaque)
        }
        return box(of: MetadataReader.type(at: boxed), valueOffset: offset, symbolizer: symbolizer)
    }

    private static func box(of type: Any.Type, valueOffset: Int, symbolizer: Symbolizer) -> TypeDescription {
        let name = "Box<\(TypeNames.clean(MetadataReader.name(of: type)))>"
        var builder = FieldTableBuilder()
        builder.add(type, at: valueOffset, path: "", ownership: .strong)
        let layout = ObjectLayout(.fields(builder.build(), wholeValueName: "value"), symbolizer: symbolizer)
        return TypeDescription(kind: .box, name: name, shortName: TypeNames.shortName(name), layout: layout)
    }

    static func localVariable(metadata md: UInt, symbolizer: Symbolizer) -> TypeDescription {
        let unknown = TypeDescription(
            kind: .closureContext, name: "closure context", shortName: "closure context",
            layout: .opaque)
        let firstCapture = Int(UInt32(truncatingIfNeeded: MetadataReader.word(md, 1)))
        guard let desc = UnsafeRawPointer(bitPattern: MetadataReader.word(md, 2)), firstCapture >= 16,
            firstCapture < 4096, ogr_readable(desc, 12) != 0
        else { return unknown }
        let typeCount = Int(desc.load(as: UInt32.self))
        let sourceCount = Int(desc.load(fromByteOffset: 4, as: UInt32.self))
        let bindingCount = Int(desc.load(fromByteOffset: 8, as: UInt32.self))
        guard typeCount <= 1024, sourceCount <= 1024, bindingCount <= 1024 else { return unknown }
        var captures: [(Capture, size: Int, alignment: Int)?] = []
        for k in 0..<typeCount {
            let mangled = MetadataReader.relative(desc, 12 + 4 * k)
            let capture = mangled.flatMap(decode)
            captures.append(capture)
            if capture == nil { break }  // later offsets depend on this one's size
        }
        if typeCount == 1, sourceCount == 0, bindingCount == 0, let only = captures.first ?? nil,
            case let .value(type, .strong) = only.0, MetadataReader.kind(of: type) != RuntimeMetadataKind.function
        {
            return box(
                of: type, valueOffset: ObjectLayout.roundUp(firstCapture, only.alignment), symbolizer: symbolizer)
        }
        var builder = FieldTableBuilder()
        var cursor = firstCapture + 8 * bindingCount
        for (k, capture) in captures.enumerated() {
            guard let (shape, size, alignment) = capture else { break }
            cursor = ObjectLayout.roundUp(cursor, alignment)
            let path = "capture #\(k + 1)"
            switch shape {
            case let .value(type, ownership):
                builder.add(type, at: cursor, path: path, ownership: ownership)
            case .box:
                builder.append(FieldEntry(offset: cursor, size: 8, path: path, kind: .strong))
            case .closure:
                builder.append(FieldEntry(offset: cursor, size: 16, path: path, kind: .strong, isClosure: true))
            }
            cursor += size
        }
        let name = typeCount == 1 ? "closure context (1 capture)" : "closure context (\(typeCount) captures)"
        let layout = ObjectLayout(.fields(builder.build(), wholeValueName: "context"), symbolizer: symbolizer)
        return TypeDescription(kind: .closureContext, name: name, shortName: name, layout: layout)
    }

    /// Shape, size and alignment of one capture, from its mangled (lowered) type.
    private static func decode(_ mangled: UnsafeRawPointer) -> (Capture, size: Int, alignment: Int)? {
        let (ownership, length) = MetadataReader.ownership(ofMangled: mangled)
        let (full, tail) = MetadataReader.scanMangled(mangled)
        func byte(_ i: Int) -> UInt8 { mangled.load(fromByteOffset: i, as: UInt8.self) }
        if ownership == .strong, full >= 3, full - 2 >= tail, byte(full - 2) == UInt8(ascii: "X"),
            byte(full - 1) == UInt8(ascii: "x") || byte(full - 1) == UInt8(ascii: "X")
        {
            return (.box, 8, 8)  // SIL box `{ var T }`: `<T>z_Xx`, generic `<T>z_x_lXX`

        }
        if ownership == .strong, isThickFunction(mangled, length: full, plainTail: tail) { return (.closure, 16, 8) }
        guard let type = MetadataReader.resolve(mangled: mangled, length: length) else { return nil }
        switch ownership {
        case .weak, .unowned: return (.value(type, ownership), 8, 8)
        case .strong, .unownedUnsafe:
            let layout = MetadataReader.layout(of: type)
            return (.value(type, ownership), layout.size, layout.alignment)
        }
    }

    /// A lowered Swift function type with a context (`Ieg_`, `SiIegd_`): `I`, lowercase
    /// convention letters including a guaranteed (`g`) or owned (`x`) callee, then `_`.
    private static func isThickFunction(_ mangled: UnsafeRawPointer, length: Int, plainTail: Int) -> Bool {
        guard length >= 3, mangled.load(fromByteOffset: length - 1, as: UInt8.self) == UInt8(ascii: "_") else {
            return false
        }
        var i = length - 2
        var thick = false
        while i >= plainTail {
            let b = mangled.load(fromByteOffset: i, as: UInt8.self)
            if b == UInt8(ascii: "I") { return thick }
            guard b >= UInt8(ascii: "a"), b <= UInt8(ascii: "z") else { return false }
            if b == UInt8(ascii: "g") || b == UInt8(ascii: "x") { thick = true }
            i -= 1
        }
        return false
    }
}
