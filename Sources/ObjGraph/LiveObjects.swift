@_exported import ObjGraphCore
@_exported import ObjGraphRender

/// Entry points that take live objects: they snapshot the heap, find the objects in it and
/// answer about them, like objgraph's functions that take Python objects.
extension ObjGraph {
    /// The snapshot ids of `objects` in `snapshot` (objects not tracked are skipped).
    public static func ids(of objects: [AnyObject], in snapshot: HeapSnapshot) -> [HeapSnapshot.ObjectID] {
        objects.compactMap { snapshot.object(at: address(of: $0)) }
    }

    /// The address of `object`, as snapshots record it.
    public static func address(of object: AnyObject) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(object).toOpaque()))
    }

    /// The shortest chain of strong references from a root (a global, another thread's stack)
    /// to `object`: why it is still alive. The calling thread's stack is not a root here: the
    /// caller holds the object while asking. `nil` when nothing else holds it.
    ///
    /// ```swift
    /// if let (chain, graph) = try ObjGraph.findBackrefChain(to: Session.registry[1]) {
    ///     print(chain.root?.name ?? "-", chain.objects.map { graph.snapshot.type(of: $0).shortName })
    ///     // static LeakyScenarios.Session.registry ["Array<Session> storage", "Session"]
    ///     try graph.showChain(chain, to: "chain.svg")
    /// }
    /// ```
    public static func findBackrefChain(to object: AnyObject, maxDepth: Int = 50) throws -> (
        ReferenceChain, ObjectGraph
    )? {
        let graph = ObjectGraph(try snapshot(includeOwnStack: false))
        guard let id = graph.snapshot.object(at: address(of: object)),
            let chain = graph.findBackrefChain(to: id, maxDepth: maxDepth)
        else { return nil }
        return (chain, graph)
    }

    /// A one-line answer to "why is this object alive?": the shortest chain of strong
    /// references from a root.
    ///
    /// ```swift
    /// Session.open(id: 0); Session.open(id: 1)
    /// print(try ObjGraph.whyAlive(Session.registry[1]))
    /// // static LeakyScenarios.Session.registry --> Array<Session> storage --[1]--> Session 0x55cf1c2a3850
    /// ```
    public static func whyAlive(_ object: AnyObject, shortNames: Bool = true) throws -> String {
        guard let (chain, graph) = try findBackrefChain(to: object) else {
            return "\(typeName(of: object, shortNames: shortNames)) is held by nothing but the caller's own references"
        }
        return ChainText.line(chain, in: graph.snapshot, shortNames: shortNames)
    }

    /// Draws what refers to `objects`, objgraph's `show_backrefs`, and writes it to `path`
    /// (`.svg`, `.png` or `.dot`).
    public static func showBackrefs(
        _ objects: [AnyObject], maxDepth: Int = 3, tooMany: Int = 10,
        shortNames: Bool = true, to path: String
    ) throws {
        let graph = ObjectGraph(try snapshot())
        try graph.showBackrefs(
            ids(of: objects, in: graph.snapshot), maxDepth: maxDepth, tooMany: tooMany,
            shortNames: shortNames, to: path)
    }

    /// Draws what `objects` refer to, objgraph's `show_refs`, and writes it to `path`.
    public static func showRefs(
        _ objects: [AnyObject], maxDepth: Int = 3, tooMany: Int = 10,
        shortNames: Bool = true, to path: String
    ) throws {
        let graph = ObjectGraph(try snapshot())
        try graph.showRefs(
            ids(of: objects, in: graph.snapshot), maxDepth: maxDepth, tooMany: tooMany,
            shortNames: shortNames, to: path)
    }

    static func typeName(of object: AnyObject, shortNames: Bool) -> String {
        _typeName(Swift.type(of: object), qualified: !shortNames)
    }
}
