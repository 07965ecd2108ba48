import CObjGraphRuntime
#if canImport(Glibc)
import Glibc
#endif

extension ObjGraph {
    /// Captures every tracked object, every reference between tracked objects and every root
    /// (globals in loaded images, thread stacks), while allocation recording and frees of
    /// tracked objects are held off for the few milliseconds the walk takes.
    ///
    /// References are found by scanning each object's memory for addresses of other tracked
    /// objects, then labelled from Swift field metadata (`delegate`, `state.cache`), array
    /// positions (`[3]`), dictionary slots and closure symbols.
    ///
    /// - Parameter includeOwnStack: scan the calling thread's stack for roots. Turn it off when
    ///   the objects in question were made on another thread after the caller's frames were set
    ///   up (as the leak checks do): words in those older frames that match a newer object's
    ///   address are stale values whose memory malloc reused, not references.
    /// - Throws: ``TrackingError`` when tracking was never started.
    public static func snapshot(includeOwnStack: Bool = true) throws -> HeapSnapshot {
        guard ogr_is_installed() != 0 else {
            throw TrackingError("tracking is not started: call ObjGraph.startTracking() first")
        }
        ogr_scrub_stack()
        return untracked { SnapshotBuilder().build(flags: includeOwnStack ? 0 : OGR_CAPTURE_SKIP_OWN_STACK) }
    }
}

/// Turns the C capture into a ``HeapSnapshot``: dense type table, labelled edges, named roots.
struct SnapshotBuilder {
    let registry = TypeRegistry.shared

    func build(flags: UInt32) -> HeapSnapshot {
        _ = registry.descriptions()   // make sure every known type has a scan plan
        var capture = ogr_capture_result()
        ogr_capture(&capture, flags)
        ExitPhases.mark("capture")
        defer { ogr_capture_free(&capture) }
        let descriptions = registry.descriptions()

        let objects = UnsafeBufferPointer(start: capture.objects, count: capture.object_count)
        let edges = UnsafeBufferPointer(start: capture.edges, count: capture.edge_count)
        let roots = UnsafeBufferPointer(start: capture.roots, count: capture.root_count)
        let headers = UnsafeBufferPointer(start: capture.headers, count: capture.header_count * 6)

        // Types in order of first appearance, then every object and edge written in place
        // (no per-element append: a capture has hundreds of thousands of each).
        var typeMap = [Int32](repeating: -1, count: descriptions.count)
        var types: [HeapSnapshot.TypeInfo] = []
        for o in objects where typeMap[Int(o.type)] < 0 {
            typeMap[Int(o.type)] = Int32(types.count)
            let d = descriptions[Int(o.type)]
            types.append(HeapSnapshot.TypeInfo(name: d.name, shortName: d.shortName, kind: d.kind))
        }
        var snapshotObjects = typeMap.withUnsafeBufferPointer { typeMap in
            [HeapSnapshot.Object](unsafeUninitializedCapacity: objects.count) { buffer, initialized in
                for (i, o) in objects.enumerated() {
                    (buffer.baseAddress! + i).initialize(to: HeapSnapshot.Object(
                        address: o.address, typeIndex: typeMap[Int(o.type)], size: o.size,
                        strongCount: o.strong, unownedCount: o.unowned > 0 ? o.unowned - 1 : 0,
                        weakCount: o.weak > 0 ? o.weak - 1 : 0,
                        isZombie: o.flags & OGR_OBJ_DEINITIALIZED != 0, allocationEpoch: UInt8(truncatingIfNeeded: o.epoch)))
                }
                initialized = objects.count
            }
        }

        var labeller = EdgeLabeller(descriptions: descriptions)
        let snapshotEdges = [HeapSnapshot.Edge](unsafeUninitializedCapacity: edges.count) { buffer, initialized in
            for (i, e) in edges.enumerated() {
                let from = objects[Int(e.from)]
                let (label, kind): (Int32, HeapSnapshot.EdgeKind)
                if from.header != UInt32.max {
                    // Dictionary and set storage: the label depends on the header words.
                    let start = Int(from.header) * 6
                    (label, kind) = labeller.label(type: Int(from.type), offset: Int(e.offset), previousWord: e.previous_word,
                                                   header: Array(headers[start..<start + 6]))
                } else {
                    (label, kind) = labeller.label(type: Int(from.type), offset: Int(e.offset), previousWord: e.previous_word)
                }
                (buffer.baseAddress! + i).initialize(to: HeapSnapshot.Edge(
                    from: Int32(e.from), to: Int32(e.to), offset: e.offset, label: label, kind: kind))
            }
            initialized = edges.count
        }
        ExitPhases.mark("snapshot objects and edges")

        nameClassArrays(objects: &snapshotObjects, types: &types, edges: snapshotEdges,
                        registryTypes: objects, descriptions: descriptions, typeMap: typeMap)
        nameClosureContexts(objects: &snapshotObjects, types: &types, edges: edges)

        var rootNames = RootNamer(symbolizer: registry.symbolizer, selfThread: capture.self_thread)
        var snapshotRoots: [HeapSnapshot.Root] = []
        snapshotRoots.reserveCapacity(roots.count)
        for r in roots {
            let kind = HeapSnapshot.RootKind(rawValue: UInt8(r.kind)) ?? .other
            snapshotRoots.append(HeapSnapshot.Root(kind: kind, name: rootNames.name(r), slotAddress: r.slot,
                                                   target: Int32(r.to)))
        }

        ExitPhases.mark("snapshot names and roots")
        var notes: [String] = []
        let inexact = capture.threads_seen - capture.threads_exact
        if inexact > 0 {
            notes.append("\(inexact) of \(capture.threads_seen) threads were running during the capture; their whole stacks were scanned")
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return HeapSnapshot(types: types, objects: snapshotObjects, edges: snapshotEdges,
                            labels: labeller.labels, roots: snapshotRoots,
                            timestamp: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9, notes: notes)
    }
}

extension SnapshotBuilder {
    /// Every array of class references is stored as `Array<AnyObject> storage`; name each one
    /// after its elements when they all have one type: `Array<Session> storage`.
    func nameClassArrays(objects: inout [HeapSnapshot.Object], types: inout [HeapSnapshot.TypeInfo],
                         edges: [HeapSnapshot.Edge], registryTypes: UnsafeBufferPointer<ogr_object>,
                         descriptions: [TypeDescription], typeMap: [Int32]) {
        // Only when the capture has such arrays at all (most edges come from other objects).
        guard descriptions.indices.contains(where: { typeMap[$0] >= 0 && descriptions[$0].isAnyObjectArrayStorage }) else { return }
        var renamed = TypeRenamer()
        let isAnyObjectArray = descriptions.map(\.isAnyObjectArrayStorage)
        var index = 0
        while index < edges.count {
            let from = Int(edges[index].from)
            var end = index
            while end < edges.count && Int(edges[end].from) == from { end += 1 }
            defer { index = end }
            guard isAnyObjectArray[Int(registryTypes[from].type)] else { continue }
            let first = objects[Int(edges[index].to)].typeIndex
            guard edges[index..<end].allSatisfy({ objects[Int($0.to)].typeIndex == first }) else { continue }
            let elementInfo = types[Int(first)]
            guard elementInfo.kind == .classInstance else { continue }
            objects[from].typeIndex = renamed.index(
                of: HeapSnapshot.TypeInfo(name: "Array<\(elementInfo.name)> storage",
                                          shortName: "Array<\(elementInfo.shortName)> storage", kind: .classInstance),
                in: &types)
        }
    }
}

extension SnapshotBuilder {
    /// Closure context metadata has no symbol, but the function pointer stored beside a
    /// reference to a context names its closure: call the context after it,
    /// `closure context of closure #1 in Screen.bind()`.
    func nameClosureContexts(objects: inout [HeapSnapshot.Object], types: inout [HeapSnapshot.TypeInfo],
                             edges: UnsafeBufferPointer<ogr_edge>) {
        var isContext = types.map { $0.kind == .closureContext }
        guard isContext.contains(true) else { return }
        var functionNames: [UInt64: String?] = [:]
        var renamed = TypeRenamer()
        var done = [Bool](repeating: false, count: objects.count)
        for e in edges where !done[Int(e.to)] {
            let target = Int(e.to)
            guard isContext[Int(objects[target].typeIndex)], e.previous_word != 0 else { continue }
            let name: String?
            if let known = functionNames[e.previous_word] {
                name = known
            } else {
                name = registry.symbolizer.functionName(containing: UInt(e.previous_word))
                functionNames[e.previous_word] = name
            }
            guard let name else { continue }
            done[target] = true
            objects[target].typeIndex = renamed.index(
                of: HeapSnapshot.TypeInfo(name: "closure context of \(name)",
                                          shortName: "closure context of \(TypeCatalog.shortName(name))", kind: .closureContext),
                in: &types)
            while isContext.count < types.count { isContext.append(true) }
        }
    }
}

/// Types a snapshot adds for objects it can name better than their metadata does.
struct TypeRenamer {
    private var added: [String: Int32] = [:]

    /// The index of `type` in `types`, appending it the first time.
    mutating func index(of type: HeapSnapshot.TypeInfo, in types: inout [HeapSnapshot.TypeInfo]) -> Int32 {
        if let known = added[type.name] { return known }
        let index = Int32(types.count)
        types.append(type)
        added[type.name] = index
        return index
    }
}

/// Labels edges, interning label strings and caching per (type, offset) wherever the label
/// cannot depend on the neighbouring words.
///
/// Per edge this touches only plain values: a per-type plan (no `TypeDescription` copy, so no
/// reference counting) and a direct-mapped cache indexed by a multiplicative hash of (type,
/// offset). The descriptions are consulted once per distinct label.
struct EdgeLabeller {
    let descriptions: [TypeDescription]
    private(set) var labels: [String] = []
    private var interned: [String: Int32] = [:]

    /// How a type's edges are labelled.
    private struct Plan {
        /// Byte offset of element 0 for arrays of class references, -1 otherwise.
        var arrayStart: Int32 = -1
        var arrayKind: HeapSnapshot.EdgeKind = .conservative
        /// The label depends on the object's header words (dictionary and set storage).
        var wantsHeader = false
        /// The label depends on the word before the reference (a stored closure's function).
        var usesPreviousWord = false
    }
    private var plans: [Plan?]

    /// Direct-mapped cache of (type, offset, previous word) -> (label, kind); a miss or a
    /// collision asks the description, so it is never wrong, only sometimes slower.
    private struct Slot { var type: Int32 = -1; var offset: Int32 = 0; var context: UInt64 = 0; var label: Int32 = 0; var kind: HeapSnapshot.EdgeKind = .strong }
    private var slots = [Slot](repeating: Slot(), count: 4096)

    init(descriptions: [TypeDescription]) {
        self.descriptions = descriptions
        plans = [Plan?](repeating: nil, count: descriptions.count)
    }

    private mutating func plan(_ type: Int) -> Plan {
        if let known = plans[type] { return known }
        let description = descriptions[type]
        var plan = Plan()
        if let elements = description.arrayElements, elements.stride == 8 {
            plan.arrayStart = Int32(elements.start)
            plan.arrayKind = description.label(offset: elements.start).kind
        }
        plan.wantsHeader = description.wantsHeaderWords
        plan.usesPreviousWord = description.labelsUsePreviousWord
        plans[type] = plan
        return plan
    }

    /// The label of a reference in an object whose type needs its header words (dictionary and
    /// set storage: words 2..<8).
    mutating func label(type: Int, offset: Int, previousWord: UInt64, header: [UInt64]) -> (Int32, HeapSnapshot.EdgeKind) {
        guard plan(type).wantsHeader else { return label(type: type, offset: offset, previousWord: previousWord) }
        let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord, header: header)
        return (intern(text), kind)
    }

    /// The label of a reference at `offset` in an object of registry type `type`.
    mutating func label(type: Int, offset: Int, previousWord: UInt64) -> (Int32, HeapSnapshot.EdgeKind) {
        let plan = plan(type)
        // Plain reference arrays: `[i]` is computed on demand from a negative label.
        if plan.arrayStart >= 0 && offset >= Int(plan.arrayStart) {
            return (-Int32((offset - Int(plan.arrayStart)) / 8) - 1, plan.arrayKind)
        }
        if plan.wantsHeader {
            // Without the header words the layout can only give the generic label.
            let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord, header: [])
            return (intern(text), kind)
        }
        let context = plan.usesPreviousWord ? previousWord : 0
        let hash = (UInt64(type) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(offset) &* 0xC2B2_AE3D_27D4_EB4F) ^ context
        let index = Int((hash ^ (hash >> 29)) & UInt64(slots.count - 1))
        let slot = slots[index]
        if slot.type == Int32(type) && slot.offset == Int32(offset) && slot.context == context {
            return (slot.label, slot.kind)
        }
        let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord)
        let label = intern(text)
        slots[index] = Slot(type: Int32(type), offset: Int32(offset), context: context, label: label, kind: kind)
        return (label, kind)
    }

    private mutating func intern(_ text: String) -> Int32 {
        if let index = interned[text] { return index }
        let index = Int32(labels.count)
        labels.append(text)
        interned[text] = index
        return index
    }
}

/// Names roots: globals by their demangled symbol, stack slots by thread.
struct RootNamer {
    let symbolizer: Symbolizer
    let selfThread: Int32
    private var cache: [UInt64: String] = [:]

    init(symbolizer: Symbolizer, selfThread: Int32) {
        self.symbolizer = symbolizer
        self.selfThread = selfThread
    }

    mutating func name(_ root: ogr_root) -> String {
        switch Int(root.kind) {
        case Int(OGR_ROOT_GLOBAL.rawValue):
            if let known = cache[root.slot] { return known }
            let name = symbolizer.symbol(containing: UInt(root.slot)).map { Symbolizer.rootName(fromDemangled: $0.demangled) }
                ?? "global 0x\(String(root.slot, radix: 16))"
            cache[root.slot] = name
            return name
        default:
            let thread = root.thread
            let who = thread == getpid() ? "main thread" : thread < 0 ? "running thread" : "thread \(thread)"
            return Int(root.kind) == Int(OGR_ROOT_REGISTER.rawValue) ? "\(who) registers" : "\(who) stack"
        }
    }
}
