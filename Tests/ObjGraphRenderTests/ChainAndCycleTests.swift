import Testing
import ObjGraphCore
import ObjGraphRender

@Suite struct ChainAndCycleTests {
    @Test func chainIsOneLineFromTheRoot() throws {
        let (graph, storage, sessions) = Scenario.registryChain()
        let root = try #require(graph.roots(of: storage).first)
        let drawing = GraphDrawing.chain([storage, sessions[3]], in: graph, root: root)
        #expect(drawing.nodes.map(\.name) == ["r0", "o\(storage)", "o\(sessions[3])"])
        #expect(drawing.edges.map { "\($0.from)->\($0.to)" } == ["r0->o\(storage)", "o\(storage)->o\(sessions[3])"])
        let text = try dot(drawing)
        #expect(dotNodeLine("r0", in: text).contains("<B>static Fixtures.Session.registry</B>"))
        #expect(dotNodeLine("o\(sessions[3])", in: text).contains("<FONT COLOR=\"#c5221f\"><B>Session</B></FONT>"))
        #expect(dotEdgeLines(in: text)[1].contains("label=\" [3] \""))

        // One node per rank: every node has a distinct y in the layout.
        let image = try svg(drawing)
        #expect(image.contains("> [3] </text>"))
        #expect(image.contains(">static Fixtures.Session.registry</text>"))
    }

    @Test func chainMarksAMissingReference() throws {
        let (graph, _, sessions) = Scenario.registryChain()
        let drawing = GraphDrawing.chain([sessions[0], sessions[1]], in: graph)
        let edge = try #require(dotEdgeLines(in: try dot(drawing)).first)
        #expect(edge.contains("label=\"no reference\"") && edge.contains("style=dotted"))
    }

    @Test func chainJoinsParallelReferences() throws {
        var s = HandBuiltSnapshot()
        let a = s.object("Fixtures.A"), b = s.object("Fixtures.B")
        s.edge(a, b, "left")
        s.edge(a, b, "right")
        let drawing = GraphDrawing.chain([a, b], in: s.graph())
        #expect(drawing.edges.count == 1)
        #expect(try dot(drawing).contains("label=\" left, right \""))
    }

    @Test func leakedCycleIsARedCluster() throws {
        let (graph, a, b) = Scenario.pairCycle()
        let drawing = GraphDrawing.cycles([[b, a]], in: graph)
        #expect(drawing.clusters.count == 1)
        #expect(drawing.clusters[0].nodes == ["o\(a)", "o\(b)"])
        let text = try dot(drawing)
        #expect(text.contains("\tsubgraph cluster_0 {\n"))
        #expect(text.contains("<B>leaked cycle 1</B>"))
        #expect(text.contains("2 objects · 64 B"))
        #expect(text.contains("fillcolor=\"#fff3f0\""))
        #expect(dotNodeLine("o\(a)", in: text).contains("fillcolor=\"#f8c1b3\""))
        #expect(dotEdgeLines(in: text).count == 2)

        let image = try svg(drawing)
        #expect(image.contains("<title>cluster_0</title>"))
        #expect(image.contains(">leaked cycle 1</text>"))
        #expect(occurrences(of: "> partner </text>", in: image) == 2)
    }

    @Test func reachableCycleIsGreyAndLeakedOneRed() throws {
        // The closure cycle is held by a stack root; the pair is not held at all.
        var s = HandBuiltSnapshot()
        let screen = s.object("Fixtures.Screen")
        let context = s.object("closure context of closure #1 in Fixtures.Screen.bind()", kind: .closureContext)
        let p = s.object("Fixtures.Pair"), q = s.object("Fixtures.Pair")
        s.edge(screen, context, "onTap (closure #1 in Screen.bind())")
        s.edge(context, screen, "self", .conservative)
        s.edge(p, q, "partner")
        s.edge(q, p, "partner")
        s.root(.stack, "thread 1 stack", screen)
        let drawing = GraphDrawing.cycles([[screen, context], [p, q]], in: s.graph())
        let text = try dot(drawing)
        #expect(text.contains("<B>cycle 1</B>"))
        #expect(text.contains("2 objects · 96 B · reachable"))
        #expect(text.contains("<B>leaked cycle 2</B>"))
        #expect(dotNodeLine("o\(screen)", in: text).contains("fillcolor=\"#ffffff\""))
        #expect(dotNodeLine("o\(p)", in: text).contains("fillcolor=\"#f8c1b3\""))

        // An explicit verdict overrides reachability.
        let forced = GraphDrawing.cycles([[screen, context]], in: s.graph(), isLeaked: { _ in true })
        #expect(try dot(forced).contains("<B>leaked cycle 1</B>"))
    }

    @Test func sizesReadAsInTheTextReports() throws {
        // One rule with the reports (TextTable.bytes): bytes below 1 KiB, then one rounded decimal.
        var s = HandBuiltSnapshot()
        let small = s.object("Fixtures.Small", size: 1000), buffer = s.object("Fixtures.Buffer", size: 1536)
        let big = s.object("Fixtures.Big", size: 12_861), huge = s.object("Fixtures.Huge", size: 3 * 1024 * 1024)
        s.edge(small, buffer, "buffer")
        s.edge(buffer, big, "big")
        s.edge(big, huge, "huge")
        s.edge(huge, small, "small")
        let text = try dot(GraphDrawing.cycles([[small, buffer, big, huge]], in: s.graph()))
        #expect(dotNodeLine("o\(small)", in: text).contains(">1000 B · rc 1<"))
        #expect(dotNodeLine("o\(buffer)", in: text).contains(">1.5 KiB · rc 1<"))
        #expect(dotNodeLine("o\(big)", in: text).contains(">12.6 KiB · rc 1<"))
        #expect(dotNodeLine("o\(huge)", in: text).contains(">3.0 MiB · rc 1<"))
        #expect(dotNodeLine("o\(buffer)", in: text).contains(", 1536 bytes\""))  // the tooltip stays exact
        #expect(text.contains("4 objects · 3.0 MiB"))
    }
}
