import ObjGraphCore

extension GraphDrawing {
    /// The leak report's structures, one red cluster each: identical structures (same types,
    /// same labels, as ``LeaksReport`` merges them in text) are drawn once with how many there
    /// are (`leaked structure 1 · 20 instances · 2 objects each · 1.9 KiB in all`).
    ///
    /// A structure bigger than `maxNodesPerStructure` shows its first objects in the tree's
    /// order and one grey node for the rest, counted by type (`9,950 more objects: 9950
    /// RingLink`); at most `maxStructures` structures are drawn and a note node says how many
    /// were left out.
    ///
    /// ```swift
    /// let drawing = GraphDrawing.leaks(LeaksReport(graph: graph), in: graph)
    /// ```
    public static func leaks(
        _ report: LeaksReport, in graph: ObjectGraph, maxStructures: Int = 20, maxNodesPerStructure: Int = 40,
        shortNames: Bool = true
    ) -> GraphDrawing {
        let snapshot = graph.snapshot
        var drawing = GraphDrawing()
        var drawn: [Int: Bool] = [:]  // id -> drawn
        for (number, entry) in report.entries.prefix(max(0, maxStructures)).enumerated() {
            let group = entry.example
            let order = treeOrder(of: group, in: graph)
            let shown = Array(order.prefix(max(1, maxNodesPerStructure)))
            var nodes: [String] = []
            for id in shown {
                var attributes = NodeLabels.object(id, in: snapshot, shortNames: shortNames, extraInfo: nil)
                attributes["fillcolor"] = .text(DrawingStyle.leakedFill)
                attributes["color"] = .text(DrawingStyle.leakedBorder)
                drawing.addNode(DrawingBuilder.objectName(id), attributes)
                nodes.append(DrawingBuilder.objectName(id))
                drawn[id] = true
            }
            let rest = order.dropFirst(shown.count)
            if !rest.isEmpty {
                let names = rest.map { id -> String in
                    let type = snapshot.type(of: id)
                    return shortNames ? type.shortName : type.name
                }
                let name = "more\(number)"
                drawing.addNode(
                    name,
                    DrawingStyle.limitNode(
                        "\(rest.count) more object\(rest.count == 1 ? "" : "s"): \(TypeTally.summary(of: names, types: 3))"
                    ))
                nodes.append(name)
                // From each drawn object with a reference to one left out, one dotted edge.
                let left = Set(rest)
                for id in shown where graph.outgoing(id).contains(where: { left.contains(Int($0.to)) }) {
                    drawing.addEdge(from: DrawingBuilder.objectName(id), to: name, DrawingStyle.limitEdge)
                }
            }
            var detail = "\(group.members.count) object\(group.members.count == 1 ? "" : "s")"
            if entry.instances > 1 {
                detail = "\(entry.instances) instances · \(detail) each · \(TextTable.bytes(entry.bytes)) in all"
            } else {
                detail += " · \(TextTable.bytes(entry.bytes))"
            }
            let title = "leaked \(group.cycle != nil ? "cycle" : "structure") \(number + 1)"
            drawing.clusters.append(
                Cluster(
                    name: "cluster_\(number)",
                    attributes: DrawingStyle.groupCluster(title: title, detail: detail, leaked: true),
                    nodes: nodes))
        }
        for id in drawn.keys.sorted() {
            for edge in graph.outgoing(id) where drawn[Int(edge.to)] != nil {
                drawing.addEdge(
                    from: DrawingBuilder.objectName(id), to: DrawingBuilder.objectName(Int(edge.to)),
                    EdgeLabels.attributes(of: edge, in: snapshot, shortNames: shortNames))
            }
        }
        let left = report.entries.count - min(report.entries.count, max(0, maxStructures))
        if left > 0 {
            let instances = report.entries.dropFirst(max(0, maxStructures)).reduce(0) { $0 + $1.instances }
            drawing.addNode(
                "omitted",
                DrawingStyle.limitNode(
                    "\(left) more leaked structure\(left == 1 ? "" : "s") (\(instances) instance\(instances == 1 ? "" : "s")) not drawn"
                ))
        }
        return drawing
    }

    /// The group's members breadth-first from its top along references inside the group, then
    /// any member that walk missed: the objects nearest the top come first.
    private static func treeOrder(of group: LeakGroup, in graph: ObjectGraph) -> [Int] {
        let members = Set(group.members)
        var seen: Set<Int> = [group.tops[0]]
        var order = [group.tops[0]]
        var next = 0
        while next < order.count {
            for edge in graph.outgoing(order[next]) where members.contains(Int(edge.to)) {
                if seen.insert(Int(edge.to)).inserted { order.append(Int(edge.to)) }
            }
            next += 1
        }
        for id in group.members.sorted() where !seen.contains(id) { order.append(id) }
        return order
    }
}
