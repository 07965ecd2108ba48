import ObjGraphCore

/// Collects nodes and edges with sort keys while a builder walks the graph, then emits them
/// sorted: object nodes by id, then roots by index, then marker nodes; edges by their ends. The
/// walk's visiting order therefore never leaks into the output.
struct DrawingBuilder {
    /// Where a node sorts: objects (by id), then roots (by index), then markers (by owner id).
    struct Key: Comparable, Hashable {
        var group: Int
        var number: Int
        var sub: Int

        static func < (a: Key, b: Key) -> Bool {
            (a.group, a.number, a.sub) < (b.group, b.number, b.sub)
        }
    }

    static func objectKey(_ id: Int) -> Key { Key(group: 0, number: id, sub: 0) }
    static func rootKey(_ index: Int) -> Key { Key(group: 1, number: index, sub: 0) }
    static func markerKey(_ owner: Int, _ kind: Int) -> Key { Key(group: 2, number: owner, sub: kind) }

    static func objectName(_ id: Int) -> String { "o\(id)" }
    static func rootName(_ index: Int) -> String { "r\(index)" }

    /// A root as drawings show it: the roots that share a kind and a name are one node.
    struct RootIdentity: Hashable {
        var kind: HeapSnapshot.RootKind
        var name: String

        init(_ root: HeapSnapshot.Root) {
            kind = root.kind
            name = root.name
        }
    }

    /// The index of the first root of each kind and name in `snapshot`: the index in the name
    /// (``rootName(_:)``) and the sort key (``rootKey(_:)``) of the node that stands for them all.
    static func rootIndices(in snapshot: HeapSnapshot) -> [RootIdentity: Int] {
        var index: [RootIdentity: Int] = [:]
        for (i, root) in snapshot.roots.enumerated() {
            let key = RootIdentity(root)
            if index[key] == nil { index[key] = i }
        }
        return index
    }

    private var nodes: [Key: GraphDrawing.Node] = [:]
    private var edges: [(tail: Key, head: Key, order: Int, edge: GraphDrawing.Edge)] = []
    private var names: [String: Key] = [:]

    func contains(_ key: Key) -> Bool { nodes[key] != nil }

    mutating func addNode(_ key: Key, _ name: String, _ attributes: [String: AttributeValue]) {
        if nodes[key] == nil {
            nodes[key] = GraphDrawing.Node(name: name, attributes: attributes)
            names[name] = key
        } else {
            nodes[key]!.attributes.merge(attributes) { _, new in new }
        }
    }

    /// Adds an edge between two nodes already added; `order` breaks ties between parallel edges
    /// (the field offset for object edges).
    mutating func addEdge(_ tail: Key, _ head: Key, order: Int, _ attributes: [String: AttributeValue]) {
        guard let t = nodes[tail]?.name, let h = nodes[head]?.name else { return }
        edges.append((tail, head, order, GraphDrawing.Edge(from: t, to: h, attributes: attributes)))
    }

    /// The sorted drawing.
    func finish(into drawing: GraphDrawing = GraphDrawing()) -> GraphDrawing {
        var drawing = drawing
        for key in nodes.keys.sorted() {
            let node = nodes[key]!
            drawing.addNode(node.name, node.attributes)
        }
        let sortedEdges = edges.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            if x.tail != y.tail { return x.tail < y.tail }
            if x.head != y.head { return x.head < y.head }
            if x.order != y.order { return x.order < y.order }
            return a.offset < b.offset
        }
        drawing.edges.append(contentsOf: sortedEdges.map { $0.element.edge })
        return drawing
    }
}
