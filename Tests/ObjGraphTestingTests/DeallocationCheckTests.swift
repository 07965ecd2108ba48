import XCTest
import LeakyScenarios
@testable import ObjGraphTesting

/// `expectDeallocated` and `withDeallocationCheck` through ``LeakChecks/deallocation(_:checkName:)``.
final class DeallocationCheckTests: XCTestCase {
    /// Failures captured by `addDeallocationCheck` teardown blocks, checked in `tearDown`
    /// (teardown blocks run before `tearDown`).
    nonisolated(unsafe) static var captured: [CheckFailure] = []
    /// What `tearDown` expects of `captured`: nil when no check was registered.
    var expectCapturedFailure: Bool?

    override func setUpWithError() throws {
        try ObjGraph.startTracking()
        DeallocationCheckTests.captured = []
        expectCapturedFailure = nil
    }

    override func tearDown() {
        if let expectCapturedFailure {
            let captured = DeallocationCheckTests.captured
            if expectCapturedFailure {
                XCTAssertEqual(captured.count, 1, "the teardown check should have failed")
                let message = captured.first?.message ?? ""
                XCTAssertTrue(
                    message.hasPrefix("expectDeallocated: 1 object expected to be deallocated is still alive:"), message
                )
                XCTAssertTrue(
                    message.contains("\nPair (registered at ObjGraphTestingTests/DeallocationCheckTests.swift:"),
                    message)
                XCTAssertTrue(message.contains("unreachable: part of a leaked cycle"), message)
                XCTAssertTrue(message.contains("ROOT CYCLE: <Pair 0x"), message)
                XCTAssertTrue(isSVGFile(captured.first?.drawingPath))
            } else {
                XCTAssertEqual(captured.map(\.message), [])
            }
        }
        DrawingJanitor.removeAll()
        super.tearDown()
    }

    private func check(_ register: (DeallocationTracker) -> Void) -> CheckFailure? {
        let tracker = DeallocationTracker()
        register(tracker)
        return DrawingJanitor.keep(LeakChecks.deallocation(tracker))
    }

    // MARK: Teardown form

    func testTeardownCheckFailsForACycle() {
        expectCapturedFailure = true
        let a = Pair(tag: 1), b = Pair(tag: 2)
        a.partner = b
        b.partner = a
        addDeallocationCheck(a, site: siteName(#filePath, #line)) {
            _ = DrawingJanitor.keep($0); DeallocationCheckTests.captured.append($0)
        }
    }

    func testTeardownCheckPassesForAWeakPair() {
        expectCapturedFailure = false
        let a = WeakPair(), b = WeakPair()
        a.partner = b
        b.back = a
        addDeallocationCheck(a, site: siteName(#filePath, #line)) {
            _ = DrawingJanitor.keep($0); DeallocationCheckTests.captured.append($0)
        }
        addDeallocationCheck(b, site: siteName(#filePath, #line)) { DeallocationCheckTests.captured.append($0) }
    }

    func testPublicExpectDeallocatedPassesOnFixedObjects() {
        let screen = Screen(title: "home")
        screen.bindWeakly()
        expectDeallocated(screen)
        let parent = Parent()
        parent.child = Child(parent: parent)
        expectDeallocated(parent)
        expectDeallocated(parent.child!)
    }

    // MARK: Scoped form

    func testPublicScopedFormPassesOnFixedObjects() {
        withDeallocationCheck { tracker in
            let controller = tracker.expect(Controller())
            controller.weakView.delegate = controller
            tracker.expect(WeakSession.open(id: 11))  // the result is not kept: gone already
            let a = tracker.expect(WeakPair()), b = tracker.expect(WeakPair())
            a.partner = b
            b.back = a
            XCTAssertEqual(tracker.aliveCount, 3)
        }
    }

    func testScopedFormRethrowsAfterChecking() {
        XCTAssertThrowsError(
            try withDeallocationCheck { tracker in
                tracker.expect(Item())
                throw TestError()
            }
        ) { XCTAssertTrue($0 is TestError) }
    }

    func testFixedScenarioObjectsAreDeallocated() {
        XCTAssertNil(
            check { tracker in
                let screen = tracker.expect(Screen(title: "a"))
                screen.bindWeakly()
                let parent = tracker.expect(Parent())
                parent.child = tracker.expect(Child(parent: parent))
                let controller = tracker.expect(Controller())
                controller.weakView.delegate = controller
                tracker.expect(WeakSession.open(id: 12))
            })
    }

    func testEachLeakyObjectIsNamedWithWhatHoldsIt() throws {
        let failure = try XCTUnwrap(
            check { tracker in
                let a = tracker.expect(Pair(tag: 1)), b = Pair(tag: 2)
                a.partner = b
                b.partner = a
                tracker.expect(Screen(title: "b")).bind()
                let controller = tracker.expect(Controller())
                controller.view.delegate = controller
                let team = tracker.expect(Team()), member = Member()
                team.members.append(member)
                member.team = team
                let directory = tracker.expect(Directory()), entry = Entry()
                directory.entries["x"] = entry
                entry.directory = directory
                let nodes = (0..<9).map { RingNode(position: $0) }
                for i in 0..<9 { nodes[i].next = nodes[(i + 1) % 9] }
                tracker.expect(nodes[4])
            })
        let message = failure.message
        XCTAssertTrue(
            message.hasPrefix("expectDeallocated: 6 objects expected to be deallocated are still alive:\n"), message)
        for type in ["Pair", "Screen", "Controller", "Team", "Directory", "RingNode"] {
            XCTAssertTrue(
                message.contains("\n\(type) (registered at ObjGraphTestingTests/DeallocationCheckTests.swift:"),
                "\(type): \(message)")
            XCTAssertTrue(message.contains("ROOT CYCLE: <"), message)
        }
        // Each of the six is explained as a leaked cycle; about one run in eight, a stale word on
        // an idle thread's stack makes one of them read as held by a chain instead (conservative
        // scanning: a missed explanation, never a false one). All six are still reported alive.
        XCTAssertGreaterThanOrEqual(occurrences(of: "unreachable: part of a leaked cycle", in: message), 5, message)
        XCTAssertTrue(message.contains("9 (") && message.contains("ROOT CYCLE: <RingNode 0x"), message)
        // Our own +1 while looking is not mistaken for an outside reference.
        XCTAssertFalse(message.contains("something outside the heap"), message)
        XCTAssertTrue(isSVGFile(failure.drawingPath))
    }

    func testRegistrySurvivorShowsChainFromTheGlobal() throws {
        let message = try XCTUnwrap(check { tracker in tracker.expect(Session.open(id: 4000)) }).message
        XCTAssertTrue(
            message.hasPrefix("expectDeallocated: 1 object expected to be deallocated is still alive:\n"), message)
        let chain = try XCTUnwrap(message.split(separator: "\n").first { $0.contains(" --> ") }, message)
        XCTAssertTrue(chain.contains("registry") && chain.contains("Session 0x"), String(chain))
        XCTAssertFalse(message.contains("unreachable"), message)
    }

    func testUnmanagedSurvivorIsHeldOutsideTheSnapshot() throws {
        let item = Item()
        let handle = Unmanaged.passRetained(item)
        defer { handle.release() }
        // Registered outside any closure: in debug builds a capturing closure's heap context
        // would itself hold the item for the duration of the check.
        let tracker = DeallocationTracker()
        tracker.expect(item)
        let message = try XCTUnwrap(DrawingJanitor.keep(LeakChecks.deallocation(tracker))).message
        XCTAssertTrue(
            message.contains("\nItem (registered at ObjGraphTestingTests/DeallocationCheckTests.swift:"), message)
        // Held by the Unmanaged retain and this test's variable, neither visible to the snapshot.
        // Conservative scanning may also find a stale copy of the address (another thread's
        // stack, the slack of a closure context's block), so only the absence of a cycle and a
        // strong count are certain.
        XCTAssertFalse(message.contains("leaked cycle"), message)
        XCTAssertTrue(
            message.contains("held by a reference the snapshot cannot see (strong count 2)")
                || message.contains("--> Item 0x"), message)
    }

    func testEverythingGoneMeansNoFailure() {
        XCTAssertNil(check { _ in })
        XCTAssertNil(check { tracker in tracker.expect(Item()) })
    }
}
