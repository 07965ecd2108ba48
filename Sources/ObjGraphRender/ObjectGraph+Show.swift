import ObjGraphCore

/// objgraph's `show_*` verbs on `ObjectGraph`: build a drawing and write it to a file in one call.
///
/// Each verb builds one ``GraphDrawing`` and writes it with ``GraphDrawing/write(to:)``: the
/// format follows `path`'s extension (`.svg`, `.png`, `.dot`, `.gv`) and the file is written
/// atomically. For the bytes instead of a file, build the same drawing and call
/// ``GraphDrawing/rendered(as:warningsAreErrors:)``.
///
/// ```swift
/// let graph = ObjectGraph(snapshot)
/// let sessions = graph.objects(ofType: "Session")
/// try graph.showBackrefs(sessions, maxDepth: 4, to: "/tmp/sessions.png")
/// let svg = try GraphDrawing.backrefs(of: sessions, in: graph, maxDepth: 4).rendered(as: .svg)
/// ```
extension ObjectGraph {
    /// Draws what refers to `ids`, objgraph's `show_backrefs`, and writes it to `path`.
    ///
    /// The drawing is ``GraphDrawing/backrefs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``,
    /// which documents the parameters.
    public func showBackrefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, to path: String
    ) throws {
        try GraphDrawing.backrefs(
            of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
            highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
            maxNodes: maxNodes
        ).write(to: path)
    }

    /// Draws what `ids` refer to, objgraph's `show_refs`, and writes it to `path`.
    ///
    /// The drawing is ``GraphDrawing/refs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``,
    /// which documents the parameters.
    public func showRefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, to path: String
    ) throws {
        try GraphDrawing.refs(
            of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
            highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
            maxNodes: maxNodes
        ).write(to: path)
    }

    /// Draws a back-reference chain, root first, objgraph's `show_chain`, and writes it to `path`.
    ///
    /// The drawing is ``GraphDrawing/chain(_:in:root:shortNames:extraInfo:)``, which documents
    /// the parameters.
    public func showChain(
        _ ids: [ObjectID], root: HeapSnapshot.Root? = nil, shortNames: Bool = true,
        extraInfo: ((ObjectID) -> String?)? = nil, to path: String
    ) throws {
        try GraphDrawing.chain(ids, in: self, root: root, shortNames: shortNames, extraInfo: extraInfo)
            .write(to: path)
    }

    /// Draws `chain` (from `findBackrefChain(to:)`) from its root to the object asked about, and
    /// writes the drawing to `path`.
    ///
    /// ```swift
    /// if let chain = graph.findBackrefChain(to: session) {
    ///     try graph.showChain(chain, to: "/tmp/why-alive.svg")
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - chain: the chain; its root, when it has one, is drawn as a green box at the top.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - path: where to write; the extension chooses the format.
    public func showChain(_ chain: ReferenceChain, shortNames: Bool = true, to path: String) throws {
        try showChain(chain.objects, root: chain.root, shortNames: shortNames, to: path)
    }

    /// Draws groups of objects (cycles, leak groups) each in its own cluster, and writes the
    /// drawing to `path`.
    ///
    /// The drawing is ``GraphDrawing/cycles(_:in:isLeaked:shortNames:extraInfo:)``, which
    /// documents the parameters.
    public func showCycles(
        _ groups: [[ObjectID]], isLeaked: (([ObjectID]) -> Bool)? = nil, shortNames: Bool = true,
        extraInfo: ((ObjectID) -> String?)? = nil, to path: String
    ) throws {
        try GraphDrawing.cycles(groups, in: self, isLeaked: isLeaked, shortNames: shortNames, extraInfo: extraInfo)
            .write(to: path)
    }

    /// Draws `cycles` (from `cycles(among:)`), and writes the drawing to `path`. A cycle nothing
    /// reaches from a root is drawn in a red cluster, the others in grey ones.
    ///
    /// ```swift
    /// try graph.showCycles(graph.cycles(), to: "/tmp/cycles.svg")
    /// ```
    ///
    /// - Parameters:
    ///   - cycles: the cycles; an object in several is drawn in the first.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - path: where to write; the extension chooses the format.
    public func showCycles(_ cycles: [RetainCycle], shortNames: Bool = true, to path: String) throws {
        try showCycles(cycles.map(\.members), shortNames: shortNames, to: path)
    }

    /// Draws leak groups (from `leakingObjects()`) as ``LeaksReport`` groups them: identical
    /// structures once, with how many there are, each in a red cluster, big structures cut at
    /// `maxNodesPerStructure` objects (the rest counted by type in one grey node); writes the
    /// drawing to `path`. See ``GraphDrawing/leaks(_:in:maxStructures:maxNodesPerStructure:shortNames:)``.
    ///
    /// ```swift
    /// try graph.showLeaks(graph.leakingObjects(), to: "/tmp/leaks.svg")
    /// ```
    ///
    /// - Parameters:
    ///   - groups: the leak groups.
    ///   - maxStructures: the most distinct structures drawn.
    ///   - maxNodesPerStructure: the most objects drawn of one structure.
    ///   - shortNames: `Session` rather than `Fixtures.Session`.
    ///   - path: where to write; the extension chooses the format.
    public func showLeaks(
        _ groups: [LeakGroup], maxStructures: Int = 20, maxNodesPerStructure: Int = 40, shortNames: Bool = true,
        to path: String
    ) throws {
        let report = LeaksReport(graph: self, groups: groups, shortNames: shortNames, lineLimit: 0)
        try GraphDrawing.leaks(
            report, in: self, maxStructures: maxStructures, maxNodesPerStructure: maxNodesPerStructure,
            shortNames: shortNames
        ).write(to: path)
    }
}

/// The bytes forms of the verbs, replaced by building the drawing and calling
/// ``GraphDrawing/rendered(as:warningsAreErrors:)``.
extension ObjectGraph {
    /// Draws what refers to `ids` and returns it rendered in `format`.
    @available(*, deprecated, message: "use GraphDrawing.backrefs(of:in:...).rendered(as:)")
    public func showBackrefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, format: OutputFormat
    ) throws -> [UInt8] {
        try GraphDrawing.backrefs(
            of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
            highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
            maxNodes: maxNodes
        ).rendered(as: format)
    }

    /// Draws what `ids` refer to and returns it rendered in `format`.
    @available(*, deprecated, message: "use GraphDrawing.refs(of:in:...).rendered(as:)")
    public func showRefs(
        _ ids: [ObjectID], maxDepth: Int = 3, filter: ((ObjectID) -> Bool)? = nil, tooMany: Int = 10,
        highlight: ((ObjectID) -> Bool)? = nil, extraInfo: ((ObjectID) -> String?)? = nil,
        shortNames: Bool = true, maxNodes: Int = 200, format: OutputFormat
    ) throws -> [UInt8] {
        try GraphDrawing.refs(
            of: ids, in: self, maxDepth: maxDepth, filter: filter, tooMany: tooMany,
            highlight: highlight, extraInfo: extraInfo, shortNames: shortNames,
            maxNodes: maxNodes
        ).rendered(as: format)
    }

    /// Draws a back-reference chain, root first, and returns it rendered in `format`.
    @available(*, deprecated, message: "use GraphDrawing.chain(_:in:...).rendered(as:)")
    public func showChain(
        _ ids: [ObjectID], root: HeapSnapshot.Root? = nil, shortNames: Bool = true,
        extraInfo: ((ObjectID) -> String?)? = nil, format: OutputFormat
    ) throws -> [UInt8] {
        try GraphDrawing.chain(ids, in: self, root: root, shortNames: shortNames, extraInfo: extraInfo)
            .rendered(as: format)
    }

    /// Draws cycles or leak groups as clusters and returns them rendered in `format`.
    @available(*, deprecated, message: "use GraphDrawing.cycles(_:in:...).rendered(as:)")
    public func showCycles(
        _ groups: [[ObjectID]], isLeaked: (([ObjectID]) -> Bool)? = nil, shortNames: Bool = true,
        extraInfo: ((ObjectID) -> String?)? = nil, format: OutputFormat
    ) throws -> [UInt8] {
        try GraphDrawing.cycles(groups, in: self, isLeaked: isLeaked, shortNames: shortNames, extraInfo: extraInfo)
            .rendered(as: format)
    }
}
