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
        var objects = SnapshotBuilder.captureObjects(flags: flags, into: &capture)
        ExitPhases.mark("capture")
        defer { ogr_capture_free(&capture) }
        let descriptions = registry.descriptions()

        let edges = UnsafeBufferPointer(start: capture.edges, count: capture.edge_count)
        let roots = UnsafeBufferPointer(start: capture.roots, count: capture.root_count)
        let headers = UnsafeBufferPointer(start: capture.headers, count: capture.header_count * 6)
        let headerObjects = UnsafeBufferPointer(start: capture.header_objects, count: capture.header_count)

        // The objects' `typeIndex` holds registry type indices until they are renumbered below.
        var labeller = EdgeLabeller(descriptions: descriptions)
        let snapshotEdges = objects.withUnsafeBufferPointer { objects in
            [HeapSnapshot.Edge](unsafeUninitializedCapacity: edges.count) { buffer, initialized in
                var nextHeader = 0   // edges come in object order, and so do the header records
                for (i, e) in edges.enumerated() {
                    let registryType = Int(objects[Int(e.from)].typeIndex)
                    while nextHeader < headerObjects.count && headerObjects[nextHeader] < e.from { nextHeader += 1 }
                    let (label, kind): (Int32, HeapSnapshot.EdgeKind)
                    if nextHeader < headerObjects.count && headerObjects[nextHeader] == e.from {
                        // Dictionary and set storage: the label depends on the header words.
                        let start = nextHeader * 6
                        (label, kind) = labeller.label(type: registryType, offset: Int(e.offset), previousWord: e.previous_word,
                                                       header: Array(headers[start..<start + 6]))
                    } else {
                        (label, kind) = labeller.label(type: registryType, offset: Int(e.offset), previousWord: e.previous_word)
                    }
                    (buffer.baseAddress! + i).initialize(to: HeapSnapshot.Edge(
                        from: Int32(e.from), to: Int32(e.to), offset: e.offset, label: label, kind: kind))
                }
                initialized = edges.count
            }
        }
        let arrayRenames = classArrayRenames(objects: objects, edges: snapshotEdges, descriptions: descriptions)

        // Types in order of first appearance; registry type indices become snapshot ones.
        var typeMap = [Int32](repeating: -1, count: descriptions.count)
        var types: [HeapSnapshot.TypeInfo] = []
        objects.withUnsafeMutableBufferPointer { objects in
            for i in objects.indices {
                let registryType = Int(objects[i].typeIndex)
                var type = typeMap[registryType]
                if type < 0 {
                    type = Int32(types.count)
                    typeMap[registryType] = type
                    let d = descriptions[registryType]
                    types.append(HeapSnapshot.TypeInfo(name: d.name, shortName: d.shortName, kind: d.kind))
                }
                objects[i].typeIndex = type
            }
        }
        ExitPhases.mark("snapshot objects and edges")

        var renamed = TypeRenamer()
        for (object, elementRegistryType) in arrayRenames {
            let element = types[Int(typeMap[elementRegistryType])]
            objects[object].typeIndex = renamed.index(
                of: HeapSnapshot.TypeInfo(name: "Array<\(element.name)> storage",
                                          shortName: "Array<\(element.shortName)> storage", kind: .classInstance),
                in: &types)
        }
        nameClosureContexts(objects: &objects, types: &types, edges: edges)

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
        return HeapSnapshot(types: types, objects: objects, edges: snapshotEdges,
                            labels: labeller.labels, roots: snapshotRoots,
                            timestamp: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9, notes: notes)
    }
}

extension SnapshotBuilder {
    /// Runs the capture, writing the object records straight into the snapshot's array when
    /// the C record and ``HeapSnapshot/Object`` have one layout (they are declared to), else
    /// through a C array. `typeIndex` holds registry type indices.
    static func captureObjects(flags: UInt32, into capture: inout ogr_capture_result) -> [HeapSnapshot.Object] {
        guard objectLayoutsAgree else {
            ogr_capture(&capture, flags)
            let records = UnsafeBufferPointer(start: capture.objects, count: capture.object_count)
            return records.map {
                HeapSnapshot.Object(address: $0.address, typeIndex: Int32(bitPattern: $0.type), size: $0.size,
                                    strongCount: $0.strong, unownedCount: $0.unowned, weakCount: $0.weak,
                                    isZombie: $0.deinitialized != 0, allocationEpoch: $0.epoch)
            }
        }
        let count = ogr_capture_begin(flags)
        guard count >= 0 else { return [] }
        var captured = capture
        let objects = [HeapSnapshot.Object](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            buffer.withMemoryRebound(to: ogr_object.self) { ogr_capture_finish($0.baseAddress, &captured) }
            initialized = captured.object_count
        }
        capture = captured
        return objects
    }

    /// True when `ogr_object` and ``HeapSnapshot/Object`` agree field by field (checked by a
    /// test too; this keeps a compiler that lays structs out differently correct, only slower).
    static let objectLayoutsAgree: Bool = {
        typealias O = HeapSnapshot.Object
        return MemoryLayout<O>.stride == MemoryLayout<ogr_object>.stride
            && MemoryLayout<O>.offset(of: \.address) == MemoryLayout<ogr_object>.offset(of: \.address)
            && MemoryLayout<O>.offset(of: \.typeIndex) == MemoryLayout<ogr_object>.offset(of: \.type)
            && MemoryLayout<O>.offset(of: \.size) == MemoryLayout<ogr_object>.offset(of: \.size)
            && MemoryLayout<O>.offset(of: \.strongCount) == MemoryLayout<ogr_object>.offset(of: \.strong)
            && MemoryLayout<O>.offset(of: \.unownedCount) == MemoryLayout<ogr_object>.offset(of: \.unowned)
            && MemoryLayout<O>.offset(of: \.weakCount) == MemoryLayout<ogr_object>.offset(of: \.weak)
            && MemoryLayout<O>.offset(of: \.isZombie) == MemoryLayout<ogr_object>.offset(of: \.deinitialized)
            && MemoryLayout<O>.offset(of: \.allocationEpoch) == MemoryLayout<ogr_object>.offset(of: \.epoch)
            && MemoryLayout<Bool>.size == 1 && MemoryLayout<O>.size <= MemoryLayout<ogr_object>.size
    }()

    /// Every array of class references is stored as `Array<AnyObject> storage`: the arrays
    /// whose elements all have one class, with that class's registry type, to be named after
    /// it (`Array<Session> storage`). `objects` still carry registry type indices.
    func classArrayRenames(objects: [HeapSnapshot.Object], edges: [HeapSnapshot.Edge],
                           descriptions: [TypeDescription]) -> [(object: Int, element: Int)] {
        let isAnyObjectArray = descriptions.map(\.isAnyObjectArrayStorage)
        guard isAnyObjectArray.contains(true) else { return [] }
        var renames: [(object: Int, element: Int)] = []
        var index = 0
        while index < edges.count {
            let from = Int(edges[index].from)
            var end = index
            while end < edges.count && Int(edges[end].from) == from { end += 1 }
            defer { index = end }
            guard isAnyObjectArray[Int(objects[from].typeIndex)] else { continue }
            let element = objects[Int(edges[index].to)].typeIndex
            guard descriptions[Int(element)].kind == .classInstance,
                  edges[index..<end].allSatisfy({ objects[Int($0.to)].typeIndex == element }) else { continue }
            renames.append((from, Int(element)))
        }
        return renames
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
    /// The last answer that depends on (type, offset) only: consecutive objects are often of
    /// one type (100,000 leaked pairs: one label for all their edges), so most edges stop here.
    private var last = Slot()

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
        if last.type == Int32(truncatingIfNeeded: type) && last.offset == Int32(truncatingIfNeeded: offset) {
            return (last.label, last.kind)
        }
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
            if !plan.usesPreviousWord { last = slot }
            return (slot.label, slot.kind)
        }
        let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord)
        let label = intern(text)
        slots[index] = Slot(type: Int32(type), offset: Int32(offset), context: context, label: label, kind: kind)
        if !plan.usesPreviousWord { last = slots[index] }
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
