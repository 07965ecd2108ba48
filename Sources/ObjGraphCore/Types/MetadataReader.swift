import CObjGraphRuntime
import Glibc

// Raw reads of Swift runtime metadata (Linux x86_64/arm64, no Objective-C interop).
// Every layout used here was checked by experiment with Swift 6.3.1; TypeCatalogTests
// fails if one of them stops holding.

/// Metadata kinds (`include/swift/ABI/RuntimeMetadataKind.def`).
enum RuntimeMetadataKind {
    static let `class`: UInt = 0
    static let `struct`: UInt = 0x200
    static let `enum`: UInt = 0x201
    static let optional: UInt = 0x202
    static let heapLocalVariable: UInt = 0x400  // closure contexts and fixed-layout boxes
    static let heapGenericLocalVariable: UInt = 0x500  // boxes made by swift_allocBox
    static let errorObject: UInt = 0x501
    static let task: UInt = 0x502
    static let tuple: UInt = 0x301
    static let function: UInt = 0x302
    /// Kinds at or above this are isa pointers (Objective-C class metadata on Apple platforms).
    static let lastEnumerated: UInt = 0x7FF
}

/// How a stored reference holds its target, read from the `Xw`/`Xo`/`Xu` suffix of a
/// mangled field type.
enum FieldOwnership: Sendable {
    case strong, weak, unowned, unownedUnsafe
}

/// Layout of `_FieldReflectionMetadata` (stdlib/public/SwiftShims/swift/shims/Reflection.h).
struct FieldReflectionMetadata {
    var name: UnsafePointer<CChar>? = nil
    var freeFunc: (@convention(c) (UnsafePointer<CChar>?) -> Void)? = nil
    var isStrong: Bool = false
    var isVar: Bool = false
}

@_silgen_name("swift_reflectionMirror_recursiveCount")
private func _ogRecursiveCount(_: Any.Type) -> Int

@_silgen_name("swift_reflectionMirror_recursiveChildMetadata")
private func _ogRecursiveChildMetadata(
    _: Any.Type, index: Int, fieldMetadata: UnsafeMutablePointer<FieldReflectionMetadata>
) -> Any.Type

@_silgen_name("swift_reflectionMirror_recursiveChildOffset")
private func _ogRecursiveChildOffset(_: Any.Type, index: Int) -> Int

/// One stored field as the runtime's reflection reports it.
struct ReflectedField {
    var name: String
    var type: Any.Type
    var offset: Int
    var isStrong: Bool
}

enum MetadataReader {
    @inline(__always)
    static func word(_ address: UInt, _ index: Int) -> UInt {
        UnsafePointer<UInt>(bitPattern: address)![index]
    }

    static func address(of type: Any.Type) -> UInt { unsafeBitCast(type, to: UInt.self) }

    static func type(at metadata: UInt) -> Any.Type { unsafeBitCast(metadata, to: Any.Type.self) }

    static func kind(of metadata: UInt) -> UInt { word(metadata, 0) }

    static func kind(of type: Any.Type) -> UInt { word(address(of: type), 0) }

    /// Size, stride and alignment from the type's value witnesses. Reflection can return a
    /// field type whose metadata is not complete yet (no value witness table: reading its size
    /// would crash), so the metadata is completed first; if it cannot be, a word is assumed.
    static func layout(of type: Any.Type) -> (size: Int, stride: Int, alignment: Int) {
        func measure<T>(_: T.Type) -> (size: Int, stride: Int, alignment: Int) {
            (MemoryLayout<T>.size, MemoryLayout<T>.stride, MemoryLayout<T>.alignment)
        }
        let metadata = address(of: type)
        guard isPlausible(type), ogr_complete_metadata(UnsafeRawPointer(bitPattern: metadata)) != nil,
            isPlausible(type)
        else { return (8, 8, 8) }
        return measure(type)
    }

    static func name(of type: Any.Type, qualified: Bool = true) -> String {
        _typeName(type, qualified: qualified)
    }

    // MARK: Nominal type descriptors

    /// The nominal type descriptor of a class, struct or enum metadata. Class metadata on Linux:
    /// kind, superclass, flags+instanceAddressPoint, instanceSize+alignMask+reserved,
    /// classSize+classAddressPoint, description (word 5), ivarDestroyer, then members.
    static func descriptor(of metadata: UInt) -> UnsafeRawPointer? {
        switch kind(of: metadata) {
        case RuntimeMetadataKind.class: return UnsafeRawPointer(bitPattern: word(metadata, 5))
        case RuntimeMetadataKind.struct, RuntimeMetadataKind.enum, RuntimeMetadataKind.optional:
            return UnsafeRawPointer(bitPattern: word(metadata, 1))
        default: return nil
        }
    }

    static func relative(_ base: UnsafeRawPointer, _ offset: Int) -> UnsafeRawPointer? {
        let rel = base.loadUnaligned(fromByteOffset: offset, as: Int32.self)
        return rel == 0 ? nil : base + offset + Int(rel)
    }

    /// Word index of the first generic argument in a generic, non-resilient class's metadata:
    /// `MetadataPositiveSizeInWords - NumImmediateMembers` (class descriptor bytes 28 and 32).
    static func genericArgument(ofClass metadata: UInt, index: Int) -> Any.Type? {
        guard kind(of: metadata) == RuntimeMetadataKind.class, let desc = descriptor(of: metadata) else { return nil }
        let flags = desc.load(as: UInt32.self)
        let isGeneric = flags & 0x80 != 0
        let hasResilientSuperclass = flags & 0x2000_0000 != 0
        guard isGeneric, !hasResilientSuperclass else { return nil }
        let positive = Int(desc.load(fromByteOffset: 28, as: UInt32.self))
        let immediate = Int(desc.load(fromByteOffset: 32, as: UInt32.self))
        let slot = positive - immediate + index
        guard slot > 6, slot < positive else { return nil }
        let arg = word(metadata, slot)
        return arg == 0 ? nil : type(at: arg)
    }

    /// FieldOwnership of each field record of one nominal type, in declaration order.
    static func fieldOwnerships(descriptor desc: UnsafeRawPointer) -> [FieldOwnership]? {
        guard let fields = relative(desc, 16) else { return [] }
        let recordSize = Int(fields.load(fromByteOffset: 10, as: UInt16.self))
        let count = Int(fields.load(fromByteOffset: 12, as: UInt32.self))
        guard recordSize >= 12, count < 100_000 else { return nil }
        return (0..<count).map { i in
            let record = fields + 16 + i * recordSize
            guard let mangled = relative(record, 4) else { return .strong }
            return ownership(ofMangled: mangled).ownership
        }
    }

    /// FieldOwnership of every field `recursiveCount` reports, superclass fields first.
    static func recursiveOwnerships(of metadata: UInt, count: Int) -> [FieldOwnership]? {
        var chain: [UInt] = []
        var current = metadata
        while current != 0, chain.count < 64 {
            chain.append(current)
            guard kind(of: current) == RuntimeMetadataKind.class,
                let desc = descriptor(of: current), relative(desc, 20) != nil
            else { break }
            current = word(current, 1)
        }
        var result: [FieldOwnership] = []
        for md in chain.reversed() {
            guard let desc = descriptor(of: md), let own = fieldOwnerships(descriptor: desc) else { return nil }
            result += own
        }
        return result.count == count ? result : nil
    }

    // MARK: Mangled names

    /// Length of a mangled name and where its text after the last symbolic reference starts.
    static func scanMangled(_ name: UnsafeRawPointer) -> (length: Int, plainTail: Int) {
        var i = 0, tail = 0
        while i < 4096 {
            let b = name.load(fromByteOffset: i, as: UInt8.self)
            if b == 0 { break }
            if b <= 0x17 { i += 5; tail = i } else if b <= 0x1F { i += 9; tail = i } else { i += 1 }
        }
        return (i, tail)
    }

    /// FieldOwnership suffix of a mangled type (`Xw` weak, `Xo` unowned, `Xu` unowned(unsafe)),
    /// and the length of the name without it.
    static func ownership(ofMangled name: UnsafeRawPointer) -> (ownership: FieldOwnership, length: Int) {
        let (length, tail) = scanMangled(name)
        guard length >= 3, length - 2 >= tail,
            name.load(fromByteOffset: length - 2, as: UInt8.self) == UInt8(ascii: "X")
        else { return (.strong, length) }
        switch name.load(fromByteOffset: length - 1, as: UInt8.self) {
        case UInt8(ascii: "w"): return (.weak, length - 2)
        case UInt8(ascii: "o"): return (.unowned, length - 2)
        case UInt8(ascii: "u"): return (.unownedUnsafe, length - 2)
        default: return (.strong, length)
        }
    }

    /// True when `type`'s metadata and value witness table are mapped, 8-byte aligned
    /// addresses: safe to read its kind and layout.
    static func isPlausible(_ type: Any.Type) -> Bool {
        let metadata = address(of: type)
        guard metadata & 7 == 0, ogr_readable(UnsafeRawPointer(bitPattern: metadata &- 8), 16) != 0 else {
            return false
        }
        let witnesses = word(metadata, -1)
        return witnesses & 7 == 0 && ogr_readable(UnsafeRawPointer(bitPattern: witnesses), 0x50) != 0
    }

    /// Resolves a mangled type name in place (symbolic references are relative to `name`).
    /// Only names ``ContextFreeMangling`` accepts reach the runtime: without a generic context
    /// it aborts the process on some of the others instead of returning nil.
    static func resolve(mangled name: UnsafeRawPointer, length: Int) -> Any.Type? {
        guard ContextFreeMangling.isResolvable(name, length: length), let md = ogr_type_by_mangled_name(name, length)
        else { return nil }
        return type(at: UInt(bitPattern: md))
    }

    // MARK: Reflection

    /// Fields of a class (superclass fields first), struct or tuple, with offsets.
    static func reflectedFields(of type: Any.Type) -> [ReflectedField] {
        let count = _ogRecursiveCount(type)
        guard count > 0, count < 100_000 else { return [] }
        return (0..<count).map { i in
            var meta = FieldReflectionMetadata()
            let fieldType = _ogRecursiveChildMetadata(type, index: i, fieldMetadata: &meta)
            let name = meta.name.map { String(cString: $0) } ?? "\(i)"
            if let free = meta.freeFunc { free(meta.name) }
            let offset = _ogRecursiveChildOffset(type, index: i)
            // Reflection can return a garbage type for a field whose type it cannot resolve
            // (seen with Dispatch's classes): such a field is treated as an unknown word.
            let usable = isPlausible(fieldType) ? fieldType : UnsafeRawPointer?.self
            return ReflectedField(name: name, type: usable, offset: offset, isStrong: meta.isStrong)
        }
    }
}
