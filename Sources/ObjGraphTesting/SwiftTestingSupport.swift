import ObjGraph
import Testing

// Swift Testing helpers: the same checks as the XCTest helpers, recording issues with
// `Issue.record` at the caller's source location.
//
// Swift Testing runs tests in parallel in one process, so these default to
// `concurrentTests: true`: only objects the body can be blamed for count (see
// ObjGraphTesting.docc/ChecksInParallelTests.md).

/// Records an issue when running `body` repeatedly leaves more live objects behind: objgraph's
/// `show_growth` turned into an expectation. The failure message is the one
/// ``assertNoGrowth(iterations:warmup:ignoring:concurrentTests:file:line:_:)`` gives.
///
/// ```swift
/// @Test func cacheDoesNotGrow() {
///     expectNoGrowth(iterations: 5, ignoring: ["Logger"]) {
///         handleRequest()
///     }
/// }
/// ```
///
/// With `concurrentTests` (the default here) growth counts only the new objects that the body
/// can be blamed for while other tests run: held by a global (or static), by a variable of a
/// synchronous test function, or by a proven retain cycle; use three or more iterations. What
/// this leaves out, and when to pass `false`: <doc:ChecksInParallelTests>.
///
/// The check blocks the calling thread while it runs; checks in one process run one at a time.
///
/// - Parameters:
///   - iterations: measured runs of `body`.
///   - warmup: runs before the baseline.
///   - ignoring: type names to leave out, short (`Pair`) or qualified (`MyModule.Pair`).
///   - concurrentTests: pass `false` when no other test runs meanwhile, to count every new
///     object.
///   - sourceLocation: where the issue is recorded; the caller's location by default.
///   - body: runs on a fresh thread each time; an error it throws is recorded as an issue.
public func expectNoGrowth(
    iterations: Int = 3, warmup: Int = 1, ignoring: [String] = [],
    concurrentTests: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    if let failure = LeakChecks.growth(
        iterations: iterations, warmup: warmup, ignoring: ignoring,
        concurrentTests: concurrentTests, checkName: "expectNoGrowth", body)
    {
        Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation)
    }
}

/// Records an issue when `body` leaves new leaked objects behind, printed the way Apple's
/// `leaks` prints them (see ``assertNoLeaks(concurrentTests:file:line:_:)`` for the message).
///
/// ```swift
/// @Test func pairsDoNotLeak() {
///     expectNoLeaks { makeWeakPairs(10) }
/// }
/// ```
///
/// A leak is blamed only when its top is new. With `concurrentTests` (the default here) only
/// *proven* retain cycles are: cycles whose every retain is a reference found inside the heap,
/// which no other test's live objects can look like. Objects held by a reference the snapshot
/// cannot see (`Unmanaged`, C memory, a task's `async` frame) are reported only with
/// `concurrentTests: false`; see <doc:ChecksInParallelTests>.
///
/// - Parameters:
///   - concurrentTests: pass `false` when no other test runs meanwhile, to also report objects
///     held by references the snapshot cannot see.
///   - sourceLocation: where the issue is recorded; the caller's location by default.
///   - body: the code under test; it runs once, on a fresh thread. An error it throws is
///     recorded as an issue.
public func expectNoLeaks(
    concurrentTests: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    if let failure = LeakChecks.leaks(concurrentTests: concurrentTests, checkName: "expectNoLeaks", body) {
        Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation)
    }
}

/// Runs `body`, then records an issue if any object it registered with
/// ``DeallocationTracker/expect(_:fileID:line:)`` is still alive, naming each survivor's type and
/// what keeps it alive.
///
/// ```swift
/// @Test func controllerIsReleased() {
///     withDeallocationCheck { tracker in
///         let controller = tracker.expect(Controller())
///         controller.weakView.delegate = controller
///     }
/// }
/// ```
///
/// `body` runs on the calling thread, never while another check measures (a leak it leaves on
/// purpose is not blamed on a check running in parallel). Objects are held weakly; the check
/// retries for about half a second. Errors thrown by `body` are rethrown after the check.
///
/// - Parameters:
///   - sourceLocation: where the issue is recorded; the caller's location by default.
///   - body: registers the objects to check with the tracker it is given.
public func withDeallocationCheck(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (DeallocationTracker) throws -> Void
) rethrows {
    let tracker = DeallocationTracker()
    defer {
        if let failure = LeakChecks.deallocation(tracker, checkName: "withDeallocationCheck") {
            Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation)
        }
    }
    try CheckLock.serialised { try body(tracker) }
}

/// Expects `object` to be deallocated by the end of the current test. The test must carry the
/// ``LeakCheckTrait/deallocationChecks`` or ``LeakCheckTrait/noLeaks`` trait, which runs the
/// check when the test ends; without one, an issue says so.
///
/// ```swift
/// @Test(.deallocationChecks) func screenIsReleased() {
///     let screen = Screen(title: "home")
///     screen.bindWeakly()
///     expectDeallocated(screen)
/// }
/// ```
///
/// - Parameters:
///   - object: the object that must be gone when the test ends; held weakly.
///   - sourceLocation: where the issue is recorded; the caller's location by default.
public func expectDeallocated(_ object: AnyObject, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let tracker = DeallocationScope.current else {
        Issue.record(
            Comment(
                rawValue: "expectDeallocated(_:) needs the test to carry the .deallocationChecks or .noLeaks "
                    + "trait (@Test(.deallocationChecks)), or use withDeallocationCheck { tracker in ... }"),
            sourceLocation: sourceLocation)
        return
    }
    tracker.register(object, site: "\(sourceLocation.fileID):\(sourceLocation.line)")
}
