import Glibc
import Testing
import ObjGraphCore
import ObjGraphRender

/// Writing drawings to files: the format follows the extension, writes are atomic.
@Suite struct FileOutputTests {
    @Test func extensionChoosesTheFormat() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (graph, screen, _) = Scenario.closureCycle()
        try graph.showBackrefs([screen], to: "\(directory)/a.svg")
        try graph.showBackrefs([screen], to: "\(directory)/a.PNG")
        try graph.showBackrefs([screen], to: "\(directory)/a.dot")
        try graph.showBackrefs([screen], to: "\(directory)/a.gv")
        #expect(listDirectory(directory) == ["a.PNG", "a.dot", "a.gv", "a.svg"])
        #expect(String(decoding: readFile("\(directory)/a.svg") ?? [], as: UTF8.self).contains("</svg>"))
        #expect(Array((readFile("\(directory)/a.PNG") ?? []).prefix(8)) == pngSignature)
        let dotText = readFile("\(directory)/a.dot")
        #expect(dotText == Array(GraphDrawing.backrefs(of: [screen], in: graph).dotSource.utf8))
        #expect(dotText == readFile("\(directory)/a.gv"))
    }

    @Test func unknownExtensionIsNamedAndNothingIsWritten() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (graph, screen, _) = Scenario.closureCycle()
        let error = try #require(throws: DrawingFileError.self) {
            try graph.showBackrefs([screen], to: "\(directory)/drawing.jpeg2")
        }
        #expect(error == .unknownExtension("jpeg2", path: "\(directory)/drawing.jpeg2"))
        #expect(error.description.contains("unknown extension \".jpeg2\""))
        #expect(throws: DrawingFileError.unknownExtension("", path: "\(directory)/drawing")) {
            try graph.showBackrefs([screen], to: "\(directory)/drawing")
        }
        #expect(listDirectory(directory).isEmpty)
    }

    @Test func graphvizFailureLeavesNoFileAndKeepsTheOldOne() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (graph, a, _) = Scenario.pairCycle()
        var drawing = GraphDrawing.backrefs(of: [a], in: graph)
        try Graphviz.write(drawing, to: "\(directory)/out.svg")
        let before = readFile("\(directory)/out.svg")

        drawing.updateNode("o0") { $0["color"] = "not-a-colour" }
        #expect(throws: GraphvizError.self) { try Graphviz.write(drawing, to: "\(directory)/out.svg") }
        #expect(throws: GraphvizError.self) { try Graphviz.write(drawing, to: "\(directory)/new.png") }
        #expect(listDirectory(directory) == ["out.svg"])
        #expect(readFile("\(directory)/out.svg") == before)
    }

    @Test func missingDirectoryIsASystemError() throws {
        let (graph, a, _) = Scenario.pairCycle()
        let error = try #require(throws: SystemCallError.self) {
            try graph.showCycles([[a]], to: "/tmp/objgraph-no-such-dir-\(getpid())/x.svg")
        }
        #expect(error.call == "mkstemp")
        #expect(error.message == "No such file or directory")
    }

    @Test func eachVerbWritesItsDrawing() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (graph, storage, sessions) = Scenario.registryChain()
        let root = graph.roots(of: storage).first
        func written(_ name: String, _ write: (String) throws -> Void) throws -> [UInt8]? {
            try write("\(directory)/\(name).dot")
            return readFile("\(directory)/\(name).dot")
        }
        #expect(
            try written("chain") { try graph.showChain([storage, sessions[1]], root: root, to: $0) }
                == Array(GraphDrawing.chain([storage, sessions[1]], in: graph, root: root).dotSource.utf8))
        #expect(
            try written("refs") { try graph.showRefs([storage], maxDepth: 1, to: $0) }
                == Array(GraphDrawing.refs(of: [storage], in: graph, maxDepth: 1).dotSource.utf8))
        #expect(
            try written("backrefs") { try graph.showBackrefs([sessions[0]], tooMany: 1, to: $0) }
                == Array(GraphDrawing.backrefs(of: [sessions[0]], in: graph, tooMany: 1).dotSource.utf8))
        #expect(
            try written("groups") { try graph.showCycles([sessions], to: $0) }
                == Array(GraphDrawing.cycles([sessions], in: graph).dotSource.utf8))

        // The analyses' results: a chain from its root, cycles by reachability, leaks all red.
        let chain = try #require(graph.findBackrefChain(to: sessions[3]))
        #expect(chain.root != nil && chain.objects == [storage, sessions[3]])
        #expect(
            try written("reference-chain") { try graph.showChain(chain, to: $0) }
                == Array(GraphDrawing.chain([storage, sessions[3]], in: graph, root: chain.root).dotSource.utf8))
        let pair = Scenario.pairCycle()
        let cycles = pair.graph.cycles()
        #expect(cycles.map(\.members.count) == [2])
        #expect(
            try written("cycles") { try pair.graph.showCycles(cycles, to: $0) }
                == Array(GraphDrawing.cycles([cycles[0].members], in: pair.graph).dotSource.utf8))
        // A pair whose retain counts its own references explain: a leak although a stack word
        // points at it, so reachability alone would draw it grey.
        var s = HandBuiltSnapshot()
        let a = s.object("Fixtures.Pair", size: 32, strongCount: 1),
            b = s.object("Fixtures.Pair", size: 32, strongCount: 1)
        s.edge(a, b, "partner")
        s.edge(b, a, "partner")
        s.root(.stack, "thread 1 stack", a)
        let stale = s.graph()
        let groups = stale.leakingObjects()
        #expect(groups.map { Set($0.members) } == [[a, b]])
        let leaks = try written("leaks") { try stale.showLeaks(groups, to: $0) }
        #expect(
            leaks
                == Array(
                    GraphDrawing.cycles(groups.map(\.members), in: stale, isLeaked: { _ in true })
                        .dotSource.utf8))
        #expect(String(decoding: leaks ?? [], as: UTF8.self).contains("<B>leaked cycle 1</B>"))
        #expect(try dot(GraphDrawing.cycles(groups.map(\.members), in: stale)).contains("<B>cycle 1</B>"))
    }

    @Test func renderedAndWriteMatchGraphviz() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (graph, screen, _) = Scenario.closureCycle()
        let drawing = GraphDrawing.backrefs(of: [screen], in: graph)
        #expect(try drawing.rendered(as: .dot) == Array(drawing.dotSource.utf8))
        #expect(try drawing.rendered(as: .svg) == (try Graphviz.render(drawing, format: .svg)))
        try drawing.write(to: "\(directory)/a.svg")
        #expect(readFile("\(directory)/a.svg") == (try drawing.rendered(as: .svg)))

        var bad = drawing
        bad.updateNode("o\(screen)") { $0["fillcolor"] = "notacolour" }
        #expect(throws: GraphvizError.self) { try bad.rendered(as: .svg) }
        #expect(
            try String(decoding: bad.rendered(as: .svg, warningsAreErrors: false), as: UTF8.self).contains("</svg>"))
        #expect(throws: DrawingFileError.unknownExtension("txt", path: "\(directory)/b.txt")) {
            try drawing.write(to: "\(directory)/b.txt")
        }
        #expect(listDirectory(directory) == ["a.svg"])
    }

    /// Renders the closure cycle and the registry chain to /tmp/objgraph-png for a person to look at.
    @Test func pngsForInspection() throws {
        mkdir("/tmp/objgraph-png", 0o755)
        let closure = Scenario.closureCycle()
        try closure.graph.showBackrefs([closure.screen], to: "/tmp/objgraph-png/closure-cycle.png")
        try closure.graph.showCycles([[closure.screen, closure.context]], to: "/tmp/objgraph-png/closure-cycles.png")
        let registry = Scenario.registryChain()
        try registry.graph.showChain(
            [registry.storage, registry.sessions[3]],
            root: registry.graph.roots(of: registry.storage).first,
            to: "/tmp/objgraph-png/registry-chain.png")
        try registry.graph.showBackrefs([registry.sessions[3]], to: "/tmp/objgraph-png/registry-backrefs.png")
        let many = Scenario.manyReferrers()
        try many.graph.showBackrefs([many.target], to: "/tmp/objgraph-png/too-many.png")
        let unowned = Scenario.unownedParent()
        try unowned.graph.showRefs([unowned.parent], to: "/tmp/objgraph-png/unowned.png")
        for name in ["closure-cycle", "closure-cycles", "registry-chain", "registry-backrefs", "too-many", "unowned"] {
            let bytes = try #require(readFile("/tmp/objgraph-png/\(name).png"))
            #expect(Array(bytes.prefix(8)) == pngSignature)
            #expect(bytes.count > 2000)
        }
    }
}
