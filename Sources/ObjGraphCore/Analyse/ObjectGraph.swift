import Synchronization

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
    /// CSR reverse adjacency, built on first use (``reverseEdges()``).
    private let reverse = Mutex<ReverseEdges?>(nil)
    /// Indices into `snapshot.roots` sorted by target, and those targets: the roots of object
    /// `i` are a binary search away (a few hundred roots; no array per object).
    let rootOrder: [Int32]
    let rootTargets: [Int32]
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
        // Counting sorts throughout, written through pointers: a snapshot has hundreds of
        // thousands of edges.
        var outStart = [Int32](repeating: 0, count: n + 1)
        var strongStart = [Int32](repeating: 0, count: n + 1)
        var strongCount = 0
        snapshot.edges.withUnsafeBufferPointer { edges in
            outStart.withUnsafeMutableBufferPointer { outStart in
                strongStart.withUnsafeMutableBufferPointer { strongStart in
                    for edge in edges {
                        outStart[Int(edge.from) + 1] += 1
                        if edge.kind.isStrong { strongStart[Int(edge.from) + 1] += 1; strongCount += 1 }
                    }
                    for i in 0..<n {
                        outStart[i + 1] += outStart[i]
                        strongStart[i + 1] += strongStart[i]
                    }
                }
            }
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
        let rootOrder = snapshot.roots.indices.sorted {
            (snapshot.roots[$0].target, $0) < (snapshot.roots[$1].target, $1)
        }
        self.rootOrder = rootOrder.map(Int32.init)
        self.rootTargets = rootOrder.map { snapshot.roots[$0].target }
        self.outStart = outStart
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
        let reverse = reverseEdges()
        return reverse.edges[Int(reverse.start[id])..<Int(reverse.start[id + 1])].map { snapshot.edges[Int($0)] }
    }

    /// Number of edges arriving at `id`, without building them.
    public func incomingCount(_ id: ObjectID) -> Int {
        let reverse = reverseEdges()
        return Int(reverse.start[id + 1] - reverse.start[id])
    }

    /// Roots (globals, stack slots, registers) that point at `id`.
    public func roots(of id: ObjectID) -> [HeapSnapshot.Root] {
        rootOrder[rootRange(of: id)].map { snapshot.roots[Int($0)] }
    }

    /// True when a root points at `id`.
    func hasRoot(_ id: ObjectID) -> Bool { !rootRange(of: id).isEmpty }

    /// Positions in `rootOrder` of the roots of `id`.
    func rootRange(of id: ObjectID) -> Range<Int> {
        var lo = 0, hi = rootTargets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rootTargets[mid] < Int32(id) { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        while end < rootTargets.count && rootTargets[end] == Int32(id) { end += 1 }
        return lo..<end
    }

    /// Reverse adjacency: `edges[start[i]..<start[i + 1]]` are the indices into
    /// `snapshot.edges` of the edges that point at object `i`, in edge order.
    struct ReverseEdges: Sendable {
        let start: [Int32]
        let edges: [Int32]
    }

    /// The reverse adjacency, built on first use: the leak analysis never needs it, and an
    /// exit report builds it only after the leak analysis has freed its scratch memory.
    func reverseEdges() -> ReverseEdges {
        reverse.withLock { cached in
            if let cached { return cached }
            let built = ObjectGraph.buildReverseEdges(snapshot)
            cached = built
            return built
        }
    }

    /// A counting sort by target; each object's slots are filled from the back, with its end
    /// position as the cursor, and one shift then puts every start in place.
    private static func buildReverseEdges(_ snapshot: HeapSnapshot) -> ReverseEdges {
        let n = snapshot.objects.count, edgeCount = snapshot.edges.count
        var start = [Int32](repeating: 0, count: n + 1)
        let edges = [Int32](unsafeUninitializedCapacity: edgeCount) { inEdges, initialized in
            start.withUnsafeMutableBufferPointer { start in
                snapshot.edges.withUnsafeBufferPointer { edges in
                    for edge in edges { start[Int(edge.to) + 1] += 1 }
                    for i in 0..<n { start[i + 1] += start[i] }
                    for index in stride(from: edgeCount - 1, through: 0, by: -1) {
                        let to = Int(edges[index].to)
                        start[to + 1] -= 1
                        inEdges[Int(start[to + 1])] = Int32(index)
                    }
                    for i in 0..<n { start[i] = start[i + 1] }
                    start[n] = Int32(edgeCount)
                }
            }
            initialized = edgeCount
        }
        return ReverseEdges(start: start, edges: edges)
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
