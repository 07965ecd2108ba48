import Foundation
import XCTest

/// Reports stay right and readable on the shapes real programs make (fixtures/report-shapes):
/// objects held by the frame that calls `exit()` are alive, growth inside leaked cycles is not
/// explained by an unrelated instance, and big leaked structures cost a bounded number of
/// lines, bytes of JSON and nodes of a drawing.
final class ReportShapeTests: CLITestCase {
    private func run(
        _ arguments: [String], options: [String] = [], file: StaticString = #filePath, line: UInt = #line
    ) throws -> (report: Report, stderr: String, jsonBytes: Int) {
        let json = dir + "/\(arguments[0]).json"
        let result = try CLI.objgraph(
            ["run", "--json", json] + options + ["--", CLI.path("report-shapes")] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: json)[.size] as? Int) ?? 0
        return (try Report(path: json), result.stderr, bytes)
    }

    private func leaks(_ report: Report) -> [String: Int] {
        report.leaks.reduce(into: [:]) { $0[$1.type] = $1.count }
    }

    private func lines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false) }

    /// `exit(0)` from a function whose frame holds a `Request`: the frames above `exit()` are
    /// roots, the request is alive, not leaked (valgrind: still reachable).
    func testObjectsHeldByTheFrameCallingExitAreNotLeaks() throws {
        let json = dir + "/exit.json"
        let result = try CLI.objgraph(["run", "--json", json, "--", CLI.path("report-shapes"), "exit-frame", "7"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "handled /items/7\n")
        let report = try Report(path: json)
        XCTAssertEqual(leaks(report), [:], report.leaksText)
        XCTAssertEqual(report.live("Request"), 1)
    }

    /// Growth that sits in leaked cycles is said to be there; one `Message` a static holds
    /// does not stand for the 50 leaked ones.
    func testGrowthInsideLeakedCyclesIsNotExplainedByAnUnrelatedInstance() throws {
        let (report, _, _) = try run(["growth-in-cycles", "50"])
        XCTAssertEqual(leaks(report), ["Message": 50, "Reply": 50], report.leaksText)
        let message = report.chains.first { $0.type == "Message" }?.chain ?? ""
        XCTAssertTrue(
            message.hasPrefix("50 of the 51 instances are in leaked cycles (see Leaks); 1 reachable, e.g. static "),
            message)
        XCTAssertTrue(
            message.hasSuffix("Message.pinned --> Message 0x" + message.split(separator: "0x").last!), message)
        let reply = report.chains.first { $0.type == "Reply" }?.chain ?? ""
        XCTAssertEqual(reply, "none reachable: all 50 new instances are in leaked cycles (see Leaks)")
    }

    /// A leaked ring, a doubly linked list and a cycle holding a tree of 5,000 objects each:
    /// the tree stops at 40 lines with the rest counted by type, the JSON lists 1,000 objects
    /// of a cycle, `--full` prints everything with lines that stop moving right.
    func testBigLeakedStructuresAreSummarised() throws {
        for (shape, type) in [("ring", "RingLink"), ("list", "ListNode")] {
            let (report, stderr, jsonBytes) = try run([shape, "5000"])
            XCTAssertEqual(leaks(report), [type: 5000], report.leaksText)
            let text = lines(report.leaksText)
            XCTAssertLessThanOrEqual(text.count, 50, report.leaksText)
            XCTAssertTrue(
                report.leaksText.contains("      ... 4959 more objects in this structure: 4959 \(type)\n"),
                report.leaksText)
            XCTAssertTrue(report.leaksText.contains("(structures cut at 40 lines"), report.leaksText)
            XCTAssertTrue(text.contains { $0.contains("(depth 40) __strong next --> <\(type) 0x") }, report.leaksText)
            XCTAssertEqual(report.cycles.first?.objects.count, 1000)
            XCTAssertEqual(report.cycles.first?.objectsOmitted, 4000)
            XCTAssertLessThan(jsonBytes, 200_000)
            XCTAssertLessThan(stderr.utf8.count, 20_000)

            let (full, _, _) = try run([shape, "5000"], options: ["--full"])
            let fullLines = lines(full.leaksText)
            XCTAssertGreaterThanOrEqual(fullLines.count, 5000)
            XCTAssertLessThanOrEqual(fullLines.map(\.count).max() ?? 0, 120, "indentation is capped")
            XCTAssertFalse(full.leaksText.contains("more objects in this structure"))
            XCTAssertEqual(full.cycles.first?.objects.count, 5000)
        }

        // The cycle's spine first, then the tree it holds, cut and counted.
        let (suite, _, _) = try run(["suite", "5000"])
        let text = lines(suite.leaksText)
        XCTAssertTrue(text[2].hasPrefix("    5003 (") && text[2].contains("ROOT CYCLE: <Suite 0x"), suite.leaksText)
        XCTAssertTrue(text[3].hasPrefix("      __strong run --> <SuiteRun 0x"), suite.leaksText)
        XCTAssertTrue(text[4].hasPrefix("         __strong suite --> CYCLE BACK TO <Suite 0x"), suite.leaksText)
        XCTAssertTrue(
            suite.leaksText.contains("... 4963 more objects in this structure: 4963 TestCase\n"), suite.leaksText)
    }

    /// `objgraph leaks` on a saved snapshot cuts the same way; `--full` prints it whole.
    func testLeaksCommandCutsBigStructures() throws {
        let snapshot = dir + "/ring.ogs"
        let run = try CLI.objgraph(
            ["run", "--quiet", "--snapshot", snapshot, "--", CLI.path("report-shapes"), "ring", "3000"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let cut = try CLI.objgraph(["leaks", snapshot])
        XCTAssertEqual(cut.status, 0, cut.stderr)
        XCTAssertTrue(
            cut.stdout.hasPrefix("3000 leaked objects for 72000 total leaked bytes in 1 group.\n"), cut.stdout)
        XCTAssertTrue(cut.stdout.contains("... 2959 more objects in this structure: 2959 RingLink\n"), cut.stdout)
        XCTAssertLessThanOrEqual(lines(cut.stdout).count, 50)
        let full = try CLI.objgraph(["leaks", "--full", snapshot])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(lines(full.stdout).filter { $0.contains("--> <RingLink 0x") }.count, 2999)
        XCTAssertEqual(lines(full.stdout).filter { $0.contains("--> CYCLE BACK TO <RingLink 0x") }.count, 1)
    }

    /// A long generic name is cut in its middle in the tables, whole in the JSON and with
    /// `--wide`; a 10 MB object keeps the census columns apart; the growth table names a
    /// closure context after its closure as the live table does.
    func testTablesStayReadable() throws {
        let long =
            "Envelope<VeryLongGenericParameterNameForTheReportWidthTest<Dictionary<String, "
            + "VeryLongGenericParameterNameForTheReportWidthTest<Dictionary<Int, Array<String>>>>>>"
        let (report, stderr, _) = try run(["long-names", "3"])
        XCTAssertEqual(report.live(long), 3, "\(report.types)")
        let cut = "Envelope<VeryLongGenericParamet…ctionary<Int, Array<String>>>>>>"
        XCTAssertEqual(cut.count, 64)
        XCTAssertTrue(stderr.contains("       3         72      24.0   \(cut)\n"), stderr)
        XCTAssertTrue(stderr.contains("\n\(cut)        3        +3\n"), stderr)
        XCTAssertTrue(stderr.contains("\n   \(cut): "), "the chains' labels are cut like the tables: \(stderr)")
        let tables = lines(stderr).filter { $0.contains("Envelope<") && !$0.contains("-->") }  // chains are not tables
        XCTAssertEqual(tables.count, 4, stderr)
        XCTAssertLessThanOrEqual(tables.map(\.count).max() ?? 0, 100, stderr)
        let (_, wide, _) = try run(["long-names", "3"], options: ["--wide"])
        XCTAssertTrue(wide.contains("   \(long)\n"), wide)

        let (_, big, _) = try run(["big-object"])
        let row = lines(big).first { $0.hasSuffix("   Array<UInt8> storage") }.map(String.init) ?? ""
        let fields = row.split(separator: " ")
        XCTAssertEqual(fields.count, 5, row)
        XCTAssertEqual(fields.first, "1", row)
        XCTAssertGreaterThan(Int(fields[1]) ?? 0, 10 << 20, row)
        XCTAssertEqual(fields[2], fields[1] + ".0", row)

        let json = dir + "/closures.json"
        let closures = try CLI.objgraph(["run", "--json", json, "--", CLI.path("leaky-closures")])
        XCTAssertEqual(closures.status, 0, closures.stderr)
        let named = "closure context of closure #1 in Screen.bind()"
        let growth = try Report(path: json).growth.map(\.name)
        XCTAssertTrue(growth.contains(named), "\(growth)")
        XCTAssertFalse(growth.contains { $0.hasPrefix("closure context (") }, "\(growth)")
        XCTAssertTrue(closures.stderr.contains("\n\(named)      "), closures.stderr)
    }

    /// SIGKILL during the agent's final report (no crash file can be written) is told apart
    /// from a kill before the exit handlers: the note says which.
    func testAKillDuringTheFinalReportIsToldApart() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.path("objgraph"))
        process.arguments = ["run", "--", CLI.path("report-shapes"), "ring", "400000"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // The fixture's line comes just before exit(): its exit handlers (the final report of a
        // 400,000-node ring, seconds in a debug build) are then running.
        var line = ""
        while !line.contains("\n") {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        XCTAssertEqual(line, "report-shapes: ring 400000\n")
        usleep(300_000)
        let pkill = Process()  // the program is the command's only child
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-KILL", "-P", String(process.processIdentifier)]
        try pkill.run()
        pkill.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + 9, stderr)
        XCTAssertTrue(
            stderr.contains(
                "was killed by signal 9 (SIGKILL) while objgraph's exit handler was making the final report: no final snapshot"
            ), stderr)
        XCTAssertFalse(stderr.contains("before its exit handlers ran"), stderr)
    }

    /// Drawings merge identical structures like the text, and cap the objects drawn of a big one.
    func testDrawingsMergeIdenticalStructuresAndCapBigOnes() throws {
        let same = dir + "/same.svg"
        let first = try CLI.objgraph(["run", "--draw", same, "--", CLI.path("report-shapes"), "same-cycles", "20"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let sameText = try String(contentsOfFile: same, encoding: .utf8)
        XCTAssertEqual(sameText.components(separatedBy: "leaked cycle ").count - 1, 1)
        XCTAssertTrue(sameText.contains("20 instances · 2 objects each · 960 B in all"), sameText)

        let ring = dir + "/ring.svg"
        let second = try CLI.objgraph(["run", "--draw", ring, "--", CLI.path("report-shapes"), "ring", "1000"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let ringText = try String(contentsOfFile: ring, encoding: .utf8)
        XCTAssertEqual(ringText.components(separatedBy: ">RingLink<").count - 1, 40)
        XCTAssertTrue(ringText.contains("960 more objects: 960 RingLink"), ringText)
    }
}
