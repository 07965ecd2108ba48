import Foundation
import XCTest

/// `objgraph run` end to end: build the fixtures, run them under the agent, check the exact
/// leaked counts and cycle shapes in the JSON report.
final class RunCommandTests: CLITestCase {
    private func runFixture(
        _ name: String, _ args: [String] = [], options: [String] = [],
        environment: [String: String] = [:]
    ) throws -> (CLI.Result, Report) {
        let json = dir + "/\(name).json"
        let result = try CLI.objgraph(
            ["run", "--json", json] + options + ["--", CLI.path(name)] + args,
            environment: environment)
        return (result, try Report(path: json))
    }

    func testLeakedPairs() throws {
        let (result, report) = try runFixture("leaky-pairs", ["300"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("leaked 300 pairs"), "the program's own output passes through")
        XCTAssertEqual(report.leaked("Pair"), 600)
        XCTAssertEqual(report.live("Pair"), 600)
        XCTAssertEqual(report.cycles(types: ["Pair", "Pair"], labels: ["partner", "partner"]).count, 300)
        for fixed in ["WeakPair", "Parent", "Child"] {
            XCTAssertEqual(report.leaked(fixed), 0, fixed)
            XCTAssertEqual(report.live(fixed), 0, fixed)
        }
        XCTAssertEqual(report.exit?.status, 0)
        XCTAssertTrue(result.stderr.contains("300 instances of this structure, 600 objects"), result.stderr)
        XCTAssertTrue(result.stderr.contains("__strong partner --> CYCLE BACK TO <Pair 0x"), result.stderr)
    }

    /// The JSON report lists at most 1,000 cycles and says how many it left out; without
    /// --json the agent builds no cycle list at all, and the text does not mention one.
    func testCycleListOnlyForJSON() throws {
        let (withJSON, report) = try runFixture("leaky-pairs", ["1200"])
        XCTAssertEqual(withJSON.status, 0, withJSON.stderr)
        XCTAssertEqual(report.cycles.count, 1000)
        XCTAssertEqual(report.leaked("Pair"), 2400)
        XCTAssertTrue(withJSON.stderr.contains("(200 more cycles omitted from the JSON report)"), withJSON.stderr)

        let plain = try CLI.objgraph(["run", "--", CLI.path("leaky-pairs"), "1200"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stderr.contains("1200 instances of this structure, 2400 objects"), plain.stderr)
        XCTAssertFalse(plain.stderr.contains("omitted"), plain.stderr)
    }

    /// --svg: the command draws the leaked cycles from the program's final snapshot (the
    /// program itself loads no Graphviz), 30 identical cycles once with their count as the text
    /// merges them; a program that never reaches its exit handlers gets a note instead of a
    /// drawing.
    func testSVGOfLeakedCycles() throws {
        let svg = dir + "/pairs.svg"
        let result = try CLI.objgraph(["run", "--svg", svg, "--", CLI.path("leaky-pairs"), "30"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("<?xml"), String(text.prefix(80)))
        XCTAssertEqual(text.components(separatedBy: "leaked cycle ").count - 1, 1, "one drawing per structure")
        XCTAssertTrue(text.contains("30 instances · 2 objects each"), text)
        XCTAssertEqual(text.components(separatedBy: ">Pair<").count - 1, 2, "the structure's two objects")
        XCTAssertTrue(text.contains(">Pair<"), "node labels name the type")
        XCTAssertTrue(text.contains("> partner </text>"), "edges are labelled with the field")

        let png = dir + "/crash.png"
        let crashed = try CLI.objgraph(
            ["run", "--svg", png, "--", CLI.path("crashy"), "crash", "5"],
            environment: ["SWIFT_BACKTRACE": "enable=no"])
        XCTAssertEqual(crashed.status, 128 + 4, crashed.stderr)
        XCTAssertTrue(crashed.stderr.contains("no drawing was made"), crashed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: png))
    }

    /// The agent links the analysis but not the drawing module: Graphviz and its libraries are
    /// never loaded into the program being observed, and the command loads them only to draw.
    /// (cat and sh are not Swift programs: the run says so and exits 125, nothing observed.)
    func testTheProgramLoadsNoGraphviz() throws {
        let result = try CLI.objgraph(["run", "--", "/bin/cat", "/proc/self/maps"])
        XCTAssertEqual(result.status, 125, result.stderr)
        XCTAssertTrue(result.stderr.contains("/bin/cat is not a Swift program"), result.stderr)
        XCTAssertTrue(result.stdout.contains("libObjGraphAgent.so"), "the agent is loaded")
        XCTAssertFalse(result.stdout.contains("libgvc"), result.stdout)
        XCTAssertFalse(result.stdout.contains("libcgraph"), result.stdout)

        // Nor by the command itself when it draws nothing (Graphviz is loaded on first use):
        // the shell's parent is the objgraph process.
        let command = try CLI.objgraph(["run", "--", "/bin/sh", "-c", "cat /proc/$PPID/maps"])
        XCTAssertEqual(command.status, 125, command.stderr)
        XCTAssertTrue(command.stdout.contains("objgraph"), "the command's own maps")
        XCTAssertFalse(command.stdout.contains("libgvc"), command.stdout)
    }

    func testClosureAndBoxCycles() throws {
        let (result, report) = try runFixture("leaky-closures", ["120"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(report.leaked("Screen"), 120)
        XCTAssertEqual(report.leaked("closure context of closure #1 in Screen.bind()"), 120)
        XCTAssertEqual(
            report.cycles(
                types: ["Screen", "closure context of closure #1 in Screen.bind()"],
                labels: ["onTap (closure #1 in Screen.bind())", "capture #1"]
            ).count, 120)
        XCTAssertEqual(report.leaked("Counter"), 120)
        XCTAssertEqual(report.leaked("Box<Optional<Counter>>"), 120)
        XCTAssertEqual(report.live("Screen"), 120, "the weakly-capturing screens are gone")
    }

    func testRegistryChainEndsAtTheStaticProperty() throws {
        let (result, report) = try runFixture("leaky-registry", ["50"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(report.live("Session"), 50)
        XCTAssertEqual(report.leaked("Session"), 0, "held by a global: growth, not a leak")
        XCTAssertEqual(report.live("WeakSession"), 0)
        let chain = try XCTUnwrap(report.chains.first { $0.type == "Session" }, "\(report.chains)")
        XCTAssertTrue(
            chain.chain.hasPrefix("static LeakyScenarios.Session.registry --> Array<Session> storage --["), chain.chain)
    }

    func testLeaksFromFourThreads() throws {
        let (result, report) = try runFixture("leaky-threads", ["200"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(report.live("Pair"), 400, "counting is exact")
        // Leak detection scans the idle Dispatch workers' stacks conservatively: a stale copy of
        // an address in a worker's wait frames can keep one pair "reachable" (a missed leak,
        // never a false one). Nearly all must be found, and every pair found is a whole cycle.
        let cycles = report.cycles(types: ["Pair", "Pair"], labels: ["partner", "partner"]).count
        XCTAssertGreaterThanOrEqual(cycles, 196)
        XCTAssertLessThanOrEqual(cycles, 200)
        XCTAssertEqual(report.leaked("Pair"), 2 * cycles)
    }

    func testZooOfCycles() throws {
        let (result, report) = try runFixture("leaky-zoo", ["3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected: [String: Int] = [
            "Pair": 6, "Screen": 3, "closure context of closure #1 in Screen.bind()": 3, "Controller": 3, "View": 3,
            "WeakView": 3, "Team": 3, "Member": 3, "Array<Member> storage": 3, "Directory": 3, "Entry": 3,
            "Dictionary<String, Entry> storage": 3, "Counter": 3, "Box<Optional<Counter>>": 3, "RingNode": 27,
        ]
        for (type, count) in expected { XCTAssertEqual(report.leaked(type), count, type) }
        XCTAssertEqual(report.leaks.count, expected.count, "\(report.leaks.map(\.type))")
        XCTAssertEqual(
            report.cycles(types: Array(repeating: "RingNode", count: 9), labels: Array(repeating: "next", count: 9))
                .count, 3)
        XCTAssertEqual(report.cycles(types: ["Controller", "View"], labels: ["view", "delegate"]).count, 3)
        XCTAssertEqual(
            report.cycles(types: ["Member", "Team", "Array<Member> storage"], labels: ["team", "members", "[0]"]).count,
            3)
        XCTAssertEqual(
            report.cycles(
                types: ["Counter", "Box<Optional<Counter>>"],
                labels: ["onChange (closure #1 in makeBoxCycles(Int))", "value"]
            ).count, 3)
        XCTAssertEqual(
            report.cycles.filter {
                $0.objects.map(\.type) == ["Directory", "Dictionary<String, Entry> storage", "Entry"]
            }.count, 3)
        XCTAssertEqual(report.live("Session"), 3)
        XCTAssertEqual(report.leaked("Session"), 0)
    }

    func testFixedZooLeaksNothing() throws {
        let (result, report) = try runFixture("fixed-zoo", ["10"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(report.leaks.map(\.type), [])
        XCTAssertEqual(report.cycles.count, 0)
        XCTAssertTrue(result.stderr.contains("0 leaked objects"), result.stderr)
        // Deinitialized shows still held by unowned references (swift_deallocClassInstance
        // interposed by the agent): allocated, but neither live nor leaked.
        XCTAssertEqual(report.live("Ticket"), 10)
        XCTAssertEqual(report.counted("Ticket"), 10)
        XCTAssertEqual(report.live("Show"), 0)
        XCTAssertEqual(report.counted("Show"), 0, "the counters dropped each show at its deinit")
        XCTAssertEqual(report.leaked("Show"), 0)
    }

    func testExitStatusIsPassedThroughAndExitStillReports() throws {
        let (result, report) = try runFixture("crashy", ["exit", "20"])
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(report.exit?.status, 3)
        XCTAssertEqual(report.leaked("Pair"), 40, "exit() runs the agent's exit handler")
    }

    func testCrashStillYieldsCountsAndANote() throws {
        let (result, report) = try runFixture("crashy", ["crash", "20"], environment: ["SWIFT_BACKTRACE": "enable=no"])
        XCTAssertEqual(result.status, 128 + 4, "SIGILL from a Swift trap: \(result.stderr)")
        XCTAssertEqual(report.exit?.signal, 4)
        XCTAssertEqual(report.live("Pair"), 40, "counters saved by the crash handler")
        // Named from the saved metadata as normal reports name them (not `__StringStorage`).
        XCTAssertEqual(report.live("String storage"), 1, "\(report.types)")
        XCTAssertFalse(
            report.types.contains { $0.name.hasPrefix("__") || $0.name.hasPrefix("type #") }, "\(report.types)")
        XCTAssertTrue(
            report.notes.contains { $0.contains("was killed by signal 4 (SIGILL)") && $0.contains("no leak analysis") },
            "\(report.notes)")
        XCTAssertTrue(result.stderr.contains("note: "), result.stderr)
    }

    func testAbortStillYieldsCounts() throws {
        let (result, report) = try runFixture("crashy", ["abort", "20"], environment: ["SWIFT_BACKTRACE": "enable=no"])
        XCTAssertEqual(result.status, 128 + 6)
        XCTAssertEqual(report.live("Pair"), 40)
    }

    func testKilledProgramIsReportedFromTheLastCensus() throws {
        let (result, report) = try runFixture("crashy", ["signal", "20"])
        XCTAssertEqual(result.status, 128 + 9)
        XCTAssertEqual(report.exit?.signal, 9)
        XCTAssertTrue(report.notes.contains { $0.contains("SIGKILL") && $0.contains("census") }, "\(report.notes)")
    }

    func testTimeoutStopsAHangingProgram() throws {
        let start = Date()
        let (result, report) = try runFixture("crashy", ["hang", "5"], options: ["--timeout", "1"])
        XCTAssertEqual(result.status, 128 + 15)
        XCTAssertEqual(report.exit?.signal, 15)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
    }

    func testIntervalTablesAndSIGUSR1() throws {
        let json = dir + "/cache.json"
        var sent = false
        let result = try CLI.run(
            CLI.path("objgraph"),
            ["run", "--interval", "0.2", "--json", json, "--", CLI.path("growing-cache"), "6", "100"],
            environment: ["PAUSE_MS": "250"]
        ) { process in
            // Find the program objgraph started, then ask it for a table.
            for _ in 0..<100 where !sent {
                usleep(20_000)
                if let pid = childPid(of: process.processIdentifier) {
                    usleep(300_000)
                    kill(pid, SIGUSR1)
                    sent = true
                }
            }
        }
        XCTAssertTrue(sent)
        XCTAssertEqual(result.status, 0, result.stderr)
        let tables = result.stderr.components(separatedBy: "objgraph: growth at").count - 1
        XCTAssertGreaterThanOrEqual(tables, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("(SIGUSR1)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("CacheEntry"), result.stderr)
        XCTAssertEqual(try Report(path: json).live("CacheEntry"), 600)
    }

    /// Runtime facts 2 (RuntimeFacts.md): without the retain-adapter fix-up, a tracked Swift program crashes as
    /// soon as it prints; with it (every other test here), it runs.
    func testTheRetainFixUpIsNeeded() throws {
        let result = try CLI.objgraph(
            ["run", "--", CLI.path("leaky-pairs"), "3"],
            environment: ["OBJGRAPH_TEST_SKIP_RETAIN_FIXUP": "1", "SWIFT_BACKTRACE": "enable=no"])
        XCTAssertGreaterThan(result.status, 128, "expected a crash without the fix-up: \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("was killed by signal"), result.stderr)
    }

    func testForkedChildDoesNotWriteASecondReport() throws {
        // `sh -c` forks and execs: the agent is not passed on to children, and only the
        // program itself reports.
        let (result, report) = try runFixture("leaky-pairs", ["10"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr.components(separatedBy: "Live objects:").count - 1, 1)
        XCTAssertEqual(report.leaked("Pair"), 20)
    }
}

/// The pid of a child of `parent`, from /proc.
func childPid(of parent: Int32) -> Int32? {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
    for entry in entries {
        guard let pid = Int32(entry),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 2, Int32(fields[1]) == parent { return pid }
    }
    return nil
}
