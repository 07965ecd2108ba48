import ObjGraph

/// Retain-count bookkeeping and reachability questions shared by the analyses.
struct GraphFacts {
    let graph: ObjectGraph
    let isNew: [Bool]?
    let groups: [LeakGroup]
    /// Index into `groups` of the group holding each leaked object, or -1.
    let groupOf: [Int]
    /// Reachable from a named global (or static) over strong references.
    let fromGlobals: [Bool]
    /// Reachable from any root (globals, other threads' stacks, registers).
    let fromRoots: [Bool]
    /// Objects the checker itself holds one strong reference to (not seen by the snapshot).
    let checkerRetains: Set<ObjectGraph.ObjectID>

    init(graph: ObjectGraph, isNew: [Bool]?, checkerRetains: Set<ObjectGraph.ObjectID> = []) {
        self.graph = graph
        self.isNew = isNew
        self.checkerRetains = checkerRetains
        groups = graph.leakingObjects(discountingRetains: checkerRetains)
        var groupOf = [Int](repeating: -1, count: graph.count)
        for (index, group) in groups.enumerated() {
            for member in group.members { groupOf[member] = index }
        }
        self.groupOf = groupOf
        // A leak group member is not held by a root even when a (stale) root word reaches it:
        // its retains are all explained by the leaked structure.
        fromRoots = graph.reachableFromRoots().enumerated().map { $1 && groupOf[$0] < 0 }
        fromGlobals = graph.reachable(from: graph.snapshot.roots.lazy.filter { $0.kind == .global })
            .enumerated().map { $1 && groupOf[$0] < 0 }
    }

    /// Strong references to `id` found inside the heap.
    func strongReferences(to id: ObjectGraph.ObjectID) -> Int {
        graph.incoming(id).reduce(0) { $0 + ($1.kind.isStrong ? 1 : 0) }
    }

    /// A retain cycle whose members' retain counts are all accounted for by references the
    /// snapshot found: nothing outside the heap holds it, so it can never be freed. Such a cycle
    /// is a leak whichever thread or test made it, and it cannot go away by waiting.
    func isProvenCycle(_ group: LeakGroup) -> Bool {
        guard group.cycle != nil else { return false }
        return group.tops.allSatisfy { top in
            let strong = strongCount(top)
            return strong >= 1 && strong <= strongReferences(to: top)
        }
    }

    /// The object's strong count, less the checker's own reference.
    func strongCount(_ id: ObjectGraph.ObjectID) -> Int {
        Int(graph.snapshot.objects[id].strongCount) - (checkerRetains.contains(id) ? 1 : 0)
    }

    func hasNewTop(_ group: LeakGroup) -> Bool {
        guard let isNew else { return true }
        return group.tops.contains { isNew[$0] }
    }

    func hasOldTop(_ group: LeakGroup) -> Bool {
        guard let isNew else { return false }
        return group.tops.contains { !isNew[$0] }
    }
}
