import Testing
import ObjGraphCore
import ObjGraphRender

/// The five fixture shapes, drawn and rendered to DOT and SVG.
@Suite struct ScenarioDrawingTests {
    @Test func pairCycleBackrefsShowsBothPartnerEdges() throws {
        let (graph, a, b) = Scenario.pairCycle()
        let drawing = GraphDrawing.backrefs(of: [a], in: graph)
        #expect(drawing.nodes.map(\.name) == ["o\(a)", "o\(b)"])

        let text = try dot(drawing)
        let edges = dotEdgeLines(in: text)
        #expect(edges.count == 2)
        #expect(edges.contains { $0.hasPrefix("\to\(b) -> o\(a) [") && $0.contains("label=\" partner \"") })
        #expect(edges.contains { $0.hasPrefix("\to\(a) -> o\(b) [") && $0.contains("label=\" partner \"") })
        // The object asked about: red title and thick red border; its referrer faded.
        let asked = dotNodeLine("o\(a)", in: text)
        #expect(asked.contains("<FONT COLOR=\"#c5221f\"><B>Pair</B></FONT>"))
        #expect(asked.contains("color=\"#c5221f\"") && asked.contains("penwidth=2.2"))
        #expect(asked.contains("0x5566a0001000") && asked.contains("32 B · rc 1"))
        #expect(dotNodeLine("o\(b)", in: text).contains("fillcolor=\"#ededed\""))

        let image = try svg(drawing)
        #expect(occurrences(of: ">Pair</text>", in: image) == 2)
        #expect(occurrences(of: "> partner </text>", in: image) == 2)
        #expect(image.contains("<title>o\(b)&#45;&gt;o\(a)</title>"))
    }

    @Test func closureCycleShowsContextStackRootAndSelfCapture() throws {
        let (graph, screen, context) = Scenario.closureCycle()
        let drawing = GraphDrawing.backrefs(of: [screen], in: graph)
        let text = try dot(drawing)
        // The closure context is titled by its closure, with its kind underneath.
        let contextLine = dotNodeLine("o\(context)", in: text)
        #expect(contextLine.contains("<B>closure #1 in Screen.bind()</B>"))
        #expect(contextLine.contains("<I>closure context</I>"))
        #expect(
            contextLine.contains(
                "tooltip=\"closure context of closure #1 in Fixtures.Screen.bind() at 0x5566a0001040, 32 bytes\""))
        // Both directions of the cycle, with their labels; the capture is conservative (grey).
        let edges = dotEdgeLines(in: text)
        #expect(
            edges.contains {
                $0.hasPrefix("\to\(screen) -> o\(context) [")
                    && $0.contains("label=\" onTap (closure #1 in Screen.bind()) \"")
            })
        #expect(
            edges.contains {
                $0.hasPrefix("\to\(context) -> o\(screen) [") && $0.contains("label=\" self \"")
                    && $0.contains("color=\"#5f6368\"") && !$0.contains("dashed")
            })
        // The stack root is its own green box pointing at the screen.
        #expect(dotNodeLine("r0", in: text).contains("<B>thread 1 stack</B>"))
        #expect(dotNodeLine("r0", in: text).contains("fillcolor=\"#b7e1b0\""))
        #expect(edges.contains { $0.hasPrefix("\tr0 -> o\(screen) [") })

        let image = try svg(drawing)
        #expect(image.contains(">closure #1 in Screen.bind()</text>"))
        #expect(image.contains("> onTap (closure #1 in Screen.bind()) </text>"))
        #expect(image.contains("> self </text>"))
        #expect(image.contains(">thread 1 stack</text>"))
        #expect(image.contains("fill=\"#b7e1b0\""))
    }

    @Test func registryBackrefsReachTheGlobalRoot() throws {
        let (graph, storage, sessions) = Scenario.registryChain()
        let target = sessions[3]
        let drawing = GraphDrawing.backrefs(of: [target], in: graph)
        #expect(drawing.nodes.map(\.name) == ["o\(storage)", "o\(target)", "r0"])
        let text = try dot(drawing)
        #expect(dotNodeLine("r0", in: text).contains("<B>static Fixtures.Session.registry</B>"))
        #expect(dotNodeLine("o\(storage)", in: text).contains("<B>Array&lt;Session&gt; storage</B>"))
        let edges = dotEdgeLines(in: text)
        #expect(
            edges == [
                "\to\(storage) -> o\(target) [color=\"#5f6368\", label=\" [3] \", tooltip=\"Array<Session> storage.[3] -> Session (conservative, offset 40)\"];",
                "\tr0 -> o\(storage) [tooltip=\"static Fixtures.Session.registry holds 0x5566a0001000\"];",
            ])
        let image = try svg(drawing)
        #expect(image.contains(">static Fixtures.Session.registry</text>"))
        #expect(image.contains(">Array&lt;Session&gt; storage</text>"))
        #expect(image.contains("> [3] </text>"))
    }

    @Test func qualifiedNamesWhenShortNamesIsOff() throws {
        let (graph, _, sessions) = Scenario.registryChain()
        let text = try dot(GraphDrawing.backrefs(of: [sessions[0]], in: graph, shortNames: false))
        #expect(text.contains("<B>Fixtures.Session</B>"))
        #expect(text.contains("<B>Array&lt;Fixtures.Session&gt; storage</B>"))
    }

    @Test func tooManyReferrersCollapseIntoOneRedNode() throws {
        let (graph, target, holders) = Scenario.manyReferrers(25)
        let drawing = GraphDrawing.backrefs(of: [target], in: graph, tooMany: 10)
        // The first ten referrers by id, the target, and one overflow node.
        let drawn = holders.prefix(10).map { "o\($0)" }
        #expect(drawing.nodes.map(\.name) == ["o\(target)"] + drawn + ["o\(target)_more"])
        let text = try dot(drawing)
        let more = dotNodeLine("o\(target)_more", in: text)
        #expect(more.contains("label=\"15 more referrers\""))
        #expect(more.contains("color=\"#c5221f\""))
        #expect(
            dotEdgeLines(in: text).contains(
                "\to\(target)_more -> o\(target) [color=\"#c5221f\", penwidth=1.2, style=dotted];"))
        #expect(dotEdgeLines(in: text).count == 11)

        let image = try svg(drawing)
        #expect(image.contains(">15 more referrers</text>"))
        #expect(occurrences(of: ">Holder</text>", in: image) == 10)
        #expect(image.contains("stroke-dasharray=\"1,5\""))  // the dotted red edge
    }

    @Test func unownedEdgesAreDashedAndGrey() throws {
        let (graph, parent, child) = Scenario.unownedParent()
        let drawing = GraphDrawing.refs(of: [parent], in: graph)
        let edges = dotEdgeLines(in: try dot(drawing))
        let unowned = try #require(edges.first { $0.hasPrefix("\to\(child) -> o\(parent) [") })
        #expect(unowned.contains("style=dashed"))
        #expect(unowned.contains("color=\"#9aa0a6\""))
        #expect(unowned.contains("label=\" parent (unowned) \""))
        let strong = try #require(edges.first { $0.hasPrefix("\to\(parent) -> o\(child) [") })
        #expect(!strong.contains("dashed"))

        let image = try svg(drawing)
        #expect(image.contains("> parent (unowned) </text>"))
        #expect(image.contains("stroke=\"#9aa0a6\" stroke-dasharray=\"5,2\""))
    }

    @Test func dotIsByteIdenticalAcrossRenders() throws {
        let drawings: [GraphDrawing] = [
            {
                let s = Scenario.pairCycle(); return GraphDrawing.backrefs(of: [s.a], in: s.graph)
            }(),
            {
                let s = Scenario.closureCycle(); return GraphDrawing.backrefs(of: [s.screen], in: s.graph)
            }(),
            {
                let s = Scenario.registryChain(); return GraphDrawing.backrefs(of: s.sessions, in: s.graph)
            }(),
            {
                let s = Scenario.manyReferrers(); return GraphDrawing.backrefs(of: [s.target], in: s.graph)
            }(),
            {
                let s = Scenario.unownedParent(); return GraphDrawing.refs(of: [s.parent], in: s.graph)
            }(),
        ]
        for drawing in drawings {
            let first = try Graphviz.render(drawing, format: .dot)
            let second = try Graphviz.render(drawing, format: .dot)
            #expect(first == second)
            #expect(!first.isEmpty)
        }
        // Rebuilding the drawing from a fresh graph gives the same bytes too.
        let a = Scenario.closureCycle(), b = Scenario.closureCycle()
        #expect(
            try dot(GraphDrawing.backrefs(of: [a.screen], in: a.graph))
                == (try dot(GraphDrawing.backrefs(of: [b.screen], in: b.graph))))
    }
}
