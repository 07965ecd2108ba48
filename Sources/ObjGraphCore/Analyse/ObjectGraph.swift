/// Indexed view of a ``HeapSnapshot`` for graph questions: who refers to an object, what it
/// refers to, which roots hold it.
///
/// Building one costs O(objects + edges); every query after that touches only the objects it
/// visits. `ObjectGraph` is immutable and `Sendable`.
public final class ObjectGraph: Sendable {
    public typealias ObjectID = HeapSnapshot.ObjectID

    public let snapshot: HeapSnapshot
    /// CSR forward adjacency: edges of object `i` are `snapshot.edges[outStart[i]..<outStart[i+1]]`.
    let outStart: [Int32]
    /// CSR reverse adjacency: indices into `snapshot.edges` of the edges that point at object `i`.
    let inStart: [Int32]
    let inEdges: [Int32]
    /// Indices into `snapshot.roots` of the roots that point at object `i`.
    let rootStart: [Int32]
    let rootRefs: [Int32]
    /// Rank of each type for choosing where a cycle starts (``cycleStartRank(_:)``).
    let typeOrder: [Int32]
    /// CSR of strong references only (strong and conservative edges), targets only: what the
    /// reachability, cycle and leak passes walk. Object `i`'s strong targets are
    /// `strongTo[strongStart[i]..<strongStart[i+1]]`, in offset order.
    let strongStart: [Int32]
    let strongTo: [Int32]

    public init(_ snapshot: HeapSnapshot) {
        self.snapshot = snapshot
        let n = snapshot.objects.count
        let edgeCount = snapshot.edges.count
        // Counting sorts throughout, written through pointers: a snapshot has hundreds of
        // thousands of edges.
        var outStart = [Int32](repeating: 0, count: n + 1)
        var inStart = [Int32](repeating: 0, count: n + 1)
        var strongStart = [Int32](repeating: 0, count: n + 1)
        var strongCount = 0
        snapshot.edges.withUnsafeBufferPointer { edges in
            outStart.withUnsafeMutableBufferPointer { outStart in
            inStart.withUnsafeMutableBufferPointer { inStart in
            strongStart.withUnsafeMutableBufferPointer { strongStart in
                for edge in edges {
                    outStart[Int(edge.from) + 1] += 1
                    inStart[Int(edge.to) + 1] += 1
                    if edge.kind.isStrong { strongStart[Int(edge.from) + 1] += 1; strongCount += 1 }
                }
                for i in 0..<n {
                    outStart[i + 1] += outStart[i]
                    inStart[i + 1] += inStart[i]
                    strongStart[i + 1] += strongStart[i]
                }
            } } }
        }
        // Reverse edges: each object's slots are filled from the back, with its end position
        // as the cursor; afterwards inStart[i + 1] holds object i's start, and one shift puts
        // every start in place (no cursor array).
        let inEdges = [Int32](unsafeUninitializedCapacity: edgeCount) { inEdges, initialized in
            inStart.withUnsafeMutableBufferPointer { inStart in
            snapshot.edges.withUnsafeBufferPointer { edges in
                for index in stride(from: edgeCount - 1, through: 0, by: -1) {
                    let to = Int(edges[index].to)
                    inStart[to + 1] -= 1
                    inEdges[Int(inStart[to + 1])] = Int32(index)
                }
                for i in 0..<n { inStart[i] = inStart[i + 1] }
                inStart[n] = Int32(edgeCount)
            } }
            initialized = edgeCount
        }
        let strongTo = [Int32](unsafeUninitializedCapacity: strongCount) { strongTo, initialized in
            var next = 0
            snapshot.edges.withUnsafeBufferPointer { edges in
                for edge in edges where edge.kind.isStrong {
                    strongTo[next] = edge.to
                    next += 1
                }
            }
            initialized = next
        }
        // Roots by target, the same way (there are few: globals and stack slots).
        var rootStart = [Int32](repeating: 0, count: n + 1)
        for root in snapshot.roots { rootStart[Int(root.target) + 1] += 1 }
        for i in 0..<n { rootStart[i + 1] += rootStart[i] }
        var rootEnd = rootStart
        var rootRefs = [Int32](repeating: 0, count: snapshot.roots.count)
        for index in snapshot.roots.indices.reversed() {
            let target = Int(snapshot.roots[index].target)
            rootEnd[target + 1] -= 1
            rootRefs[Int(rootEnd[target + 1])] = Int32(index)
        }
        self.outStart = outStart
        self.inStart = inStart
        self.inEdges = inEdges
        self.rootStart = rootStart
        self.rootRefs = rootRefs
        self.typeOrder = ObjectGraph.typeOrder(snapshot.types)
        self.strongStart = strongStart
        self.strongTo = strongTo
    }

    /// Number of objects.
    public var count: Int { snapshot.objects.count }

    /// Edges leaving `id` (what `id` refers to), in offset order.
    public func outgoing(_ id: ObjectID) -> ArraySlice<HeapSnapshot.Edge> {
        snapshot.edges[Int(outStart[id])..<Int(outStart[id + 1])]
    }

    /// Edges arriving at `id` (who refers to `id`).
    public func incoming(_ id: ObjectID) -> [HeapSnapshot.Edge] {
        inEdges[Int(inStart[id])..<Int(inStart[id + 1])].map { snapshot.edges[Int($0)] }
    }

    /// Number of edges arriving at `id`, without building them.
    public func incomingCount(_ id: ObjectID) -> Int { Int(inStart[id + 1] - inStart[id]) }

    /// Roots (globals, stack slots, registers) that point at `id`.
    public func roots(of id: ObjectID) -> [HeapSnapshot.Root] {
        rootRefs[Int(rootStart[id])..<Int(rootStart[id + 1])].map { snapshot.roots[Int($0)] }
    }

    /// Objects that refer to `id`, without duplicates, in first-seen order. objgraph's `gc.get_referrers`.
    public func referrers(of id: ObjectID) -> [ObjectID] {
        var seen = Set<ObjectID>()
        return incoming(id).compactMap { seen.insert(Int($0.from)).inserted ? Int($0.from) : nil }
    }

    /// Objects that `id` refers to, without duplicates, in field order. objgraph's `gc.get_referents`.
    public func referents(of id: ObjectID) -> [ObjectID] {
        var seen = Set<ObjectID>()
        return outgoing(id).compactMap { seen.insert(Int($0.to)).inserted ? Int($0.to) : nil }
    }

    /// All objects of the type whose qualified or short name is `typeName`.
    public func objects(ofType typeName: String) -> [ObjectID] {
        let matching = snapshot.types.map { $0.name == typeName || $0.shortName == typeName }
        guard matching.contains(true) else { return [] }
        return snapshot.objects.indices.filter { matching[Int(snapshot.objects[$0].typeIndex)] }
    }
}
