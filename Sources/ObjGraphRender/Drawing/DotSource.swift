extension GraphDrawing {
    /// The drawing as DOT source, written by ObjGraphRender itself rather than Graphviz so it
    /// needs no layout and is byte-identical for equal drawings on any machine: graph
    /// attributes, node and edge defaults (attributes sorted by name), then nodes, clusters and
    /// edges in drawing order.
    ///
    /// ```
    /// digraph ObjectGraph {
    ///     graph [bgcolor=white, fontname="Helvetica,Arial,sans-serif", ...];
    ///     o0 [fillcolor="#ffffff", label=<<B>Pair</B>...>];
    ///     o0 -> o1 [label=partner];
    /// }
    /// ```
    public var dotSource: String {
        var out = "digraph \(DotSyntax.id(name)) {\n"
        out += DotSyntax.statement("graph", attributes, indent: "\t")
        out += DotSyntax.statement("node", nodeDefaults, indent: "\t")
        out += DotSyntax.statement("edge", edgeDefaults, indent: "\t")
        for node in nodes {
            out += DotSyntax.statement(DotSyntax.id(node.name), node.attributes, indent: "\t", always: true)
        }
        for cluster in clusters {
            out += "\tsubgraph \(DotSyntax.id(cluster.graphvizName)) {\n"
            out += DotSyntax.statement("graph", cluster.attributes, indent: "\t\t")
            for member in cluster.nodes { out += "\t\t\(DotSyntax.id(member));\n" }
            out += "\t}\n"
        }
        for edge in edges {
            out += DotSyntax.statement(
                "\(DotSyntax.id(edge.from)) -> \(DotSyntax.id(edge.to))", edge.attributes,
                indent: "\t", always: true)
        }
        out += "}\n"
        return out
    }
}

/// Quoting rules of the DOT language.
enum DotSyntax {
    private static let keywords: Set<String> = ["node", "edge", "graph", "digraph", "subgraph", "strict"]

    /// `head [a=1, b="x y"];`, or nothing when there are no attributes and `always` is false.
    static func statement(
        _ head: String, _ attributes: [String: AttributeValue], indent: String,
        always: Bool = false
    ) -> String {
        if attributes.isEmpty { return always ? "\(indent)\(head);\n" : "" }
        let list = attributes.sorted { $0.key < $1.key }
            .map { "\(id($0.key))=\(value($0.value))" }
            .joined(separator: ", ")
        return "\(indent)\(head) [\(list)];\n"
    }

    /// A DOT ID: bare when it is a plain identifier or number, quoted otherwise.
    static func id(_ text: String) -> String {
        isBare(text) ? text : quoted(text)
    }

    /// An attribute value: HTML between angle brackets, text as an ID.
    static func value(_ value: AttributeValue) -> String {
        switch value {
        case let .text(text): return id(text)
        case let .html(markup): return "<\(markup)>"
        }
    }

    /// `"text"` with `"` escaped. Other backslashes pass through: DOT only unescapes `\"`, and
    /// Graphviz reads label escapes such as `\n` itself.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for ch in text {
            if ch == "\"" { out += "\\\"" } else { out.append(ch) }
        }
        return out + "\""
    }

    private static func isBare(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !keywords.contains(text.lowercased()) else { return false }
        let isLetter: (Unicode.Scalar) -> Bool = { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || $0 == "_" }
        let isDigit: (Unicode.Scalar) -> Bool = { $0 >= "0" && $0 <= "9" }
        if isLetter(first) {
            return text.unicodeScalars.allSatisfy { isLetter($0) || isDigit($0) }
        }
        // A numeral: [-]?(.[0-9]+ | [0-9]+(.[0-9]*)?)
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "-" { scalars = scalars.dropFirst() }
        guard !scalars.isEmpty, scalars.filter({ $0 == "." }).count <= 1,
            scalars.allSatisfy({ isDigit($0) || $0 == "." }), scalars.contains(where: isDigit)
        else { return false }
        return true
    }
}
