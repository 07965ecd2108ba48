/// Leaked objects that belong together: a top (a retain cycle, or an object nothing refers to)
/// and everything it keeps alive. Like one `ROOT CYCLE` / `ROOT LEAK` tree of Apple's `leaks`.
public struct LeakGroup: Sendable, Equatable {
    /// The retain cycle at the top of the group, when the top is a cycle.
    public var cycle: RetainCycle?
    /// The top objects: the cycle's members, or the single unreferenced object.
    public var tops: [ObjectGraph.ObjectID]
    /// Every leaked object of the group: the tops first, then what they keep alive.
    public var members: [ObjectGraph.ObjectID]
    /// Sum of the members' sizes.
    public var bytes: Int
}

extension ObjectGraph {
    /// Objects that no root reaches over strong references, grouped by the cycle (or
    /// unreferenced object) that holds them. Retain cycles whose members' retain counts are all
    /// explained by references inside the cycle are leaks even if a root seems to reach them:
    /// conservative roots can be stale words, which retain nothing. Objects deinitialized but
    /// held by `unowned` references (zombies) are not leaks and are left out.
    ///
    /// Roots are globals and thread stacks; memory outside the Swift heap (C buffers, Dispatch
    /// internals) is not scanned, so an object held only from there shows up as a group
    /// without a cycle.
    ///
    /// - Parameter discountingRetains: objects the caller itself holds one strong reference to
    ///   while asking (a test helper checking survivors); that reference is not counted as an
    ///   outside holder.
    public func leakingObjects() -> [LeakGroup] { leakingObjects(discountingRetains: []) }

    /// ``leakingObjects()`` not counting one strong reference the caller holds on each of
    /// `discountingRetains`.
    public func leakingObjects(discountingRetains: Set<ObjectID>) -> [LeakGroup] {
        let forest = leakForest(discountingRetains: discountingRetains)
        return (0..<forest.count).map { group($0, of: forest) }
    }

    /// Every leaked object (the members of all ``leakingObjects()`` groups).
    public func leakedObjectIDs() -> [ObjectID] {
        leakForest().members.map(Int.init).sorted()
    }

    /// The leak analysis behind ``leakingObjects()``, in flat arrays: one strongly-connected-
    /// components pass, one reachability pass, then the groups, with no allocation per group
    /// except for cycles of more than two objects.
    func leakForest(discountingRetains callerRetains: Set<ObjectID> = []) -> LeakForest {
        let n = count
        let objects = snapshot.objects
        // Zombies are neither live nor leaked: components are taken among the other objects.
        // A component is all reachable or all unreachable, so the leaked objects are a union of
        // these components and one Tarjan pass serves both questions below.
        let live = objects.map { !$0.isZombie }
        let components = stronglyConnectedComponents(among: live)
        let componentOf = components.componentOf
        var cyclic = [Bool](repeating: false, count: components.count)
        var closed = [Bool](repeating: false, count: n)
        var inside = [Int32](repeating: 0, count: n)
        var leaked = [Bool](repeating: false, count: n)
        var isTop = [Bool](repeating: false, count: components.count)
        var forest = LeakForest(objectCount: n)

        strongStart.withUnsafeBufferPointer { start in
        strongTo.withUnsafeBufferPointer { to in
        objects.withUnsafeBufferPointer { objects in
        componentOf.withUnsafeBufferPointer { componentOf in
            // Retain-closed cycles: every member's strong count is exactly the number of strong
            // references from inside the cycle. Such a cycle is garbage even when a
            // conservatively scanned root (a stale stack word) seems to reach it.
            for c in 0..<components.count {
                let members = components.members(of: c)
                guard isCycle(members) else { continue }
                cyclic[c] = true
                for v in members {
                    for e in Int(start[Int(v)])..<Int(start[Int(v) + 1]) where componentOf[Int(to[e])] == Int32(c) {
                        inside[Int(to[e])] += 1
                    }
                }
                let isClosed = members.allSatisfy { v in
                    let held = !callerRetains.isEmpty && callerRetains.contains(Int(v)) ? 1 : 0
                    let strong = Int(objects[Int(v)].strongCount) - held
                    return strong > 0 && strong == Int(inside[Int(v)])
                }
                if isClosed { for v in members { closed[Int(v)] = true } }
            }

            let reachable = reachableFromRoots(excluding: closed)
            for i in 0..<n where !reachable[i] && live[i] { leaked[i] = true }

            // A leaked component is a top when no other leaked component refers to it. A
            // retain-closed cycle is always a top: its retain counts are all explained inside
            // it, so a word elsewhere that holds a member's address (a stale word in a malloc
            // block's slack) is no reference, and must not hide the cycle inside another group.
            for v in 0..<n where leaked[v] { isTop[Int(componentOf[v])] = true }
            for v in 0..<n where leaked[v] {
                for e in Int(start[v])..<Int(start[v + 1]) {
                    let w = Int(to[e])
                    if leaked[w] && !closed[w] && componentOf[w] != componentOf[v] { isTop[Int(componentOf[w])] = false }
                }
            }

            // Groups in the order of their tops' lowest addresses: objects are in address
            // order, so that is the order in which a scan meets each top component first.
            forest.members.reserveCapacity(leaked.lazy.filter { $0 }.count)
            for first in 0..<n where leaked[first] && forest.groupOf[first] < 0 && isTop[Int(componentOf[first])] {
                let c = Int(componentOf[first])
                let members = components.members(of: c)
                let g = Int32(forest.count)
                let groupStart = forest.members.count
                if !cyclic[c] {
                    forest.members.append(Int32(first))
                } else if members.count == 2 {
                    let (x, y) = pairOrder(Int(members[members.startIndex]), Int(members[members.startIndex + 1]))
                    forest.members.append(Int32(x))
                    forest.members.append(Int32(y))
                } else {
                    forest.members.append(contentsOf: cycleOrder(members).lazy.map(Int32.init))
                }
                let topCount = forest.members.count - groupStart
                for i in groupStart..<forest.members.count { forest.groupOf[Int(forest.members[i])] = g }
                // Everything the tops keep alive, breadth-first, edges in offset order.
                var next = groupStart
                while next < forest.members.count {
                    let v = Int(forest.members[next]); next += 1
                    for e in Int(start[v])..<Int(start[v + 1]) {
                        let w = Int(to[e])
                        guard leaked[w] && forest.groupOf[w] < 0 && !(closed[w] && componentOf[w] != Int32(c)) else { continue }
                        forest.groupOf[w] = g
                        forest.members.append(Int32(w))
                    }
                }
                var bytes = 0
                for i in groupStart..<forest.members.count { bytes += Int(objects[Int(forest.members[i])].size) }
                forest.closeGroup(topCount: topCount, isCycle: cyclic[c], bytes: bytes)
            }
        } } } }
        return forest
    }

    /// Group `g` of `forest` as a ``LeakGroup``.
    func group(_ g: Int, of forest: LeakForest) -> LeakGroup {
        let tops = forest.tops(of: g).map(Int.init)
        let cycle = forest.isCycle[g]
            ? RetainCycle(members: tops, edges: cycleEdges(tops),
                          bytes: tops.reduce(0) { $0 + Int(snapshot.objects[$1].size) })
            : nil
        return LeakGroup(cycle: cycle, tops: tops, members: forest.members(of: g).map(Int.init), bytes: forest.bytes[g])
    }
}

/// Leak groups in flat arrays (see ``ObjectGraph/leakForest(discountingRetains:)``): a program
/// that leaked 100,000 pairs is reported from these few arrays, not from 100,000 ``LeakGroup``
/// values with arrays of their own.
struct LeakForest {
    /// Group `g`'s members are `members[memberStart[g]..<memberStart[g + 1]]`: its tops first
    /// (the cycle in cycle order, or the one unreferenced object), then what they keep alive.
    var memberStart: [Int32] = [0]
    var members: [Int32] = []
    /// How many of each group's first members are its tops.
    var topCount: [Int32] = []
    var isCycle: [Bool] = []
    var bytes: [Int] = []
    /// The group of each object, -1 for objects that did not leak.
    var groupOf: [Int32]

    init(objectCount: Int) {
        groupOf = [Int32](repeating: -1, count: objectCount)
    }

    /// The forest of groups computed elsewhere (for reports over a chosen subset of groups).
    init(groups: [LeakGroup], objectCount: Int) {
        self.init(objectCount: objectCount)
        for group in groups {
            for m in group.members where groupOf[m] < 0 { groupOf[m] = Int32(count) }
            members.append(contentsOf: group.members.lazy.map(Int32.init))
            closeGroup(topCount: group.tops.count, isCycle: group.cycle != nil, bytes: group.bytes)
        }
    }

    var count: Int { topCount.count }
    var leakedBytes: Int { bytes.reduce(0, +) }
    func members(of g: Int) -> ArraySlice<Int32> { members[Int(memberStart[g])..<Int(memberStart[g + 1])] }
    func tops(of g: Int) -> ArraySlice<Int32> { members[Int(memberStart[g])..<Int(memberStart[g]) + Int(topCount[g])] }

    /// Ends the group whose members were just appended.
    mutating func closeGroup(topCount: Int, isCycle: Bool, bytes: Int) {
        memberStart.append(Int32(members.count))
        self.topCount.append(Int32(topCount))
        self.isCycle.append(isCycle)
        self.bytes.append(bytes)
    }
}
