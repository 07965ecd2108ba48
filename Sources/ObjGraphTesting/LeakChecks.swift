import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

/// The engine behind the XCTest and Swift Testing helpers. Each check returns `nil` when it
/// passes and a ``CheckFailure`` otherwise; the public wrappers only turn that into `XCTFail`
/// or `Issue.record`:
///
/// ```swift
/// if let failure = LeakChecks.leaks(concurrentTests: false, checkName: "assertNoLeaks", body) {
///     XCTFail(failure.message, file: file, line: line)
/// }
/// ```
///
/// The rules that make the checks trustworthy (a fresh thread, new objects only, one check at a
/// time, retries, proven cycles) and what `concurrentTests` changes are written once, for users,
/// in <doc:ChecksInParallelTests> (`ObjGraphTesting.docc/ChecksInParallelTests.md`). The checks'
/// own arrays, sets and strings are made inside `ObjGraph.untracked`, so they never show up as
/// growth or hold anything.
enum LeakChecks {
    /// Back-off between attempts, in milliseconds (goleak-style): objects still being torn down
    /// by other threads get about half a second to go away before a check fails.
    static let retryDelays: [Int] = [0, 5, 10, 20, 40, 80, 150, 200]

    // MARK: - Growth

    /// Runs `body` `warmup` times, takes the baseline, runs it `iterations` times and reports the
    /// types whose live count grew (objgraph's `show_growth` table), with the back-reference
    /// chain of one new instance of each of the first three types and a drawing of them.
    static func growth(
        iterations: Int, warmup: Int, ignoring: [String], concurrentTests: Bool,
        checkName: String = "assertNoGrowth",
        anchor: UInt = OwnStack.anchor(),
        _ body: () throws -> Void
    ) -> CheckFailure? {
        if let failure = startTracking(checkName) { return failure }
        return CheckLock.serialised {
            ObjGraph.untracked {
                for _ in 0..<max(0, warmup) {
                    if let error = runOnFreshThread(body) { return bodyThrew(checkName, error) }
                }
                guard let baseline = try? ObjGraph.snapshot(includeOwnStack: false) else {
                    return CheckFailure(message: "\(checkName): could not take a snapshot", drawingPath: nil)
                }
                let tracker = GrowthTracker()
                tracker.setBaseline()
                let baselineCounts = ObjGraph.typeStats()
                for _ in 0..<max(0, iterations) {
                    if let error = runOnFreshThread(body) { return bodyThrew(checkName, error) }
                }
                var ignored = IgnoreList(ignoring)
                ignored.resolveQualifiedNames(in: baseline)
                var lastAnalysis: GrowthAnalysis?
                for delay in retryDelays {
                    sleepMilliseconds(delay)
                    // Cheap first: per-type counts. Only a count above the baseline needs a snapshot.
                    let counts = ObjGraph.typeStats()
                    let grown = counts.filter { name, count in
                        count > (baselineCounts[name] ?? 0) && !ignored.contains(shortName: name)
                    }
                    if grown.isEmpty { return nil }
                    guard let after = try? ObjGraph.snapshot(includeOwnStack: false) else { continue }
                    ignored.resolveQualifiedNames(in: after)
                    let analysis = GrowthAnalysis(
                        before: baseline, after: after, baselineCounts: baselineCounts,
                        counts: counts, ignored: ignored, concurrentTests: concurrentTests,
                        iterations: max(1, iterations), anchor: anchor)
                    if analysis.blamed.isEmpty { return nil }
                    lastAnalysis = analysis
                }
                guard let analysis = lastAnalysis else { return nil }
                return analysis.failure(
                    tracker: tracker, iterations: iterations, warmup: warmup,
                    checkName: checkName)
            }
        }
    }

    // MARK: - Leaks

    /// Runs `body` once and reports the new leaked groups it left behind, `leaks`-style.
    static func leaks(
        concurrentTests: Bool, checkName: String = "assertNoLeaks",
        anchor: UInt = OwnStack.anchor(),
        _ body: () throws -> Void
    ) -> CheckFailure? {
        if let failure = startTracking(checkName) { return failure }
        return CheckLock.serialised {
            ObjGraph.untracked {
                guard let before = try? ObjGraph.snapshot(includeOwnStack: false) else {
                    return CheckFailure(message: "\(checkName): could not take a snapshot", drawingPath: nil)
                }
                if let error = runOnFreshThread(body) { return bodyThrew(checkName, error) }
                return leakFailure(
                    before: before, concurrentTests: concurrentTests, checkName: checkName, anchor: anchor)
            }
        }
    }

    /// The leak analysis after the body ran. A group is reported only if it is blamed in two
    /// successive snapshots (same top objects), so a structure some other thread is still
    /// building or tearing down is not. Proven cycles cannot go away (nothing outside holds
    /// them), so they fail after the second snapshot; other groups get the whole retry window.
    static func leakFailure(
        before: HeapSnapshot, concurrentTests: Bool, checkName: String,
        anchor: UInt = 0
    ) -> CheckFailure? {
        ObjGraph.untracked {
            var last: (analysis: LeakAnalysis, blamed: [LeakGroup])?
            var previousTops: Set<[UInt64]>?
            for delay in retryDelays {
                sleepMilliseconds(delay)
                guard let after = try? ObjGraph.snapshot(includeOwnStack: false) else { continue }
                var analysis = LeakAnalysis(before: before, after: after, anchor: anchor)
                var blamed = analysis.blamed(concurrentTests: concurrentTests)
                let tops = Set(blamed.map { analysis.topKey($0) })
                if let previousTops { blamed = blamed.filter { previousTops.contains(analysis.topKey($0)) } }
                if blamed.isEmpty && (previousTops != nil || tops.isEmpty) { return nil }
                if previousTops != nil, !blamed.isEmpty {
                    last = (analysis, blamed)
                    if blamed.allSatisfy({ analysis.isProvenCycle($0) }) { break }
                }
                previousTops = tops
            }
            guard let last else { return nil }
            return last.analysis.failure(groups: last.blamed, checkName: checkName)
        }
    }

    // MARK: - Deallocation

    /// Checks that every object registered with `tracker` is gone, retrying briefly; otherwise
    /// names each survivor's type, where it was registered and what keeps it alive.
    static func deallocation(_ tracker: DeallocationTracker, checkName: String = "expectDeallocated") -> CheckFailure? {
        ObjGraph.untracked {
            let entries = tracker.entries
            for delay in retryDelays {
                sleepMilliseconds(delay)
                if !entries.contains(where: { $0.isAlive }) { return nil }
            }
            // Hold the survivors while the snapshot is taken and read. Our array is untracked, so
            // the snapshot sees no reference from it; the +1 is subtracted from the counts shown.
            var survivorEntries: [DeallocationTracker.Entry] = []
            var survivors: [AnyObject] = []
            for entry in entries {
                if let object = entry.object {
                    survivorEntries.append(entry)
                    survivors.append(object)
                }
            }
            if survivors.isEmpty { return nil }
            return withExtendedLifetime(survivors) {
                survivalReport(survivorEntries: survivorEntries, objects: survivors, checkName: checkName)
            }
        }
    }

    static func survivalReport(
        survivorEntries: [DeallocationTracker.Entry], objects: [AnyObject],
        checkName: String
    ) -> CheckFailure {
        let count = objects.count
        var message =
            "\(checkName): \(count) object\(count == 1 ? "" : "s") expected to be deallocated "
            + "\(count == 1 ? "is" : "are") still alive:\n"
        guard ObjGraph.isTracking, let snapshot = try? ObjGraph.snapshot(includeOwnStack: false) else {
            for entry in survivorEntries {
                message += "\n\(entry.typeName) (registered at \(entry.site))\n"
            }
            message +=
                "\n(tracking is off: call ObjGraph.startTracking() before creating the objects to see what holds them)\n"
            return CheckFailure(message: message, drawingPath: nil)
        }
        let graph = ObjectGraph(snapshot)
        let ids = objects.map { snapshot.object(at: ObjGraph.address(of: $0)) }
        var explainer = Explainer(graph: graph, isNew: nil, checkerRetains: Set(ids.compactMap { $0 }))
        var drawn: [ObjectGraph.ObjectID] = []
        for (entry, id) in zip(survivorEntries, ids) {
            message += "\n\(entry.typeName) (registered at \(entry.site))\n"
            guard let id else {
                message +=
                    "    not tracked: it was allocated before ObjGraph.startTracking(); start tracking earlier (in setUp or the suite's init) to see what holds it\n"
                continue
            }
            drawn.append(id)
            message += explainer.explain(id)
        }
        var path: String?
        if !drawn.isEmpty {
            path = FailureDrawing.write(name: "survivors.svg") { try graph.showBackrefs(drawn, maxDepth: 4, to: $0) }
            message += FailureDrawing.messageLine(path)
        }
        return CheckFailure(message: message, drawingPath: path)
    }

    // MARK: - Shared pieces

    /// Starts tracking (`ObjGraph.startTracking()` serialises concurrent callers itself), or
    /// says why it could not.
    static func startTracking(_ checkName: String) -> CheckFailure? {
        do {
            try ObjGraph.startTracking()
            return nil
        } catch {
            return CheckFailure(message: "\(checkName): ObjGraph could not start tracking: \(error)", drawingPath: nil)
        }
    }

    static func bodyThrew(_ checkName: String, _ error: any Error) -> CheckFailure {
        CheckFailure(message: "\(checkName): the body threw \(error)", drawingPath: nil)
    }

    /// Runs `body` to completion on a new thread that exits before this returns (see
    /// ``ObjGraph/runOnFreshThread(_:)``). Returns what it threw.
    static func runOnFreshThread(_ body: () throws -> Void) -> (any Error)? {
        withoutActuallyEscaping(body) { escapable in
            let job = BodyJob(escapable)
            ObjGraph.runOnFreshThread {
                CheckLock.$insideCheck.withValue(true) { job.run() }
            }
            return job.error
        }
    }

    static func sleepMilliseconds(_ ms: Int) {
        guard ms > 0 else { return }
        var request = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// The user's body, carried to the fresh thread. The caller waits for the thread, so the
/// non-escaping closure never outlives the call.
private final class BodyJob: @unchecked Sendable {
    let body: () throws -> Void
    var error: (any Error)?
    init(_ body: @escaping () throws -> Void) { self.body = body }
    func run() {
        do { try body() } catch { self.error = error }
    }
}
