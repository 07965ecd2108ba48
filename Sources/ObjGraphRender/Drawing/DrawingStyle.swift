import ObjGraphCore

/// The house style of ObjGraphRender drawings: objgraph's conventions, made easier to read.
///
/// - Objects are rounded boxes: type in bold, then address, size and strong retain count.
/// - The objects you asked about have red text and a thick red border.
/// - Fill fades from white to grey with distance from them; objects your `highlight` predicate
///   picks are light blue; roots (globals, stacks) are green boxes.
/// - `unowned` edges are dashed and grey; strong edges are solid and dark.
/// - When a node has more neighbours than shown, one red "N more referrers" node says how many,
///   joined by a dotted red edge; a grey dashed node says how many were not followed because of
///   the depth or node limit.
/// - Leaked cycles sit in red clusters with salmon nodes; other cycles in grey clusters.
public enum DrawingStyle {
    /// Font list used for every label; SVG viewers and cairo pick the first one installed.
    public static let fontName: AttributeValue = "Helvetica,Arial,sans-serif"

    /// Root graph attributes of every drawing.
    public static let graphAttributes: [String: AttributeValue] = [
        "bgcolor": "white", "fontname": fontName, "fontsize": "11",
        "nodesep": "0.3", "ranksep": "0.45", "pad": "0.2",
    ]

    /// Default node attributes: white rounded boxes with a grey border.
    public static let nodeDefaults: [String: AttributeValue] = [
        "shape": "box", "style": "filled,rounded", "fillcolor": "white", "color": "#5f6368",
        "fontname": fontName, "fontsize": "11", "fontcolor": "#202124", "margin": "0.14,0.06",
        "penwidth": "1",
    ]

    /// Default edge attributes: dark arrows with small grey labels.
    public static let edgeDefaults: [String: AttributeValue] = [
        "color": "#3c4043", "fontname": fontName, "fontsize": "9", "fontcolor": "#5f6368",
        "arrowsize": "0.7", "penwidth": "1",
    ]

    /// Text colour of secondary label lines (address, size, counts).
    public static let detailColour = "#5f6368"
    /// Red of the asked-about objects and of overflow markers.
    public static let alertColour = "#c5221f"
    /// Fill of objects picked by a `highlight` predicate.
    public static let highlightFill = "#a8c7fa"
    /// Fill and border of root nodes.
    public static let rootFill = "#b7e1b0", rootBorder = "#2e7d32"
    /// Fill and border of objects in leaked cycles, and of their clusters.
    public static let leakedFill = "#f8c1b3", leakedClusterFill = "#fff3f0", leakedBorder = "#c5221f"
    /// Fill and border of clusters of cycles that are still reachable from a root.
    public static let cycleClusterFill = "#f6f7f9", cycleBorder = "#9aa0a6"
    /// Colour of `unowned` edges.
    public static let unownedColour = "#9aa0a6"
    /// Resolution of PNG output unless a drawing sets `dpi` itself: twice Graphviz's 72, so
    /// small labels stay sharp.
    public static let pngDPI = "144"

    /// objgraph's depth fade, lightened so black text stays readable: white at depth 0 to a
    /// light grey (`#c8c8c8`) at `maxDepth`.
    public static func depthFill(depth: Int, maxDepth: Int) -> String {
        guard maxDepth > 0, depth > 0 else { return "#ffffff" }
        let fraction = Double(min(depth, maxDepth)) / Double(maxDepth)
        let level = Int((255.0 - 55.0 * fraction).rounded())
        return "#" + hexByte(level) + hexByte(level) + hexByte(level)
    }

    /// Attributes of an edge of `kind` whose field label is `label`.
    ///
    /// Labels get a space on each side: dot places the labels of a two-object cycle side by side,
    /// and without it they run together (`partnerpartner`).
    static func edgeAttributes(label: String, kind: HeapSnapshot.EdgeKind, tooltip: String) -> [String: AttributeValue]
    {
        var attributes: [String: AttributeValue] = ["tooltip": .escapedLabel(tooltip)]
        switch kind {
        case .strong:
            attributes["label"] = .escapedLabel(" \(label) ")
        case .conservative:
            // Same weight as a strong edge (it keeps its target alive) but a softer grey: the
            // capture found an address here without field metadata to say what it is.
            attributes["label"] = .escapedLabel(" \(label) ")
            attributes["color"] = "#5f6368"
        case .unowned, .unownedUnsafe:
            let word = kind == .unowned ? "unowned" : "unowned(unsafe)"
            attributes["label"] = .escapedLabel(label.isEmpty ? " \(word) " : " \(label) (\(word)) ")
            attributes["style"] = "dashed"
            attributes["color"] = .text(unownedColour)
            attributes["fontcolor"] = .text(unownedColour)
            attributes["arrowhead"] = "vee"
        }
        return attributes
    }

    /// The red box that stands for `count` neighbours beyond `tooMany`.
    static func overflowNode(_ text: String) -> [String: AttributeValue] {
        [
            "label": .escapedLabel(text), "fillcolor": "#fde0dd", "color": .text(alertColour),
            "fontcolor": .text(alertColour), "penwidth": "1.2",
        ]
    }

    /// The dotted red edge joining an overflow box to its node.
    static let overflowEdge: [String: AttributeValue] = [
        "style": "dotted", "color": .text(alertColour), "penwidth": "1.2",
    ]

    /// The grey dashed box that stands for neighbours not followed (depth or node limit).
    static func limitNode(_ text: String) -> [String: AttributeValue] {
        [
            "label": .escapedLabel(text), "style": "dashed,rounded,filled", "fillcolor": "#f1f3f4",
            "color": "#80868b", "fontcolor": "#5f6368", "fontsize": "10",
        ]
    }

    /// A cluster around a group of objects (a cycle, a leaked structure): bold title, detail in
    /// small type, red when leaked, grey otherwise.
    static func groupCluster(title: String, detail: String, leaked: Bool) -> [String: AttributeValue] {
        [
            "label": .html("<B>\(title)</B>  <FONT POINT-SIZE=\"10\">\(AttributeValue.htmlEscaped(detail))</FONT>"),
            "style": "filled,rounded,dashed",
            "fillcolor": .text(leaked ? leakedClusterFill : cycleClusterFill),
            "color": .text(leaked ? leakedBorder : cycleBorder),
            "fontcolor": .text(leaked ? leakedBorder : detailColour),
            "labeljust": "l", "margin": "12",
        ]
    }

    /// The dotted grey edge joining a limit box to its node.
    static let limitEdge: [String: AttributeValue] = ["style": "dotted", "color": "#80868b"]

    private static func hexByte(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        let v = max(0, min(255, value))
        return String([digits[v / 16], digits[v % 16]])
    }
}
