import XCTest
import LeakyScenarios
import ObjGraph

/// Drawings of real captures of the fixtures (the other render tests use hand-built snapshots).
final class LiveRenderingTests: XCTestCase {
    func testClosureCycleAndRegistryChainFromARealCapture() throws {
        try ObjGraph.startTracking()
        ObjGraph.runOnFreshThread {
            makeClosureCycles(1)
            Session.open(id: 77)
        }
        let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
        let s = graph.snapshot
        let directory = NSTemporaryDirectory() + "objgraph-live-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let screenLeaks = graph.leakingObjects().filter { $0.members.contains { s.type(of: $0).shortName == "Screen" } }
        XCTAssertFalse(screenLeaks.isEmpty)
        try graph.showLeaks(Array(screenLeaks.suffix(1)), to: directory + "/leak.svg")
        let svg = try String(contentsOfFile: directory + "/leak.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("closure #1 in Screen.bind()"), svg)
        XCTAssertTrue(svg.contains("onTap (closure #1 in Screen.bind())"), svg)
        XCTAssertTrue(svg.contains("capture #1"), svg)
        XCTAssertTrue(svg.contains(">Screen<"), svg)

        let session = try XCTUnwrap(graph.objects(ofType: "Session").last)
        let chain = try XCTUnwrap(graph.findBackrefChain(to: session))
        try graph.showChain(chain, to: directory + "/chain.dot")
        let dot = try String(contentsOfFile: directory + "/chain.dot", encoding: .utf8)
        XCTAssertTrue(dot.hasPrefix("digraph"), dot)
        XCTAssertTrue(dot.contains("static LeakyScenarios.Session.registry"), dot)
        XCTAssertTrue(dot.contains("Array&lt;Session&gt; storage") || dot.contains("Array<Session> storage"), dot)
        try graph.showChain(chain, to: directory + "/chain.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/chain.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG file")
    }
}
