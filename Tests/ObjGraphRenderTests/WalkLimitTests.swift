import Testing
import ObjGraphCore
import ObjGraphRender

/// Depth, node and filter limits of the backrefs/refs walk: every cut is visible.
@Suite struct WalkLimitTests {
    /// root -> c0 -> c1 -> ... -> c5, each `Link.next`.
    static func linkedList(_ length: Int = 6) -> (graph: ObjectGraph, links: [Int]) {
        var s = HandBuiltSnapshot()
        let links = (0..<length).map { _ in s.object("Fixtures.Link", size: 32) }
        for (from, to) in zip(links, links.dropFirst()) { s.edge(from, to, "next") }
        s.root(.global, "static Fixtures.List.head", links[0])
        return (s.graph(), links)
    }

    @Test func depthLimitLeavesAVisibleMarker() throws {
        let (graph, links) = Self.linkedList()
        let drawing = GraphDrawing.backrefs(of: [links[5]], in: graph, maxDepth: 2)
        let names = drawing.nodes.map(\.name)
        #expect(names == ["o\(links[3])", "o\(links[4])", "o\(links[5])", "o\(links[3])_depth"])
        let text = try dot(drawing)
        #expect(
            dotNodeLine("o\(links[3])_depth", in: text).contains("label=\"1 more referrer\\nnot followed (depth 2)\""))
        #expect(dotNodeLine("o\(links[3])_depth", in: text).contains("style=\"dashed,rounded,filled\""))
        // Depth fades from white through grey.
        #expect(dotNodeLine("o\(links[5])", in: text).contains("fillcolor=\"#ffffff\""))
        #expect(dotNodeLine("o\(links[4])", in: text).contains("fillcolor=\"#e4e4e4\""))
        #expect(dotNodeLine("o\(links[3])", in: text).contains("fillcolor=\"#c8c8c8\""))
        #expect(try svg(drawing).contains(">not followed (depth 2)</text>"))
    }

    @Test func deepEnoughReachesTheRootWithNoMarker() throws {
        let (graph, links) = Self.linkedList()
        let drawing = GraphDrawing.backrefs(of: [links[5]], in: graph, maxDepth: 10)
        #expect(drawing.nodes.count == 7)
        #expect(drawing.contains("r0"))
        #expect(!drawing.nodes.contains { $0.name.hasSuffix("_depth") || $0.name.hasSuffix("_more") })
    }

    @Test func nodeLimitLeavesAVisibleMarker() throws {
        let (graph, target, _) = Scenario.manyReferrers(8)
        let drawing = GraphDrawing.backrefs(of: [target], in: graph, tooMany: 100, maxNodes: 4)
        #expect(drawing.nodes.filter { $0.name.hasPrefix("o") && !$0.name.contains("_") }.count == 4)
        let text = try dot(drawing)
        #expect(
            dotNodeLine("o\(target)_limit", in: text).contains(
                "label=\"5 more referrers\\nnot followed (node limit 4)\""))
    }

    @Test func frontierObjectsStillCloseCycles() throws {
        // With depth 1, b is not expanded, but its edge from a (already drawn) closes the cycle.
        let (graph, a, b) = Scenario.pairCycle()
        let drawing = GraphDrawing.backrefs(of: [a], in: graph, maxDepth: 1)
        #expect(drawing.edges.map { "\($0.from)->\($0.to)" } == ["o\(a)->o\(b)", "o\(b)->o\(a)"])
        #expect(!drawing.nodes.contains { $0.name.contains("_") })
    }

    @Test func filterDropsReferrersAndHighlightColoursThem() throws {
        let (graph, target, holders) = Scenario.manyReferrers(6)
        let even = Set(holders.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        let drawing = GraphDrawing.backrefs(
            of: [target], in: graph, filter: { even.contains($0) },
            highlight: { $0 == holders[2] },
            extraInfo: { $0 == target ? "cache entry\nkey=\"a\" & <b>" : nil })
        #expect(drawing.nodes.map(\.name) == ["o\(target)"] + even.sorted().map { "o\($0)" })
        let text = try dot(drawing)
        #expect(dotNodeLine("o\(holders[2])", in: text).contains("fillcolor=\"#a8c7fa\""))
        #expect(dotNodeLine("o\(holders[0])", in: text).contains("fillcolor=\"#ededed\""))
        let targetLine = dotNodeLine("o\(target)", in: text)
        #expect(targetLine.contains("<FONT POINT-SIZE=\"9\">cache entry</FONT>"))
        #expect(targetLine.contains("key=&quot;a&quot; &amp; &lt;b&gt;"))
        _ = try svg(drawing)  // the escaped extra info is valid HTML for Graphviz
    }

    @Test func refsWalkFollowsFieldOrderAndCountsReferents() throws {
        var s = HandBuiltSnapshot()
        let owner = s.object("Fixtures.Owner")
        let items = (0..<4).map { _ in s.object("Fixtures.Item", size: 16) }
        for (index, item) in items.reversed().enumerated() { s.edge(owner, item, "items[\(index)]") }
        let graph = s.graph()
        let drawing = GraphDrawing.refs(of: [owner], in: graph, tooMany: 2)
        // Field order picks the last two items first; the rest collapse into "2 more referents".
        #expect(Set(drawing.nodes.map(\.name)) == ["o\(owner)", "o\(items[3])", "o\(items[2])", "o\(owner)_more"])
        let text = try dot(drawing)
        #expect(dotNodeLine("o\(owner)_more", in: text).contains("label=\"2 more referents\""))
        #expect(dotEdgeLines(in: text).contains { $0.hasPrefix("\to\(owner) -> o\(owner)_more [") })
    }

    @Test func idsOutsideTheSnapshotAreIgnored() {
        let (graph, a, _) = Scenario.pairCycle()
        let drawing = GraphDrawing.backrefs(of: [a, 99, -1], in: graph)
        #expect(drawing.nodes.count == 2)
    }
}
