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
        for c in 0..<components.count where isCycle(components.members(of: c)) {
            result.append(makeCycle(Array(components.members(of: c))))
        }
        result.sort { snapshot.objects[$0.members[0]].address < snapshot.objects[$1.members[0]].address }
        return result
    }

    /// True when `component` (one strongly connected component) is a retain cycle: more than
    /// one member, or one member that refers to itself strongly.
    func isCycle(_ component: ArraySlice<Int32>) -> Bool {
        if component.count > 1 { return true }
        let only = component[component.startIndex]
        return strongTo[Int(strongStart[Int(only)])..<Int(strongStart[Int(only) + 1])].contains(only)
    }

    /// Strongly connected components in flat arrays (no array per component): component `c`'s
    /// members are `members[start[c]..<start[c + 1]]`, and `componentOf[i]` is object `i`'s
    /// component (-1 outside the subset).
    struct Components {
        var componentOf: [Int32]
        var start: [Int32]
        var members: [Int32]
        var count: Int { start.count - 1 }
        func members(of c: Int) -> ArraySlice<Int32> { members[Int(start[c])..<Int(start[c + 1])] }
    }

    /// Tarjan's algorithm over strong edges, iterative (deep object chains must not overflow the
    /// stack). Components come out in reverse topological order.
    func stronglyConnectedComponents(among subset: [Bool]? = nil) -> Components {
        if let subset {
            return subset.withUnsafeBufferPointer { included in stronglyConnectedComponents { included[$0] } }
        }
        return stronglyConnectedComponents { _ in true }
    }

    /// Tarjan's algorithm among the objects for which `included` is true.
    ///
    /// One array serves as Tarjan's index and as the result: -1 for an object not reached yet,
    /// its DFS index (>= 0) while it is on the Tarjan stack, and -2 - c once it belongs to
    /// component c (turned into c at the end). With the low links, the Tarjan stack and the
    /// DFS stack that makes five words per object, one of them returned.
    @inline(__always)
    func stronglyConnectedComponents(where included: (Int) -> Bool) -> Components {
        let n = count
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * max(n, 1))
        defer { scratch.deallocate() }
        let low = scratch, stack = scratch + n, workNode = scratch + 2 * n, workEdge = scratch + 3 * n
        var componentStart: [Int32] = [0]
        var componentOf: [Int32] = []
        let members = [Int32](unsafeUninitializedCapacity: n) { membersOut, membersInitialized in
            var memberCount = 0
            componentOf = [Int32](unsafeUninitializedCapacity: n) { state, initialized in
                state.baseAddress!.initialize(repeating: -1, count: n)
                initialized = n
                strongStart.withUnsafeBufferPointer { start in
                    strongTo.withUnsafeBufferPointer { to in
                        var counter: Int32 = 0
                        var stackTop = 0, workTop = 0
                        for root in 0..<n where state[root] == -1 && included(root) {
                            workNode[0] = Int32(root); workEdge[0] = start[root]; workTop = 1
                            state[root] = counter; low[root] = counter; counter += 1
                            stack[stackTop] = Int32(root); stackTop += 1
                            while workTop > 0 {
                                let v = Int(workNode[workTop - 1])
                                var e = Int(workEdge[workTop - 1])
                                let end = Int(start[v + 1])
                                var descended = false
                                while e < end {
                                    let w = Int(to[e])
                                    e += 1
                                    let s = state[w]
                                    if s == -1 {
                                        guard included(w) else { continue }
                                        workEdge[workTop - 1] = Int32(e)
                                        state[w] = counter; low[w] = counter; counter += 1
                                        stack[stackTop] = Int32(w); stackTop += 1
                                        workNode[workTop] = Int32(w); workEdge[workTop] = start[w]; workTop += 1
                                        descended = true
                                        break
                                    } else if s >= 0 {  // on the Tarjan stack
                                        low[v] = min(low[v], s)
                                    }
                                }
                                if descended { continue }
                                workTop -= 1
                                if low[v] == state[v] {
                                    let done = -2 - Int32(componentStart.count - 1)
                                    while true {
                                        stackTop -= 1
                                        let w = Int(stack[stackTop])
                                        membersOut[memberCount] = Int32(w); memberCount += 1
                                        state[w] = done
                                        if w == v { break }
                                    }
                                    componentStart.append(Int32(memberCount))
                                }
                                if workTop > 0 {
                                    let parent = Int(workNode[workTop - 1])
                                    low[parent] = min(low[parent], low[v])
                                }
                            }
                        }
                    }
                }
                // -2 - c becomes c; objects never included stay -1.
                for i in 0..<n where state[i] <= -2 { state[i] = -2 - state[i] }
            }
            membersInitialized = memberCount
        }
        return Components(componentOf: componentOf, start: componentStart, members: members)
    }

    /// Orders a component as a walk from its canonical start (``cycleStartRank(_:)``) along
    /// strong edges (depth-first, edges in offset order), so the same cycle always prints the
    /// same way.
    func makeCycle(_ component: [Int32]) -> RetainCycle {
        let order = cycleOrder(component[...])
        return RetainCycle(
            members: order, edges: cycleEdges(order),
            bytes: order.reduce(0) { $0 + Int(snapshot.objects[$1].size) })
    }

    /// The members of a strongly connected component in cycle order (see ``makeCycle(_:)``).
    func cycleOrder(_ component: ArraySlice<Int32>) -> [Int] {
        if component.count == 2 {
            let (first, second) = pairOrder(
                Int(component[component.startIndex]), Int(component[component.startIndex + 1]))
            return [first, second]
        }
        let members = SmallIDSet(component.lazy.map(Int.init))
        let start = component.lazy.map(Int.init).min { cycleStartRank($0) < cycleStartRank($1) }!
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
        return order
    }

    /// The strong edges among `order`'s members, by member in that order, then offset.
    func cycleEdges(_ order: [Int]) -> [HeapSnapshot.Edge] {
        let members = SmallIDSet(order)
        return order.flatMap { v in outgoing(v).filter { $0.kind.isStrong && members.contains(Int($0.to)) } }
    }

    /// The cycle order of a two-object cycle, the most common leak, without building sets: the
    /// canonical start, then the other member (what the walk in ``cycleOrder(_:)`` yields).
    func pairOrder(_ a: Int, _ b: Int) -> (Int, Int) {
        cycleStartRank(a) <= cycleStartRank(b) ? (a, b) : (b, a)
    }
}

extension ObjectGraph {
    /// Which member a cycle starts from: a class instance before runtime storage, closure
    /// contexts and boxes, then the smallest type name, then the lowest address. Type names are
    /// ranked once per graph (``typeOrder``), so comparing two objects touches no string.
    func cycleStartRank(_ id: Int) -> (Int32, UInt64) {
        let object = snapshot.objects[id]
        return (typeOrder[Int(object.typeIndex)], object.address)
    }

    /// Rank of each type for ``cycleStartRank(_:)``.
    static func typeOrder(_ types: [HeapSnapshot.TypeInfo]) -> [Int32] {
        func key(_ t: Int) -> (Int, String) {
            let isUserClass = types[t].kind == .classInstance && !types[t].name.hasSuffix(" storage")
            return (isUserClass ? 0 : 1, types[t].name)
        }
        let sorted = types.indices.sorted { key($0) < key($1) }
        var order = [Int32](repeating: 0, count: types.count)
        var rank: Int32 = 0
        for (position, type) in sorted.enumerated() {
            if position > 0 && key(sorted[position - 1]) != key(type) { rank += 1 }
            order[type] = rank  // types with the same name rank the same: the address decides
        }
        return order
    }
}
