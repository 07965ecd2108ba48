import CGraphviz

extension GraphvizGraph {
    /// Creates the cgraph objects for `drawing`: graph attributes and node/edge defaults first,
    /// then nodes, clusters and edges in drawing order, each object's attributes in name order,
    /// so the same drawing always yields the same graph (and the same DOT).
    func build(_ drawing: GraphDrawing) {
        for (kind, attributes) in [
            (AGRAPH, drawing.attributes), (AGNODE, drawing.nodeDefaults),
            (AGEDGE, drawing.edgeDefaults),
        ] {
            for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
                declare(Int32(kind), name, value)
            }
        }
        var created: [String: UnsafeMutablePointer<Agnode_t>] = [:]
        func node(_ name: String) -> UnsafeMutablePointer<Agnode_t>? {
            if let existing = created[name] { return existing }
            let made = self.node(name)
            created[name] = made
            return made
        }
        for item in drawing.nodes {
            guard let n = node(item.name) else { continue }
            for (name, value) in item.attributes.sorted(by: { $0.key < $1.key }) {
                set(UnsafeMutableRawPointer(n), name, value)
            }
        }
        for cluster in drawing.clusters {
            guard let sub = subgraph(cluster.graphvizName) else { continue }
            for (attr, value) in cluster.attributes.sorted(by: { $0.key < $1.key }) {
                set(UnsafeMutableRawPointer(sub), attr, value)
            }
            for member in cluster.nodes {
                if let n = node(member) { _ = objgraph_agsubnode(sub, n, 1) }
            }
        }
        for item in drawing.edges {
            guard let tail = node(item.from), let head = node(item.to),
                let e = edge(from: tail, to: head)
            else { continue }
            for (name, value) in item.attributes.sorted(by: { $0.key < $1.key }) {
                set(UnsafeMutableRawPointer(e), name, value)
            }
        }
    }
}
