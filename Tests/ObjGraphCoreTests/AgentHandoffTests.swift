import CObjGraphRuntime
import Foundation
import XCTest
@testable import ObjGraphCore

/// The contract between `objgraph run` and its agent (Run/AgentHandoff.swift): what one side
/// writes, the other reads back unchanged.
final class AgentHandoffTests: XCTestCase {
    func testSettingsRoundTripThroughTheEnvironment() {
        var settings = AgentSettings()
        settings.directory = "/tmp/objgraph-run-x"
        settings.interval = 0.25
        settings.snapshotPath = "/tmp/end.ogs"
        settings.top = 3
        settings.maxCycles = 0
        settings.parent = 4242
        let environment = settings.environment
        XCTAssertEqual(environment["OBJGRAPH_AGENT_DIR"], "/tmp/objgraph-run-x")
        XCTAssertEqual(environment["OBJGRAPH_MAX_CYCLES"], "0")
        XCTAssertEqual(AgentSettings { environment[$0] }, settings)
        // Defaults when nothing is set; bad values fall back to them.
        let empty = AgentSettings { _ in nil }
        XCTAssertEqual(empty, AgentSettings())
        XCTAssertEqual(empty.top, 5)
        XCTAssertEqual(empty.maxCycles, 1000)
        let bad = AgentSettings { ["OBJGRAPH_TOP": "x", "OBJGRAPH_INTERVAL": "-3", "OBJGRAPH_AGENT_DIR": ""][$0] }
        XCTAssertEqual(bad.top, 5)
        XCTAssertEqual(bad.interval, 0)
        XCTAssertNil(bad.directory)
    }

    /// The agent writes the report with its own JSON writer (no Foundation in the program);
    /// the command decodes it with `Codable`. Every field survives, escapes included.
    func testRunReportJSONDecodesToTheSameReport() throws {
        let report = RunReport(
            program: "/srv/app \"quoted\"", durationSeconds: 1.5,
            types: [
                TypeCount(name: "Pair", count: 2, bytes: 80),
                TypeCount(name: "Array<Node>\tstorage", count: 1, bytes: 56),
            ],
            growth: [GrowthRow(name: "Pair", count: 2, delta: 2, bytes: 80, bytesDelta: 80)],
            leaks: [RunReport.LeakRow(type: "Pair", count: 2, bytes: 80)],
            cycles: [
                RunReport.Cycle(
                    objects: [
                        RunReport.CycleObject(type: "Pair", address: "0x10"),
                        RunReport.CycleObject(type: "Pair", address: "0x20"),
                    ],
                    edges: [
                        RunReport.CycleEdge(from: 0, to: 1, label: "partner"),
                        RunReport.CycleEdge(from: 1, to: 0, label: "partner"),
                    ],
                    leakedObjects: 2, leakedBytes: 80)
            ],
            cyclesOmitted: 1, chains: [RunReport.Chain(type: "Session", chain: "static A.b --> Session 0x1")],
            leaksText: "2 leaked objects\n\u{1}",
            exit: RunReport.Exit(status: 3, signal: nil, description: "exited with status 3"),
            notes: ["a note"],
            tracking: TrackingStatus(recordedObjects: 12, isSwiftProgram: true, runtime: "libswiftCore.so"))
        let decoded = try JSONDecoder().decode(RunReport.self, from: Data(report.json.utf8))
        XCTAssertEqual(decoded, report)
        var withoutExit = report
        withoutExit.exit = nil
        withoutExit.tracking = nil
        XCTAssertEqual(try JSONDecoder().decode(RunReport.self, from: Data(withoutExit.json.utf8)), withoutExit)
    }

    func testCensusJSONDecodesToTheSameCensus() throws {
        let census = Census(
            elapsedSeconds: 2.0, typeNames: ["Pair", "Session"],
            types: [TypeCount(name: "Pair", count: 4, bytes: 160)],
            tracking: TrackingStatus(recordedObjects: 4, isSwiftProgram: false, runtime: "x"))
        XCTAssertEqual(try JSONDecoder().decode(Census.self, from: Data(census.json.utf8)), census)
    }

    /// The crash record's header is the C struct the signal handler writes.
    func testCrashRecordParsesWhatTheHandlerWrites() {
        var header = ogr_crash_header(signal: 11, type_count: 2, site: 1, reserved: 0)
        var bytes = withUnsafeBytes(of: &header) { Array($0) }
        for value: Int64 in [3, 120, 0, 0] { withUnsafeBytes(of: value) { bytes += $0 } }
        for value: UInt64 in [0x1000, 0x2000] { withUnsafeBytes(of: value) { bytes += $0 } }
        bytes += Array("55d0-55e0 r--p 00000000 00:00 0 /bin/x\n".utf8)
        let crash = CrashCounters(bytes)
        XCTAssertEqual(crash?.signal, 11)
        XCTAssertEqual(crash?.site, .agentExitHandler)
        XCTAssertEqual(crash?.metadata, [0x1000, 0x2000])
        XCTAssertEqual(crash?.rows(names: ["Pair"]), [TypeCount(name: "Pair", count: 3, bytes: 120)])
        XCTAssertNil(CrashCounters(Array(bytes.prefix(20))), "a header cut short")
    }

    func testAgentFilesAreInTheDirectory() {
        let files = AgentFiles(directory: "/d")
        XCTAssertEqual(
            [files.report, files.census, files.crash, files.error],
            ["/d/report.json", "/d/census.json", "/d/crash.bin", "/d/error.txt"])
    }
}

/// The support layer every module shares.
final class SupportTests: XCTestCase {
    func testMemoryMapParsesProcMaps() throws {
        let map = MemoryMap(
            text: """
                55d0a0000000-55d0a0021000 r--p 00000000 fd:00 123 /usr/bin/my app
                7ffd12340000-7ffd12361000 rw-p 00000000 00:00 0                          [stack]
                7f0000000000-7f0000001000 ---p 00001000 00:00 0
                garbage line
                """)
        XCTAssertEqual(map.regions.count, 3)
        XCTAssertEqual(map.regions[0].path, "/usr/bin/my app")
        XCTAssertEqual(map.regions[1].path, "[stack]")
        XCTAssertTrue(map.regions[1].isWritable)
        XCTAssertEqual(map.regions[2].offset, 0x1000)
        XCTAssertEqual(map.region(containing: 0x7ffd12350000)?.end, 0x7ffd12361000)
        var local = 0
        let here = withUnsafePointer(to: &local) { UInt64(UInt(bitPattern: $0)) }
        XCTAssertEqual(try XCTUnwrap(MemoryMap.current()).region(containing: here)?.path, "[stack]")
    }

    func testTemporaryDirectoriesAreMadeAndRemovedWhole() throws {
        let directory = try TemporaryDirectory.make(prefix: "objgraph-support-test")
        XCTAssertTrue(directory.contains("/objgraph-support-test-"))
        try FileManager.default.createDirectory(atPath: directory + "/a/b", withIntermediateDirectories: true)
        try AtomicFile.write("x", to: directory + "/a/b/c.txt")
        symlink("/etc", directory + "/link")
        TemporaryDirectory.remove(directory)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory))
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: "/etc/hostname") || FileManager.default.fileExists(atPath: "/etc"),
            "links are removed, not followed")
    }

    func testCBufferAndSystemCallError() {
        XCTAssertEqual(String(cBuffer: [CChar(65), 66, 0, 67]), "AB")
        let error = SystemCallError(call: "open", path: "/nope", code: ENOENT)
        XCTAssertEqual(error.description, "open failed for /nope: No such file or directory")
        XCTAssertThrowsError(try FileBytes.read("/no/such/file")) {
            XCTAssertEqual(($0 as? SystemCallError)?.call, "open")
        }
        XCTAssertEqual(
            try FileBytes.read("/proc/self/comm").last, UInt8(ascii: "\n"), "files whose size is 0 are read whole")
    }
}
