import ObjGraphCore

extension GraphDrawing {
    /// Reference cycles (or any groups of objects, such as leak groups), each in its own
    /// cluster with the references among its members.
    ///
    /// A group is *leaked* when none of its members can be reached from a root by strong
    /// references. Leaked groups are drawn in red clusters with salmon nodes
    /// (`leaked cycle 1 · 2 objects · 96 B`); the others in grey clusters marked `reachable`.
    /// References between members of different groups are drawn too.
    ///
    /// ```swift
    /// let drawing = GraphDrawing.cycles([[pairA, pairB], [screen, context]], in: graph)
    /// ```
    ///
    /// - Parameters:
    ///   - groups: the cycles; an object listed in several groups is drawn in the first.
    ///   - graph: the indexed snapshot.
    ///   - isLeaked: decides which groups are leaked; nil computes reachability from the
    ///     snapshot's roots over strong (and conservative) references.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - extraInfo: extra text for an object's label, or nil.
    public static func cycles(
        _ groups: [[ObjectGraph.ObjectID]], in graph: ObjectGraph,
        isLeaked: (([ObjectGraph.ObjectID]) -> Bool)? = nil,
        shortNames: Bool = true, extraInfo: ((ObjectGraph.ObjectID) -> String?)? = nil
    ) -> GraphDrawing {
        let snapshot = graph.snapshot
        let reachable: [Bool]? = isLeaked == nil ? graph.reachableFromRoots() : nil
        var owner: [Int: Int] = [:]
        var members: [[Int]] = []
        for group in groups {
            var list: [Int] = []
            for id in group where id >= 0 && id < graph.count && owner[id] == nil {
                owner[id] = members.count
                list.append(id)
            }
            members.append(list.sorted())
        }

        var drawing = GraphDrawing()
        for (number, list) in members.enumerated() where !list.isEmpty {
            let leaked = isLeaked?(list) ?? !list.contains { reachable![$0] }
            for id in list {
                var attributes = NodeLabels.object(id, in: snapshot, shortNames: shortNames, extraInfo: extraInfo?(id))
                attributes["fillcolor"] = .text(leaked ? DrawingStyle.leakedFill : "#ffffff")
                if leaked { attributes["color"] = .text(DrawingStyle.leakedBorder) }
                drawing.addNode(DrawingBuilder.objectName(id), attributes)
            }
            let bytes = list.reduce(0) { $0 + Int(snapshot.objects[$1].size) }
            let title = "\(leaked ? "leaked cycle" : "cycle") \(number + 1)"
            var detail = "\(list.count) object\(list.count == 1 ? "" : "s") · \(TextTable.bytes(bytes))"
            if !leaked { detail += " · reachable" }
            drawing.clusters.append(
                Cluster(
                    name: "cluster_\(number)",
                    attributes: DrawingStyle.groupCluster(title: title, detail: detail, leaked: leaked),
                    nodes: list.map(DrawingBuilder.objectName)))
        }
        for id in owner.keys.sorted() {
            for edge in graph.outgoing(id) where owner[Int(edge.to)] != nil {
                drawing.addEdge(
                    from: DrawingBuilder.objectName(id), to: DrawingBuilder.objectName(Int(edge.to)),
                    EdgeLabels.attributes(of: edge, in: snapshot, shortNames: shortNames))
            }
        }
        return drawing
    }
}
