import ObjGraph
import Testing

// Swift Testing helpers: the same checks as the XCTest helpers, recording issues with
// `Issue.record` at the caller's source location.
//
// Swift Testing runs tests in parallel in one process, so these default to
// `concurrentTests: true`: only objects the body can be blamed for count (see
// ``expectNoLeaks(concurrentTests:sourceLocation:_:)``).

/// Records an issue when running `body` repeatedly leaves more live objects behind: objgraph's
/// `show_growth` turned into an expectation. See ``assertNoGrowth(iterations:warmup:ignoring:concurrentTests:file:line:_:)``
/// for the failure message.
///
/// ```swift
/// @Test func cacheDoesNotGrow() {
///     expectNoGrowth(iterations: 5, ignoring: ["Logger"]) {
///         handleRequest()
///     }
/// }
/// ```
///
/// With `concurrentTests` (the default here) growth counts only new objects that the body can
/// be blamed for: held by a global (or static), by a variable of a synchronous test function,
/// or by a proven retain cycle. New objects held only by other threads' stacks, or by
/// references the snapshot cannot see (another test's `async` frames look like that) are left
/// out and mentioned, and so is a type that grew by less than one instance per iteration (a
/// concurrently running test's one-time allocation, such as a lazily made global or a runtime
/// cache entry, looks like that: use three or more iterations). So growth into a container that an `async` test keeps in a local variable
/// is not seen in this mode; pass `concurrentTests: false` in a `.serialized` suite for that.
/// Another test that stores new objects of the same type into a global during the check can
/// still make it fail: leave such types out with `ignoring:`, or serialise those tests.
///
/// The check blocks the calling thread while it runs (it waits for the body's thread and, on
/// failure, retries for about half a second); checks in one process run one at a time.
///
/// - Parameters:
///   - iterations: measured runs of `body`.
///   - warmup: runs before the baseline.
///   - ignoring: type names to leave out, short (`Pair`) or qualified (`MyModule.Pair`).
///   - concurrentTests: pass `false` when no other test runs meanwhile (a `.serialized` suite,
///     `swift test --no-parallel`) to count every new object.
///   - body: runs on a fresh thread each time; an error it throws is recorded as an issue.
public func expectNoGrowth(iterations: Int = 3, warmup: Int = 1, ignoring: [String] = [],
                           concurrentTests: Bool = true,
                           sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
    if let failure = LeakChecks.growth(iterations: iterations, warmup: warmup, ignoring: ignoring,
                                       concurrentTests: concurrentTests, checkName: "expectNoGrowth", body) {
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
/// A leak group is blamed only when its top is new. With `concurrentTests` (the default here)
/// only *proven* retain cycles are blamed: cycles whose every retain is a reference found inside
/// the cycle. Nothing outside holds such a cycle, so it is a leak whoever made it, and no other
/// test's live objects can look like one. Objects held by a reference the snapshot cannot see
/// (`Unmanaged`, C memory, a task's `async` frame) are reported only with
/// `concurrentTests: false`.
public func expectNoLeaks(concurrentTests: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: () throws -> Void) {
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
public func withDeallocationCheck(sourceLocation: SourceLocation = #_sourceLocation,
                                  _ body: (DeallocationTracker) throws -> Void) rethrows {
    let tracker = DeallocationTracker()
    defer {
        if let failure = LeakChecks.deallocation(tracker, checkName: "withDeallocationCheck") {
            Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation)
        }
    }
    try body(tracker)
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
public func expectDeallocated(_ object: AnyObject, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let tracker = DeallocationScope.current else {
        Issue.record(Comment(rawValue: "expectDeallocated(_:) needs the test to carry the .deallocationChecks or .noLeaks "
                             + "trait (@Test(.deallocationChecks)), or use withDeallocationCheck { tracker in ... }"),
                     sourceLocation: sourceLocation)
        return
    }
    tracker.register(object, site: "\(sourceLocation.fileID):\(sourceLocation.line)")
}
