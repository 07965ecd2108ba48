import ObjGraphCore

extension GraphDrawing {
    /// A back-reference chain as a straight line, root first: objgraph's `show_chain`.
    ///
    /// `ids` runs from the object nearest the root to the object asked about (the order
    /// objgraph's `find_backref_chain` returns), which is drawn last with red text. Each step is
    /// one arrow carrying the field label(s) that hold the next object; a step with no
    /// reference in the snapshot is drawn as a red dotted arrow labelled `no reference`.
    ///
    /// ```swift
    /// // static Fixtures.Session.registry -> Array<Session> storage -[3]-> Session
    /// let drawing = GraphDrawing.chain([storage, session], in: graph, root: graph.roots(of: storage).first)
    /// ```
    ///
    /// - Parameters:
    ///   - ids: the chain, root end first; ids outside the snapshot are ignored.
    ///   - graph: the indexed snapshot.
    ///   - root: the root holding `ids[0]`, drawn as a green box at the top; nil for none.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - extraInfo: extra text for an object's label, or nil.
    public static func chain(
        _ ids: [ObjectGraph.ObjectID], in graph: ObjectGraph, root: HeapSnapshot.Root? = nil,
        shortNames: Bool = true, extraInfo: ((ObjectGraph.ObjectID) -> String?)? = nil
    ) -> GraphDrawing {
        let snapshot = graph.snapshot
        var seen = Set<Int>()
        let chain = ids.filter { $0 >= 0 && $0 < graph.count && seen.insert($0).inserted }
        // Heavy edges (weight 10) keep dot from bending the chain: one step per rank, one column.
        var drawing = GraphDrawing()

        if let root {
            let index =
                DrawingBuilder.rootIndices(in: snapshot)[DrawingBuilder.RootIdentity(root)]
                ?? snapshot.roots.count
            drawing.addNode(DrawingBuilder.rootName(index), NodeLabels.root(name: root.name, kind: root.kind))
            if let first = chain.first {
                drawing.addEdge(
                    from: DrawingBuilder.rootName(index), to: DrawingBuilder.objectName(first),
                    ["weight": "10", "tooltip": .escapedLabel("\(root.name) holds the chain")])
            }
        }
        let last = chain.count - 1
        for (position, id) in chain.enumerated() {
            var attributes = NodeLabels.object(
                id, in: snapshot, shortNames: shortNames, extraInfo: extraInfo?(id),
                askedAbout: position == last)
            // Fade as backrefs does at its default depth of 3, so a short chain is not all grey.
            attributes["fillcolor"] = .text(DrawingStyle.depthFill(depth: last - position, maxDepth: max(last, 3)))
            drawing.addNode(DrawingBuilder.objectName(id), attributes)
        }
        for (from, to) in zip(chain, chain.dropFirst()) {
            var attributes = stepAttributes(from: from, to: to, in: snapshot, shortNames: shortNames)
            attributes["weight"] = "10"
            drawing.addEdge(from: DrawingBuilder.objectName(from), to: DrawingBuilder.objectName(to), attributes)
        }
        return drawing
    }

    /// One arrow for all the references from `from` to `to`: labels joined, styled by the first
    /// strong one (or the first, when none is strong).
    private static func stepAttributes(
        from: Int, to: Int, in snapshot: HeapSnapshot,
        shortNames: Bool
    ) -> [String: AttributeValue] {
        let edges = snapshot.edges(from: from).filter { Int($0.to) == to }
        guard let main = edges.first(where: { $0.kind.isStrong }) ?? edges.first else {
            return [
                "label": "no reference", "style": "dotted", "color": .text(DrawingStyle.alertColour),
                "fontcolor": .text(DrawingStyle.alertColour),
            ]
        }
        var attributes = EdgeLabels.attributes(of: main, in: snapshot, shortNames: shortNames)
        if edges.count > 1 {
            let labels = edges.map { snapshot.label(of: $0) }.joined(separator: ", ")
            attributes["label"] = DrawingStyle.edgeAttributes(label: labels, kind: main.kind, tooltip: "")["label"]
        }
        return attributes
    }
}
