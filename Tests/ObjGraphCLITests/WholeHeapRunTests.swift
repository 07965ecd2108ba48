import Foundation
import XCTest

/// Every malloc'd block is a node of the graph (fixtures/whole-heap, under `objgraph run`):
/// objects whose only references sit outside Swift objects (a suspended async frame, a C
/// buffer, a block pending on a suspended Dispatch queue) are reachable, not leaked; leaks made
/// the same ways are found exactly, C blocks in their structure. Each mode's leaks are the
/// whole `leaks` table: no false leak of any type.
final class WholeHeapRunTests: CLITestCase {
    private func run(_ mode: String, _ count: Int, file: StaticString = #filePath, line: UInt = #line) throws -> Report
    {
        let json = dir + "/\(mode).json"
        let result = try CLI.objgraph(["run", "--json", json, "--", CLI.path("whole-heap"), mode, String(count)])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stdout, "whole-heap \(mode) \(count)\n", file: file, line: line)
        return try Report(path: json)
    }

    private func leaks(_ report: Report) -> [String: Int] {
        report.leaks.reduce(into: [:]) { $0[$1.type] = $1.count }
    }

    private func chain(of type: String, in report: Report) -> String {
        report.chains.first { $0.type == type }?.chain ?? "(no chain for \(type))"
    }

    func testSessionsHeldBySuspendedAsyncFramesAreNotLeaks() throws {
        let report = try run("async-frames", 50)
        XCTAssertEqual(leaks(report), [:], report.leaksText)
        XCTAssertEqual(report.live("Session"), 50)
        // Named like code: the task, its frames after their functions, the session's frame last.
        let chain = chain(of: "Session", in: report)
        XCTAssertTrue(chain.contains("async task --resume context--> async frame of "), chain)
        XCTAssertTrue(
            chain.contains("--caller--> async frame of Gate.wait() --caller--> async frame of handle(_:) --+"), chain)
        XCTAssertTrue(chain.contains("--> Session 0x"), chain)
        let memory = try XCTUnwrap(report.memory)
        XCTAssertGreaterThanOrEqual(memory.swiftObjects, 150, "50 sessions, their arrays and closure contexts")
        XCTAssertGreaterThan(memory.nativeBlocks, 50, "at least the 50 tasks")
        XCTAssertGreaterThan(memory.residentBytes, memory.swiftBytes + memory.nativeBytes)
        XCTAssertNotNil(memory.allocatorFreeBytes)
    }

    func testUnmanagedReferencesInAMallocdBufferAreNotLeaks() throws {
        let report = try run("unmanaged-buffer", 40)
        XCTAssertEqual(leaks(report), [:], report.leaksText)
        XCTAssertEqual(report.live("Session"), 40)
        let chain = chain(of: "Session", in: report)
        XCTAssertTrue(chain.hasPrefix("whole_heap.retainedBuffer --> malloc block --+"), chain)
    }

    func testObjectsCapturedByBlocksPendingOnASuspendedQueueAreNotLeaks() throws {
        let report = try run("dispatch-pending", 30)
        XCTAssertEqual(leaks(report), [:], report.leaksText)
        XCTAssertEqual(report.live("Session"), 30)
        let chain = chain(of: "Session", in: report)
        XCTAssertTrue(chain.hasPrefix("whole_heap.queue --> DispatchQueue --__wrapped--> "), chain)
        XCTAssertTrue(chain.contains("--> Dispatch block of closure #"), chain)
    }

    func testPairCyclesMadeInAsyncCodeBesideSuspendedTasks() throws {
        let report = try run("async-mixed", 30)
        XCTAssertEqual(leaks(report), ["Pair": 80], report.leaksText)
        XCTAssertEqual(report.live("Session"), 30)
        XCTAssertEqual(
            report.cycles(types: ["Pair", "Pair"], labels: ["partner", "partner"]).count, report.cycles.count)
        XCTAssertTrue(report.leaksText.hasPrefix("80 leaked objects for "), report.leaksText)
    }

    func testActorKeepingAClosureThatCapturesItself() throws {
        let report = try run("actor-closure", 10)
        XCTAssertEqual(leaks(report), ["Recorder": 10], report.leaksText)
        XCTAssertTrue(
            report.leaksText.contains("onEvent (closure #1 in Recorder.arm()) --> CYCLE BACK TO <Recorder"),
            report.leaksText)
    }

    func testCycleThroughAMallocdCStructIsALeakWithTheBlockInIt() throws {
        let report = try run("c-struct-cycle", 10)
        XCTAssertEqual(leaks(report), ["Owner": 10, "malloc block": 10], report.leaksText)
        XCTAssertTrue(
            report.leaksText.hasPrefix("10 leaked objects (and 10 C heap blocks they hold) for "), report.leaksText)
        let cycles = report.cycles.filter { $0.objects.map(\.type) == ["Owner", "malloc block"] }
        XCTAssertEqual(cycles.count, report.cycles.count)
        XCTAssertEqual(cycles.first?.edges.map(\.label), ["link", "+0"])
    }

    func testDroppedPassRetainedIsALeak() throws {
        let report = try run("dropped-unmanaged", 10)
        XCTAssertEqual(leaks(report), ["Session": 10, "Array<UInt8> storage": 10], report.leaksText)
        XCTAssertTrue(report.leaksText.contains("ROOT LEAK: <Session 0x"), report.leaksText)
    }

    /// A SwiftNIO echo server on loopback (fixtures/ThirdParty): connections still open at exit
    /// are alive, through NIO's selector and channels; each handler that kept a closure
    /// capturing itself after its channel closed is one leaked cycle of two.
    func testSwiftNIOEchoServerWithOpenConnectionsAndSelfCapturingHandlers() throws {
        let json = dir + "/nio.json"
        let result = try CLI.objgraph(["run", "--json", json, "--", try Server.path("nio-echo"), "5", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("nio-echo: 5 open, 4 closed on port "), result.stdout)
        let report = try Report(path: json)
        let leaked = leaks(report)
        XCTAssertEqual(leaked["SessionHandler"], 4, report.leaksText)
        XCTAssertEqual(leaked.values.reduce(0, +), 8, report.leaksText)
        XCTAssertTrue(leaked.keys.allSatisfy { $0 == "SessionHandler" || $0.hasPrefix("closure context") }, "\(leaked)")
        XCTAssertTrue(report.leaksText.hasPrefix("8 leaked objects for "), report.leaksText)
        XCTAssertEqual(report.cycles.filter { $0.objects.first?.type == "SessionHandler" }.count, report.cycles.count)
        XCTAssertTrue(
            report.leaksText.contains("__strong onClose (closure #1 in SessionHandler.channelInactive("),
            report.leaksText)
        // The open connections' channels are alive: NIO's selector holds them.
        XCTAssertGreaterThanOrEqual(report.live("SocketChannel"), 10, "5 client and 5 server channels")
    }
}

/// Another allocator preloaded by the user (`LD_PRELOAD` is kept, behind the agent): jemalloc
/// is tracked like glibc's malloc; tcmalloc is refused in one line, and the program runs as if
/// objgraph were not there.
final class OtherAllocatorTests: CLITestCase {
    private let libraries = "/usr/lib/" + CLI.machine + "-linux-gnu/"

    func testJemallocIsTrackedExactly() throws {
        let jemalloc = libraries + "libjemalloc.so.2"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: jemalloc), "scripts/test installs libjemalloc2")
        let json = dir + "/jemalloc.json"
        let result = try CLI.run(
            CLI.path("objgraph"), ["run", "--json", json, "--", CLI.path("whole-heap"), "async-mixed", "10"],
            environment: ["LD_PRELOAD": jemalloc])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try Report(path: json)
        XCTAssertEqual(report.leaks.map(\.type), ["Pair"], report.leaksText)
        XCTAssertEqual(report.leaked("Pair"), 80, report.leaksText)
        XCTAssertEqual(report.live("Session"), 10)
        XCTAssertNil(report.memory?.allocatorFreeBytes, "glibc's free bytes do not describe jemalloc")
    }

    func testTcmallocIsRefusedInOneLine() throws {
        let tcmalloc = libraries + "libtcmalloc_minimal.so.4"
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: tcmalloc), "scripts/test installs libtcmalloc-minimal4")
        let result = try CLI.run(
            CLI.path("objgraph"), ["run", "--", CLI.path("leaky-pairs"), "10"], environment: ["LD_PRELOAD": tcmalloc])
        XCTAssertEqual(result.status, 125, result.stderr)
        XCTAssertEqual(
            result.stderr,
            "objgraph: tracking could not start in \(CLI.path("leaky-pairs")): the program's allocator is not supported (glibc's malloc and jemalloc are): libtcmalloc_minimal.so.4\n"
        )
        XCTAssertTrue(result.stdout.hasPrefix("leaked 10 pairs"), result.stdout)
    }
}
