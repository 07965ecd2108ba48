/// A picture of part of an object graph, ready for Graphviz: nodes, edges, clusters and their
/// attributes.
///
/// A drawing is plain, deterministic data. The builders (``backrefs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``,
/// ``refs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``,
/// ``chain(_:in:root:shortNames:extraInfo:)``, ``cycles(_:in:isLeaked:shortNames:extraInfo:)``)
/// name object nodes `o<id>` and add nodes and edges in object-id order, so the same snapshot
/// always yields the same drawing and byte-identical DOT. You can also build or adjust one by
/// hand, then render it with ``rendered(as:warningsAreErrors:)`` or write it with ``write(to:)``.
///
/// ```swift
/// var drawing = GraphDrawing()
/// drawing.addNode("a", ["label": "A"])
/// drawing.addNode("b", ["label": "B"])
/// drawing.addEdge(from: "a", to: "b", ["label": "next"])
/// let svg = try drawing.rendered(as: .svg)
/// ```
public struct GraphDrawing: Sendable, Equatable {
    /// A node: a Graphviz name that is unique in the drawing, and its attributes.
    public struct Node: Sendable, Equatable {
        /// The node's Graphviz name (`o12` for object 12, `r3` for a root, `o12_more` for a marker).
        public var name: String
        /// Per-node attributes; they override ``GraphDrawing/nodeDefaults``.
        public var attributes: [String: AttributeValue]

        /// A node called `name` with `attributes`.
        public init(name: String, attributes: [String: AttributeValue] = [:]) {
            self.name = name
            self.attributes = attributes
        }
    }

    /// A directed edge between two nodes of the drawing, by name.
    public struct Edge: Sendable, Equatable {
        /// Name of the tail node (the referrer).
        public var from: String
        /// Name of the head node (the object referred to).
        public var to: String
        /// Per-edge attributes; they override ``GraphDrawing/edgeDefaults``.
        public var attributes: [String: AttributeValue]

        /// An edge `from -> to` with `attributes`.
        public init(from: String, to: String, attributes: [String: AttributeValue] = [:]) {
            self.from = from
            self.to = to
            self.attributes = attributes
        }
    }

    /// A cluster: a subgraph Graphviz draws as a box around its nodes.
    public struct Cluster: Sendable, Equatable {
        /// The subgraph's name; ``GraphDrawing`` prefixes it with `cluster_` when rendering if it
        /// does not already start with `cluster`.
        public var name: String
        /// Subgraph attributes (`label`, `style`, `color`, `fillcolor`...).
        public var attributes: [String: AttributeValue]
        /// Names of the nodes inside the cluster, in drawing order.
        public var nodes: [String]

        /// A cluster called `name` around `nodes`.
        public init(name: String, attributes: [String: AttributeValue] = [:], nodes: [String] = []) {
            self.name = name
            self.attributes = attributes
            self.nodes = nodes
        }

        /// The subgraph's name as Graphviz gets it: Graphviz draws a subgraph as a box only when
        /// its name starts with `cluster`.
        var graphvizName: String { name.hasPrefix("cluster") ? name : "cluster_\(name)" }
    }

    /// The graph's name in DOT (`digraph ObjectGraph { ... }`).
    public var name: String
    /// Root graph attributes (`rankdir`, `bgcolor`, `fontname`...).
    public var attributes: [String: AttributeValue]
    /// Attributes every node gets unless it sets its own.
    public var nodeDefaults: [String: AttributeValue]
    /// Attributes every edge gets unless it sets its own.
    public var edgeDefaults: [String: AttributeValue]
    /// Nodes, in the order they are given to Graphviz.
    public private(set) var nodes: [Node]
    /// Edges, in the order they are given to Graphviz.
    public var edges: [Edge]
    /// Clusters, in the order they are given to Graphviz.
    public var clusters: [Cluster]

    private var nodeIndex: [String: Int]

    /// An empty drawing. The defaults are the house style (see ``DrawingStyle``) unless you pass others.
    public init(
        name: String = "ObjectGraph",
        attributes: [String: AttributeValue] = DrawingStyle.graphAttributes,
        nodeDefaults: [String: AttributeValue] = DrawingStyle.nodeDefaults,
        edgeDefaults: [String: AttributeValue] = DrawingStyle.edgeDefaults
    ) {
        self.name = name
        self.attributes = attributes
        self.nodeDefaults = nodeDefaults
        self.edgeDefaults = edgeDefaults
        self.nodes = []
        self.edges = []
        self.clusters = []
        self.nodeIndex = [:]
    }

    /// True when the drawing has a node called `name`.
    public func contains(_ name: String) -> Bool { nodeIndex[name] != nil }

    /// The node called `name`, if any.
    public func node(named name: String) -> Node? { nodeIndex[name].map { nodes[$0] } }

    /// Adds a node, or merges `attributes` into the existing node of that name.
    public mutating func addNode(_ name: String, _ attributes: [String: AttributeValue] = [:]) {
        if let index = nodeIndex[name] {
            nodes[index].attributes.merge(attributes) { _, new in new }
        } else {
            nodeIndex[name] = nodes.count
            nodes.append(Node(name: name, attributes: attributes))
        }
    }

    /// Changes the attributes of the node called `name`; does nothing when there is none.
    public mutating func updateNode(_ name: String, _ update: (inout [String: AttributeValue]) -> Void) {
        guard let index = nodeIndex[name] else { return }
        update(&nodes[index].attributes)
    }

    /// Adds an edge `from -> to`. Both nodes should exist by the time the drawing is rendered;
    /// Graphviz creates missing ones with default attributes.
    public mutating func addEdge(from: String, to: String, _ attributes: [String: AttributeValue] = [:]) {
        edges.append(Edge(from: from, to: to, attributes: attributes))
    }

    /// Two drawings are equal when their names, attributes, nodes, edges and clusters are.
    public static func == (lhs: GraphDrawing, rhs: GraphDrawing) -> Bool {
        lhs.name == rhs.name && lhs.attributes == rhs.attributes && lhs.nodeDefaults == rhs.nodeDefaults
            && lhs.edgeDefaults == rhs.edgeDefaults && lhs.nodes == rhs.nodes && lhs.edges == rhs.edges
            && lhs.clusters == rhs.clusters
    }
}
