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
    /// ```swift
    /// makeLeakedPairs(2)
    /// let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
    /// for group in graph.leakingObjects() where group.cycle != nil {
    ///     print(group.members.map { graph.snapshot.type(of: $0).shortName }, group.bytes)
    /// }
    /// // ["Pair", "Pair"] 80
    /// // ["Pair", "Pair"] 80
    /// print(LeaksReport(graph: graph).text)          // the same, as Apple's `leaks` prints it
    /// ```
    public func leakingObjects() -> [LeakGroup] { leakingObjects(discountingRetains: []) }

    /// ``leakingObjects()`` not counting one strong reference the caller holds on each of
    /// `discountingRetains`.
    ///
    /// - Parameter discountingRetains: objects the caller itself holds one strong reference to
    ///   while asking (a test helper checking survivors); that reference is not counted as an
    ///   outside holder.
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
        // Per-object state bits, in one byte each.
        let live: UInt8 = 1, closed: UInt8 = 2, reached: UInt8 = 4, leaked: UInt8 = 8
        let state = UnsafeMutablePointer<UInt8>.allocate(capacity: max(n, 1))
        defer { state.deallocate() }
        // Zombies are neither live nor leaked: components are taken among the other objects.
        // A component is all reachable or all unreachable, so the leaked objects are a union of
        // these components and one Tarjan pass serves both questions below.
        snapshot.objects.withUnsafeBufferPointer { objects in
            for i in 0..<n { state[i] = objects[i].isZombie ? 0 : live }
        }
        let components = stronglyConnectedComponents { state[$0] & live != 0 }
        var forest = LeakForest(objectCount: 0)
        let componentCount = components.count
        // Per component: 1 = a retain cycle, 2 = a top (no other leaked component refers to it),
        // 4 = has a Swift object (not only C blocks).
        let cyclic: UInt8 = 1, top: UInt8 = 2, hasSwift: UInt8 = 4
        let nativeType = snapshot.types.map { $0.kind == .nativeBlock }
        let isNative = snapshot.objects.map { nativeType[Int($0.typeIndex)] }
        let kind = UnsafeMutablePointer<UInt8>.allocate(capacity: max(componentCount, 1))
        kind.initialize(repeating: 0, count: componentCount)
        defer { kind.deallocate() }
        let inside = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        defer { inside.deallocate() }

        strongStart.withUnsafeBufferPointer { start in
            strongTo.withUnsafeBufferPointer { to in
                snapshot.objects.withUnsafeBufferPointer { objects in
                    components.componentOf.withUnsafeBufferPointer { componentOf in
                        components.start.withUnsafeBufferPointer { componentStart in
                            components.members.withUnsafeBufferPointer { componentMembers in
                                // Retain-closed cycles: every member's strong count is exactly the number of strong
                                // references from inside the cycle. Such a cycle is garbage even when a
                                // conservatively scanned root (a stale stack word) seems to reach it.
                                for c in 0..<componentCount {
                                    let first = Int(componentStart[c]), end = Int(componentStart[c + 1])
                                    if end - first == 1 {
                                        // One object: a cycle only if it refers to itself.
                                        let v = Int(componentMembers[first])
                                        var selfReference = false
                                        for e in Int(start[v])..<Int(start[v + 1]) where Int(to[e]) == v {
                                            selfReference = true; break
                                        }
                                        guard selfReference else { continue }
                                    }
                                    kind[c] = cyclic
                                    for m in first..<end { inside[Int(componentMembers[m])] = 0 }
                                    for m in first..<end {
                                        let v = Int(componentMembers[m])
                                        for e in Int(start[v])..<Int(start[v + 1])
                                        where componentOf[Int(to[e])] == Int32(c) {
                                            inside[Int(to[e])] += 1
                                        }
                                    }
                                    // A Swift object whose only self-reference is a conservatively scanned word
                                    // (an enum payload's bit pattern that equals its address) is no cycle whose
                                    // retains are explained: a real root (a static) that holds it counts.
                                    if end - first == 1 {
                                        let v = Int(componentMembers[first])
                                        if !isNative[v]
                                            && !outgoing(v).contains(where: { Int($0.to) == v && $0.kind == .strong })
                                        {
                                            continue
                                        }
                                    }
                                    var isClosed = true
                                    for m in first..<end {
                                        let v = Int(componentMembers[m])
                                        let held = !callerRetains.isEmpty && callerRetains.contains(v) ? 1 : 0
                                        let strong = Int(objects[v].strongCount) - held
                                        if !(strong > 0 && strong == Int(inside[v])) { isClosed = false; break }
                                    }
                                    if isClosed { for m in first..<end { state[Int(componentMembers[m])] |= closed } }
                                }

                                // Reachable from the roots without entering retain-closed cycles.
                                walkStrong(from: snapshot.roots) { w in
                                    guard state[w] & (reached | closed) == 0 else { return false }
                                    state[w] |= reached
                                    return true
                                }
                                var leakedCount = 0
                                for i in 0..<n where state[i] & (live | reached) == live {
                                    state[i] |= leaked
                                    leakedCount += 1
                                }

                                // A leaked component is a top when no other leaked component refers to it. A
                                // retain-closed cycle is always a top: its retain counts are all explained inside
                                // it, so a word elsewhere that holds a member's address (a stale word in a malloc
                                // block's slack) is no reference, and must not hide the cycle inside another group.
                                // Nor does a leaked component made only of C blocks (malloc'd memory nothing
                                // reaches, often with stale words) hide a Swift leak inside its group: C
                                // garbage is summarised on its own line, never mixed into the Swift groups.
                                for v in 0..<n where state[v] & leaked != 0 { kind[Int(componentOf[v])] |= top }
                                for v in 0..<n where state[v] & leaked != 0 && !isNative[v] {
                                    kind[Int(componentOf[v])] |= hasSwift
                                }
                                for v in 0..<n where state[v] & leaked != 0 {
                                    let from = componentOf[v]
                                    for e in Int(start[v])..<Int(start[v + 1]) {
                                        let w = Int(to[e])
                                        if state[w] & (leaked | closed) == leaked && componentOf[w] != from
                                            && (kind[Int(from)] & hasSwift != 0 || isNative[w])
                                        {
                                            kind[Int(componentOf[w])] &= ~top
                                        }
                                    }
                                }

                                // Groups in the order of their tops' lowest addresses: objects are in address
                                // order, so that is the order in which a scan meets each top component first.
                                // There are at most as many groups as leaked objects: the arrays are sized for
                                // that and written through pointers.
                                var groupCount = 0, memberCount = 0
                                var groupOf = [Int32](repeating: -1, count: n)
                                var memberStart: [Int32] = [], topCount: [Int32] = [], isCycle: [Bool] = [],
                                    bytes: [Int] = []
                                // Only the pages actually written are ever touched: the arrays start uninitialized.
                                let members = [Int32](unsafeUninitializedCapacity: leakedCount) {
                                    out, initializedMembers in
                                    memberStart = [Int32](unsafeUninitializedCapacity: leakedCount + 1) {
                                        memberStart, initializedStarts in
                                        topCount = [Int32](unsafeUninitializedCapacity: leakedCount) {
                                            topCount, initializedTops in
                                            isCycle = [Bool](unsafeUninitializedCapacity: leakedCount) {
                                                isCycle, initializedCycles in
                                                bytes = [Int](unsafeUninitializedCapacity: leakedCount) {
                                                    bytes, initializedBytes in
                                                    groupOf.withUnsafeMutableBufferPointer { groupOf in
                                                        func add(_ v: Int) {
                                                            out[memberCount] = Int32(v); memberCount += 1
                                                        }
                                                        memberStart[0] = 0
                                                        for first in 0..<n
                                                        where state[first] & leaked != 0 && groupOf[first] < 0
                                                            && kind[Int(componentOf[first])] & top != 0
                                                        {
                                                            let c = Int(componentOf[first])
                                                            let g = Int32(groupCount)
                                                            let groupStart = memberCount
                                                            let memberFirst = Int(componentStart[c]),
                                                                memberEnd = Int(componentStart[c + 1])
                                                            if kind[c] & cyclic == 0 {
                                                                add(first)
                                                            } else if memberEnd - memberFirst == 2 {
                                                                let (x, y) = pairOrder(
                                                                    Int(componentMembers[memberFirst]),
                                                                    Int(componentMembers[memberFirst + 1]))
                                                                add(x)
                                                                add(y)
                                                            } else {
                                                                for v in cycleOrder(components.members(of: c)) {
                                                                    add(v)
                                                                }
                                                            }
                                                            for i in groupStart..<memberCount {
                                                                groupOf[Int(out[i])] = g
                                                            }
                                                            topCount[groupCount] = Int32(memberCount - groupStart)
                                                            // Everything the tops keep alive, breadth-first, edges in offset order.
                                                            var next = groupStart
                                                            var total = 0
                                                            while next < memberCount {
                                                                let v = Int(out[next]); next += 1
                                                                total += Int(objects[v].size)
                                                                for e in Int(start[v])..<Int(start[v + 1]) {
                                                                    let w = Int(to[e])
                                                                    guard
                                                                        state[w] & leaked != 0 && groupOf[w] < 0
                                                                            && !(state[w] & closed != 0
                                                                                && componentOf[w] != Int32(c))
                                                                            && (kind[c] & hasSwift != 0 || isNative[w])
                                                                    else { continue }
                                                                    groupOf[w] = g
                                                                    add(w)
                                                                }
                                                            }
                                                            isCycle[groupCount] = kind[c] & cyclic != 0
                                                            bytes[groupCount] = total
                                                            groupCount += 1
                                                            memberStart[groupCount] = Int32(memberCount)
                                                        }
                                                    }
                                                    initializedBytes = groupCount
                                                }
                                                initializedCycles = groupCount
                                            }
                                            initializedTops = groupCount
                                        }
                                        initializedStarts = groupCount + 1
                                    }
                                    initializedMembers = memberCount
                                }
                                forest = LeakForest(
                                    memberStart: memberStart, members: members, topCount: topCount, isCycle: isCycle,
                                    bytes: bytes, groupOf: groupOf)
                                forest.setAsideNativeOnlyGroups(of: snapshot)
                            }
                        }
                    }
                }
            }
        }
        return forest
    }

    /// Group `g` of `forest` as a ``LeakGroup``.
    func group(_ g: Int, of forest: LeakForest) -> LeakGroup {
        let tops = forest.tops(of: g).map(Int.init)
        let cycle =
            forest.isCycle[g]
            ? RetainCycle(
                members: tops, edges: cycleEdges(tops),
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

    init(memberStart: [Int32], members: [Int32], topCount: [Int32], isCycle: [Bool], bytes: [Int], groupOf: [Int32]) {
        self.memberStart = memberStart
        self.members = members
        self.topCount = topCount
        self.isCycle = isCycle
        self.bytes = bytes
        self.groupOf = groupOf
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

    /// Unreachable C heap blocks that hold no Swift object (groups made only of such blocks):
    /// set aside from the groups, reported on a line of their own. C memory nothing reaches is
    /// the C code's business (LeakSanitizer's), and often allocated before tracking started.
    var unreachableNativeBlocks = 0, unreachableNativeBytes = 0

    var count: Int { topCount.count }
    var leakedBytes: Int { bytes.reduce(0, +) }

    /// Removes the groups whose members are all C heap blocks, counting them in
    /// ``unreachableNativeBlocks`` instead.
    mutating func setAsideNativeOnlyGroups(of snapshot: HeapSnapshot) {
        let native = snapshot.types.map { $0.kind == .nativeBlock }
        guard native.contains(true) else { return }
        var kept = LeakForest(objectCount: groupOf.count)
        kept.members.reserveCapacity(members.count)
        snapshot.objects.withUnsafeBufferPointer { objects in
            for g in 0..<count {
                let slice = members(of: g)
                if slice.allSatisfy({ native[Int(objects[Int($0)].typeIndex)] }) {
                    unreachableNativeBlocks += slice.count
                    unreachableNativeBytes += bytes[g]
                    continue
                }
                let index = Int32(kept.count)
                for m in slice { kept.groupOf[Int(m)] = index }
                kept.members.append(contentsOf: slice)
                kept.closeGroup(topCount: Int(topCount[g]), isCycle: isCycle[g], bytes: bytes[g])
            }
        }
        kept.unreachableNativeBlocks = unreachableNativeBlocks
        kept.unreachableNativeBytes = unreachableNativeBytes
        self = kept
    }
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
