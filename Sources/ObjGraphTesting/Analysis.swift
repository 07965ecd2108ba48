import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

/// Which objects of `after` are new: `before` has no object at that address, or one of another
/// type, or one from another allocation epoch (malloc gave the address to a new object: with
/// tests running in parallel, another test's freed object of the same type is a common case).
enum NewObjects {
    static func mark(before: HeapSnapshot, after: HeapSnapshot) -> [Bool] {
        after.objects.indices.map { id in
            guard let old = before.object(at: after.objects[id].address) else { return true }
            return before.objects[old].allocationEpoch != after.objects[id].allocationEpoch
                || before.type(of: old).name != after.type(of: id).name
        }
    }
}

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

/// Objects held by the test itself: variables of the test method that the body assigned to
/// (`var kept: Item?; assertNoLeaks { kept = Item() }`).
///
/// Snapshots leave the checking thread's stack out, because stale words in its older frames can
/// equal a new object's address. This second look reads only a bounded window of that stack,
/// from the frame where the check was entered (its `anchor`) up to ``window`` bytes toward
/// older frames: the test method's frame, not the runner's frames above it, and none of the
/// check's own frames below it. It is used only to *excuse* an object that would otherwise be
/// blamed for being held by something the snapshot cannot see, or (with concurrent tests) to
/// count growth the test itself holds.
enum OwnStack {
    /// Bytes of stack above the anchor that are read.
    static let window: UInt = 16 * 1024

    /// The address of a slot in the caller's frame: the lower end of the window. Call it first
    /// thing in a check's entry point.
    @inline(never)
    static func anchor() -> UInt {
        var slot: UInt = 0
        return withUnsafeMutablePointer(to: &slot) { UInt(bitPattern: $0) }
    }

    /// Objects of `graph` whose address is a word in the window above `anchor`, and everything
    /// they reach over strong references.
    static func held(above anchor: UInt, in graph: ObjectGraph) -> [Bool] {
        var held = [Bool](repeating: false, count: graph.count)
        guard anchor != 0, let end = stackEnd(containing: anchor) else { return held }
        let snapshot = graph.snapshot
        var stack: [Int32] = []
        var word = (anchor + 7) & ~7
        let limit = min(end, anchor + window)
        while word + 8 <= limit {
            let value = UnsafePointer<UInt64>(bitPattern: word)!.pointee
            if value != 0, let id = snapshot.object(at: value), !held[id] {
                held[id] = true
                stack.append(Int32(id))
            }
            word += 8
        }
        while let next = stack.popLast() {
            for edge in graph.outgoing(Int(next)) where edge.kind.isStrong && !held[Int(edge.to)] {
                held[Int(edge.to)] = true
                stack.append(edge.to)
            }
        }
        return held
    }

    /// The end (highest address) of the mapping that holds `address`, from /proc/self/maps.
    static func stackEnd(containing address: UInt) -> UInt? {
        guard let file = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1024)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let range = text.split(separator: " ").first else { continue }
            let bounds = range.split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16) else { continue }
            if address >= low && address < high { return high }
        }
        return nil
    }
}

/// Explains in text why one object is alive.
struct Explainer {
    let facts: GraphFacts
    var ownStack: [Bool]?

    init(graph: ObjectGraph, isNew: [Bool]?, checkerRetains: Set<ObjectGraph.ObjectID> = [],
         ownStack: [Bool]? = nil) {
        facts = GraphFacts(graph: graph, isNew: isNew, checkerRetains: checkerRetains)
        self.ownStack = ownStack
    }

    init(facts: GraphFacts, ownStack: [Bool]?) {
        self.facts = facts
        self.ownStack = ownStack
    }

    /// Indented lines: the back-reference chain from a root, or the leaked cycle `leaks`-style,
    /// or what is known when nothing the snapshot sees holds the object.
    mutating func explain(_ id: ObjectGraph.ObjectID) -> String {
        let graph = facts.graph
        let snapshot = graph.snapshot
        // A global's chain explains more than a stack's (a stale word in another thread's frame
        // can be nearer): when a global holds the object, show that chain.
        if facts.fromGlobals[id], let chain = globalChain(to: id) {
            return "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        if facts.fromRoots[id], let chain = graph.findBackrefChain(to: id) {
            return "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        if let ownStack, ownStack[id] {
            // The chain from the object the test's frame holds directly (nothing else it holds
            // refers to it): `Bag --items--> Array<Item> storage --[2]--> Item`.
            let held = "    held by the test itself (a variable of the test method that the body assigned to)"
            let chain = graph.findBackrefChain(to: id, where: { v in
                ownStack[v] && !graph.incoming(v).contains { $0.kind.isStrong && ownStack[Int($0.from)] && Int($0.from) != v }
            })
            guard let chain, chain.objects.count > 1 else { return held + "\n" }
            return held + ":\n    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        let groupIndex = facts.groupOf[id]
        guard groupIndex >= 0 else {
            let object = snapshot.objects[id]
            return object.isZombie
                ? "    deinitialized, its memory kept by unowned references\n"
                : "    no chain found (strong count \(facts.strongCount(id)))\n"
        }
        let group = facts.groups[groupIndex]
        if group.cycle != nil {
            let member = group.cycle!.members.contains(id)
            var text = member ? "    unreachable: part of a leaked cycle\n" : "    unreachable: kept alive by a leaked cycle\n"
            let tree = LeaksReport(graph: graph, groups: [group]).entries.first?.tree ?? ""
            text += indent(tree, by: "    ")
            if !facts.isProvenCycle(group) {
                text += "    (the cycle's retain counts are higher than the references found: something outside the heap holds it too)\n"
            }
            return text
        }
        let top = group.tops[0]
        let strong = facts.strongCount(top)
        let outside = "held by a reference the snapshot cannot see (strong count \(strong)): "
            + "a variable of the test, a C buffer, an Unmanaged reference, a pending Dispatch block or another task's async frame"
        if top == id { return "    " + outside + "\n" }
        var text = "    kept alive by \(describe(top)), \(outside)\n"
        if let chain = graph.findBackrefChain(to: id, where: { $0 == top }) {
            text += "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        return text
    }

    /// The shortest chain to `id` that starts at a global (or static) variable.
    func globalChain(to id: ObjectGraph.ObjectID) -> ReferenceChain? {
        let graph = facts.graph
        func globalRoot(_ v: ObjectGraph.ObjectID) -> HeapSnapshot.Root? {
            graph.roots(of: v).filter { $0.kind == .global }.min { $0.name < $1.name }
        }
        if let root = globalRoot(id) { return ReferenceChain(root: root, objects: [id], edges: []) }
        guard var chain = graph.findBackrefChain(to: id, where: { globalRoot($0) != nil }) else { return nil }
        chain.root = globalRoot(chain.objects[0])
        return chain
    }

    func describe(_ id: ObjectGraph.ObjectID) -> String {
        let snapshot = facts.graph.snapshot
        let age = facts.isNew.map { $0[id] ? "new " : "pre-existing " } ?? ""
        return "\(age)\(snapshot.type(of: id).shortName) 0x\(String(snapshot.objects[id].address, radix: 16))"
    }
}

func indent(_ text: String, by prefix: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : prefix + $0 }
        .joined(separator: "\n")
}

// MARK: - Leaks

/// The leak groups after a body ran, and which of them the body is blamed for.
struct LeakAnalysis {
    let facts: GraphFacts
    /// The check's entry frame (see ``OwnStack``), 0 when the test's stack is not to be read.
    let anchor: UInt
    /// Objects held by the test itself; computed only when an unproven group needs excusing.
    private var ownStack: [Bool]?

    init(before: HeapSnapshot, after: HeapSnapshot, anchor: UInt) {
        facts = GraphFacts(graph: ObjectGraph(after), isNew: NewObjects.mark(before: before, after: after))
        self.anchor = anchor
    }

    var graph: ObjectGraph { facts.graph }

    func isProvenCycle(_ group: LeakGroup) -> Bool { facts.isProvenCycle(group) }

    /// The group's top objects' addresses: the same leak seen in two snapshots has the same key.
    func topKey(_ group: LeakGroup) -> [UInt64] {
        group.tops.map { graph.snapshot.objects[$0].address }.sorted()
    }

    /// Groups the body is blamed for.
    ///
    /// - A group whose top (cycle or unreferenced object) existed before is never blamed.
    /// - A new *proven* cycle (``GraphFacts/isProvenCycle(_:)``) is always blamed.
    /// - Any other new group is held by something the snapshot cannot see. With
    ///   `concurrentTests` it is not blamed (another test's async frame looks exactly like
    ///   this); without, it is blamed unless the test itself holds it (``OwnStack``).
    mutating func blamed(concurrentTests: Bool) -> [LeakGroup] {
        var result: [LeakGroup] = []
        for group in facts.groups where facts.hasNewTop(group) && !facts.hasOldTop(group) {
            if facts.isProvenCycle(group) {
                result.append(group)
            } else if !concurrentTests {
                if ownStack == nil { ownStack = OwnStack.held(above: anchor, in: graph) }
                if !group.tops.contains(where: { ownStack![$0] }) {
                    result.append(group)
                }
            }
        }
        return result
    }

    func failure(groups: [LeakGroup], checkName: String) -> CheckFailure {
        let snapshot = graph.snapshot
        let report = LeaksReport(graph: graph, groups: groups)
        var message = "\(checkName): the body leaked \(report.leakedObjects) object\(report.leakedObjects == 1 ? "" : "s") "
            + "(\(report.leakedBytes) bytes) in \(groups.count) group\(groups.count == 1 ? "" : "s")\n\n"
        // Per type, as a quick summary before the trees.
        var perType: [String: (count: Int, bytes: Int)] = [:]
        for group in groups {
            for member in group.members {
                let name = snapshot.type(of: member).shortName
                perType[name, default: (0, 0)].count += 1
                perType[name, default: (0, 0)].bytes += Int(snapshot.objects[member].size)
            }
        }
        let rows = perType.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
        let width = rows.map(\.key.count).max() ?? 0
        for (name, value) in rows {
            message += "    " + name + String(repeating: " ", count: width - name.count)
                + "  x\(value.count)  \(value.bytes) bytes\n"
        }
        message += "\n" + report.text
        if groups.contains(where: { !facts.isProvenCycle($0) }) {
            message += "\nGroups that are not proven cycles are held by a reference the snapshot cannot see "
                + "(their retain counts are higher than the references found): an Unmanaged reference, C memory, "
                + "a pending Dispatch block or a running task.\n"
        }
        let drawn = Array(groups.prefix(12))
        let path = Drawing.write(name: "leaks.svg") { path in
            try graph.showCycles(drawn.map(\.members), isLeaked: { _ in true }, to: path)
        }
        message += LeakChecks.drawingLine(path)
        return CheckFailure(message: message, drawingPath: path)
    }
}

// MARK: - Growth

/// Types that grew over the measured runs, and how much of that growth the body is blamed for.
struct GrowthAnalysis {
    struct Blame {
        var name: String
        var count: Int
        var delta: Int
        /// New instances counted for the body (or, failing that, any instance), best example first.
        var examples: [ObjectGraph.ObjectID]
        /// New instances not counted because something another test could own holds them.
        var excused: Int
    }

    /// Types that grew by less than one instance per iteration in concurrent mode: left out,
    /// since a concurrently running test's one-time allocation (a lazily made global, a runtime
    /// cache entry) looks exactly like that.
    var belowRate: [String] = []

    let facts: GraphFacts
    var blamed: [Blame] = []
    let anchor: UInt
    var ownStack: [Bool]?

    init(before: HeapSnapshot, after: HeapSnapshot, baselineCounts: [String: Int], counts: [String: Int],
         ignored: IgnoreList, concurrentTests: Bool, iterations: Int, anchor: UInt) {
        self.anchor = anchor
        let graph = ObjectGraph(after)
        let isNew = NewObjects.mark(before: before, after: after)
        facts = GraphFacts(graph: graph, isNew: isNew)
        var byName: [String: [ObjectGraph.ObjectID]] = [:]
        for id in after.objects.indices where !after.objects[id].isZombie {
            byName[after.type(of: id).shortName, default: []].append(id)
        }
        for (name, count) in counts {
            let net = count - (baselineCounts[name] ?? 0)
            guard net > 0, !ignored.contains(shortName: name) else { continue }
            let all = byName[name] ?? []
            if let first = all.first, ignored.contains(after.type(of: first)) { continue }
            let fresh = all.filter { isNew[$0] }
            var delta = net
            var examples = fresh.isEmpty ? all : fresh
            var excused = 0
            if concurrentTests {
                let counted = fresh.filter { attributable($0) }
                excused = fresh.count - counted.count
                delta = min(net, counted.count)
                examples = counted
                if delta > 0 && delta < iterations {
                    belowRate.append(name)
                    continue
                }
            }
            guard delta > 0 else { continue }
            blamed.append(Blame(name: name, count: count, delta: delta, examples: examples, excused: excused))
        }
        blamed.sort { $0.delta != $1.delta ? $0.delta > $1.delta : $0.name < $1.name }
    }

    /// Whether a new object that survived the runs can be pinned on the body when other tests
    /// may be running: it is held by a global, by the test itself (``OwnStack``), or by a proven
    /// retain cycle. Objects held only by other threads' stacks or by references the snapshot
    /// cannot see (another test's async frame looks like that) are not counted; nor are objects
    /// held by a pre-existing object that the snapshot cannot see a holder for, because an object
    /// another test freed and re-made at the same address looks pre-existing.
    private mutating func attributable(_ id: ObjectGraph.ObjectID) -> Bool {
        if facts.fromGlobals[id] { return true }
        if facts.fromRoots[id] { return false }   // only other threads' stacks reach it
        let groupIndex = facts.groupOf[id]
        if groupIndex >= 0 && facts.isProvenCycle(facts.groups[groupIndex]) { return true }
        if ownStack == nil { ownStack = OwnStack.held(above: anchor, in: facts.graph) }
        return ownStack![id]
    }

    /// The failure message: objgraph's growth table, one chain per type (up to three types),
    /// and a drawing of those instances' back-references.
    func failure(tracker: GrowthTracker, iterations: Int, warmup: Int, checkName: String) -> CheckFailure? {
        let byName = Dictionary(blamed.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var rows = tracker.growth(limit: nil, shortNames: true, filter: { byName[$0] != nil })
        rows = rows.compactMap { row in
            guard let blame = byName[row.name] else { return nil }
            var row = row
            row.count = blame.count
            row.delta = blame.delta
            return row
        }
        rows.sort { $0.delta != $1.delta ? $0.delta > $1.delta : $0.name < $1.name }
        guard !rows.isEmpty else { return nil }
        let runs = "\(iterations) iteration\(iterations == 1 ? "" : "s")"
        let warm = warmup == 0 ? "no warm-up run" : "\(warmup) warm-up run\(warmup == 1 ? "" : "s")"
        var message = "\(checkName): live objects grew over \(runs) (after \(warm)):\n\n"
        message += TextTable.growth(rows)
        var explainer = Explainer(facts: facts, ownStack: ownStack)
        var drawn: [ObjectGraph.ObjectID] = []
        for blame in blamed.prefix(3) {
            guard let example = blame.examples.first else { continue }
            drawn.append(example)
            let sign = "+\(blame.delta)"
            message += "\n\(blame.name) \(sign): one surviving new instance is held by\n"
            message += explainer.explain(example)
        }
        if blamed.count > 3 { message += "\n(\(blamed.count - 3) more growing types not explained)\n" }
        let excused = blamed.reduce(0) { $0 + $1.excused }
        if excused > 0 {
            message += "\n(\(excused) other new instance\(excused == 1 ? " is" : "s are") not counted: held only by other threads' stacks "
                + "or by references the snapshot cannot see, as a concurrently running test's objects are)\n"
        }
        if !belowRate.isEmpty {
            message += "\n(not counted, grew by less than one per iteration as another test's one-time allocation would: "
                + belowRate.sorted().joined(separator: ", ") + ")\n"
        }
        let graph = facts.graph
        let path = drawn.isEmpty ? nil : Drawing.write(name: "growth.svg") { path in
            try graph.showBackrefs(drawn, maxDepth: 4, to: path)
        }
        message += LeakChecks.drawingLine(path)
        return CheckFailure(message: message, drawingPath: path)
    }
}
