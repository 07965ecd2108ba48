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
        let error = try #require(throws: DrawingFileError.self) {
            try graph.showCycles([[a]], to: "/tmp/objgraph-no-such-dir-\(getpid())/x.svg")
        }
        guard case let .system(call, _, message) = error else {
            Issue.record("expected a system error, got \(error)")
            return
        }
        #expect(call == "mkstemp")
        #expect(message == "No such file or directory")
    }

    @Test func bytesFormsMatchTheDrawings() throws {
        let (graph, storage, sessions) = Scenario.registryChain()
        let root = graph.roots(of: storage).first
        #expect(try graph.showChain([storage, sessions[1]], root: root, format: .dot)
            == Array(GraphDrawing.chain([storage, sessions[1]], in: graph, root: root).dotSource.utf8))
        #expect(try graph.showRefs([storage], format: .dot)
            == Array(GraphDrawing.refs(of: [storage], in: graph).dotSource.utf8))
        #expect(try graph.showBackrefs([sessions[0]], format: .dot)
            == Array(GraphDrawing.backrefs(of: [sessions[0]], in: graph).dotSource.utf8))
        #expect(try graph.showCycles([sessions], format: .dot)
            == Array(GraphDrawing.cycles([sessions], in: graph).dotSource.utf8))
    }

    /// Renders the closure cycle and the registry chain to /tmp/objgraph-png for a person to look at.
    @Test func pngsForInspection() throws {
        mkdir("/tmp/objgraph-png", 0o755)
        let closure = Scenario.closureCycle()
        try closure.graph.showBackrefs([closure.screen], to: "/tmp/objgraph-png/closure-cycle.png")
        try closure.graph.showCycles([[closure.screen, closure.context]], to: "/tmp/objgraph-png/closure-cycles.png")
        let registry = Scenario.registryChain()
        try registry.graph.showChain([registry.storage, registry.sessions[3]],
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
