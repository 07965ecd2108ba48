import Foundation
import XCTest

/// The type zoo (what real Swift code puts on the heap: generic closures over associated types,
/// packs, actors, Foundation types...) under `objgraph run`, built in debug and in release
/// (`scripts/test` builds the release one). The census, the interval tables, the exit capture,
/// the drawing and the snapshot commands all name every type; the planted cycles are exact.
final class TypeZooRunTests: CLITestCase {
    /// Leaked objects of each planted class per planted round (see TypeZoo.plantLeaks).
    static let planted = [
        "GenericOwner<TextContainer>": 1, "PackHolder<Pack{ZooNode, String}>": 1, "Keeper": 1,
        "TreeOwner": 1, "Observer": 2, "Derived": 2,
    ]

    func testDebugBuild() throws { try checkZoo(CLI.path("type-zoo")) }

    /// The issue's six lines: the program runs to its end, its output intact, under the agent's
    /// census (every 0.1 s) and exit capture.
    func testGenericClosureOverAnAssociatedType() throws {
        let result = try CLI.objgraph(["run", "--interval", "0.1", "--", CLI.path("generic-closure")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "x\n")
        XCTAssertTrue(result.stderr.contains("exited with status 0"), result.stderr)
        XCTAssertTrue(
            result.stderr.contains("closure context of closure #1 in makeDefault<A where A: Container>"),
            result.stderr)
    }

    func testReleaseBuild() throws {
        let release = (CLI.binDirectory as NSString).deletingLastPathComponent + "/release/type-zoo"
        guard FileManager.default.fileExists(atPath: release) else {
            return XCTFail("missing \(release): scripts/test builds it (swift build -c release --product type-zoo)")
        }
        try checkZoo(release)
    }

    private func checkZoo(_ program: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let rounds = 3
        let json = dir + "/zoo.json", svg = dir + "/zoo.svg", ogs = dir + "/zoo.ogs"
        let result = try CLI.objgraph([
            "run", "--interval", "0.1", "--json", json, "--svg", svg, "--snapshot", ogs, "--",
            program, "\(rounds)", "350",
        ])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stdout.contains("type zoo: 21 kinds kept"), result.stdout, file: file, line: line)
        XCTAssertTrue(
            result.stderr.contains("objgraph: growth at"), "interval tables ran over the zoo", file: file, line: line)
        let report = try Report(path: json)
        let names = report.types.map(\.name) + report.growth.map(\.name) + report.leaks.map(\.type)
        for name in names {
            XCTAssertFalse(
                name.contains("invalid") || name.hasPrefix("type #") || name.contains("<<<")
                    || name.hasPrefix("heap object (kind"), name, file: file, line: line)
        }
        for kept in [
            "ExistentialHolder", "Record", "Thrower", "MainModel", "KeyPathHolder", "HandleHolder",
            "Outer<ZooNode>.Inner<Dictionary<String, ZooNode>>", "PackHolder<Pack{ZooNode, String, Int}>",
        ] {
            XCTAssertEqual(report.live(kept), 1, kept, file: file, line: line)
            XCTAssertEqual(report.leaked(kept), 0, kept, file: file, line: line)
        }
        for (type, perRound) in Self.planted {
            XCTAssertEqual(report.leaked(type), rounds * perRound, type, file: file, line: line)
        }
        let drawing = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(drawing.contains(">Keeper<") && drawing.contains(">TreeOwner<"), file: file, line: line)
        for command in [["stats", ogs], ["leaks", ogs], ["render", ogs, "--type", "ZooNode", "-o", dir + "/n.svg"]] {
            let run = try CLI.objgraph(command)
            XCTAssertEqual(run.status, 0, "\(command): \(run.stderr)", file: file, line: line)
        }
    }
}
