import Testing
import ObjGraphCore
import ObjGraphRender

/// Graphviz's complaints become Swift errors carrying Graphviz's own words.
@Suite struct GraphvizErrorTests {
    static func smallDrawing() -> GraphDrawing {
        let (graph, a, _) = Scenario.pairCycle()
        return GraphDrawing.backrefs(of: [a], in: graph)
    }

    @Test func unknownFormatThrowsGraphvizMessage() {
        #expect {
            _ = try Graphviz.render(Self.smallDrawing(), format: "no-such-format")
        } throws: { error in
            guard let error = error as? GraphvizError else { return false }
            return error.operation == "render as \"no-such-format\"" && error.code != 0
                && error.message.contains("no-such-format") && error.messages.first?.hasPrefix("Error:") == true
        }
    }

    @Test func badAttributeValueThrowsGraphvizWarning() throws {
        var drawing = Self.smallDrawing()
        drawing.updateNode("o0") { $0["fillcolor"] = "notacolour" }
        let error = try #require(throws: GraphvizError.self) { try Graphviz.render(drawing, format: .svg) }
        #expect(error.message.contains("notacolour is not a known color"))
        #expect(error.description.hasPrefix("Graphviz failed to render as \"svg\": Warning: notacolour"))
        // The same drawing renders when warnings are tolerated.
        let bytes = try Graphviz.render(drawing, format: .svg, warningsAreErrors: false)
        #expect(String(decoding: bytes, as: UTF8.self).contains("</svg>"))
    }

    @Test func unknownShapeThrowsAtLayout() throws {
        var drawing = Self.smallDrawing()
        drawing.updateNode("o1") { $0["shape"] = "blob" }
        let error = try #require(throws: GraphvizError.self) { try Graphviz.render(drawing, format: .png) }
        #expect(error.operation.hasPrefix("lay out graph"))
        #expect(error.message.contains("unknown shape blob"))
    }

    @Test func malformedHTMLLabelThrowsGraphvizError() throws {
        var drawing = Self.smallDrawing()
        drawing.updateNode("o0") { $0["label"] = .html("<B>unclosed") }
        let error = try #require(throws: GraphvizError.self) { try Graphviz.render(drawing, format: .svg) }
        #expect(error.messages.contains { $0.hasPrefix("Error:") })
        #expect(error.message.contains("in label of node o0"))
    }

    @Test func dotSyntaxErrorThrows() throws {
        let error = try #require(throws: GraphvizError.self) {
            try Graphviz.render(dotSource: "digraph { a -> }", format: .svg)
        }
        // Graphviz 2.42's parser does not reset its line counter after a successful read of
        // text ending in a newline, so the line number depends on earlier renders.
        #expect(error.message.hasPrefix("Error: syntax error in line "))
        #expect(error.message.hasSuffix("near '}'"))
        #expect(error.operation == "read DOT source")
    }

    @Test func errorsDoNotLeakIntoTheNextRender() throws {
        var bad = Self.smallDrawing()
        bad.updateNode("o0") { $0["fillcolor"] = "notacolour" }
        _ = try? Graphviz.render(bad, format: .svg)
        _ = try Graphviz.render(Self.smallDrawing(), format: .svg)
    }

    @Test func generatedDotParsesBackInGraphviz() throws {
        for drawing in [
            Self.smallDrawing(),
            {
                let s = Scenario.pairCycle(); return GraphDrawing.cycles([[s.a, s.b]], in: s.graph)
            }(),
        ] {
            let bytes = try Graphviz.render(dotSource: drawing.dotSource, format: .svg)
            let fromSource = String(decoding: bytes, as: UTF8.self)
            #expect(fromSource == (try svg(drawing)))
        }
    }

    @Test func dotQuotingOfIdentifiersAndValues() {
        var drawing = GraphDrawing(name: "my graph", attributes: [:], nodeDefaults: [:], edgeDefaults: [:])
        drawing.addNode("node", ["label": "say \"hi\"", "width": "1.5", "height": "-2"])
        drawing.addNode("n-2", ["label": .html("<B>x</B>")])
        drawing.addEdge(from: "node", to: "n-2")
        #expect(
            drawing.dotSource == """
                digraph "my graph" {
                \t"node" [height=-2, label="say \\"hi\\"", width=1.5];
                \t"n-2" [label=<<B>x</B>>];
                \t"node" -> "n-2";
                }

                """)
    }

    @Test func concurrentRendersAreSerialised() async throws {
        let drawing = Self.smallDrawing()
        let expected = try Graphviz.render(drawing, format: .svg)
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<16 {
                group.addTask { try Graphviz.render(drawing, format: .svg) }
            }
            for try await bytes in group { #expect(bytes == expected) }
        }
    }
}
