import CGraphviz

/// A libcgraph graph under construction: a thin, internal wrapper over `agopen`, `agnode`,
/// `agedge`, `agsubg` and `agsafeset`. Only used with ``GraphvizLock`` held.
struct GraphvizGraph {
    let handle: UnsafeMutablePointer<Agraph_t>

    /// `agopen(name, Agdirected, nil)`.
    init?(directedNamed name: String) {
        guard let g = name.withMutableCString({ objgraph_agopen($0, objgraph_agdirected(), nil) }) else { return nil }
        handle = g
    }

    /// `agattr(g, kind, name, value)`: with `AGRAPH` a root-graph attribute, with `AGNODE` or
    /// `AGEDGE` the default for every node or edge.
    func declare(_ kind: Int32, _ name: String, _ value: AttributeValue) {
        value.withGraphvizString(in: handle) { v in
            _ = name.withMutableCString { objgraph_agattr(handle, kind, $0, v) }
        }
    }

    /// `agnode(g, name, 1)`: finds or creates the node called `name`.
    func node(_ name: String) -> UnsafeMutablePointer<Agnode_t>? {
        name.withMutableCString { objgraph_agnode(handle, $0, 1) }
    }

    /// `agedge(g, tail, head, nil, 1)`: always a new edge, so parallel edges stay distinct.
    func edge(from tail: UnsafeMutablePointer<Agnode_t>, to head: UnsafeMutablePointer<Agnode_t>)
        -> UnsafeMutablePointer<Agedge_t>?
    {
        objgraph_agedge(handle, tail, head, nil, 1)
    }

    /// `agsubg(g, name, 1)`: a subgraph (a cluster when `name` starts with `cluster`).
    func subgraph(_ name: String) -> UnsafeMutablePointer<Agraph_t>? {
        name.withMutableCString { objgraph_agsubg(handle, $0, 1) }
    }

    /// `agsafeset(object, name, value, "")` on a node, edge or subgraph. HTML values are interned
    /// with `agstrdup_html` first so Graphviz parses them as HTML-like labels.
    func set(_ object: UnsafeMutableRawPointer, _ name: String, _ value: AttributeValue) {
        value.withGraphvizString(in: handle) { v in
            name.withMutableCString { n in
                "".withMutableCString { empty in _ = objgraph_agsafeset(object, n, v, empty) }
            }
        }
    }
}

extension AttributeValue {
    /// Calls `body` with a C string Graphviz will interpret as this value: the plain text, or an
    /// `agstrdup_html` string that keeps its HTML mark while `body` runs.
    func withGraphvizString<R>(
        in graph: UnsafeMutablePointer<Agraph_t>,
        _ body: (UnsafeMutablePointer<CChar>) -> R
    ) -> R {
        switch self {
        case let .text(text):
            return text.withMutableCString(body)
        case let .html(markup):
            // agxset calls agstrdup, which finds this interned HTML string by its text and keeps
            // the HTML flag; our reference is released once Graphviz holds its own.
            let interned = markup.withMutableCString { objgraph_agstrdup_html(graph, $0) }!
            defer { objgraph_agstrfree(graph, interned) }
            return body(interned)
        }
    }
}

extension String {
    /// cgraph takes `char *` for names and values it only reads; this hands it a mutable view of
    /// a temporary C string.
    func withMutableCString<R>(_ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
        withCString { body(UnsafeMutablePointer(mutating: $0)) }
    }
}
