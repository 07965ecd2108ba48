import Foundation
import XCTest

/// The same fixture built as servers are deployed: dynamic, with `--static-swift-stdlib`
/// (scripts/test builds it into .build-static) and stripped. Each gives the same leaks and
/// types, or a one-line refusal saying why it cannot be observed; never a silent empty report.
final class DeployedBuildTests: CLITestCase {
    private var staticBuild: String {
        let build = (CLI.binDirectory as NSString).deletingLastPathComponent
        let root = ((build as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        return root + "/.build-static/debug"
    }

    private func requireStatic(_ name: String) throws -> String {
        let path = staticBuild + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            struct Missing: Error, CustomStringConvertible { var description: String }
            throw Missing(
                description:
                    "missing \(path): scripts/test builds it (swift build --static-swift-stdlib --scratch-path .build-static)"
            )
        }
        return path
    }

    private func stripped(_ path: String, as name: String) throws -> String {
        let copy = dir + "/" + name
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let strip = try CLI.run("/usr/bin/strip", [copy])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        return copy
    }

    private func report(_ program: String) throws -> (CLI.Result, Report) {
        let json = dir + "/\(UUID().uuidString).json"
        let result = try CLI.objgraph(["run", "--json", json, "--", program, "4"])
        return (result, try Report(path: json))
    }

    /// Counts by type name, closure contexts counted as one kind: a stripped binary has no
    /// symbol naming a closure (`closure context of closure #1 in Screen.bind()`), so its
    /// contexts are named by their captures (`closure context (2 captures)`), as the note says.
    private func byType(_ rows: [(String, Int)]) -> [String: Int] {
        rows.reduce(into: [:]) { $0[$1.0.hasPrefix("closure context") ? "closure context" : $1.0, default: 0] += $1.1 }
    }

    func testStaticStdlibAndStrippedBuildsReportTheSameLeaksAndTypes() throws {
        let dynamic = CLI.path("leaky-zoo")
        let (plainRun, plain) = try report(dynamic)
        XCTAssertEqual(plainRun.status, 0, plainRun.stderr)
        XCTAssertEqual(plain.leaked("Pair"), 8)
        for (name, program) in [
            ("static", try requireStatic("leaky-zoo")), ("stripped", try stripped(dynamic, as: "zoo-stripped")),
        ] {
            let (run, other) = try report(program)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            XCTAssertEqual(
                byType(other.leaks.map { ($0.type, $0.count) }), byType(plain.leaks.map { ($0.type, $0.count) }), name)
            XCTAssertEqual(
                byType(other.types.map { ($0.name, $0.count) }), byType(plain.types.map { ($0.name, $0.count) }), name)
            XCTAssertEqual(other.cycles(types: ["Pair", "Pair"], labels: ["partner", "partner"]).count, 4, name)
        }
        XCTAssertEqual(plain.leaked("closure context of closure #1 in Screen.bind()"), 4)
        // The chain of the registry: named by symbol, or by offset once the symbols are gone.
        let (_, strippedReport) = try report(try stripped(dynamic, as: "zoo-stripped-2"))
        let chain = try XCTUnwrap(strippedReport.chains.first { $0.chain.contains("Array<Session> storage") })
        XCTAssertTrue(chain.chain.hasPrefix("global in zoo-stripped-2+0x"), chain.chain)
        XCTAssertTrue(
            strippedReport.notes.contains { $0.contains("no symbol table in zoo-stripped-2 (stripped)") },
            "\(strippedReport.notes)")
        XCTAssertTrue(plain.chains.contains { $0.chain.hasPrefix("static LeakyScenarios.Session.registry -->") })
    }

    /// A static-stdlib program without its symbol table: the runtime's hook cannot be found, and
    /// objgraph says so in one line instead of reporting nothing.
    func testStrippedStaticStdlibBuildIsRefused() throws {
        let program = try stripped(try requireStatic("leaky-zoo"), as: "static-stripped")
        let result = try CLI.objgraph(["run", "--", program, "2"])
        XCTAssertEqual(result.status, 125)
        XCTAssertEqual(result.stdout, "", "the program did not run")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("carries its own Swift runtime (--static-swift-stdlib) and was stripped"),
            result.stderr)
    }

    /// A fully static executable (no dynamic loader: the static Linux SDK makes such Swift
    /// programs; `gcc -static` stands in) cannot have the agent preloaded: refused in one line.
    func testFullyStaticExecutableIsRefused() throws {
        let source = dir + "/hello.c", program = dir + "/hello-static"
        try "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n".write(
            toFile: source, atomically: true, encoding: .utf8)
        let cc = try CLI.run("/usr/bin/cc", ["-static", source, "-o", program])
        XCTAssertEqual(cc.status, 0, "cc -static: \(cc.stderr)")
        let result = try CLI.objgraph(["run", "--", program])
        XCTAssertEqual(result.status, 125)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("is statically linked (no dynamic loader), so the agent cannot be preloaded"),
            result.stderr)
    }

    /// A program that links ObjGraph and is built with --static-swift-stdlib: one runtime, the
    /// program's own, hooked from its symbol table. Same output as the dynamic build.
    func testLibraryInAStaticStdlibProgram() throws {
        let staticRun = try CLI.run(try requireStatic("objgraph-example"), [])
        let dynamicRun = try CLI.run(CLI.path("objgraph-example"), [])
        XCTAssertEqual(staticRun.status, 0, staticRun.stderr)
        XCTAssertEqual(dynamicRun.status, 0, dynamicRun.stderr)
        func normalized(_ text: String) -> String {
            text.replacingOccurrences(of: "0x[0-9a-f]+", with: "0x…", options: .regularExpression)
        }
        XCTAssertEqual(normalized(staticRun.stdout), normalized(dynamicRun.stdout))
        XCTAssertTrue(
            staticRun.stdout.contains("static LeakyScenarios.Session.registry --> Array<Session> storage"),
            staticRun.stdout)
    }

    /// A fault inside the agent is reported as the agent's, never blamed on the program.
    func testTheAgentsOwnFailureIsNamedAsSuch() throws {
        let result = try CLI.objgraph(
            ["run", "--", CLI.path("leaky-pairs"), "10"],
            environment: ["OBJGRAPH_TEST_AGENT_FAULT": "1", "SWIFT_BACKTRACE": "enable=no"])
        XCTAssertEqual(result.status, 128 + SIGSEGV, result.stderr)
        XCTAssertTrue(
            result.stderr.contains("objgraph's agent failed with signal 11 (SIGSEGV) in its exit handler"),
            result.stderr)
        XCTAssertTrue(result.stderr.contains("this is a bug in objgraph, not in the program"), result.stderr)
        XCTAssertFalse(result.stderr.contains("before its exit handlers ran"), result.stderr)
    }
}
