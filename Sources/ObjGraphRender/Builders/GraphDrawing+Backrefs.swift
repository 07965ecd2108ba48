import ObjGraphCore

extension GraphDrawing {
    /// What refers to `objects`: objgraph's `show_backrefs`, as a drawing.
    ///
    /// Walks referrers breadth-first from `objects` (drawn with red text and a red border) up to
    /// `maxDepth` steps. The roots that hold an object (a global such as
    /// `static Fixtures.Session.registry`, a thread's stack) are drawn as green boxes above it.
    /// Edges point from the referrer to the object and carry the field label (`items`, `[3]`,
    /// `closure #1 in Screen.bind()`); `unowned` edges are dashed and grey.
    ///
    /// Nothing is dropped silently: an object with more than `tooMany` referrers shows the first
    /// `tooMany` (roots first, then referrers by id) and one red "N more referrers" node; when
    /// `maxDepth` or `maxNodes` stops the walk, a grey "N more referrers, not followed" node says
    /// how many were left out.
    ///
    /// ```swift
    /// let graph = ObjectGraph(snapshot)
    /// let session = graph.objects(ofType: "Session")[0]
    /// let drawing = GraphDrawing.backrefs(of: [session], in: graph, maxDepth: 4)
    /// try drawing.write(to: "session-backrefs.svg")
    /// ```
    ///
    /// - Parameters:
    ///   - objects: the objects asked about; ids outside the snapshot are ignored.
    ///   - graph: the indexed snapshot.
    ///   - maxDepth: how many referrer steps to follow from `objects`.
    ///   - filter: when given, only referrers for which it returns true are drawn.
    ///   - tooMany: the most referrers drawn for one object.
    ///   - highlight: objects for which it returns true are filled light blue.
    ///   - extraInfo: extra text for an object's label (one or more lines), or nil.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - maxNodes: the most objects in the drawing (roots and markers not counted).
    public static func backrefs(
        of objects: [ObjectGraph.ObjectID], in graph: ObjectGraph, maxDepth: Int = 3,
        filter: ((ObjectGraph.ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectGraph.ObjectID) -> Bool)? = nil, extraInfo: ((ObjectGraph.ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200
    ) -> GraphDrawing {
        GraphWalk(
            graph: graph, direction: .referrers, maxDepth: maxDepth, tooMany: tooMany, maxNodes: maxNodes,
            shortNames: shortNames, filter: filter, highlight: highlight, extraInfo: extraInfo
        )
        .draw(objects)
    }
}
