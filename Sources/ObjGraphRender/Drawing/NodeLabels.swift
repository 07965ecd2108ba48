import ObjGraphCore

/// How object and root nodes are labelled. Labels are HTML-like so the type can be bold and
/// the details small and grey:
///
/// ```
/// Session                      <- bold; red for the objects asked about
/// 0x55d0c2a3f4b0               <- small, grey
/// 48 B · rc 2                  <- small, grey; "· weak 1", "· zombie" when they apply
/// ```
///
/// Sizes read as in the text reports (`TextTable.bytes`: `48 B`, `1.5 KiB`, `3.2 MiB`); the
/// tooltip gives the exact byte count.
enum NodeLabels {
    /// Label, tooltip and flags of object `id`. An object `askedAbout` gets a red title and a
    /// thick red border.
    static func object(
        _ id: ObjectGraph.ObjectID, in snapshot: HeapSnapshot, shortNames: Bool,
        extraInfo: String?, askedAbout: Bool = false
    ) -> [String: AttributeValue] {
        let object = snapshot.objects[id]
        let type = snapshot.type(of: id)
        var title = shortNames ? type.shortName : type.name
        var kindNote: String?
        let closurePrefix = "closure context of "
        if title.hasPrefix(closurePrefix) {
            title.removeFirst(closurePrefix.count)
            kindNote = "closure context"
        }
        var details = "\(TextTable.bytes(Int(object.size))) · rc \(object.strongCount)"
        if object.weakCount > 0 { details += " · weak \(object.weakCount)" }
        if object.unownedCount > 0 { details += " · unowned \(object.unownedCount)" }
        if object.isZombie { details += " · zombie" }

        var html = ""
        if askedAbout { html += "<FONT COLOR=\"\(DrawingStyle.alertColour)\">" }
        html += "<B>\(AttributeValue.htmlEscaped(title))</B>"
        if askedAbout { html += "</FONT>" }
        if let kindNote { html += "<BR/>" + small("<I>\(kindNote)</I>") }
        html += "<BR/>" + small(hex(object.address))
        html += "<BR/>" + small(AttributeValue.htmlEscaped(details))
        if let extraInfo, !extraInfo.isEmpty {
            for line in extraInfo.split(separator: "\n", omittingEmptySubsequences: false) {
                html += "<BR/><FONT POINT-SIZE=\"9\">\(AttributeValue.htmlEscaped(String(line)))</FONT>"
            }
        }
        var attributes: [String: AttributeValue] = [
            "label": .html(html),
            "tooltip": .escapedLabel("\(type.name) at \(hex(object.address)), \(object.size) bytes"),
        ]
        if object.isZombie { attributes["style"] = "filled,rounded,dashed" }
        if askedAbout {
            attributes["color"] = .text(DrawingStyle.alertColour)
            attributes["penwidth"] = "2.2"
        }
        return attributes
    }

    /// Label of a root node: the root's name in bold, its kind small below.
    static func root(name: String, kind: HeapSnapshot.RootKind) -> [String: AttributeValue] {
        let detail: String
        switch kind {
        case .global: detail = "global"
        case .stack: detail = "stack"
        case .register: detail = "register"
        case .other: detail = "root"
        case .threadLocal: detail = "thread-local"
        }
        return [
            "label": .html("<B>\(AttributeValue.htmlEscaped(name))</B><BR/>" + small(detail)),
            "tooltip": .escapedLabel("root: \(name)"),
            "fillcolor": .text(DrawingStyle.rootFill),
            "color": .text(DrawingStyle.rootBorder),
            "style": "filled",
            "penwidth": "1.4",
        ]
    }

    /// `0x` and lowercase hex digits.
    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    private static func small(_ html: String) -> String {
        "<FONT POINT-SIZE=\"9\" COLOR=\"\(DrawingStyle.detailColour)\">\(html)</FONT>"
    }
}
