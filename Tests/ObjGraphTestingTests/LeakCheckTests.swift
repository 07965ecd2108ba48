import XCTest
import LeakyScenarios
@testable import ObjGraphTesting

/// `assertNoLeaks` through its engine, ``LeakChecks/leaks(concurrentTests:checkName:_:)``.
final class LeakCheckTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    override func tearDown() {
        DrawingJanitor.removeAll()
        super.tearDown()
    }

    private func leaks(concurrentTests: Bool = false, _ body: () throws -> Void) -> CheckFailure? {
        DrawingJanitor.keep(LeakChecks.leaks(concurrentTests: concurrentTests, body))
    }

    func testFixedScenariosDoNotLeak() {
        for concurrent in [false, true] {
            XCTAssertNil(leaks(concurrentTests: concurrent) { makeWeakPairs(5) }, "makeWeakPairs")
            XCTAssertNil(leaks(concurrentTests: concurrent) { makeUnownedFamilies(5) }, "makeUnownedFamilies")
            XCTAssertNil(leaks(concurrentTests: concurrent) { makeWeakClosures(5) }, "makeWeakClosures")
            XCTAssertNil(leaks(concurrentTests: concurrent) { makeWeakDelegates(5) }, "makeWeakDelegates")
            XCTAssertNil(leaks(concurrentTests: concurrent) { WeakSession.open(id: 7) }, "WeakSession.open")
        }
    }

    func testPublicAssertionPassesOnFixedCode() {
        assertNoLeaks {
            makeWeakPairs(3); makeWeakDelegates(3)
        }
    }

    func testLeakedPairsReportedLeaksStyle() throws {
        let failure = try XCTUnwrap(leaks { makeLeakedPairs(2) })
        let message = failure.message
        XCTAssertTrue(message.hasPrefix("assertNoLeaks: the body leaked 4 objects ("), message)
        XCTAssertTrue(message.contains(" in 2 groups\n"), message)
        XCTAssertEqual(leakSummary(in: message), ["Pair": 4], message)
        XCTAssertTrue(message.contains("\n4 leaked objects for "), message)
        XCTAssertTrue(message.contains("    2 ("), message)
        // Identical groups print once, unless malloc gave the pairs blocks of different sizes
        // (the report's shape includes the block size).
        let trees = occurrences(of: "ROOT CYCLE: <Pair 0x", in: message)
        XCTAssertTrue(
            trees == 2 || (trees == 1 && message.contains("2 instances of this structure, 4 objects, ")), message)
        XCTAssertEqual(occurrences(of: "CYCLE BACK TO <Pair 0x", in: message), trees, message)
        XCTAssertTrue(isSVGFile(failure.drawingPath), String(describing: failure.drawingPath))
        XCTAssertEqual(drawingPath(in: message), failure.drawingPath)
    }

    func testPerTypeSummaryPutsMostObjectsFirstInAlignedColumns() {
        let summary = LeakAnalysis.summary([
            .init(name: "Screen", count: 2, bytes: 112),
            .init(name: "closure context of closure #1 in Screen.bind()", count: 2, bytes: 80),
            .init(name: "Pair", count: 4, bytes: 128),
        ])
        XCTAssertEqual(
            summary,
            """
                Pair                                            x4  128 bytes
                Screen                                          x2  112 bytes
                closure context of closure #1 in Screen.bind()  x2  80 bytes

            """)
        XCTAssertEqual(LeakAnalysis.summary([]), "")
    }

    func testEachLeakyScenarioIsAProvenCycle() throws {
        let cases: [(String, () -> Void, [String: Int])] = [
            ("makeClosureCycles", { makeClosureCycles(3) }, ["Screen": 3]),
            ("makeDelegateCycles", { makeDelegateCycles(2) }, ["Controller": 2, "View": 2]),
            ("makeArrayCycles", { makeArrayCycles(2) }, ["Team": 2, "Member": 2]),
            ("makeDictionaryCycles", { makeDictionaryCycles(2) }, ["Directory": 2, "Entry": 2]),
            ("makeBoxCycles", { makeBoxCycles(2) }, ["Counter": 2]),
            ("makeRings", { makeRings(1) }, ["RingNode": 9]),
        ]
        for (name, body, expected) in cases {
            // Proven cycles are blamed in both modes.
            for concurrent in [false, true] {
                let failure = try XCTUnwrap(leaks(concurrentTests: concurrent, body), name)
                let summary = leakSummary(in: failure.message)
                for (type, count) in expected {
                    XCTAssertEqual(summary[type], count, "\(name): \(failure.message)")
                }
                XCTAssertTrue(failure.message.contains("ROOT CYCLE: <"), "\(name): \(failure.message)")
                XCTAssertTrue(failure.message.contains("CYCLE BACK TO <"), "\(name): \(failure.message)")
                XCTAssertFalse(failure.message.contains("not proven cycles"), "\(name): \(failure.message)")
                XCTAssertTrue(isSVGFile(failure.drawingPath), name)
            }
        }
    }

    func testRingIsOneGroupOfNine() throws {
        let message = try XCTUnwrap(leaks { makeRings(1) }).message
        XCTAssertTrue(message.contains("    9 (") && message.contains(") ROOT CYCLE: <RingNode 0x"), message)
        XCTAssertEqual(occurrences(of: "--> <RingNode 0x", in: message), 8, message)
    }

    func testRegistryGrowthIsNotALeak() {
        // Sessions stay reachable from `Session.registry`: growth, not a leak.
        XCTAssertNil(leaks { Session.open(id: 3000) })
    }

    func testLeaksFromBeforeAreNotBlamed() {
        makeLeakedPairs(2)
        makeClosureCycles(1)
        XCTAssertNil(leaks { makeWeakPairs(2) })
        XCTAssertNil(leaks(concurrentTests: true) { makeWeakPairs(2) })
    }

    func testObjectsStoredIntoTheTestsVariablesAreNotLeaks() {
        var kept: Item?
        var list: [Item] = []
        XCTAssertNil(
            leaks {
                kept = Item(); list.append(Item())
            })
        XCTAssertNotNil(kept)
        XCTAssertEqual(list.count, 1)
    }

    func testUnmanagedLeakIsBlamedOnlyWithoutConcurrentTests() throws {
        // The handles are kept scrambled, so no word anywhere points at the leaked items.
        nonisolated(unsafe) var scrambled: [UInt] = []
        let mask: UInt = 0x5a5a_5a5a_5a5a_5a5a
        func leakOne() { scrambled.append(UInt(bitPattern: Unmanaged.passRetained(Item()).toOpaque()) ^ mask) }
        defer {
            for word in scrambled {
                Unmanaged<Item>.fromOpaque(UnsafeRawPointer(bitPattern: word ^ mask)!).release()
            }
        }
        let failure = try XCTUnwrap(leaks { leakOne() })
        XCTAssertTrue(failure.message.contains("ROOT LEAK: <Item 0x"), failure.message)
        XCTAssertTrue(failure.message.contains("not proven cycles"), failure.message)
        XCTAssertEqual(leakSummary(in: failure.message), ["Item": 1], failure.message)
        XCTAssertNil(leaks(concurrentTests: true) { leakOne() })
    }

    func testObjectsHandedToTheTestAreNotLeaks() {
        // The same retained item, but the handle is kept where the test's stack holds it.
        nonisolated(unsafe) var handles: [Unmanaged<Item>] = []
        defer { handles.forEach { $0.release() } }
        XCTAssertNil(leaks { handles.append(Unmanaged.passRetained(Item())) })
    }

    func testObjectsHeldAcrossAnAwaitAreNotLeaks() throws {
        // A suspended task's frame is task allocator memory, part of the graph: what it holds is
        // reachable, in either mode.
        XCTAssertNil(leaks { holdAcrossAwait(count: 3, milliseconds: 1500) })
        XCTAssertNil(leaks(concurrentTests: true) { holdAcrossAwait(count: 3, milliseconds: 1500) })
        // A cycle dropped inside that task is still a leak, and the held objects are not in it.
        let failure = try XCTUnwrap(leaks { holdAcrossAwait(count: 3, milliseconds: 1500, leakingCycles: 2) })
        XCTAssertTrue(failure.message.hasPrefix("assertNoLeaks: the body leaked 4 objects ("), failure.message)
        XCTAssertEqual(leakSummary(in: failure.message), ["AsyncCycle": 4], failure.message)
        XCTAssertFalse(failure.message.contains("AsyncHeld"), failure.message)
    }

    func testThrownErrorIsReported() throws {
        let failure = try XCTUnwrap(leaks { throw TestError() })
        XCTAssertEqual(failure.message, "assertNoLeaks: the body threw TestError.boom")
    }

    func testNestedChecksDoNotDeadlock() {
        nonisolated(unsafe) var inner: CheckFailure?? = .none
        let outer = leaks {
            inner = DrawingJanitor.keep(LeakChecks.leaks(concurrentTests: false) { makeLeakedPairs(1) })
        }
        XCTAssertNotNil(outer)  // the outer window contains the inner leak too
        XCTAssertNotNil(inner.flatMap { $0 })  // and the inner check saw it
    }
}
