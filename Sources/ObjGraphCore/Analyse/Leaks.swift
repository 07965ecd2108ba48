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
        let reachable = reachableFromRoots(excluding: retainClosedCycleMembers(discounting: discountingRetains))
        let leaked = (0..<count).map { !reachable[$0] && !snapshot.objects[$0].isZombie }
        let components = stronglyConnectedComponents(among: leaked)
        var componentOf = [Int32](repeating: -1, count: count)
        for (index, component) in components.enumerated() {
            for member in component { componentOf[Int(member)] = Int32(index) }
        }
        // A component is a top when no other leaked component refers to it.
        var referenced = [Bool](repeating: false, count: components.count)
        for (index, component) in components.enumerated() {
            for member in component {
                for edge in outgoing(Int(member)) where edge.kind.isStrong {
                    let target = componentOf[Int(edge.to)]
                    if target >= 0 && Int(target) != index { referenced[Int(target)] = true }
                }
            }
        }
        var tops = components.indices.filter { !referenced[$0] }
        var lowest = [UInt64](repeating: 0, count: components.count)
        for top in tops { lowest[top] = components[top].lazy.map { self.snapshot.objects[Int($0)].address }.min()! }
        tops.sort { lowest[$0] < lowest[$1] }
        var assigned = [Bool](repeating: false, count: count)
        var groups: [LeakGroup] = []
        for top in tops {
            let component = components[top]
            let isCycle = component.count > 1 || outgoing(Int(component[0])).contains {
                $0.kind.isStrong && $0.to == component[0]
            }
            let cycle = isCycle ? makeCycle(component) : nil
            let topMembers = cycle?.members ?? [Int(component[0])]
            var members: [Int] = []
            for m in topMembers { assigned[m] = true }
            members.append(contentsOf: topMembers)
            var index = 0
            while index < members.count {
                let v = members[index]; index += 1
                for edge in outgoing(v) where edge.kind.isStrong && leaked[Int(edge.to)] && !assigned[Int(edge.to)] {
                    assigned[Int(edge.to)] = true
                    members.append(Int(edge.to))
                }
            }
            let bytes = members.reduce(0) { $0 + Int(snapshot.objects[$1].size) }
            groups.append(LeakGroup(cycle: cycle, tops: topMembers, members: members, bytes: bytes))
        }
        return groups
    }

    /// Members of retain cycles that nothing outside can be holding: every member's strong
    /// retain count is exactly the number of strong references to it from other members. Such
    /// a cycle is garbage even when a conservatively scanned root seems to reach it (a stale
    /// word on a stack retains nothing), so stale stack words cannot hide it.
    func retainClosedCycleMembers(discounting callerRetains: Set<ObjectID> = []) -> [Bool] {
        var closed = [Bool](repeating: false, count: count)
        var component = [Int32](repeating: -1, count: count)
        let components = stronglyConnectedComponents()
        for (index, members) in components.enumerated() where members.count > 1 || outgoing(Int(members[0])).contains(where: { $0.kind.isStrong && $0.to == members[0] }) {
            for m in members { component[Int(m)] = Int32(index) }
        }
        // Strong references from inside each object's own cycle (each object is in one component,
        // so one array serves them all).
        var inside = [Int](repeating: 0, count: count)
        for (index, members) in components.enumerated() where component[Int(members[0])] == Int32(index) {
            for m in members {
                for edge in outgoing(Int(m)) where edge.kind.isStrong && component[Int(edge.to)] == Int32(index) {
                    inside[Int(edge.to)] += 1
                }
            }
            let isClosed = members.allSatisfy { m in
                let object = snapshot.objects[Int(m)]
                let strong = Int(object.strongCount) - (callerRetains.contains(Int(m)) ? 1 : 0)
                return !object.isZombie && strong > 0 && strong == inside[Int(m)]
            }
            if isClosed { for m in members { closed[Int(m)] = true } }
        }
        return closed
    }

    /// Every leaked object (the members of all ``leakingObjects()`` groups).
    public func leakedObjectIDs() -> [ObjectID] {
        leakingObjects().flatMap(\.members).sorted()
    }
}
