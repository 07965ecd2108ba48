#if canImport(Glibc)
import Glibc
#endif

// The objgraph snapshot file (`.ogs`): a versioned, little-endian, checksummed binary encoding of
// `HeapSnapshot`. The layout is specified in SnapshotFormat.md next to this file.

/// Why a snapshot could not be read or written. ``description`` is one line: the file, then what is wrong.
public struct SnapshotFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Sendable, Equatable {
        /// The input is empty.
        case empty
        /// The input does not start with `OBJGRAPH`.
        case badMagic
        /// Written by a newer objgraph than this one.
        case newerVersion(found: UInt32, supported: UInt32)
        /// A version number that was never written (0).
        case unsupportedVersion(UInt32)
        /// The input ends early. `what` names the part that is cut (`edges`), nil for the whole file;
        /// `atLeast` when `expected` is a lower bound (sections of variable-size records).
        case truncated(what: String?, expected: Int, found: Int, atLeast: Bool)
        /// Bytes follow the checksum.
        case trailingBytes(Int)
        /// The CRC-32 stored at the end does not match the bytes.
        case checksumMismatch(stored: UInt32, computed: UInt32)
        /// The checksum is right but the content is not a valid snapshot (an index out of range, a
        /// bad enum value, invalid UTF-8, unsorted objects), or an invalid snapshot was given to write.
        case invalid(String)
        /// A system call failed: `operation` (`cannot open`), `errno`.
        case system(operation: String, errno: Int32)
    }

    /// The file involved, nil when decoding bytes.
    public var path: String?
    public var reason: Reason

    public init(path: String? = nil, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String { (path.map { $0 + ": " } ?? "") + reasonText }

    private var reasonText: String {
        switch reason {
        case .empty: return "empty file (not an objgraph snapshot)"
        case .badMagic: return "not an objgraph snapshot (bad magic)"
        case let .newerVersion(found, supported):
            return "snapshot format version \(found) is newer than this objgraph supports (\(supported))"
        case let .unsupportedVersion(version): return "unsupported snapshot format version \(version)"
        case let .truncated(what, expected, found, atLeast):
            return "truncated (expected \(atLeast ? "at least " : "")\(expected) bytes"
                + (what.map { " of " + $0 } ?? "") + ", found \(found))"
        case let .trailingBytes(count): return "corrupt (\(count) unexpected bytes after the checksum)"
        case let .checksumMismatch(stored, computed):
            return
                "checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
        case let .invalid(problem): return "invalid snapshot (\(problem))"
        case let .system(operation, code): return "\(operation): \(String(cString: strerror(code)))"
        }
    }
}

/// Layout constants of the snapshot file; see SnapshotFormat.md.
enum SnapshotFormat {
    static let magic: [UInt8] = Array("OBJGRAPH".utf8)
    /// The version this code writes and the newest it reads. Version 2 adds the object kind
    /// `nativeBlock` (5, a C heap block) and the root kind `threadLocal` (4).
    static let version: UInt32 = 2
    /// The oldest version it reads.
    static let oldestReadable: UInt32 = 1
    static let headerSize = 64
    static let checksumSize = 4
    static let objectSize = 32
    static let edgeSize = 20
    static let rootFixedSize = 16
    /// Smallest encodings: a string is a u32 length; a type is a kind byte and two strings.
    static let minStringSize = 4
    static let minTypeSize = 1 + 2 * minStringSize
}

extension HeapSnapshot {
    /// Writes the snapshot to `path` atomically: the bytes go to a temporary file in the same
    /// directory (`.NAME.tmp-XXXXXX`), which is fsynced and then renamed over `path` (the directory is
    /// fsynced too). On failure the
    /// temporary file is removed and any existing file at `path` is left untouched.
    ///
    /// - Throws: ``SnapshotFileError`` when the snapshot is inconsistent (an index out of range,
    ///   unsorted objects) or a system call fails.
    public func write(to path: String) throws {
        if let problem = validationProblem() {
            throw SnapshotFileError(path: path, reason: .invalid("refusing to write: " + problem))
        }
        do {
            try AtomicFile.write(encoded(), to: path, durable: true)
        } catch let error as SystemCallError {
            let operation =
                error.call == "mkstemp" ? "cannot create a temporary file next to it" : "cannot \(error.call)"
            throw SnapshotFileError(path: path, reason: .system(operation: operation, errno: error.code))
        }
    }

    /// Reads and fully validates a snapshot written by ``write(to:)``.
    ///
    /// - Throws: ``SnapshotFileError`` naming `path` when the file cannot be read, is not a
    ///   snapshot, is truncated or corrupt, or was written by a newer format version.
    public init(contentsOf path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path)
        } catch let error as SystemCallError {
            throw SnapshotFileError(path: path, reason: .system(operation: "cannot \(error.call)", errno: error.code))
        }
        try self.init(decoding: bytes, path: path)
    }

    /// The snapshot in the objgraph snapshot file format (see SnapshotFormat.md).
    ///
    /// - Precondition: each array has fewer than 2³² elements and each string is shorter than 4 GiB.
    public func encoded() -> [UInt8] {
        var size = SnapshotFormat.headerSize + SnapshotFormat.checksumSize
        for type in types { size += 1 + 8 + type.name.utf8.count + type.shortName.utf8.count }
        for label in labels { size += 4 + label.utf8.count }
        size += objects.count * SnapshotFormat.objectSize + edges.count * SnapshotFormat.edgeSize
        for root in roots { size += SnapshotFormat.rootFixedSize + 4 + root.name.utf8.count }
        for note in notes { size += 4 + note.utf8.count }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var out = ByteWriter(base: UnsafeMutableRawPointer(buffer.baseAddress!))
            encodeSections(into: &out, bodyLength: size - SnapshotFormat.headerSize - SnapshotFormat.checksumSize)
            precondition(out.offset == size - SnapshotFormat.checksumSize, "snapshot size miscomputed")
            out.u32(crc32(UnsafeRawBufferPointer(start: out.base, count: out.offset)))
            count = size
        }
    }

    /// Decodes and fully validates bytes produced by ``encoded()``.
    ///
    /// - Throws: ``SnapshotFileError`` (with no path) for anything that is not a valid snapshot.
    public init(decoding bytes: [UInt8]) throws {
        try self.init(decoding: bytes, path: nil)
    }

    init(decoding bytes: [UInt8], path: String?) throws {
        do {
            self = try bytes.withUnsafeBytes { try SnapshotDecoder.decode($0) }
        } catch var error as SnapshotFileError {
            error.path = path
            throw error
        }
    }

    private func encodeSections(into out: inout ByteWriter, bodyLength: Int) {
        for byte in SnapshotFormat.magic { out.u8(byte) }
        out.u32(SnapshotFormat.version)
        out.u32(0)  // flags
        out.u64(UInt64(bodyLength))
        out.u64(timestamp.bitPattern)
        for count in [types.count, labels.count, objects.count, edges.count, roots.count, notes.count] {
            out.u32(UInt32(count))
        }
        out.u64(0)  // reserved
        for type in types {
            out.u8(type.kind.rawValue)
            out.string(type.name)
            out.string(type.shortName)
        }
        for label in labels { out.string(label) }
        objects.withUnsafeBufferPointer { objects in
            for object in objects {
                out.u64(object.address)
                out.u32(UInt32(bitPattern: object.typeIndex))
                out.u32(object.size)
                out.u32(object.strongCount)
                out.u32(object.unownedCount)
                out.u32(object.weakCount)
                out.u32(object.isZombie ? 1 : 0)  // flags byte + 3 reserved bytes
            }
        }
        edges.withUnsafeBufferPointer { edges in
            for edge in edges {
                out.u32(UInt32(bitPattern: edge.from))
                out.u32(UInt32(bitPattern: edge.to))
                out.u32(edge.offset)
                out.u32(UInt32(bitPattern: edge.label))
                out.u32(UInt32(edge.kind.rawValue))  // kind byte + 3 reserved bytes
            }
        }
        for root in roots {
            out.u32(UInt32(root.kind.rawValue))  // kind byte + 3 reserved bytes
            out.u32(UInt32(bitPattern: root.target))
            out.u64(root.slotAddress)
            out.string(root.name)
        }
        for note in notes { out.string(note) }
    }

    /// The first broken invariant that readers rely on, or nil: every index in range, objects
    /// strictly sorted by address, edges sorted by `from`.
    func validationProblem() -> String? {
        let typeCount = types.count, objectCount = objects.count, labelCount = labels.count
        let objectProblem: String? = objects.withUnsafeBufferPointer { objects in
            for i in 0..<objects.count {
                let typeIndex = objects[i].typeIndex
                if typeIndex < 0 || Int(typeIndex) >= typeCount {
                    return "object \(i) has type index \(typeIndex) but there are \(typeCount) types"
                }
                if i > 0 && objects[i].address <= objects[i - 1].address {
                    return "objects not sorted by address at object \(i)"
                }
            }
            return nil
        }
        if let objectProblem { return objectProblem }
        let edgeProblem: String? = edges.withUnsafeBufferPointer { edges in
            for i in 0..<edges.count {
                let edge = edges[i]
                if edge.from < 0 || Int(edge.from) >= objectCount || edge.to < 0 || Int(edge.to) >= objectCount {
                    return
                        "edge \(i) from object \(edge.from) to object \(edge.to) but there are \(objectCount) objects"
                }
                if edge.label >= 0 && Int(edge.label) >= labelCount {
                    return "edge \(i) has label \(edge.label) but there are \(labelCount) labels"
                }
                if i > 0 && edge.from < edges[i - 1].from { return "edges not sorted by source at edge \(i)" }
            }
            return nil
        }
        if let edgeProblem { return edgeProblem }
        for (i, root) in roots.enumerated() where root.target < 0 || Int(root.target) >= objectCount {
            return "root \(i) refers to object \(root.target) but there are \(objectCount) objects"
        }
        return nil
    }
}

/// Little-endian stores into a buffer whose size was computed beforehand.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var offset = 0

    mutating func u8(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }
    mutating func u32(_ value: UInt32) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }
    mutating func u64(_ value: UInt64) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            if let source = utf8.baseAddress { (base + offset).copyMemory(from: source, byteCount: utf8.count) }
            offset += utf8.count
        }
    }
}

/// Reads and validates the format. Every count is checked against the bytes left before anything
/// is allocated for it.
enum SnapshotDecoder {
    static func decode(_ data: UnsafeRawBufferPointer) throws -> HeapSnapshot {
        let n = data.count
        let magic = SnapshotFormat.magic
        guard n > 0 else { throw SnapshotFileError(reason: .empty) }
        for i in 0..<min(n, magic.count) where data[i] != magic[i] { throw SnapshotFileError(reason: .badMagic) }
        guard n >= 12 else { throw truncated("header", SnapshotFormat.headerSize, n) }
        let version = load(data, 8, UInt32.self)
        if version > SnapshotFormat.version {
            throw SnapshotFileError(reason: .newerVersion(found: version, supported: SnapshotFormat.version))
        }
        guard version >= SnapshotFormat.oldestReadable else {
            throw SnapshotFileError(reason: .unsupportedVersion(version))
        }
        guard n >= SnapshotFormat.headerSize else { throw truncated("header", SnapshotFormat.headerSize, n) }
        let flags = load(data, 12, UInt32.self)
        guard flags == 0 else { throw invalid("unknown flags 0x\(String(flags, radix: 16))") }
        guard load(data, 56, UInt64.self) == 0 else { throw invalid("reserved header bytes are not zero") }
        let bodyLength = load(data, 16, UInt64.self)
        let fixed = UInt64(SnapshotFormat.headerSize + SnapshotFormat.checksumSize)
        guard bodyLength <= UInt64(Int.max) - fixed else { throw truncated(nil, Int.max, n) }
        let total = Int(bodyLength + fixed), bodyEnd = total - SnapshotFormat.checksumSize
        if n < total {
            // Say which section is cut when the sections can tell; otherwise the whole file.
            do { _ = try parse(data, end: min(n, bodyEnd), version: version) } catch let error as SnapshotFileError {
                if case .truncated = error.reason { throw error }
            }
            throw truncated(n >= bodyEnd ? "checksum" : nil, total, n)
        }
        guard n == total else { throw SnapshotFileError(reason: .trailingBytes(n - total)) }
        let stored = load(data, bodyEnd, UInt32.self)
        let computed = crc32(UnsafeRawBufferPointer(rebasing: data[0..<bodyEnd]))
        guard stored == computed else {
            throw SnapshotFileError(reason: .checksumMismatch(stored: stored, computed: computed))
        }
        let snapshot = try parse(data, end: bodyEnd, version: version)
        if let problem = snapshot.validationProblem() { throw invalid(problem) }
        return snapshot
    }

    /// Parses the sections in `data[headerSize..<end]`, which must be consumed exactly.
    private static func parse(_ data: UnsafeRawBufferPointer, end: Int, version: UInt32) throws -> HeapSnapshot {
        var reader = Reader(data: data, offset: SnapshotFormat.headerSize, end: end)
        let count = { (index: Int) in Int(load(data, 32 + 4 * index, UInt32.self)) }

        let typeCount = count(0)
        try reader.need(typeCount * SnapshotFormat.minTypeSize, "types", atLeast: true)
        var types: [HeapSnapshot.TypeInfo] = []
        types.reserveCapacity(typeCount)
        for i in 0..<typeCount {
            guard let kind = HeapSnapshot.ObjectKind(rawValue: try reader.u8("types")),
                version >= 2 || kind != .nativeBlock
            else {
                throw invalid("type \(i) has unknown kind \(data[reader.offset - 1])")
            }
            let name = try reader.string("type names"), shortName = try reader.string("type names")
            types.append(HeapSnapshot.TypeInfo(name: name, shortName: shortName, kind: kind))
        }

        let labels = try reader.strings(count(1), "labels")

        let objectCount = count(2)
        var base = try reader.fixed(objectCount, SnapshotFormat.objectSize, "objects")
        var bad = -1
        let objects = [HeapSnapshot.Object](unsafeUninitializedCapacity: objectCount) { buffer, initialized in
            for i in 0..<objectCount {
                let p = base + i * SnapshotFormat.objectSize
                let flags = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
                if flags > 1 { bad = i; break }
                (buffer.baseAddress! + i).initialize(
                    to: HeapSnapshot.Object(
                        address: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)),
                        typeIndex: Int32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: Int32.self)),
                        size: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                        strongCount: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
                        unownedCount: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 20, as: UInt32.self)),
                        weakCount: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
                        isZombie: flags == 1))
                initialized = i + 1
            }
        }
        if bad >= 0 { throw invalid("object \(bad) has unknown flags or nonzero reserved bytes") }

        let edgeCount = count(3)
        base = try reader.fixed(edgeCount, SnapshotFormat.edgeSize, "edges")
        let edges = [HeapSnapshot.Edge](unsafeUninitializedCapacity: edgeCount) { buffer, initialized in
            for i in 0..<edgeCount {
                let p = base + i * SnapshotFormat.edgeSize
                let word = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
                guard word <= 0xff, let kind = HeapSnapshot.EdgeKind(rawValue: UInt8(word)) else { bad = i; break }
                (buffer.baseAddress! + i).initialize(
                    to: HeapSnapshot.Edge(
                        from: Int32(littleEndian: p.loadUnaligned(as: Int32.self)),
                        to: Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: Int32.self)),
                        offset: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                        label: Int32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: Int32.self)),
                        kind: kind))
                initialized = i + 1
            }
        }
        if bad >= 0 { throw invalid("edge \(bad) has an unknown kind or nonzero reserved bytes") }

        let rootCount = count(4)
        try reader.need(
            rootCount * (SnapshotFormat.rootFixedSize + SnapshotFormat.minStringSize), "roots", atLeast: true)
        var roots: [HeapSnapshot.Root] = []
        roots.reserveCapacity(rootCount)
        for i in 0..<rootCount {
            let p = try reader.fixed(1, SnapshotFormat.rootFixedSize, "roots")
            let word = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
            guard word <= 0xff, let kind = HeapSnapshot.RootKind(rawValue: UInt8(word)),
                version >= 2 || kind != .threadLocal
            else {
                throw invalid("root \(i) has an unknown kind or nonzero reserved bytes")
            }
            roots.append(
                HeapSnapshot.Root(
                    kind: kind, name: try reader.string("root names"),
                    slotAddress: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                    target: Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: Int32.self))))
        }

        let notes = try reader.strings(count(5), "notes")
        guard reader.offset == end else { throw invalid("\(end - reader.offset) unused bytes after the notes") }
        let timestamp = Double(bitPattern: load(data, 24, UInt64.self))
        return HeapSnapshot(
            types: types, objects: objects, edges: edges, labels: labels, roots: roots,
            timestamp: timestamp, notes: notes)
    }

    /// Bounds-checked sequential reads of `data[offset..<end]`.
    private struct Reader {
        let data: UnsafeRawBufferPointer
        var offset: Int
        let end: Int

        func need(_ bytes: Int, _ what: String, atLeast: Bool = false) throws {
            if bytes > end - offset { throw truncated(what, bytes, end - offset, atLeast: atLeast) }
        }
        /// Start of `count` records of `size` bytes, consumed.
        mutating func fixed(_ count: Int, _ size: Int, _ what: String) throws -> UnsafeRawPointer {
            try need(count * size, what)
            defer { offset += count * size }
            return data.baseAddress! + offset
        }
        mutating func u8(_ what: String) throws -> UInt8 {
            try need(1, what)
            defer { offset += 1 }
            return data[offset]
        }
        mutating func string(_ what: String) throws -> String {
            try need(4, what)
            let length = Int(load(data, offset, UInt32.self))
            offset += 4
            try need(length, what)
            let bytes = UnsafeRawBufferPointer(rebasing: data[offset..<offset + length])
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw invalid("invalid UTF-8 in \(what) at byte \(offset)")
            }
            offset += length
            return text
        }
        mutating func strings(_ count: Int, _ what: String) throws -> [String] {
            try need(count * SnapshotFormat.minStringSize, what, atLeast: true)
            var strings: [String] = []
            strings.reserveCapacity(count)
            for _ in 0..<count { strings.append(try string(what)) }
            return strings
        }
    }

    private static func load<T: FixedWidthInteger>(_ data: UnsafeRawBufferPointer, _ offset: Int, _: T.Type) -> T {
        T(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private static func truncated(_ what: String?, _ expected: Int, _ found: Int, atLeast: Bool = false)
        -> SnapshotFileError
    {
        SnapshotFileError(reason: .truncated(what: what, expected: expected, found: found, atLeast: atLeast))
    }

    private static func invalid(_ problem: String) -> SnapshotFileError {
        SnapshotFileError(reason: .invalid(problem))
    }
}
