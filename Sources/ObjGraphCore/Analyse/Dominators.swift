/// Retained sizes from the dominator tree, as Eclipse MAT and Chrome DevTools show them: the
/// bytes that would be freed if an object (or all objects of a type) went away.
public struct RetainedSizes: Sendable {
    /// Retained bytes of each object, indexed by object id.
    public var perObject: [Int]
    /// Immediate dominator of each object, or `nil` when only the synthetic super-root
    /// dominates it (held directly by a root, or the top of a leak).
    public var immediateDominator: [ObjectGraph.ObjectID?]
    /// Retained bytes of all objects of a type together (each byte counted once), by type index.
    public var perType: [Int]
}

extension ObjectGraph {
    /// Computes the dominator tree over strong references from a synthetic super-root that
    /// holds every root and the top of every leaked structure, with the Cooper-Harvey-Kennedy
    /// iterative algorithm.
    public func retainedSizes() -> RetainedSizes {
        let n = count
        let superRoot = n
        // Depth-first order from the super-root: real roots first, then unreached objects in
        // address order (leaked structures hang off the super-root too).
        var postorder: [Int32] = []
        postorder.reserveCapacity(n + 1)
        var visited = [Bool](repeating: false, count: n)
        var fromSuperRoot = [Bool](repeating: false, count: n)
        var starts: [Int] = snapshot.roots.map { Int($0.target) }
        starts.append(contentsOf: 0..<n)
        var work: [(node: Int32, edge: Int32)] = []
        for start in starts where !visited[start] {
            visited[start] = true
            fromSuperRoot[start] = true
            work.append((Int32(start), outStart[start]))
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
                    if edge.kind.isStrong && !visited[w] {
                        work[top].edge = Int32(e)
                        visited[w] = true
                        work.append((Int32(w), outStart[w]))
                        descended = true
                        break
                    }
                }
                if !descended {
                    work.removeLast()
                    postorder.append(Int32(v))
                }
            }
        }
        var order = [Int32](repeating: 0, count: n + 1)  // postorder number; super-root highest
        for (i, v) in postorder.enumerated() { order[Int(v)] = Int32(i) }
        order[superRoot] = Int32(n)

        var idom = [Int32](repeating: -1, count: n + 1)
        idom[superRoot] = Int32(superRoot)
        func intersect(_ a: Int32, _ b: Int32) -> Int32 {
            var x = a, y = b
            while x != y {
                while order[Int(x)] < order[Int(y)] { x = idom[Int(x)] }
                while order[Int(y)] < order[Int(x)] { y = idom[Int(y)] }
            }
            return x
        }
        let reverse = reverseEdges()
        var changed = true
        while changed {
            changed = false
            for v in postorder.reversed() {
                let node = Int(v)
                var newIdom: Int32 = fromSuperRoot[node] ? Int32(superRoot) : -1
                for edgeIndex in reverse.edges[Int(reverse.start[node])..<Int(reverse.start[node + 1])] {
                    let edge = snapshot.edges[Int(edgeIndex)]
                    guard edge.kind.isStrong else { continue }
                    let p = edge.from
                    guard idom[Int(p)] >= 0 else { continue }
                    newIdom = newIdom < 0 ? p : intersect(p, newIdom)
                }
                if newIdom >= 0 && idom[node] != newIdom {
                    idom[node] = newIdom
                    changed = true
                }
            }
        }

        var retained = snapshot.objects.map { Int($0.size) }
        for v in postorder {  // children before parents
            let parent = Int(idom[Int(v)])
            if parent != superRoot && parent >= 0 { retained[parent] += retained[Int(v)] }
        }
        let dominators: [ObjectID?] = (0..<n).map {
            let d = Int(idom[$0])
            return d == superRoot || d < 0 ? nil : d
        }
        // Per type: sum over the top-most objects of that type in the dominator tree, so bytes
        // retained by an instance that another instance of the same type dominates count once.
        var perType = [Int](repeating: 0, count: snapshot.types.count)
        var children = [[Int32]](repeating: [], count: n + 1)
        for v in 0..<n {
            let parent = dominators[v] ?? superRoot
            children[parent].append(Int32(v))
        }
        var active = [Int](repeating: 0, count: snapshot.types.count)
        var stack: [(Int32, Bool)] = children[superRoot].reversed().map { ($0, false) }
        while let (v, exiting) = stack.popLast() {
            let type = Int(snapshot.objects[Int(v)].typeIndex)
            if exiting { active[type] -= 1; continue }
            if active[type] == 0 { perType[type] += retained[Int(v)] }
            active[type] += 1
            stack.append((v, true))
            stack.append(contentsOf: children[Int(v)].reversed().map { ($0, false) })
        }
        return RetainedSizes(perObject: retained, immediateDominator: dominators, perType: perType)
    }
}
