import ObjGraphCore

/// objgraph's `show_*` verbs on ``ObjectGraph``: draw and write in one call.
///
/// Each verb comes in two forms: `to path:` writes a file whose format follows the extension
/// (`.svg`, `.png`, `.dot`, `.gv`, written atomically), and `format:` returns the bytes.
///
/// ```swift
/// let graph = ObjectGraph(snapshot)
/// let sessions = graph.objects(ofType: "Session")
/// try graph.showBackrefs(sessions, maxDepth: 4, to: "/tmp/sessions.png")
/// let svg = try graph.showBackrefs(sessions, format: .svg)
/// ```
extension ObjectGraph {
    /// Draws what refers to `ids` (see ``GraphDrawing/backrefs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``)
    /// and writes it to `path`.
    public func showBackrefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, to path: String
    ) throws {
        try Graphviz.write(GraphDrawing.backrefs(of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
                                                 highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
                                                 maxNodes: maxNodes), to: path)
    }

    /// Draws what refers to `ids` and returns it rendered in `format`.
    public func showBackrefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, format: OutputFormat
    ) throws -> [UInt8] {
        try Graphviz.render(GraphDrawing.backrefs(of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
                                                  highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
                                                  maxNodes: maxNodes), format: format)
    }

    /// Draws what `ids` refer to (see ``GraphDrawing/refs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``)
    /// and writes it to `path`.
    public func showRefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, to path: String
    ) throws {
        try Graphviz.write(GraphDrawing.refs(of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
                                             highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
                                             maxNodes: maxNodes), to: path)
    }

    /// Draws what `ids` refer to and returns it rendered in `format`.
    public func showRefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, format: OutputFormat
    ) throws -> [UInt8] {
        try Graphviz.render(GraphDrawing.refs(of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
                                              highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
                                              maxNodes: maxNodes), format: format)
    }

    /// Draws a back-reference chain, root first (see ``GraphDrawing/chain(_:in:root:shortNames:extraInfo:)``),
    /// and writes it to `path`.
    public func showChain(_ ids: [ObjectID], root: HeapSnapshot.Root? = nil, shortNames: Bool = true,
                          extraInfo: ((ObjectID) -> String?)? = nil, to path: String) throws {
        try Graphviz.write(GraphDrawing.chain(ids, in: self, root: root, shortNames: shortNames, extraInfo: extraInfo),
                           to: path)
    }

    /// Draws a back-reference chain, root first, and returns it rendered in `format`.
    public func showChain(_ ids: [ObjectID], root: HeapSnapshot.Root? = nil, shortNames: Bool = true,
                          extraInfo: ((ObjectID) -> String?)? = nil, format: OutputFormat) throws -> [UInt8] {
        try Graphviz.render(GraphDrawing.chain(ids, in: self, root: root, shortNames: shortNames, extraInfo: extraInfo),
                            format: format)
    }

    /// Draws cycles or leak groups as clusters (see ``GraphDrawing/cycles(_:in:isLeaked:shortNames:extraInfo:)``)
    /// and writes them to `path`.
    public func showCycles(_ groups: [[ObjectID]], isLeaked: (([ObjectID]) -> Bool)? = nil, shortNames: Bool = true,
                           extraInfo: ((ObjectID) -> String?)? = nil, to path: String) throws {
        try Graphviz.write(GraphDrawing.cycles(groups, in: self, isLeaked: isLeaked, shortNames: shortNames,
                                               extraInfo: extraInfo), to: path)
    }

    /// Draws cycles or leak groups as clusters and returns them rendered in `format`.
    public func showCycles(_ groups: [[ObjectID]], isLeaked: (([ObjectID]) -> Bool)? = nil, shortNames: Bool = true,
                           extraInfo: ((ObjectID) -> String?)? = nil, format: OutputFormat) throws -> [UInt8] {
        try Graphviz.render(GraphDrawing.cycles(groups, in: self, isLeaked: isLeaked, shortNames: shortNames,
                                                extraInfo: extraInfo), format: format)
    }
}
