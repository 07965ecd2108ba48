import Foundation
import XCTest

/// Bad input gets one clear line and a non-zero exit, never a crash or a partial file.
final class ErrorHandlingTests: CLITestCase {
    private func assertOneLineError(
        _ result: CLI.Result, status: Int32, contains text: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(result.status, status, result.stderr, file: file, line: line)
        XCTAssertFalse(result.terminatedBySignal, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(text), result.stderr, file: file, line: line)
    }

    func testMissingProgram() throws {
        assertOneLineError(
            try CLI.objgraph(["run", "--", "/no/such/program"]), status: 127,
            contains: "no such program: /no/such/program")
        assertOneLineError(
            try CLI.objgraph(["run", "--", "no-such-program-on-path"]), status: 127, contains: "not found on PATH")
    }

    func testNoProgram() throws {
        assertOneLineError(try CLI.objgraph(["run"]), status: 2, contains: "no program given")
    }

    func testUnwritableOutputIsRefusedBeforeRunning() throws {
        let result = try CLI.objgraph(["run", "--json", "/no/such/dir/out.json", "--", CLI.path("leaky-pairs")])
        assertOneLineError(result, status: 2, contains: "no such directory")
        XCTAssertFalse(result.stdout.contains("leaked"), "the program must not have run")
    }

    func testMissingSnapshotFile() throws {
        assertOneLineError(
            try CLI.objgraph(["stats", dir + "/missing.ogs"]), status: 1, contains: "no such snapshot file")
    }

    func testCorruptAndTruncatedSnapshots() throws {
        let garbage = dir + "/garbage.ogs"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }).write(
            to: URL(fileURLWithPath: garbage))
        for command in ["stats", "leaks"] {
            assertOneLineError(try CLI.objgraph([command, garbage]), status: 1, contains: "garbage.ogs")
        }
        // A real snapshot, cut short at several points.
        let good = dir + "/good.ogs"
        XCTAssertEqual(
            try CLI.objgraph(["run", "--snapshot", good, "--quiet", "--", CLI.path("leaky-pairs"), "5"]).status, 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        XCTAssertGreaterThan(bytes.count, 100)
        for cut in [0, 7, 16, bytes.count / 3, bytes.count - 1] {
            let truncated = dir + "/cut-\(cut).ogs"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: truncated))
            assertOneLineError(try CLI.objgraph(["stats", truncated]), status: 1, contains: "cut-\(cut).ogs")
        }
        XCTAssertEqual(try CLI.objgraph(["stats", good]).status, 0)
    }

    func testRenderErrors() throws {
        let snapshot = dir + "/zoo.ogs"
        XCTAssertEqual(
            try CLI.objgraph(["run", "--snapshot", snapshot, "--quiet", "--", CLI.path("leaky-zoo"), "1"]).status, 0)
        assertOneLineError(
            try CLI.objgraph(["render", snapshot, "--type", "NoSuchType", "-o", dir + "/x.svg"]),
            status: 1, contains: "no objects of type NoSuchType")
        assertOneLineError(
            try CLI.objgraph(["render", snapshot, "--type", "Pair", "-o", dir + "/x.bmpx"]),
            status: 2, contains: "unknown extension")
        assertOneLineError(
            try CLI.objgraph(["render", snapshot, "--address", "zz", "-o", dir + "/x.svg"]),
            status: 2, contains: "The value 'zz' is invalid for '--address <address>'")
        assertOneLineError(
            try CLI.objgraph(["render", snapshot, "-o", dir + "/x.svg"]),
            status: 2, contains: "exactly one of --type or --address")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.svg"), "nothing written on failure")
    }
}

/// The command line in swift-argument-parser's shape: help for every subcommand, a version,
/// value names, and one error convention (one line, status 2 for usage errors).
final class CommandLineShapeTests: CLITestCase {
    func testVersionAndHelp() throws {
        let version = try CLI.objgraph(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(
            version.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, version.stdout)
        for arguments in [["run", "--help"], ["help", "run"], ["run", "-h"]] {
            let help = try CLI.objgraph(arguments)
            XCTAssertEqual(help.status, 0, "\(arguments): \(help.stderr)")
            XCTAssertTrue(
                help.stdout.contains("USAGE: objgraph run [--interval <seconds>] [--json <file>]"), help.stdout)
            XCTAssertTrue(help.stdout.contains("--draw, --svg <file>"), help.stdout)
            XCTAssertTrue(
                help.stdout.contains("SIGTERM, SIGINT and SIGHUP sent to objgraph are passed on"), help.stdout)
        }
        let stats = try CLI.objgraph(["help", "stats"])
        XCTAssertTrue(stats.stdout.contains("--limit <n>") && stats.stdout.contains("--qualified"), stats.stdout)
    }

    func testUsageErrorsAreOneLineWithStatus2() throws {
        for (arguments, text) in [
            (["run", "--bogus", "--", "x"], "unknown option '--bogus'"),
            (["run", "--interval", "0", "--", "x"], "--interval must be a positive number"),
            (["stats", "--limit", "0", "x.ogs"], "--limit must be a positive number"),
            (["stats"], "Missing expected argument '<file>'"),
            (["no-such-command"], "no-such-command"),
        ] {
            let result = try CLI.objgraph(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("objgraph: "), result.stderr)
            XCTAssertTrue(result.stderr.contains(text), "\(arguments): \(result.stderr)")
        }
    }
}
