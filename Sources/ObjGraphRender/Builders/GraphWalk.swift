import ObjGraphCore

/// The breadth-first walk behind ``GraphDrawing/backrefs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``
/// and ``GraphDrawing/refs(of:in:maxDepth:filter:tooMany:highlight:extraInfo:shortNames:maxNodes:)``,
/// objgraph's `show_backrefs` / `show_refs` with nothing cut silently:
///
/// - Objects at depth below `maxDepth` are expanded: their first `tooMany` neighbours (roots
///   first, then objects) are drawn; the rest become one red "N more referrers" node.
/// - New objects stop being added once `maxNodes` objects are drawn; the neighbours that would
///   have been added become one grey "N more referrers, not followed" node.
/// - Objects at `maxDepth` are not expanded, but their edges to objects already in the drawing
///   are drawn (so cycles close); their other neighbours become one grey marker node.
/// - Neighbours rejected by `filter` are left out, as in objgraph.
struct GraphWalk {
    enum Direction { case referrers, referents }

    let graph: ObjectGraph
    let direction: Direction
    let maxDepth: Int
    let tooMany: Int
    let maxNodes: Int
    let shortNames: Bool
    let filter: ((ObjectGraph.ObjectID) -> Bool)?
    let highlight: ((ObjectGraph.ObjectID) -> Bool)?
    let extraInfo: ((ObjectGraph.ObjectID) -> String?)?

    /// A neighbour of an object: a root node (by the index of the first root with its kind and
    /// name) or another object with the edges joining the two.
    private enum Neighbour {
        case root(index: Int, root: HeapSnapshot.Root)
        case object(id: Int, edges: [HeapSnapshot.Edge])
    }

    private var snapshot: HeapSnapshot { graph.snapshot }
    private var noun: String { direction == .referrers ? "referrer" : "referent" }

    /// Draws the walk from `starts` (ids outside the snapshot are ignored).
    func draw(_ starts: [ObjectGraph.ObjectID]) -> GraphDrawing {
        var builder = DrawingBuilder()
        var depth: [Int: Int] = [:]
        var queue: [Int] = []
        let askedAbout = Set(starts)
        let rootIndex = direction == .referrers ? DrawingBuilder.rootIndices(in: snapshot) : [:]

        func addObject(_ id: Int, at level: Int) {
            depth[id] = level
            queue.append(id)
            builder.addNode(
                DrawingBuilder.objectKey(id), DrawingBuilder.objectName(id),
                objectAttributes(id, depth: level, askedAbout: askedAbout.contains(id)))
        }
        for id in starts where id >= 0 && id < graph.count && depth[id] == nil {
            addObject(id, at: 0)
        }

        var frontier: [Int] = []
        var head = 0
        while head < queue.count {
            let id = queue[head]
            head += 1
            let level = depth[id]!
            if level >= maxDepth {
                frontier.append(id)
                continue
            }
            var shown = 0, overflow = 0, cut = 0
            for neighbour in neighbours(of: id, rootIndex: rootIndex) {
                if shown >= max(tooMany, 0) {
                    overflow += 1
                    continue
                }
                switch neighbour {
                case let .root(index, root):
                    addRoot(index, root, &builder)
                    builder.addEdge(
                        DrawingBuilder.rootKey(index), DrawingBuilder.objectKey(id), order: 0,
                        ["tooltip": .escapedLabel("\(root.name) holds \(NodeLabels.hex(snapshot.objects[id].address))")]
                    )
                case let .object(other, edges):
                    if depth[other] == nil {
                        if depth.count >= maxNodes {
                            cut += 1
                            continue
                        }
                        addObject(other, at: level + 1)
                    }
                    addEdges(edges, &builder)
                }
                shown += 1
            }
            if overflow > 0 {
                addMarker(
                    for: id, kind: 1, text: "\(overflow) more \(plural(overflow))",
                    style: DrawingStyle.overflowNode, edge: DrawingStyle.overflowEdge, &builder)
            }
            if cut > 0 {
                addMarker(
                    for: id, kind: 2, text: "\(cut) more \(plural(cut))\nnot followed (node limit \(maxNodes))",
                    style: DrawingStyle.limitNode, edge: DrawingStyle.limitEdge, &builder)
            }
        }

        // Objects at the depth limit: close edges to objects already drawn, count the rest.
        for id in frontier {
            var hidden = 0
            for neighbour in neighbours(of: id, rootIndex: rootIndex) {
                if case let .object(other, edges) = neighbour, depth[other] != nil {
                    addEdges(edges, &builder)
                } else {
                    hidden += 1
                }
            }
            if hidden > 0 {
                addMarker(
                    for: id, kind: 3, text: "\(hidden) more \(plural(hidden))\nnot followed (depth \(maxDepth))",
                    style: DrawingStyle.limitNode, edge: DrawingStyle.limitEdge, &builder)
            }
        }
        return builder.finish()
    }

    private func plural(_ count: Int) -> String { count == 1 ? noun : noun + "s" }

    /// Roots first (by snapshot index), then objects: referrers by id, referents in field order.
    private func neighbours(of id: Int, rootIndex: [DrawingBuilder.RootIdentity: Int]) -> [Neighbour] {
        var result: [Neighbour] = []
        switch direction {
        case .referrers:
            var roots: [Int: HeapSnapshot.Root] = [:]
            for root in graph.roots(of: id) {
                let index = rootIndex[DrawingBuilder.RootIdentity(root)]!
                if roots[index] == nil { roots[index] = root }
            }
            for index in roots.keys.sorted() { result.append(.root(index: index, root: roots[index]!)) }
            var byReferrer: [Int: [HeapSnapshot.Edge]] = [:]
            for edge in graph.incoming(id) { byReferrer[Int(edge.from), default: []].append(edge) }
            for referrer in byReferrer.keys.sorted() where filter?(referrer) ?? true {
                result.append(.object(id: referrer, edges: byReferrer[referrer]!))
            }
        case .referents:
            var order: [Int] = []
            var byReferent: [Int: [HeapSnapshot.Edge]] = [:]
            for edge in graph.outgoing(id) {
                let to = Int(edge.to)
                if byReferent[to] == nil { order.append(to) }
                byReferent[to, default: []].append(edge)
            }
            for referent in order where filter?(referent) ?? true {
                result.append(.object(id: referent, edges: byReferent[referent]!))
            }
        }
        return result
    }

    private func objectAttributes(_ id: Int, depth: Int, askedAbout: Bool) -> [String: AttributeValue] {
        var attributes = NodeLabels.object(
            id, in: snapshot, shortNames: shortNames, extraInfo: extraInfo?(id),
            askedAbout: askedAbout)
        let highlighted = highlight?(id) ?? false
        attributes["fillcolor"] = .text(
            highlighted
                ? DrawingStyle.highlightFill
                : DrawingStyle.depthFill(depth: depth, maxDepth: maxDepth))
        return attributes
    }

    private func addRoot(_ index: Int, _ root: HeapSnapshot.Root, _ builder: inout DrawingBuilder) {
        let key = DrawingBuilder.rootKey(index)
        guard !builder.contains(key) else { return }
        builder.addNode(key, DrawingBuilder.rootName(index), NodeLabels.root(name: root.name, kind: root.kind))
    }

    private func addEdges(_ edges: [HeapSnapshot.Edge], _ builder: inout DrawingBuilder) {
        for edge in edges {
            builder.addEdge(
                DrawingBuilder.objectKey(Int(edge.from)), DrawingBuilder.objectKey(Int(edge.to)),
                order: Int(edge.offset), EdgeLabels.attributes(of: edge, in: snapshot, shortNames: shortNames))
        }
    }

    private func addMarker(
        for id: Int, kind: Int, text: String, style: (String) -> [String: AttributeValue],
        edge: [String: AttributeValue], _ builder: inout DrawingBuilder
    ) {
        let key = DrawingBuilder.markerKey(id, kind)
        let suffix = ["", "more", "limit", "depth"][kind]
        builder.addNode(key, "\(DrawingBuilder.objectName(id))_\(suffix)", style(text))
        switch direction {
        case .referrers: builder.addEdge(key, DrawingBuilder.objectKey(id), order: 0, edge)
        case .referents: builder.addEdge(DrawingBuilder.objectKey(id), key, order: 0, edge)
        }
    }
}
