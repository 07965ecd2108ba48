import ObjGraphCore

/// Attributes of object-to-object edges: the field label, styled by how the reference holds
/// its target, and a tooltip naming both ends, the kind and the offset.
enum EdgeLabels {
    static func attributes(of edge: HeapSnapshot.Edge, in snapshot: HeapSnapshot, shortNames: Bool) -> [String:
        AttributeValue]
    {
        let label = snapshot.label(of: edge)
        let from = snapshot.type(of: Int(edge.from))
        let to = snapshot.type(of: Int(edge.to))
        let kind: String
        switch edge.kind {
        case .strong: kind = "strong"
        case .unowned: kind = "unowned"
        case .unownedUnsafe: kind = "unowned(unsafe)"
        case .conservative: kind = "conservative"
        }
        let tooltip =
            "\(shortNames ? from.shortName : from.name).\(label) -> \(shortNames ? to.shortName : to.name) (\(kind), offset \(edge.offset))"
        return DrawingStyle.edgeAttributes(label: label, kind: edge.kind, tooltip: tooltip)
    }
}
