import XCTest
import LeakyScenarios
@testable import ObjGraphTesting

/// `assertNoGrowth` through its engine, ``LeakChecks/growth(iterations:warmup:ignoring:concurrentTests:checkName:_:)``,
/// which returns the failure message instead of failing the test.
final class GrowthCheckTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    override func tearDown() {
        DrawingJanitor.removeAll()
        super.tearDown()
    }

    private func growth(
        iterations: Int = 3, warmup: Int = 1, ignoring: [String] = [], concurrentTests: Bool = false,
        _ body: () throws -> Void
    ) -> CheckFailure? {
        DrawingJanitor.keep(
            LeakChecks.growth(
                iterations: iterations, warmup: warmup, ignoring: ignoring,
                concurrentTests: concurrentTests, body))
    }

    // MARK: Fixed scenarios pass, in both modes

    func testFixedScenariosDoNotGrow() {
        for concurrent in [false, true] {
            XCTAssertNil(growth(concurrentTests: concurrent) { makeWeakPairs(3) }, "makeWeakPairs")
            XCTAssertNil(growth(concurrentTests: concurrent) { makeUnownedFamilies(3) }, "makeUnownedFamilies")
            XCTAssertNil(growth(concurrentTests: concurrent) { makeWeakClosures(3) }, "makeWeakClosures")
            XCTAssertNil(growth(concurrentTests: concurrent) { makeWeakDelegates(3) }, "makeWeakDelegates")
            // The weak registry keeps one entry per id: the same id each time means no growth.
            XCTAssertNil(growth(concurrentTests: concurrent) { WeakSession.open(id: 42) }, "WeakSession.open")
        }
    }

    func testPublicAssertionPassesOnFixedCode() {
        assertNoGrowth {
            makeWeakPairs(2); makeWeakClosures(2)
        }
        assertNoGrowth(iterations: 5, warmup: 0) { makeUnownedFamilies(1) }
    }

    // MARK: Leaky scenarios fail, with the growth table, a chain and a drawing

    func testLeakedPairsShowTableCycleAndDrawing() throws {
        let failure = try XCTUnwrap(growth(iterations: 1) { makeLeakedPairs(1) })
        let message = failure.message
        XCTAssertTrue(
            message.hasPrefix("assertNoGrowth: live objects grew over 1 iteration (after 1 warm-up run):\n\n"), message)
        XCTAssertEqual(growthDelta(of: "Pair", in: message), 2, message)
        XCTAssertEqual(growthRows(in: message).map(\.name), ["Pair"], message)
        XCTAssertTrue(
            message.contains(
                "Pair +2: one surviving new instance is held by\n    unreachable: part of a leaked cycle\n"), message)
        XCTAssertTrue(message.contains("ROOT CYCLE: <Pair 0x"), message)
        XCTAssertTrue(message.contains("CYCLE BACK TO <Pair 0x"), message)
        XCTAssertEqual(drawingPath(in: message), failure.drawingPath)
        XCTAssertTrue(isSVGFile(failure.drawingPath), String(describing: failure.drawingPath))
        XCTAssertTrue(failure.drawingPath!.hasPrefix("/tmp/objgraph-check-"))
    }

    func testTableFollowsObjgraphFormat() throws {
        let message = try XCTUnwrap(growth(iterations: 3) { makeLeakedPairs(1) }).message
        // '%-*s%9d %+9d': the name padded to the longest name, count in 9 columns, delta in 9.
        let line = try XCTUnwrap(message.split(separator: "\n").dropFirst().first)
        XCTAssertTrue(line.hasPrefix("Pair"), String(line))
        XCTAssertTrue(line.hasSuffix(String(repeating: " ", count: 7) + "+6"), String(line))
        XCTAssertEqual(line.count, "Pair".count + 9 + 1 + 9, String(line))
    }

    func testClosureCyclesGrowScreensAndContexts() throws {
        let message = try XCTUnwrap(growth { makeClosureCycles(1) }).message
        XCTAssertEqual(growthDelta(of: "Screen", in: message), 3, message)
        // Screen and its closure context.
        XCTAssertEqual(growthRows(in: message).filter { $0.delta == 3 }.count, 2, message)
        XCTAssertTrue(message.contains("unreachable: part of a leaked cycle"), message)
        XCTAssertTrue(
            message.contains("ROOT CYCLE: <Screen 0x") || message.contains("CYCLE BACK TO <Screen 0x"), message)
    }

    func testEachLeakyScenarioNamesItsTypes() throws {
        let cases: [(String, () -> Void, [String: Int])] = [
            ("makeDelegateCycles", { makeDelegateCycles(1) }, ["Controller": 3, "View": 3, "WeakView": 3]),
            ("makeArrayCycles", { makeArrayCycles(1) }, ["Team": 3, "Member": 3]),
            ("makeDictionaryCycles", { makeDictionaryCycles(1) }, ["Directory": 3, "Entry": 3]),
            ("makeBoxCycles", { makeBoxCycles(1) }, ["Counter": 3]),
            ("makeRings", { makeRings(1) }, ["RingNode": 27]),
        ]
        for (name, body, expected) in cases {
            let failure = try XCTUnwrap(growth(body), name)
            for (type, delta) in expected {
                XCTAssertEqual(growthDelta(of: type, in: failure.message), delta, "\(name): \(failure.message)")
            }
            XCTAssertTrue(
                failure.message.contains("part of a leaked cycle")
                    || failure.message.contains("kept alive by a leaked cycle"),
                "\(name): \(failure.message)")
            XCTAssertTrue(isSVGFile(failure.drawingPath), name)
        }
    }

    func testRegistryGrowthShowsChainFromTheGlobal() throws {
        var next = 1000
        let failure = try XCTUnwrap(
            growth {
                next += 1; Session.open(id: next)
            })
        let message = failure.message
        XCTAssertEqual(growthDelta(of: "Session", in: message), 3, message)
        // The chain starts at the registry global and ends at a Session; it is not a leak.
        let sessionChain = try XCTUnwrap(
            message.split(separator: "\n").first {
                $0.hasPrefix("    ") && $0.contains(" --> ") && $0.contains("Session 0x")
            }, message)
        XCTAssertTrue(sessionChain.contains("registry"), String(sessionChain))
        XCTAssertFalse(message.contains("unreachable"), message)
        XCTAssertTrue(isSVGFile(failure.drawingPath))
    }

    func testConcurrentModeStillBlamesGlobalsAndCycles() throws {
        var next = 2000
        let sessions = try XCTUnwrap(
            growth(concurrentTests: true) {
                next += 1; Session.open(id: next)
            }
        ).message
        XCTAssertEqual(growthDelta(of: "Session", in: sessions), 3, sessions)
        let pairs = try XCTUnwrap(growth(concurrentTests: true) { makeLeakedPairs(1) }).message
        XCTAssertEqual(growthDelta(of: "Pair", in: pairs), 6, pairs)
    }

    // MARK: Options

    func testIgnoringShortAndQualifiedNames() {
        XCTAssertNotNil(growth { makeLeakedPairs(1) })
        XCTAssertNil(growth(ignoring: ["Pair"]) { makeLeakedPairs(1) })
        XCTAssertNil(growth(ignoring: ["LeakyScenarios.Pair"]) { makeLeakedPairs(1) })
        // Ignoring one type leaves the others reported.
        let message = growth(ignoring: ["Controller"]) { makeDelegateCycles(1) }?.message ?? ""
        XCTAssertNil(growthDelta(of: "Controller", in: message), message)
        XCTAssertEqual(growthDelta(of: "View", in: message), 3, message)
    }

    func testWarmupAbsorbsOneTimeAllocations() throws {
        OneTime.instance = nil
        let failure = try XCTUnwrap(growth(iterations: 2, warmup: 0) { OneTime.touchOnce() })
        XCTAssertEqual(growthDelta(of: "OneTime", in: failure.message), 1, failure.message)
        OneTime.instance = nil
        XCTAssertNil(growth(iterations: 2, warmup: 1) { OneTime.touchOnce() })
    }

    func testConcurrentModeLeavesOutLessThanOnePerIteration() throws {
        // A one-time allocation into a global, as another test's lazy initialisation would be.
        OneTime.instance = nil
        XCTAssertNil(growth(iterations: 3, warmup: 0, concurrentTests: true) { OneTime.touchOnce() })
        OneTime.instance = nil
        var next = 2500
        let message = try XCTUnwrap(
            growth(iterations: 3, warmup: 0, concurrentTests: true) {
                OneTime.touchOnce()
                next += 1
                Session.open(id: next)
            }
        ).message
        XCTAssertEqual(growthDelta(of: "Session", in: message), 3, message)
        XCTAssertNil(growthDelta(of: "OneTime", in: message), message)
        XCTAssertTrue(
            message.contains(
                "(not counted, grew by less than one per iteration as another test's one-time allocation would: "),
            message)
        XCTAssertTrue(message.contains("OneTime"), message)
        // Strict mode counts it.
        OneTime.instance = nil
        let strict = try XCTUnwrap(growth(iterations: 3, warmup: 0) { OneTime.touchOnce() }).message
        XCTAssertEqual(growthDelta(of: "OneTime", in: strict), 1, strict)
    }

    func testGrowthIntoAnObjectTheTestHolds() throws {
        // The bag is a local of this test: the snapshots leave the test's stack out, yet growth
        // into a pre-existing object is blamed in both modes.
        for concurrent in [false, true] {
            let bag = Bag()
            let message = try XCTUnwrap(growth(concurrentTests: concurrent) { bag.items.append(Item()) }).message
            XCTAssertEqual(growthDelta(of: "Item", in: message), 3, message)
            // What holds the bag is the test's frame (heap closure contexts in debug builds, or the
            // stack itself); the chain printed goes through the bag either way.
            XCTAssertTrue(message.contains("Bag --"), message)
            withExtendedLifetime(bag) {}
        }
    }

    func testObjectsOnAnotherThreadsStackAreExcusedOnlyInConcurrentMode() throws {
        let strict = StackHolder()
        let message = try XCTUnwrap(growth(iterations: 1, warmup: 0) { strict.start(count: 4) }).message
        strict.finish()
        XCTAssertEqual(growthDelta(of: "StackHeld", in: message), 4, message)
        XCTAssertTrue(message.contains("stack --> "), message)

        let lenient = StackHolder()
        let result = growth(iterations: 1, warmup: 0, concurrentTests: true) { lenient.start(count: 4) }
        lenient.finish()
        XCTAssertNil(result)
    }

    func testThrownErrorIsReported() throws {
        let failure = try XCTUnwrap(growth { throw TestError() })
        XCTAssertEqual(failure.message, "assertNoGrowth: the body threw TestError.boom")
    }

    func testBodyRunsOnAFreshThreadEachTime() {
        nonisolated(unsafe) var threads: [pthread_t] = []
        _ = growth(iterations: 3, warmup: 1) { threads.append(pthread_self()) }
        XCTAssertEqual(threads.count, 4)
        XCTAssertFalse(threads.contains { pthread_equal($0, pthread_self()) != 0 })
    }
}
