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
    /// Go through C arrays and copy, as when the record layouts disagree (for tests).
    var copyRecords = false
    /// Take only this many registry types as described before the capture, as if the rest
    /// had been registered while it ran (for tests of that path).
    var describedBeforeCapture: Int? = nil

    func build(flags: UInt32) -> HeapSnapshot {
        // Every type known now is described before the capture: while it holds frees off, no
        // Swift runtime work (reflection, metadata lookups) is done, since a paused thread
        // could be holding a runtime lock that work would need.
        var descriptions = registry.descriptions()
        if let known = describedBeforeCapture { descriptions = Array(descriptions.prefix(known)) }
        var capture = ogr_capture_result()
        guard var (objects, edges) = SnapshotBuilder.capture(flags: flags, into: &capture, copying: copyRecords) else {
            return HeapSnapshot(types: [], objects: [], edges: [], labels: [], roots: [])
        }
        defer { ogr_capture_free(&capture) }
        ExitPhases.mark("capture")

        // Still paused: nothing tracked can be freed, so object memory can be read. Labels may
        // depend on the word before a reference (a stored closure's function) or on a
        // dictionary's header words. The objects' `typeIndex` holds registry type indices
        // until they are renumbered below. Labels that need the symbolizer (closures: its lock
        // may be held by a thread the capture holds up) and edges from or to a type first seen
        // during the capture keep the words they need and are labelled once it is over.
        var labeller = EdgeLabeller(descriptions: descriptions)
        let described = descriptions.count
        let isContext = descriptions.map { $0.kind == .closureContext }
        var contextCandidates: [(edge: Int, target: Int32, function: UInt64)] = []
        var later: [(edge: Int, previousWord: UInt64)] = []
        var laterHeaders: [Int32: [UInt64]] = [:]
        objects.withUnsafeBufferPointer { objects in
        edges.withUnsafeMutableBufferPointer { edges in
            var lastType = -1, lastTypeWaits = false   // edges come grouped by object, often by type
            for i in edges.indices {
                let e = edges[i]
                let from = objects[Int(e.from)]
                let registryType = Int(from.typeIndex)
                let word = UnsafeRawPointer(bitPattern: UInt(from.address) + UInt(e.offset))!
                let previousWord = word.load(fromByteOffset: -8, as: UInt64.self)
                let targetType = Int(objects[Int(e.to)].typeIndex)
                if registryType != lastType {
                    lastType = registryType
                    lastTypeWaits = registryType >= described || labeller.usesPreviousWord(type: registryType)
                }
                guard !lastTypeWaits && targetType < described else {
                    later.append((i, previousWord))
                    // Header words only where a label may need them (a type not described yet
                    // may be dictionary or set storage).
                    if laterHeaders[e.from] == nil && (registryType >= described || labeller.wantsHeader(type: registryType)) {
                        laterHeaders[e.from] = SnapshotBuilder.headerWords(of: from)
                    }
                    continue
                }
                let (label, kind) = labeller.label(type: registryType, offset: Int(e.offset), previousWord: previousWord,
                                                   object: from)
                edges[i].label = label
                edges[i].kind = kind
                if previousWord != 0 && isContext[targetType] {
                    contextCandidates.append((i, e.to, previousWord))
                }
            }
        } }
        ogr_capture_end()
        // Types registered since the descriptions were taken (by other threads just before the
        // capture, or by the capture for objects of types never counted) are described now.
        if Int(ogr_type_count()) > descriptions.count { descriptions = registry.descriptions() }
        if !later.isEmpty {
            labeller.add(descriptions)
            for (i, previousWord) in later {
                let e = edges[i]
                let registryType = Int(objects[Int(e.from)].typeIndex)
                guard registryType < descriptions.count else {
                    // Still not described (its metadata was not published yet): a bare offset.
                    (edges[i].label, edges[i].kind) = labeller.unexplained(offset: Int(e.offset))
                    continue
                }
                (edges[i].label, edges[i].kind) = labeller.label(type: registryType, offset: Int(e.offset),
                                                                 previousWord: previousWord, header: laterHeaders[e.from] ?? [])
                let targetType = Int(objects[Int(e.to)].typeIndex)
                if previousWord != 0 && targetType < descriptions.count && descriptions[targetType].kind == .closureContext {
                    contextCandidates.append((i, e.to, previousWord))
                }
            }
            contextCandidates.sort { $0.edge < $1.edge }   // edge order, as if all were labelled at once
        }
        let arrayRenames = classArrayRenames(objects: objects, edges: edges, descriptions: descriptions)

        // Types in order of first appearance; registry type indices become snapshot ones. A
        // type still undescribed (its metadata not yet published by the thread registering it)
        // is listed as "(other types)" rather than trusted.
        var typeMap = [Int32](repeating: -1, count: max(descriptions.count, Int(ogr_type_count())))
        var types: [HeapSnapshot.TypeInfo] = []
        objects.withUnsafeMutableBufferPointer { objects in
            for i in objects.indices {
                let registryType = min(Int(objects[i].typeIndex), typeMap.count - 1)
                var type = typeMap[registryType]
                if type < 0 {
                    type = Int32(types.count)
                    typeMap[registryType] = type
                    let d = registryType < descriptions.count ? descriptions[registryType] : TypeDescription.overflow
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
        nameClosureContexts(objects: &objects, types: &types, candidates: contextCandidates.map { ($0.target, $0.function) })

        let roots = UnsafeBufferPointer(start: capture.roots, count: capture.root_count)
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
        return HeapSnapshot(types: types, objects: objects, edges: edges,
                            labels: labeller.labels, roots: snapshotRoots,
                            timestamp: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9, notes: notes)
    }
}

extension SnapshotBuilder {
    /// Runs the capture up to its last step (the caller reads object memory, then calls
    /// `ogr_capture_end`), writing object and edge records straight into the snapshot's arrays
    /// when the C records and ``HeapSnapshot/Object`` / ``HeapSnapshot/Edge`` have one layout
    /// (they are declared to), else through C arrays. Objects' `typeIndex` holds registry type
    /// indices; edges have no labels yet. Nil when tracking is not installed.
    static func capture(flags: UInt32, into capture: inout ogr_capture_result, copying: Bool = false)
        -> (objects: [HeapSnapshot.Object], edges: [HeapSnapshot.Edge])?
    {
        let count = ogr_capture_begin(flags)
        guard count >= 0 else { return nil }
        var captured = capture
        defer { capture = captured }
        guard layoutsAgree && !copying else {
            let records = UnsafeMutablePointer<ogr_object>.allocate(capacity: max(Int(count), 1))
            defer { records.deallocate() }
            ogr_capture_scan(records, nil, 0, &captured)
            let objects = UnsafeBufferPointer(start: records, count: captured.object_count).map {
                HeapSnapshot.Object(address: $0.address, typeIndex: Int32(bitPattern: $0.type), size: $0.size,
                                    strongCount: $0.strong, unownedCount: $0.unowned, weakCount: $0.weak,
                                    isZombie: $0.deinitialized != 0, allocationEpoch: $0.epoch)
            }
            let edges = UnsafeBufferPointer(start: captured.overflow, count: captured.overflow_count).map {
                HeapSnapshot.Edge(from: Int32(bitPattern: $0.from), to: Int32(bitPattern: $0.to), offset: $0.offset,
                                  label: 0, kind: .conservative)
            }
            return (objects, edges)
        }
        // Room for three references per object, reserved but not touched: only the pages the
        // capture writes are ever faulted in. Edges beyond that come back in `overflow`.
        let edgeCapacity = 3 * Int(count) + 4096
        var edges: [HeapSnapshot.Edge] = []
        let objects = [HeapSnapshot.Object](unsafeUninitializedCapacity: Int(count)) { objectBuffer, objectCount in
            edges = [HeapSnapshot.Edge](unsafeUninitializedCapacity: edgeCapacity) { edgeBuffer, edgeCount in
                objectBuffer.withMemoryRebound(to: ogr_object.self) { objectRecords in
                    edgeBuffer.withMemoryRebound(to: ogr_edge.self) { edgeRecords in
                        ogr_capture_scan(objectRecords.baseAddress, edgeRecords.baseAddress, edgeCapacity, &captured)
                    }
                }
                edgeCount = captured.edge_count
            }
            objectCount = captured.object_count
        }
        if captured.overflow_count > 0 {
            UnsafeRawPointer(captured.overflow).withMemoryRebound(to: HeapSnapshot.Edge.self, capacity: captured.overflow_count) {
                edges.append(contentsOf: UnsafeBufferPointer(start: $0, count: captured.overflow_count))
            }
        }
        return (objects, edges)
    }

    /// Words 2..<8 of `object` (a dictionary's or set's header), or none when the block is
    /// smaller. Only while the capture still holds frees off.
    static func headerWords(of object: HeapSnapshot.Object) -> [UInt64] {
        guard object.size >= 64, let base = UnsafeRawPointer(bitPattern: UInt(object.address)) else { return [] }
        return (2..<8).map { base.load(fromByteOffset: 8 * $0, as: UInt64.self) }
    }

    /// True when `ogr_object` / `ogr_edge` and ``HeapSnapshot/Object`` / ``HeapSnapshot/Edge``
    /// agree field by field (checked by a test too; this keeps a compiler that lays structs out
    /// differently correct, only slower).
    static let layoutsAgree: Bool = {
        typealias O = HeapSnapshot.Object
        typealias E = HeapSnapshot.Edge
        let conservative = HeapSnapshot.EdgeKind.conservative
        return MemoryLayout<E>.stride == MemoryLayout<ogr_edge>.stride
            && MemoryLayout<E>.offset(of: \.from) == MemoryLayout<ogr_edge>.offset(of: \.from)
            && MemoryLayout<E>.offset(of: \.to) == MemoryLayout<ogr_edge>.offset(of: \.to)
            && MemoryLayout<E>.offset(of: \.offset) == MemoryLayout<ogr_edge>.offset(of: \.offset)
            && MemoryLayout<E>.offset(of: \.label) == MemoryLayout<ogr_edge>.offset(of: \.label)
            && MemoryLayout<E>.offset(of: \.kind) == MemoryLayout<ogr_edge>.offset(of: \.kind)
            && MemoryLayout<HeapSnapshot.EdgeKind>.size == 1
            && withUnsafeBytes(of: conservative) { $0[0] } == 3   // what the capture writes
            && MemoryLayout<O>.stride == MemoryLayout<ogr_object>.stride
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
            let type = Int(objects[from].typeIndex)
            guard type < descriptions.count, isAnyObjectArray[type] else { continue }
            let element = objects[Int(edges[index].to)].typeIndex
            guard Int(element) < descriptions.count, descriptions[Int(element)].kind == .classInstance,
                  edges[index..<end].allSatisfy({ objects[Int($0.to)].typeIndex == element }) else { continue }
            renames.append((from, Int(element)))
        }
        return renames
    }
}

extension SnapshotBuilder {
    /// Closure context metadata has no symbol, but the function pointer stored beside a
    /// reference to a context names its closure: call the context after it,
    /// `closure context of closure #1 in Screen.bind()`. `candidates` are the (context,
    /// word before the reference) pairs of every reference to a context, in edge order.
    func nameClosureContexts(objects: inout [HeapSnapshot.Object], types: inout [HeapSnapshot.TypeInfo],
                             candidates: [(target: Int32, function: UInt64)]) {
        guard !candidates.isEmpty else { return }
        var functionNames: [UInt64: String?] = [:]
        var renamed = TypeRenamer()
        var done = Set<Int32>()
        for (target, function) in candidates where !done.contains(target) {
            let name: String?
            if let known = functionNames[function] {
                name = known
            } else {
                name = registry.symbolizer.functionName(containing: UInt(function))
                functionNames[function] = name
            }
            guard let name else { continue }
            done.insert(target)
            objects[Int(target)].typeIndex = renamed.index(
                of: HeapSnapshot.TypeInfo(name: "closure context of \(name)",
                                          shortName: "closure context of \(TypeCatalog.shortName(name))", kind: .closureContext),
                in: &types)
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
    private(set) var descriptions: [TypeDescription]
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

    /// True when labels of registry type `type` name closures from the word before a
    /// reference (they ask the symbolizer).
    mutating func usesPreviousWord(type: Int) -> Bool { plan(type).usesPreviousWord }

    /// True when labels of registry type `type` depend on its header words.
    mutating func wantsHeader(type: Int) -> Bool { plan(type).wantsHeader }

    /// The label of a word no layout explains: `+40`, conservative.
    mutating func unexplained(offset: Int) -> (Int32, HeapSnapshot.EdgeKind) { (intern("+\(offset)"), .conservative) }

    /// Takes a longer list of descriptions (types registered since), keeping what it learnt.
    mutating func add(_ longer: [TypeDescription]) {
        guard longer.count > descriptions.count else { return }
        plans += [Plan?](repeating: nil, count: longer.count - descriptions.count)
        descriptions = longer
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

    /// The label of a reference at `offset` in `object` (registry type `type`), reading the
    /// object's header words when its type needs them (dictionary and set storage: words
    /// 2..<8). Only while the capture still holds frees off.
    mutating func label(type: Int, offset: Int, previousWord: UInt64, object: HeapSnapshot.Object) -> (Int32, HeapSnapshot.EdgeKind) {
        if last.type == Int32(truncatingIfNeeded: type) && last.offset == Int32(truncatingIfNeeded: offset) {
            return (last.label, last.kind)
        }
        guard wantsHeader(type: type), object.size >= 64 else {
            return label(type: type, offset: offset, previousWord: previousWord)
        }
        return label(type: type, offset: offset, previousWord: previousWord, header: SnapshotBuilder.headerWords(of: object))
    }

    /// The label of a reference at `offset`, given the object's header words (dictionary and
    /// set storage: words 2..<8; empty for other types or a block too small to have them).
    mutating func label(type: Int, offset: Int, previousWord: UInt64, header: [UInt64]) -> (Int32, HeapSnapshot.EdgeKind) {
        guard wantsHeader(type: type), header.count == 6 else { return label(type: type, offset: offset, previousWord: previousWord) }
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
