/// A frozen picture of the tracked Swift heap: every live object, every reference between
/// objects, and the roots (globals and thread stacks) that keep objects reachable.
///
/// A snapshot is plain data. It holds no references to the objects it describes, so it can be
/// kept, saved to a file (``HeapSnapshot/write(to:)``), loaded in another process, compared with
/// another snapshot and analysed long after the objects are gone.
///
/// Objects are identified by ``ObjectID``, an index into ``objects``. Edges are sorted by their
/// source object, so ``edges(from:)`` is a slice.
public struct HeapSnapshot: Sendable, Equatable {
    /// Index of an object in ``HeapSnapshot/objects``.
    public typealias ObjectID = Int

    /// What kind of heap object this is, from the first word of its metadata.
    public enum ObjectKind: UInt8, Sendable, Codable, CaseIterable {
        /// An instance of a Swift class, or class-like runtime storage (`Array<T> storage`, `String storage`).
        case classInstance = 0
        /// The context object of an escaping closure (metadata kind 0x400).
        case closureContext = 1
        /// A heap box for a captured `var` or an indirect value (metadata kind 0x500).
        case box = 2
        /// A Swift concurrency task (metadata kind 0x502).
        case task = 3
        /// Any other heap metadata kind.
        case other = 4
        /// A block of the C heap (`malloc` and friends) that is not a Swift object: C buffers,
        /// Dispatch's queues and blocks, task allocator slabs. Scanned word by word.
        case nativeBlock = 5
    }

    /// A type of heap object seen in the snapshot.
    public struct TypeInfo: Sendable, Equatable, Hashable {
        /// Fully qualified, human-readable name: `Fixtures.Session`, `Array<Fixtures.Session> storage`,
        /// `closure context of closure #1 in Fixtures.Screen.bind()`, `Box<Swift.Int>`.
        public var name: String
        /// The same name with module prefixes dropped: `Session`, `Array<Session> storage`.
        public var shortName: String
        public var kind: ObjectKind

        public init(name: String, shortName: String, kind: ObjectKind) {
            self.name = name
            self.shortName = shortName
            self.kind = kind
        }

        /// A suspended async function's frame: a node inside its task's memory (the block
        /// holding it does not count its bytes), not a heap block of its own.
        public var isAsyncFrame: Bool { kind == .nativeBlock && name.hasPrefix("async frame") }
    }

    /// One live heap object.
    public struct Object: Sendable, Equatable {
        /// The object's address in the process it was captured from.
        public var address: UInt64
        /// Index into ``HeapSnapshot/types``.
        public var typeIndex: Int32
        /// Bytes of heap the object occupies (the allocator's block size, as Apple's `heap` reports).
        public var size: UInt32
        /// Strong retain count at capture time.
        public var strongCount: UInt32
        /// Unowned retain count at capture time (the implicit +1 held by strong references excluded).
        public var unownedCount: UInt32
        /// Weak references at capture time (the runtime's count less the side table's own +1).
        public var weakCount: UInt32
        /// True when the object is deinitialized but its memory is still held by `unowned` references.
        public var isZombie: Bool
        /// The allocation epoch the object was made in, modulo 64 (every capture starts a new
        /// one). Two snapshots' objects at one address with different epochs are different
        /// allocations: malloc reused the block. Not saved in snapshot files (read back as 0).
        public var allocationEpoch: UInt8

        public init(
            address: UInt64, typeIndex: Int32, size: UInt32, strongCount: UInt32,
            unownedCount: UInt32, weakCount: UInt32, isZombie: Bool, allocationEpoch: UInt8 = 0
        ) {
            self.allocationEpoch = allocationEpoch
            self.address = address
            self.typeIndex = typeIndex
            self.size = size
            self.strongCount = strongCount
            self.unownedCount = unownedCount
            self.weakCount = weakCount
            self.isZombie = isZombie
        }
    }

    /// How a reference holds its target.
    public enum EdgeKind: UInt8, Sendable, Codable, CaseIterable {
        /// A strong reference: keeps the target alive.
        case strong = 0
        /// An `unowned` (safe) reference: does not keep the target alive.
        case unowned = 1
        /// An `unowned(unsafe)` / `Unmanaged` reference known from field metadata.
        case unownedUnsafe = 2
        /// A word that holds the target's address where no field metadata says what it is
        /// (array elements, closure captures, box contents, unknown fields). Treated as strong.
        case conservative = 3

        /// True when this edge keeps its target alive.
        public var isStrong: Bool { self == .strong || self == .conservative }
    }

    /// A reference from one object to another.
    public struct Edge: Sendable, Equatable {
        public var from: Int32
        public var to: Int32
        /// Byte offset of the referencing word inside `from`.
        public var offset: UInt32
        /// Index into ``HeapSnapshot/labels`` (`items`, `state.cache`, `onTap (closure #1 in Screen.bind())`,
        /// `+24`), or, when negative, the array element label `[i]` for `label == -(i + 1)`:
        /// element labels are computed on demand instead of interned. Use ``HeapSnapshot/label(of:)``.
        public var label: Int32
        public var kind: EdgeKind

        public init(from: Int32, to: Int32, offset: UInt32, label: Int32, kind: EdgeKind) {
            self.from = from
            self.to = to
            self.offset = offset
            self.label = label
            self.kind = kind
        }
    }

    /// Where a root reference lives.
    public enum RootKind: UInt8, Sendable, Codable, CaseIterable {
        /// A global or static variable in a loaded image's writable data.
        case global = 0
        /// A slot on a thread's stack.
        case stack = 1
        /// A register of a thread, saved when the snapshot was taken.
        case register = 2
        /// Heap memory from before tracking started (malloc chunks tracking never saw, scanned
        /// word by word), or other memory outside the tracked heap.
        case other = 3
        /// The main thread's static thread-local storage and thread control block.
        case threadLocal = 4
    }

    /// A reference from outside the tracked heap that keeps an object reachable.
    public struct Root: Sendable, Equatable {
        public var kind: RootKind
        /// Demangled symbol for globals (`static Fixtures.Session.registry`), `thread 2 stack` for stacks.
        public var name: String
        /// Address of the slot that holds the reference.
        public var slotAddress: UInt64
        public var target: Int32

        public init(kind: RootKind, name: String, slotAddress: UInt64, target: Int32) {
            self.kind = kind
            self.name = name
            self.slotAddress = slotAddress
            self.target = target
        }
    }

    public var types: [TypeInfo]
    /// Objects, sorted by address.
    public var objects: [Object]
    /// Edges, sorted by `from` then `offset`.
    public var edges: [Edge]
    /// Interned edge labels.
    public var labels: [String]
    public var roots: [Root]
    /// Seconds since the Unix epoch when the snapshot was taken.
    public var timestamp: Double
    /// Free-form notes about the capture (`process exited with status 3`, `thread 4 did not answer`).
    public var notes: [String]
    /// Registry type names (the names the counters and growth tables use) whose every object
    /// the capture renamed to one more precise name: `closure context (2 captures)` →
    /// `closure context of closure #1 in Screen.bind()`, `Array<AnyObject> storage` →
    /// `Array<Session> storage`. Short and full names both. Not saved in snapshot files.
    package var renamedTypes: [String: String] = [:]

    public init(
        types: [TypeInfo], objects: [Object], edges: [Edge], labels: [String], roots: [Root],
        timestamp: Double = 0, notes: [String] = []
    ) {
        self.types = types
        self.objects = objects
        self.edges = edges
        self.labels = labels
        self.roots = roots
        self.timestamp = timestamp
        self.notes = notes
    }

    /// For each type index, the positions in `names` of the names it answers to (its full or
    /// short name): how a table's rows find their objects.
    package func rowsByType(_ names: [String]) -> [[Int]] {
        var rows = [[Int]](repeating: [], count: types.count)
        for (r, name) in names.enumerated() {
            for (t, type) in types.enumerated() where type.name == name || type.shortName == name { rows[t].append(r) }
        }
        return rows
    }

    /// The type of an object.
    public func type(of id: ObjectID) -> TypeInfo { types[Int(objects[id].typeIndex)] }

    /// The label text of an edge.
    public func label(of edge: Edge) -> String { HeapSnapshot.label(edge.label, labels) }

    /// Labels below this stand for a word of a C block (or an unexplained word) at an offset:
    /// `+offset`, computed like array slots' `[i]` rather than stored once per offset.
    static let firstOffsetLabel: Int32 = -(1 << 30) - 1

    /// The label `+offset` for a word at `offset` (a multiple of 8).
    static func offsetLabel(_ offset: Int) -> Int32 { firstOffsetLabel - Int32(truncatingIfNeeded: offset / 8) }

    static func label(_ label: Int32, _ labels: [String]) -> String {
        if label >= 0 { return labels[Int(label)] }
        if label <= firstOffsetLabel { return "+\((Int(firstOffsetLabel) - Int(label)) * 8)" }
        return "[\(-(Int(label) + 1))]"
    }

    /// The object at `address`, if the snapshot has one that starts there.
    public func object(at address: UInt64) -> ObjectID? {
        var lo = 0, hi = objects.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if objects[mid].address < address { lo = mid + 1 } else { hi = mid }
        }
        return lo < objects.count && objects[lo].address == address ? lo : nil
    }

    /// Outgoing edges of `id`, found by binary search over the sorted edge list.
    public func edges(from id: ObjectID) -> ArraySlice<Edge> {
        let key = Int32(id)
        var lo = 0, hi = edges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if edges[mid].from < key { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        while end < edges.count && edges[end].from == key { end += 1 }
        return edges[lo..<end]
    }
}
