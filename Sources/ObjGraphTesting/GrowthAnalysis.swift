import ObjGraph

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

    init(
        before: HeapSnapshot, after: HeapSnapshot, baselineCounts: [String: Int], counts: [String: Int],
        ignored: IgnoreList, concurrentTests: Bool, iterations: Int, anchor: UInt
    ) {
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
    /// cannot see (another test's Unmanaged reference looks like that) are not counted; nor are objects
    /// held by a pre-existing object that the snapshot cannot see a holder for, because an object
    /// another test freed and re-made at the same address looks pre-existing.
    private mutating func attributable(_ id: ObjectGraph.ObjectID) -> Bool {
        if facts.fromGlobals[id] { return true }
        if facts.fromRoots[id] { return false }  // only other threads' stacks reach it
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
            message +=
                "\n(\(excused) other new instance\(excused == 1 ? " is" : "s are") not counted: held only by other threads' stacks "
                + "or by references the snapshot cannot see, as a concurrently running test's objects are)\n"
        }
        if !belowRate.isEmpty {
            message +=
                "\n(not counted, grew by less than one per iteration as another test's one-time allocation would: "
                + belowRate.sorted().joined(separator: ", ") + ")\n"
        }
        let graph = facts.graph
        let path =
            drawn.isEmpty
            ? nil
            : FailureDrawing.write(name: "growth.svg") { path in
                try graph.showBackrefs(drawn, maxDepth: 4, to: path)
            }
        message += FailureDrawing.messageLine(path)
        return CheckFailure(message: message, drawingPath: path)
    }
}
