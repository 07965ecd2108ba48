extension ObjectGraph {
    /// Objects reachable from any root over strong references (weak and unowned references do
    /// not keep an object alive, so they are not followed). `result[i]` is true for reachable `i`.
    public func reachableFromRoots() -> [Bool] { reachable(from: snapshot.roots) }

    /// Reachability that never enters the `excluded` objects (they count as unreachable).
    func reachableFromRoots(excluding excluded: [Bool]?) -> [Bool] {
        reachable(from: snapshot.roots, excluding: excluded)
    }

    /// Objects reachable over strong references from the given roots only (for example just
    /// the globals). `excluded` objects are never entered and count as unreachable.
    public func reachable<Roots: Sequence>(from roots: Roots, excluding excluded: [Bool]? = nil) -> [Bool]
    where Roots.Element == HeapSnapshot.Root {
        var reachable = excluded ?? [Bool](repeating: false, count: count)
        reachable.withUnsafeMutableBufferPointer { seen in
            walkStrong(from: roots) { i in
                guard !seen[i] else { return false }
                seen[i] = true
                return true
            }
        }
        if let excluded { for i in 0..<count where excluded[i] { reachable[i] = false } }
        return reachable
    }

    /// Depth-first over strong references from `roots`. `enter(i)` is asked for every root
    /// target and every strong reference to `i`; it returns true (and marks `i` visited in
    /// whatever it keeps) the one time the walk should go on from `i`.
    func walkStrong<Roots: Sequence>(from roots: Roots, enter: (Int) -> Bool) where Roots.Element == HeapSnapshot.Root {
        var stack: [Int32] = []
        for root in roots where enter(Int(root.target)) { stack.append(root.target) }
        strongStart.withUnsafeBufferPointer { start in
            strongTo.withUnsafeBufferPointer { to in
                while let next = stack.popLast() {
                    for e in Int(start[Int(next)])..<Int(start[Int(next) + 1]) where enter(Int(to[e])) {
                        stack.append(to[e])
                    }
                }
            }
        }
    }

    /// For each name (qualified or short), the last object of that type in address order that
    /// `reachable` marks, or nil: what `objects(ofType:).last { reachable[$0] }` gives for each,
    /// in one backward scan for all of them.
    package func lastReachableInstances(ofTypes names: [String], reachable: [Bool]) -> [ObjectID?] {
        let namesOfType = snapshot.rowsByType(names)
        var found = [ObjectID?](repeating: nil, count: names.count)
        var missing = Set(namesOfType.joined()).count
        var id = count - 1
        while id >= 0 && missing > 0 {
            if reachable[id] {
                for r in namesOfType[Int(snapshot.objects[id].typeIndex)] where found[r] == nil {
                    found[r] = id
                    missing -= 1
                }
            }
            id -= 1
        }
        return found
    }

    /// Objects that nothing refers to: no edge from another object and no root. Python
    /// objgraph's `get_leaking_objects()`: the tops of leaked structures, and objects held
    /// only by memory the capture cannot see.
    public func objectsWithoutReferrers() -> [ObjectID] {
        let reverse = reverseEdges()
        return (0..<count).filter { reverse.start[$0 + 1] == reverse.start[$0] && !hasRoot($0) }
    }

    /// Shortest number of strong references from any root to each object (`nil` when
    /// unreachable), as Chrome's "Distance" column.
    public func distancesFromRoots() -> [Int?] {
        var distance = [Int?](repeating: nil, count: count)
        var queue: [Int32] = []
        for root in snapshot.roots where distance[Int(root.target)] == nil {
            distance[Int(root.target)] = 0
            queue.append(root.target)
        }
        var head = 0
        while head < queue.count {
            let next = Int(queue[head]); head += 1
            let d = distance[next]! + 1
            for edge in outgoing(next) where edge.kind.isStrong && distance[Int(edge.to)] == nil {
                distance[Int(edge.to)] = d
                queue.append(edge.to)
            }
        }
        return distance
    }
}
