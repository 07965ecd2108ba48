import ObjGraph
import Testing

/// Where ``expectDeallocated(_:sourceLocation:)`` registers objects during a test.
enum DeallocationScope {
    @TaskLocal static var current: DeallocationTracker?
}

/// Leak checks around a whole test: `@Test(.noLeaks)` and `@Test(.deallocationChecks)`.
///
/// - `.noLeaks`: a snapshot is taken before the test and after it; the test fails if a new proven
///   retain cycle (see ``expectNoLeaks(concurrentTests:sourceLocation:_:)``) is left behind. Also
///   checks ``expectDeallocated(_:sourceLocation:)`` registrations.
/// - `.deallocationChecks`: only checks ``expectDeallocated(_:sourceLocation:)`` registrations.
///
/// ```swift
/// @Test(.noLeaks) func buildsAndTearsDownTheScreen() async throws {
///     let screen = Screen(title: "home")
///     screen.bindWeakly()
///     expectDeallocated(screen)
/// }
/// ```
///
/// Applied to a suite, the trait applies to each of its tests. Only proven cycles are blamed,
/// so other tests' live objects never are; but the test body runs where Swift Testing runs it,
/// not on a fresh thread, so a proven cycle that another test leaks meanwhile can be reported
/// here too. See <doc:ChecksInParallelTests>.
public struct LeakCheckTrait: TestTrait, SuiteTrait, TestScoping {
    enum Kind: Sendable { case noLeaks, deallocationChecks }
    let kind: Kind

    /// Always true: on a suite, the trait applies to every test in it, nested suites included.
    public var isRecursive: Bool { true }

    /// Runs the test under the trait's checks and records each failure as an issue at the test;
    /// for a suite, it only runs the suite.
    ///
    /// Swift Testing calls this; tests do not call it themselves.
    ///
    /// - Parameters:
    ///   - test: the test, or the suite, the trait is applied to.
    ///   - testCase: the running case of a parameterized test, or `nil`.
    ///   - function: the test itself.
    /// - Throws: whatever the test throws, after its checks have run.
    public func provideScope(
        for test: Test, testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        guard !test.isSuite else {
            try await function()
            return
        }
        for failure in try await LeakCheckTrait.checks(kind: kind, function) {
            Issue.record(Comment(rawValue: failure.message), sourceLocation: test.sourceLocation)
        }
    }

    /// Runs `function` under the trait's checks and returns their failures (the seam tested directly).
    static func checks(kind: Kind, _ function: @Sendable () async throws -> Void) async throws -> [CheckFailure] {
        let checkName = kind == .noLeaks ? "@Test(.noLeaks)" : "@Test(.deallocationChecks)"
        var failures: [CheckFailure] = []
        var before: HeapSnapshot?
        if kind == .noLeaks {
            if let failure = LeakChecks.startTracking(checkName) {
                failures.append(failure)
            } else {
                before = ObjGraph.untracked { try? ObjGraph.snapshot(includeOwnStack: false) }
            }
        }
        let tracker = DeallocationTracker()
        var thrown: (any Error)?
        do {
            try await DeallocationScope.$current.withValue(tracker) { try await function() }
        } catch {
            thrown = error
        }
        if let failure = LeakChecks.deallocation(tracker, checkName: "expectDeallocated") {
            failures.append(failure)
        }
        if let before, let failure = LeakChecks.leakFailure(before: before, concurrentTests: true, checkName: checkName)
        {
            failures.append(failure)
        }
        if let thrown { throw thrown }
        return failures
    }
}

extension Trait where Self == LeakCheckTrait {
    /// Fails the test when it leaves a new retain cycle behind; also checks `expectDeallocated`.
    public static var noLeaks: Self { LeakCheckTrait(kind: .noLeaks) }

    /// Checks, when the test ends, the objects passed to ``expectDeallocated(_:sourceLocation:)``.
    public static var deallocationChecks: Self { LeakCheckTrait(kind: .deallocationChecks) }
}
