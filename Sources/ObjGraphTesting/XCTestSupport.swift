import ObjGraph
import XCTest

// XCTest helpers. Each is a thin wrapper over ``LeakChecks``: the check returns its failure
// message and the wrapper hands it to `XCTFail` at the caller's file and line.

/// Fails when running `body` repeatedly leaves more live objects behind: objgraph's
/// `show_growth` turned into an assertion.
///
/// `body` runs `warmup` times (to fill caches and lazy globals), then the live count of every
/// type is taken as the baseline, then `body` runs `iterations` times. If a type is still above
/// its baseline after about half a second, the test fails with the growth table, what holds one
/// surviving new instance of each of the first three growing types (a back-reference chain from
/// a root, or the leaked cycle printed like Apple's `leaks`), and the path of an SVG drawing of
/// them.
///
/// ```swift
/// func testOpeningSessionsDoesNotGrow() {
///     assertNoGrowth(iterations: 3) {
///         _ = Session.open(id: 1)
///     }
/// }
/// // assertNoGrowth: live objects grew over 3 iterations (after 1 warm-up run):
/// //
/// // Session          4        +3
/// // ...
/// ```
///
/// Each run of `body` happens on a fresh thread. Tracking starts automatically; start it
/// earlier (`try ObjGraph.startTracking()` in `setUp`) so that objects the test makes before the
/// call are counted too. How the check tells the body's objects from other tests':
/// <doc:ChecksInParallelTests>.
///
/// - Parameters:
///   - iterations: measured runs of `body`.
///   - warmup: runs before the baseline.
///   - ignoring: type names to leave out, short (`Pair`) or qualified (`MyModule.Pair`).
///   - concurrentTests: set when other tests may run at the same time in this process, to count
///     only the new objects the body can be blamed for. XCTest on Linux runs tests one at a
///     time, so the default counts every new object.
///   - file: the file the failure is reported in; the caller's by default.
///   - line: the line the failure is reported at; the caller's by default.
///   - body: the code under test. An error it throws fails the test.
public func assertNoGrowth(
    iterations: Int = 3, warmup: Int = 1, ignoring: [String] = [],
    concurrentTests: Bool = false,
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
) {
    if let failure = LeakChecks.growth(
        iterations: iterations, warmup: warmup, ignoring: ignoring,
        concurrentTests: concurrentTests, checkName: "assertNoGrowth", body)
    {
        XCTFail(failure.message, file: file, line: line)
    }
}

/// Fails when `body` leaves new leaked objects behind: objects that no root (global, thread
/// stack) reaches, printed the way Apple's `leaks` prints them, with counts and bytes.
///
/// ```swift
/// func testPairsDoNotLeak() {
///     assertNoLeaks { makeLeakedPairs(2) }
/// }
/// // assertNoLeaks: the body leaked 4 objects (128 bytes) in 2 groups
/// //
/// //     Pair  x4  128 bytes
/// //
/// // 4 leaked objects for 128 total leaked bytes in 2 groups.
/// //
/// // 2 instances of this structure, 4 objects, 128 bytes in all:
/// //     2 (64 bytes) ROOT CYCLE: <Pair 0x...> [32]
/// //        __strong partner --> <Pair 0x...> [32]
/// //           __strong partner --> CYCLE BACK TO <Pair 0x...> [32]
/// //
/// // Drawing: /tmp/objgraph-check-Ab12Cd/leaks.svg
/// ```
///
/// Only leaks whose top (the cycle, or the object nothing refers to) is new are blamed. A retain
/// cycle whose retain counts are all explained by references inside the heap fails at once; an
/// object held by something the snapshot cannot see (an `Unmanaged` reference, C memory) fails
/// only if it is still there after about half a second. Objects that `body` stores into
/// variables of the test are not leaks. More in <doc:ChecksInParallelTests>.
///
/// - Parameters:
///   - concurrentTests: set when other tests may run at the same time in this process: then
///     only proven retain cycles are blamed.
///   - file: the file the failure is reported in; the caller's by default.
///   - line: the line the failure is reported at; the caller's by default.
///   - body: the code under test; it runs once, on a fresh thread. An error it throws fails the test.
public func assertNoLeaks(
    concurrentTests: Bool = false, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
) {
    if let failure = LeakChecks.leaks(concurrentTests: concurrentTests, checkName: "assertNoLeaks", body) {
        XCTFail(failure.message, file: file, line: line)
    }
}

extension XCTestCase {
    /// Fails the test if `object` is still alive when the test ends: the idiom
    /// `addTeardownBlock { [weak x] in XCTAssertNil(x) }`, with a failure that says what keeps
    /// it alive.
    ///
    /// ```swift
    /// func testControllerIsReleased() throws {
    ///     try ObjGraph.startTracking()
    ///     let controller = Controller()
    ///     controller.view.delegate = controller     // strong delegate: a cycle
    ///     expectDeallocated(controller)
    /// }
    /// // expectDeallocated: 1 object expected to be deallocated is still alive:
    /// //
    /// // Controller (registered at ControllerTests.swift:5)
    /// //     unreachable: part of a leaked cycle
    /// //         2 (80 bytes) ROOT CYCLE: <Controller 0x...> [48]
    /// //            ...
    /// ```
    ///
    /// The object is held weakly. The check runs in a teardown block, after the test method has
    /// returned, and retries for about half a second before failing. Start tracking before the
    /// object is created to get the chain of what holds it; without tracking the failure still
    /// names the type.
    ///
    /// - Parameters:
    ///   - object: the object that must be gone when the test ends; held weakly.
    ///   - file: the file the failure is reported in; the caller's by default.
    ///   - line: the line the failure is reported at; the caller's by default.
    public func expectDeallocated(_ object: AnyObject, file: StaticString = #filePath, line: UInt = #line) {
        addDeallocationCheck(object, site: siteName(file, line)) { failure in
            XCTFail(failure.message, file: file, line: line)
        }
    }

    /// Runs `body`, then fails if any object it registered with
    /// ``DeallocationTracker/expect(_:fileID:line:)`` is still alive, naming each survivor's
    /// type and what keeps it alive (a back-reference chain, or the leaked cycle `leaks`-style).
    ///
    /// ```swift
    /// func testScreenIsReleased() {
    ///     withDeallocationCheck { tracker in
    ///         let screen = tracker.expect(Screen(title: "home"))
    ///         screen.bindWeakly()
    ///     }
    /// }
    /// ```
    ///
    /// `body` runs on the calling thread. Objects are held weakly; the check retries for about
    /// half a second. Errors thrown by `body` are rethrown after the check.
    ///
    /// - Parameters:
    ///   - file: the file the failure is reported in; the caller's by default.
    ///   - line: the line the failure is reported at; the caller's by default.
    ///   - body: registers the objects to check with the tracker it is given.
    public func withDeallocationCheck(
        file: StaticString = #filePath, line: UInt = #line,
        _ body: (DeallocationTracker) throws -> Void
    ) rethrows {
        let tracker = DeallocationTracker()
        defer {
            if let failure = LeakChecks.deallocation(tracker, checkName: "withDeallocationCheck") {
                XCTFail(failure.message, file: file, line: line)
            }
        }
        try body(tracker)
    }

    /// The seam under ``expectDeallocated(_:file:line:)``: registers the teardown check and
    /// hands a failure to `report`.
    func addDeallocationCheck(
        _ object: AnyObject, site: String,
        report: @escaping @Sendable (CheckFailure) -> Void
    ) {
        let tracker = DeallocationTracker()
        tracker.register(object, site: site)
        addTeardownBlock {
            if let failure = LeakChecks.deallocation(tracker, checkName: "expectDeallocated") {
                report(failure)
            }
        }
    }
}

/// `Dir/File.swift:12` from a full path.
func siteName(_ file: StaticString, _ line: UInt) -> String {
    let parts = "\(file)".split(separator: "/")
    return parts.suffix(2).joined(separator: "/") + ":\(line)"
}
