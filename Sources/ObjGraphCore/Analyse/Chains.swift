/// A path of references: `objects[0]` refers to `objects[1]` through `edges[0]`, and so on.
/// For a back-reference chain, `root` is what holds `objects[0]`.
public struct ReferenceChain: Sendable, Equatable {
    /// The root holding the first object (a global, a stack slot), when the chain starts at one.
    public var root: HeapSnapshot.Root?
    public var objects: [ObjectGraph.ObjectID]
    /// `edges[i]` goes from `objects[i]` to `objects[i + 1]`.
    public var edges: [HeapSnapshot.Edge]

    public init(root: HeapSnapshot.Root?, objects: [ObjectGraph.ObjectID], edges: [HeapSnapshot.Edge]) {
        self.root = root
        self.objects = objects
        self.edges = edges
    }
}

extension ObjectGraph {
    /// The shortest chain of references from a root (or from an object matching `predicate`) to
    /// `target`: the answer to "who keeps this alive?". objgraph's `find_backref_chain`.
    ///
    /// Breadth-first over referrers, the shortest chain through Swift objects first: one through
    /// a C heap block or an async frame only when there is none without. Only strong references
    /// are followed unless `strongOnly` is false. Returns `nil` when no root or matching object is within `maxDepth` references.
    ///
    /// ```swift
    /// let graph = ObjectGraph(try ObjGraph.snapshot())
    /// let session = graph.objects(ofType: "Session").last!
    /// let chain = graph.findBackrefChain(to: session)!
    /// print(chain.root!.name, chain.objects.map { graph.snapshot.type(of: $0).shortName })
    /// // static LeakyScenarios.Session.registry ["Array<Session> storage", "Session"]
    /// ```
    public func findBackrefChain(
        to target: ObjectID, where predicate: ((ObjectID) -> Bool)? = nil,
        maxDepth: Int = 50, strongOnly: Bool = true
    ) -> ReferenceChain? {
        var scratch = BackrefSearch(count: count)
        return findBackrefChain(
            to: target, where: predicate, maxDepth: maxDepth, strongOnly: strongOnly, using: &scratch)
    }

    /// Per-object arrays of a back-reference search, reset after each search to what it
    /// found them (only the entries it visited are touched), so one set serves many searches.
    struct BackrefSearch {
        /// Edge toward the target, -1 when not visited.
        var parentEdge: [Int32]
        /// References from the target, -1 when not visited.
        var depth: [Int32]

        init(count: Int) {
            parentEdge = [Int32](repeating: -1, count: count)
            depth = [Int32](repeating: -1, count: count)
        }
    }

    /// ``findBackrefChain(to:where:maxDepth:strongOnly:)`` with arrays shared between searches.
    func findBackrefChain(
        to target: ObjectID, where predicate: ((ObjectID) -> Bool)? = nil,
        maxDepth: Int = 50, strongOnly: Bool = true, using search: inout BackrefSearch
    ) -> ReferenceChain? {
        // Heap memory from before tracking started is the root of last resort: a chain to a
        // global, a stack or thread-local storage is looked for first.
        if predicate == nil,
            let chain = findBackrefChain(
                to: target, where: nil, maxDepth: maxDepth, strongOnly: strongOnly, using: &search,
                isStart: { self.hasPreferredRoot($0) })
        {
            return chain
        }
        return findBackrefChain(
            to: target, where: predicate, maxDepth: maxDepth, strongOnly: strongOnly, using: &search,
            isStart: { predicate?($0) ?? self.hasRoot($0) })
    }

    private func findBackrefChain(
        to target: ObjectID, where predicate: ((ObjectID) -> Bool)?, maxDepth: Int, strongOnly: Bool,
        using search: inout BackrefSearch, isStart startsChain: (ObjectID) -> Bool
    ) -> ReferenceChain? {
        let reverse = reverseEdges()
        // Breadth-first, but a referrer that is not a Swift object (a C block, an async frame)
        // waits until no chain without one is left: chains read through typed fields when they
        // can, and a stale word in some C buffer does not win over the registry that holds an
        // object. `discovered` lists every node touched, for the reset.
        var queue: [Int32] = [Int32(target)], later: [Int32] = [], discovered: [Int32] = [Int32(target)]
        search.depth[target] = 0
        defer {
            for v in discovered {
                search.depth[Int(v)] = -1
                search.parentEdge[Int(v)] = -1
            }
        }
        let native = snapshot.types.map { $0.kind == .nativeBlock }
        var head = 0
        while head < queue.count || !later.isEmpty {
            if head == queue.count {
                queue = later
                later = []
                head = 0
            }
            let v = Int(queue[head]); head += 1
            if startsChain(v) && (v != target || predicate == nil) {
                return chain(from: v, parentEdge: search.parentEdge, useRoot: predicate == nil)
            }
            guard search.depth[v] < maxDepth else { continue }
            for edgeIndex in reverse.edges[Int(reverse.start[v])..<Int(reverse.start[v + 1])] {
                let edge = snapshot.edges[Int(edgeIndex)]
                guard !strongOnly || edge.kind.isStrong, search.depth[Int(edge.from)] < 0 else { continue }
                search.depth[Int(edge.from)] = search.depth[v] + 1
                search.parentEdge[Int(edge.from)] = edgeIndex
                discovered.append(edge.from)
                if native[Int(snapshot.objects[Int(edge.from)].typeIndex)] {
                    later.append(edge.from)
                } else {
                    queue.append(edge.from)
                }
            }
        }
        return nil
    }

    private func chain(from start: Int, parentEdge: [Int32], useRoot: Bool) -> ReferenceChain {
        var objects = [start]
        var edges: [HeapSnapshot.Edge] = []
        var v = Int32(start)
        while parentEdge[Int(v)] >= 0 {
            let edge = snapshot.edges[Int(parentEdge[Int(v)])]
            edges.append(edge)
            objects.append(Int(edge.to))
            v = edge.to
        }
        let root = useRoot ? preferredRoot(of: start) : nil
        return ReferenceChain(root: root, objects: objects, edges: edges)
    }

    /// The most telling root of an object: a named global before a stack slot, heap memory
    /// from before tracking last.
    func preferredRoot(of id: ObjectID) -> HeapSnapshot.Root? {
        func rank(_ kind: HeapSnapshot.RootKind) -> Int { kind == .other ? 255 : Int(kind.rawValue) }
        return roots(of: id).min { a, b in
            (rank(a.kind), a.name, a.slotAddress) < (rank(b.kind), b.name, b.slotAddress)
        }
    }

    /// True when a root other than heap memory from before tracking points at `id`.
    func hasPreferredRoot(_ id: ObjectID) -> Bool {
        rootRange(of: id).contains { snapshot.roots[Int(rootOrder[$0])].kind != .other }
    }

    /// The shortest chain of references from `source` to an object matching `predicate`.
    /// objgraph's `find_ref_chain`.
    public func findRefChain(
        from source: ObjectID, where predicate: (ObjectID) -> Bool,
        maxDepth: Int = 50, strongOnly: Bool = false
    ) -> ReferenceChain? {
        var parentEdge = [Int32: HeapSnapshot.Edge]()
        var depth = [Int32: Int]()
        var queue: [Int32] = [Int32(source)]
        depth[Int32(source)] = 0
        var head = 0
        while head < queue.count {
            let v = queue[head]; head += 1
            if Int(v) != source && predicate(Int(v)) {
                var objects = [Int(v)], edges: [HeapSnapshot.Edge] = []
                var cursor = v
                while let edge = parentEdge[cursor] {
                    edges.append(edge)
                    objects.append(Int(edge.from))
                    cursor = edge.from
                }
                return ReferenceChain(root: nil, objects: objects.reversed(), edges: edges.reversed())
            }
            guard depth[v]! < maxDepth else { continue }
            for edge in outgoing(Int(v)) where (!strongOnly || edge.kind.isStrong) && depth[edge.to] == nil {
                depth[edge.to] = depth[v]! + 1
                parentEdge[edge.to] = edge
                queue.append(edge.to)
            }
        }
        return nil
    }
}
