import ObjGraphCore

extension GraphDrawing {
    /// What `objects` refer to: objgraph's `show_refs`, as a drawing.
    ///
    /// The same walk as ``backrefs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``
    /// over referents instead of referrers: each object's references are followed in field
    /// order, edges point from `objects` outwards, and overflow shows as "N more referents".
    ///
    /// ```swift
    /// let drawing = GraphDrawing.refs(of: [screen], in: graph, maxDepth: 2)
    /// ```
    ///
    /// - Parameters:
    ///   - objects: the objects asked about; ids outside the snapshot are ignored.
    ///   - graph: the indexed snapshot.
    ///   - maxDepth: how many reference steps to follow from `objects`.
    ///   - filter: when given, only referents for which it returns true are drawn.
    ///   - tooMany: the most referents drawn for one object.
    ///   - highlight: objects for which it returns true are filled light blue.
    ///   - extraInfo: extra text for an object's label (one or more lines), or nil.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - maxNodes: the most objects in the drawing (markers not counted).
    public static func refs(
        of objects: [ObjectGraph.ObjectID], in graph: ObjectGraph, maxDepth: Int = 3,
        filter: ((ObjectGraph.ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectGraph.ObjectID) -> Bool)? = nil, extraInfo: ((ObjectGraph.ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200
    ) -> GraphDrawing {
        GraphWalk(
            graph: graph, direction: .referents, maxDepth: maxDepth, tooMany: tooMany, maxNodes: maxNodes,
            shortNames: shortNames, filter: filter, highlight: highlight, extraInfo: extraInfo
        )
        .draw(objects)
    }
}
