import CObjGraphRuntime

extension ObjGraph {
    /// Captures every tracked object, every reference between tracked objects and every root
    /// (globals in loaded images, thread stacks), while allocation recording and frees of
    /// tracked objects are held off for the few milliseconds the walk takes.
    ///
    /// References are found by scanning each object's memory for addresses of other tracked
    /// objects, then labelled from Swift field metadata (`delegate`, `state.cache`), array
    /// positions (`[3]`), dictionary slots and closure symbols.
    ///
    /// ```swift
    /// let snapshot = try ObjGraph.snapshot()
    /// print(snapshot.objects.count, snapshot.edges.count, snapshot.roots.count)  // objects, references, roots
    /// let graph = ObjectGraph(snapshot)              // indexes it for the analyses
    /// try snapshot.write(to: "end.ogs")              // for `objgraph stats|diff|leaks|render`
    /// ```
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

    /// A snapshot whose roots include the calling thread's stack from `floor` (an address on it)
    /// up, and not below: the agent's exit handler passes the address of a local of the
    /// handler called by `exit()`, so the program's frames above its `exit()` call stay roots
    /// while the handler's own frames do not.
    ///
    /// With `namingGlobals` false, global roots keep empty names until
    /// ``nameRoots(_:)`` names the ones wanted (the agent's report names only the
    /// roots of its chains).
    package static func snapshot(ownStackAbove floor: UInt?, namingGlobals: Bool = true) throws -> HeapSnapshot {
        guard ogr_is_installed() != 0 else {
            throw TrackingError("tracking is not started: call ObjGraph.startTracking() first")
        }
        ogr_scrub_stack()
        var builder = SnapshotBuilder()
        builder.namingGlobals = namingGlobals
        guard let floor else { return untracked { builder.build(flags: OGR_CAPTURE_SKIP_OWN_STACK) } }
        ogr_set_own_stack_floor(floor)
        return untracked { builder.build(flags: OGR_CAPTURE_OWN_STACK_FROM_FLOOR) }
    }

    /// The names of `roots`, naming the global roots left unnamed by
    /// ``snapshot(ownStackAbove:namingGlobals:)`` (other roots keep their names), all in one
    /// pass over the symbol tables. Only in the process the snapshot was taken in.
    package static func nameRoots(_ roots: [HeapSnapshot.Root]) -> [String] {
        let unnamed = roots.filter { $0.kind == .global && $0.name.isEmpty }.map { UInt($0.slotAddress) }
        guard !unnamed.isEmpty else { return roots.map(\.name) }
        let symbolizer = TypeRegistry.shared.symbolizer
        symbolizer.prefetch(unnamed)
        var namer = RootNamer(symbolizer: symbolizer, selfThread: 0)
        return roots.map { $0.kind == .global && $0.name.isEmpty ? namer.globalName($0.slotAddress) : $0.name }
    }

    /// Names every global root of `snapshot` left unnamed (``nameRoots(_:)``), before the
    /// snapshot is saved.
    package static func nameGlobalRoots(in snapshot: inout HeapSnapshot) {
        for (i, name) in nameRoots(snapshot.roots).enumerated() { snapshot.roots[i].name = name }
    }
}
