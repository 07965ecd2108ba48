import Foundation
import XCTest

/// Snapshot files from `objgraph run --snapshot`, read back by stats, diff, leaks and render.
final class SnapshotCommandTests: CLITestCase {
    private func snapshot(_ fixture: String, _ args: [String], to name: String) throws -> String {
        let path = dir + "/" + name
        let result = try CLI.objgraph(["run", "--snapshot", path, "--quiet", "--", CLI.path(fixture)] + args)
        XCTAssertEqual(result.status, 0, result.stderr)
        return path
    }

    func testDiffOfAGrowingProgram() throws {
        let small = try snapshot("growing-cache", ["2", "100"], to: "small.ogs")
        let large = try snapshot("growing-cache", ["5", "100"], to: "large.ogs")
        let diff = try CLI.objgraph(["diff", small, large])
        XCTAssertEqual(diff.status, 0, diff.stderr)
        let row = try XCTUnwrap(diff.stdout.split(separator: "\n").first { $0.hasPrefix("CacheEntry ") }, diff.stdout)
        XCTAssertTrue(row.split(separator: " ").contains("+300"), String(row))
        let stats = try CLI.objgraph(["stats", large])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let census = try XCTUnwrap(
            stats.stdout.split(separator: "\n").first { $0.hasSuffix(" CacheEntry") }, stats.stdout)
        XCTAssertEqual(census.split(separator: " ").first, "500")
    }

    func testLeaksAndRenderFromASnapshot() throws {
        let zoo = try snapshot("leaky-zoo", ["2"], to: "zoo.ogs")
        let leaks = try CLI.objgraph(["leaks", zoo])
        XCTAssertEqual(leaks.status, 0, leaks.stderr)
        XCTAssertTrue(leaks.stdout.contains("ROOT CYCLE: <Pair 0x"), leaks.stdout)
        XCTAssertTrue(
            leaks.stdout.contains(
                "__strong onTap (closure #1 in Screen.bind()) --> <closure context of closure #1 in Screen.bind() 0x"),
            leaks.stdout)
        let svg = dir + "/sessions.svg"
        let render = try CLI.objgraph(["render", zoo, "--type", "Session", "-o", svg])
        XCTAssertEqual(render.status, 0, render.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("<?xml"), String(text.prefix(80)))
        XCTAssertTrue(text.contains("Session"))
        XCTAssertTrue(text.contains("static LeakyScenarios.Session.registry"), "the root is drawn with its name")
    }
}
