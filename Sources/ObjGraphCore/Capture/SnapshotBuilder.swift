import CObjGraphRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Turns the C capture into a ``HeapSnapshot``: dense type table, labelled edges, named roots.
///
/// The steps, in order: describe every known type (Swift runtime work, done before anything is
/// paused), ``captureRecords(flags:)``, ``labelWhilePaused(_:)`` (frees still held off, so
/// object memory can be read), `ogr_capture_end`, ``labelDeferred(_:)``, ``renumberTypes(_:)``
/// and ``nameRoots(_:)``.
struct SnapshotBuilder {
    /// The registry type indices the capture gives nodes that are not Swift objects (C heap
    /// blocks, tasks, their frames and slabs, heap-copied blocks), and their snapshot types.
    /// Frames and blocks are renamed after their functions once the capture is over
    /// (``nameNonSwiftNodes(_:)``).
    static let nonSwiftTypes: [Int: HeapSnapshot.TypeInfo] = [
        OGR_NATIVE_BLOCK_TYPE: "malloc block", OGR_ASYNC_TASK_TYPE: "async task",
        OGR_ASYNC_FRAME_TYPE: "async frame", OGR_TASK_SLAB_TYPE: "task allocator slab",
        OGR_BLOCK_LITERAL_TYPE: "block",
    ].reduce(into: [:]) { types, entry in
        types[Int(Int32(bitPattern: entry.key))] = HeapSnapshot.TypeInfo(
            name: entry.value, shortName: entry.value, kind: .nativeBlock)
    }
    /// The registry type index of a heap-copied block.
    static let blockLiteralType = Int(Int32(bitPattern: OGR_BLOCK_LITERAL_TYPE))

    /// The registry type indices of nodes that are not Swift objects (`OGR_BLOCK_LITERAL_TYPE`
    /// ... `OGR_NATIVE_BLOCK_TYPE`, consecutive).
    static let nonSwiftRange =
        Int(Int32(bitPattern: OGR_BLOCK_LITERAL_TYPE))...Int(Int32(bitPattern: OGR_NATIVE_BLOCK_TYPE))

    /// Whether a registry type index stands for a node that is not a Swift object. On every
    /// edge: a range check, not a dictionary lookup.
    @inline(__always)
    static func isNonSwift(_ registryType: Int) -> Bool { nonSwiftRange.contains(registryType) }

    let registry = TypeRegistry.shared
    /// Go through C arrays and copy, as when the record layouts disagree (for tests).
    var copyRecords = false
    /// Take only this many registry types as described before the capture, as if the rest
    /// had been registered while it ran (for tests of that path).
    var describedBeforeCapture: Int? = nil
    /// Name global roots after their symbols now. Off, they are left with empty names for
    /// ``ObjGraph/nameRoots(_:)`` to fill in for the roots a report shows: in a big
    /// program (swift-package: 450,000 symbols) looking up every global costs more than the
    /// rest of the exit analysis.
    var namingGlobals = true

    /// What the steps hand each other. Objects' `typeIndex` holds registry type indices until
    /// ``renumberTypes(_:)``.
    struct Work {
        var capture = ogr_capture_result()
        var objects: [HeapSnapshot.Object] = []
        var edges: [HeapSnapshot.Edge] = []
        var descriptions: [TypeDescription]
        var labeller: EdgeLabeller
        /// (edge, context object, word before the reference) for every reference to a closure
        /// context: the word names the closure.
        var contextCandidates: [(edge: Int, target: Int32, function: UInt64)] = []
        /// The same from heap-copied blocks (a closure's function, then its context): used only
        /// for contexts no Swift object's field names (a block may be a stale copy).
        var blockContextCandidates: [(edge: Int, target: Int32, function: UInt64)] = []
        /// (block, invoke function, captured function) for every heap-copied block: read while
        /// paused, named after the capture.
        var blockLiterals: [(object: Int, invoke: UInt64, function: UInt64)] = []
        /// Edges labelled after the capture, with the words their labels need.
        var deferred: [(edge: Int, previousWord: UInt64)] = []
        var deferredHeaders: [Int32: [UInt64]] = [:]
        var types: [HeapSnapshot.TypeInfo] = []
        /// Registry type index -> snapshot type index.
        var typeMap: [Int32] = []

        init(descriptions: [TypeDescription]) {
            self.descriptions = descriptions
            labeller = EdgeLabeller(descriptions: descriptions)
        }
    }

    func build(flags: UInt32) -> HeapSnapshot {
        // Every type known now is described before the capture: while it holds frees off, no
        // Swift runtime work (reflection, metadata lookups) is done, since a paused thread
        // could be holding a runtime lock that work would need.
        var descriptions = registry.liveTypes().descriptions
        if let known = describedBeforeCapture { descriptions = Array(descriptions.prefix(known)) }
        var work = Work(descriptions: descriptions)
        guard captureRecords(flags: flags, into: &work) else {
            return HeapSnapshot(types: [], objects: [], edges: [], labels: [], roots: [])
        }
        defer { ogr_capture_free(&work.capture) }
        ExitPhases.mark("capture")
        labelWhilePaused(&work)
        readBlockLiterals(&work)
        ogr_capture_end()
        labelDeferred(&work)
        let arrayRenames = classArrayRenames(objects: work.objects, edges: work.edges, descriptions: work.descriptions)
        renumberTypes(&work)
        ExitPhases.mark("snapshot objects and edges")
        let registryTypes = work.objects.map(\.typeIndex)
        let typesBeforeRenaming = work.types.count
        renameArrays(arrayRenames, in: &work)
        nameNonSwiftNodes(&work)
        nameClosureContexts(
            objects: &work.objects, types: &work.types,
            candidates: work.contextCandidates.map { ($0.target, $0.function) }
                + work.blockContextCandidates.map { ($0.target, $0.function) })
        let renamedTypes = SnapshotBuilder.renamedTypes(
            before: registryTypes, after: work.objects, types: work.types, typesBeforeRenaming: typesBeforeRenaming)
        let (roots, unnamed) = nameRoots(work.capture)
        ExitPhases.mark("snapshot names and roots")
        var notes: [String] = []
        if !unnamed.isEmpty {
            notes.append(
                "no symbol table in \(unnamed.sorted().joined(separator: ", ")) (stripped): its globals are named by offset (global in IMAGE+0xOFFSET) and closures by their captures; types are still named from their metadata"
            )
        }
        let inexact = work.capture.threads_seen - work.capture.threads_exact
        if inexact > 0 {
            notes.append(
                "\(inexact) of \(work.capture.threads_seen) threads were running during the capture; their whole stacks were scanned"
            )
        }
        var snapshot = HeapSnapshot(
            types: work.types, objects: work.objects, edges: work.edges, labels: work.labeller.labels,
            roots: roots, timestamp: WallClock.now(), notes: notes)
        snapshot.renamedTypes = renamedTypes
        return snapshot
    }

    /// The Swift types every object of which the renaming steps gave one new name: old name ->
    /// new name, short and full (``HeapSnapshot/renamedTypes``).
    static func renamedTypes(
        before: [Int32], after: [HeapSnapshot.Object], types: [HeapSnapshot.TypeInfo], typesBeforeRenaming: Int
    ) -> [String: String] {
        var renamedTo = [Int32](repeating: -1, count: typesBeforeRenaming)  // -2: kept or split
        let native = types.map { $0.kind == .nativeBlock }
        for (old, object) in zip(before, after) where old >= 0 && Int(old) < typesBeforeRenaming {
            let new = object.typeIndex
            let o = Int(old)
            if new == old || native[o] {
                renamedTo[o] = -2
            } else if renamedTo[o] == -1 {
                renamedTo[o] = new
            } else if renamedTo[o] != new {
                renamedTo[o] = -2
            }
        }
        var names: [String: String] = [:]
        for (o, new) in renamedTo.enumerated() where new >= 0 {
            names[types[o].name] = types[Int(new)].name
            names[types[o].shortName] = types[Int(new)].shortName  // short names win where both are one text
        }
        return names
    }

    /// Runs the capture up to its last step: the world stays paused (frees held off) until the
    /// caller's `ogr_capture_end`. False when tracking is not installed.
    func captureRecords(flags: UInt32, into work: inout Work) -> Bool {
        guard let (objects, edges) = SnapshotBuilder.capture(flags: flags, into: &work.capture, copying: copyRecords)
        else { return false }
        work.objects = objects
        work.edges = edges
        return true
    }

    /// Labels edges while nothing tracked can be freed, reading the words a label depends on
    /// (the word before a reference names a stored closure; dictionary headers locate keys and
    /// values). Labels that need the symbolizer (closures: its lock may be held by a thread the
    /// capture holds up) and edges from or to a type first seen during the capture keep the
    /// words they need for ``labelDeferred(_:)``.
    func labelWhilePaused(_ work: inout Work) {
        let described = work.descriptions.count
        let ready = work.descriptions.map { !$0.isUndescribed }
        let isContext = work.descriptions.map { $0.kind == .closureContext }
        var labeller = work.labeller
        var candidates = work.contextCandidates, deferred = work.deferred, headers = work.deferredHeaders
        var blockCandidates = work.blockContextCandidates
        work.objects.withUnsafeBufferPointer { objects in
            work.edges.withUnsafeMutableBufferPointer { edges in
                var lastType = -1, lastTypeWaits = false  // edges come grouped by object, often by type
                for i in edges.indices {
                    let e = edges[i]
                    let from = objects[Int(e.from)]
                    let registryType = Int(from.typeIndex)
                    let word = UnsafeRawPointer(bitPattern: UInt(from.address) + UInt(e.offset))!
                    let targetType = Int(objects[Int(e.to)].typeIndex)
                    if registryType < 0 && SnapshotBuilder.isNonSwift(registryType) {
                        // A C block's words have no layout: `+offset`, conservative. A block's
                        // captured Swift closure is a function pointer then its context.
                        (edges[i].label, edges[i].kind) = labeller.nonSwift(type: registryType, offset: Int(e.offset))
                        if registryType == SnapshotBuilder.blockLiteralType && e.offset == 40
                            && targetType >= 0 && targetType < described && ready[targetType] && isContext[targetType]
                        {
                            let function = word.load(fromByteOffset: -8, as: UInt64.self)
                            if function != 0 { blockCandidates.append((i, e.to, function)) }
                        }
                        continue
                    }
                    let previousWord = word.load(fromByteOffset: -8, as: UInt64.self)
                    if registryType != lastType {
                        lastType = registryType
                        lastTypeWaits =
                            registryType >= described || !ready[registryType]
                            || labeller.usesPreviousWord(type: registryType)
                    }
                    guard
                        !lastTypeWaits && targetType < described
                            && (targetType >= 0 ? ready[targetType] : SnapshotBuilder.isNonSwift(targetType))
                    else {
                        deferred.append((i, previousWord))
                        // Header words only where a label may need them (a type not described yet
                        // may be dictionary or set storage).
                        if headers[e.from] == nil
                            && (registryType >= described || !ready[registryType]
                                || labeller.wantsHeader(type: registryType))
                        {
                            headers[e.from] = SnapshotBuilder.headerWords(of: from)
                        }
                        continue
                    }
                    (edges[i].label, edges[i].kind) = labeller.label(
                        type: registryType, offset: Int(e.offset),
                        previousWord: previousWord, object: from)
                    if previousWord != 0 && targetType >= 0 && isContext[targetType] {
                        candidates.append((i, e.to, previousWord))
                    }
                }
            }
        }
        work.labeller = labeller
        work.contextCandidates = candidates
        work.blockContextCandidates = blockCandidates
        work.deferred = deferred
        work.deferredHeaders = headers
    }

    /// Labels the edges ``labelWhilePaused(_:)`` left, from the words it kept. Types registered
    /// since the descriptions were taken (by other threads just before the capture, or by the
    /// capture for objects of types never counted) are described first.
    func labelDeferred(_ work: inout Work) {
        // Types with objects in the capture that were not described (registered or first
        // allocated since the descriptions were taken) are described now.
        let undescribed = work.descriptions.map(\.isUndescribed)
        var missing = Set<Int>()
        work.objects.withUnsafeBufferPointer { objects in
            for object in objects where object.typeIndex >= 0 {
                let t = Int(object.typeIndex)
                if t >= undescribed.count || undescribed[t] { missing.insert(t) }
            }
        }
        if !missing.isEmpty { work.descriptions = registry.descriptions { missing.contains($0) } }
        guard !work.deferred.isEmpty else { return }
        work.labeller.add(work.descriptions)
        for (i, previousWord) in work.deferred {
            let e = work.edges[i]
            let registryType = Int(work.objects[Int(e.from)].typeIndex)
            guard
                registryType >= 0 && registryType < work.descriptions.count
                    && !work.descriptions[registryType].isUndescribed
            else {
                // Still not described (its metadata was not published yet): a bare offset.
                (work.edges[i].label, work.edges[i].kind) = work.labeller.unexplained(offset: Int(e.offset))
                continue
            }
            (work.edges[i].label, work.edges[i].kind) = work.labeller.label(
                type: registryType, offset: Int(e.offset), previousWord: previousWord,
                header: work.deferredHeaders[e.from] ?? [])
            let targetType = Int(work.objects[Int(e.to)].typeIndex)
            if previousWord != 0 && targetType >= 0 && targetType < work.descriptions.count
                && work.descriptions[targetType].kind == .closureContext
            {
                work.contextCandidates.append((i, e.to, previousWord))
            }
        }
        work.contextCandidates.sort { $0.edge < $1.edge }  // edge order, as if all were labelled at once
    }

    /// Types in order of first appearance; registry type indices become snapshot ones. A type
    /// still undescribed (its metadata not yet published by the thread registering it) is
    /// listed as "(other types)" rather than trusted.
    func renumberTypes(_ work: inout Work) {
        let descriptions = work.descriptions
        var typeMap = [Int32](repeating: -1, count: max(descriptions.count, Int(ogr_type_count())))
        var types: [HeapSnapshot.TypeInfo] = []
        var nonSwift = [Int32](repeating: -1, count: SnapshotBuilder.nonSwiftRange.count)
        work.objects.withUnsafeMutableBufferPointer { objects in
            for i in objects.indices {
                let registryType = Int(objects[i].typeIndex)
                if SnapshotBuilder.isNonSwift(registryType) {
                    let slot = registryType - SnapshotBuilder.nonSwiftRange.lowerBound
                    if nonSwift[slot] < 0 {
                        nonSwift[slot] = Int32(types.count)
                        types.append(SnapshotBuilder.nonSwiftTypes[registryType]!)
                    }
                    objects[i].typeIndex = nonSwift[slot]
                    continue
                }
                let swiftType = min(registryType, typeMap.count - 1)
                var type = typeMap[swiftType]
                if type < 0 {
                    type = Int32(types.count)
                    typeMap[swiftType] = type
                    let d = swiftType < descriptions.count ? descriptions[swiftType] : TypeDescription.overflow
                    types.append(d.typeInfo)
                }
                objects[i].typeIndex = type
            }
        }
        work.types = types
        work.typeMap = typeMap
    }

    /// Names the roots: globals by their symbol, stack and register slots by thread. Also
    /// returns the images whose globals no symbol named.
    func nameRoots(_ capture: ogr_capture_result) -> ([HeapSnapshot.Root], unnamed: Set<String>) {
        let roots = UnsafeBufferPointer(start: capture.roots, count: capture.root_count)
        let globals = roots.lazy.filter { Int($0.kind) == Int(OGR_ROOT_GLOBAL.rawValue) }.map { UInt($0.slot) }
        if namingGlobals { registry.symbolizer.prefetch(Array(globals)) }
        var rootNames = RootNamer(symbolizer: registry.symbolizer, selfThread: capture.self_thread)
        let named = roots.map { r in
            HeapSnapshot.Root(
                kind: HeapSnapshot.RootKind(rawValue: UInt8(r.kind)) ?? .other,
                name: !namingGlobals && Int(r.kind) == Int(OGR_ROOT_GLOBAL.rawValue) ? "" : rootNames.name(r),
                slotAddress: r.slot, target: Int32(r.to))
        }
        if !namingGlobals, let stripped = registry.symbolizer.strippedMainProgram(among: Array(globals)) {
            return (named, [stripped])
        }
        return (named, rootNames.imagesWithoutSymbols)
    }
}
