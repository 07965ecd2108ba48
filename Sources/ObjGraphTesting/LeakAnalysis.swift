import ObjGraph

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
    ///   `concurrentTests` it is not blamed (another test's object kept through an Unmanaged
    ///   reference looks exactly like this); without, it is blamed unless the test itself
    ///   holds it (``OwnStack``). Async frames, C buffers and pending Dispatch blocks are in the
    ///   graph: what they hold is reachable, not a leak.
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

    /// The failure message: totals, a per-type summary, the groups printed `leaks`-style, and a
    /// drawing of up to twelve groups.
    func failure(groups: [LeakGroup], checkName: String) -> CheckFailure {
        let report = LeaksReport(graph: graph, groups: groups)
        var message =
            "\(checkName): the body leaked \(report.leakedObjects) object\(report.leakedObjects == 1 ? "" : "s") "
            + "(\(report.leakedBytes) bytes) in \(groups.count) group\(groups.count == 1 ? "" : "s")\n\n"
        message += Self.summary(perType(of: groups))
        message += "\n" + report.text
        if groups.contains(where: { !facts.isProvenCycle($0) }) {
            message +=
                "\nGroups that are not proven cycles are held by a reference the snapshot cannot see "
                + "(their retain counts are higher than the references found): an Unmanaged reference, C memory, "
                + "a pending Dispatch block or a running task.\n"
        }
        let drawn = Array(groups.prefix(12))
        let path = FailureDrawing.write(name: "leaks.svg") { path in
            try graph.showCycles(drawn.map(\.members), isLeaked: { _ in true }, to: path)
        }
        message += FailureDrawing.messageLine(path)
        return CheckFailure(message: message, drawingPath: path)
    }

    /// One line of the per-type summary.
    struct TypeTally: Equatable {
        var name: String
        var count: Int
        var bytes: Int
    }

    /// Objects and bytes per short type name over the groups' members.
    func perType(of groups: [LeakGroup]) -> [TypeTally] {
        let snapshot = graph.snapshot
        var byName: [String: TypeTally] = [:]
        for member in groups.lazy.flatMap(\.members) {
            let name = snapshot.type(of: member).shortName
            byName[name, default: TypeTally(name: name, count: 0, bytes: 0)].count += 1
            byName[name]!.bytes += Int(snapshot.objects[member].size)
        }
        return Array(byName.values)
    }

    /// The summary printed before the trees, one line per type, most objects first:
    /// `    Pair  x4  128 bytes`.
    ///
    /// Not a `TextTable`: none of its public tables prints count and bytes per type without a
    /// header and a total line (`TextTable.census` is Apple's `heap` table, whose total would
    /// repeat what the message's first line and the report already say).
    static func summary(_ rows: [TypeTally]) -> String {
        let rows = rows.sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
        let width = rows.map(\.name.count).max() ?? 0
        return rows.map { row in
            "    " + row.name + String(repeating: " ", count: width - row.name.count)
                + "  x\(row.count)  \(row.bytes) bytes\n"
        }.joined()
    }
}
