/// A strongly connected group of objects: every member keeps every other member alive
/// through strong references, so ARC can never free them on its own.
public struct RetainCycle: Sendable, Equatable {
    /// Members in cycle order from the canonical start (see ``ObjectGraph/cycles(among:)``):
    /// following ``edges`` from the first member visits the others and returns to it.
    public var members: [ObjectGraph.ObjectID]
    /// The strong edges among the members (all of them, not only the ring).
    public var edges: [HeapSnapshot.Edge]
    /// Sum of the members' sizes.
    public var bytes: Int
}

extension ObjectGraph {
    /// Strongly connected components over strong edges with more than one member, or one member
    /// that refers to itself. Each cycle is reported once, normalised to a canonical start: a
    /// class instance before runtime storage, closure contexts and boxes, then the smallest type
    /// name, then the lowest address. So the same structure always reads the same way, whichever
    /// object was allocated first. Cycles are ordered by their first member's address.
    ///
    /// - Parameter among: restrict to these objects (edges leaving the set are ignored); `nil`
    ///   for the whole graph.
    public func cycles(among subset: [Bool]? = nil) -> [RetainCycle] {
        let components = stronglyConnectedComponents(among: subset)
        var result: [RetainCycle] = []
        for component in components {
            if component.count == 1 {
                let only = Int(component[0])
                guard outgoing(only).contains(where: { $0.kind.isStrong && Int($0.to) == only }) else { continue }
            }
            result.append(makeCycle(component))
        }
        result.sort { snapshot.objects[$0.members[0]].address < snapshot.objects[$1.members[0]].address }
        return result
    }

    /// Tarjan's algorithm, iterative (deep object chains must not overflow the stack).
    /// Components come out in reverse topological order.
    func stronglyConnectedComponents(among subset: [Bool]? = nil) -> [[Int32]] {
        let n = count
        var index = [Int32](repeating: -1, count: n)
        var low = [Int32](repeating: 0, count: n)
        var onStack = [Bool](repeating: false, count: n)
        var stack: [Int32] = []
        var components: [[Int32]] = []
        var counter: Int32 = 0
        // Work stack of (node, next edge position).
        var work: [(node: Int32, edge: Int32)] = []
        for start in 0..<n where index[start] < 0 && (subset?[start] ?? true) {
            work.append((Int32(start), outStart[start]))
            index[start] = counter; low[start] = counter; counter += 1
            stack.append(Int32(start)); onStack[start] = true
            while !work.isEmpty {
                let top = work.count - 1
                let v = Int(work[top].node)
                var e = Int(work[top].edge)
                let end = Int(outStart[v + 1])
                var descended = false
                while e < end {
                    let edge = snapshot.edges[e]
                    e += 1
                    let w = Int(edge.to)
                    guard edge.kind.isStrong, subset?[w] ?? true else { continue }
                    if index[w] < 0 {
                        work[top].edge = Int32(e)
                        index[w] = counter; low[w] = counter; counter += 1
                        stack.append(Int32(w)); onStack[w] = true
                        work.append((Int32(w), outStart[w]))
                        descended = true
                        break
                    } else if onStack[w] {
                        low[v] = min(low[v], index[w])
                    }
                }
                if descended { continue }
                work.removeLast()
                if low[v] == index[v] {
                    var component: [Int32] = []
                    while true {
                        let w = stack.removeLast()
                        onStack[Int(w)] = false
                        component.append(w)
                        if Int(w) == v { break }
                    }
                    components.append(component)
                }
                if let parent = work.last {
                    low[Int(parent.node)] = min(low[Int(parent.node)], low[v])
                }
            }
        }
        return components
    }

    /// Orders a component as a walk from its lowest-address member along strong edges
    /// (depth-first, edges in offset order), so the same cycle always prints the same way.
    func makeCycle(_ component: [Int32]) -> RetainCycle {
        if component.count == 2 { return makePairCycle(Int(component[0]), Int(component[1])) }
        let members = SmallIDSet(component.lazy.map(Int.init))
        func rank(_ id: Int) -> (Int, String, UInt64) {
            let type = snapshot.type(of: id)
            let isUserClass = type.kind == .classInstance && !type.name.hasSuffix(" storage")
            return (isUserClass ? 0 : 1, type.name, snapshot.objects[id].address)
        }
        let start = component.lazy.map(Int.init).min { rank($0) < rank($1) }!
        var order: [Int] = []
        var seen = SmallIDSet([])
        var stack = [start]
        while let v = stack.popLast() {
            guard !seen.contains(v) else { continue }
            seen.insert(v)
            order.append(v)
            let next = outgoing(v).filter { $0.kind.isStrong && members.contains(Int($0.to)) }.map { Int($0.to) }
            stack.append(contentsOf: next.reversed())
        }
        let edges = order.flatMap { v in outgoing(v).filter { $0.kind.isStrong && members.contains(Int($0.to)) } }
        let bytes = order.reduce(0) { $0 + Int(snapshot.objects[$1].size) }
        return RetainCycle(members: order, edges: edges, bytes: bytes)
    }

    /// ``makeCycle(_:)`` for the most common leak, two objects holding each other, without
    /// building sets: the same canonical start and edge order.
    private func makePairCycle(_ a: Int, _ b: Int) -> RetainCycle {
        func rank(_ id: Int) -> (Int, String, UInt64) {
            let type = snapshot.type(of: id)
            let isUserClass = type.kind == .classInstance && !type.name.hasSuffix(" storage")
            return (isUserClass ? 0 : 1, type.name, snapshot.objects[id].address)
        }
        let (first, second) = rank(a) <= rank(b) ? (a, b) : (b, a)
        var edges: [HeapSnapshot.Edge] = []
        for edge in outgoing(first) where edge.kind.isStrong && (Int(edge.to) == second || Int(edge.to) == first) {
            edges.append(edge)
        }
        for edge in outgoing(second) where edge.kind.isStrong && (Int(edge.to) == second || Int(edge.to) == first) {
            edges.append(edge)
        }
        return RetainCycle(members: [first, second], edges: edges,
                           bytes: Int(snapshot.objects[first].size) + Int(snapshot.objects[second].size))
    }
}
