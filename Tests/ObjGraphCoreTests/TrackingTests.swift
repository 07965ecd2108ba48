import XCTest
import LeakyScenarios
@testable import ObjGraphCore
import CObjGraphRuntime

// Types local to these tests, so no other test's objects can disturb their counts.
private final class GrowthProbe {}
private final class CommonProbe {}
private final class ZombieOwner { var tag = 0 }
private final class ZombieHolder {
    unowned let owner: ZombieOwner
    init(owner: ZombieOwner) { self.owner = owner }
}
private final class StressKeep { var next: StressKeep?; let id: Int; init(_ id: Int) { self.id = id } }
private final class StressTemp { var items: [Int] = [1, 2, 3] }

/// A thread-safe box for collecting kept objects from worker threads.
private final class Keeper: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var kept: [StressKeep] = []
    init() { pthread_mutex_init(&lock, nil) }
    func add(_ objects: [StressKeep]) {
        pthread_mutex_lock(&lock)
        kept.append(contentsOf: objects)
        pthread_mutex_unlock(&lock)
    }
    func clear() {
        pthread_mutex_lock(&lock)
        kept.removeAll()
        pthread_mutex_unlock(&lock)
    }
    var count: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return kept.count
    }
}

final class TrackingTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    // MARK: The seeds' cases, with exact numbers

    func testRegistryKeepsEveryInstance() {
        let before = ObjGraph.count("Session")
        for i in 0..<25 { Session.open(id: 1000 + i) }
        XCTAssertEqual(ObjGraph.count("Session") - before, 25)
        for i in 0..<7 { Session.open(id: 2000 + i) }
        XCTAssertEqual(ObjGraph.count("Session") - before, 32)
        XCTAssertEqual(ObjGraph.count("LeakyScenarios.Session") - before, 32, "qualified names count the same")
    }

    func testLeakedPairsGrowByExactlyTwoPerPair() {
        let before = ObjGraph.count("Pair")
        makeLeakedPairs(150)
        XCTAssertEqual(ObjGraph.count("Pair") - before, 300)
        makeLeakedPairs(1)
        XCTAssertEqual(ObjGraph.count("Pair") - before, 302)
    }

    func testClosureStoredOnItsCaptureLeaksOneScreenAndOneContextEach() {
        let screens = ObjGraph.count("Screen")
        let contexts = ObjGraph.typeStats().filter { $0.key.hasPrefix("closure context") }.values.reduce(0, +)
        makeClosureCycles(10)
        XCTAssertEqual(ObjGraph.count("Screen") - screens, 10)
        let after = ObjGraph.typeStats().filter { $0.key.hasPrefix("closure context") }.values.reduce(0, +)
        XCTAssertEqual(after - contexts, 10)
    }

    func testFixedVersionsGrowByZero() {
        let tracker = GrowthTracker()
        tracker.setBaseline()
        makeWeakPairs(100)
        makeUnownedFamilies(100)
        makeWeakClosures(100)
        makeWeakDelegates(100)
        for i in 0..<100 { WeakSession.open(id: i) }
        let watched: Set = ["WeakPair", "Parent", "Child", "Screen", "Controller", "View", "WeakView", "WeakSession"]
        XCTAssertEqual(tracker.growth(limit: nil).filter { watched.contains($0.name) }, [])
    }

    // MARK: objgraph's tables, exact formats

    func testShowGrowthUsesObjgraphsFormatAndPeaks() {
        var probes = (0..<3).map { _ in GrowthProbe() }
        let only: (String) -> Bool = { $0 == "GrowthProbe" }
        var first = ""
        ObjGraph.showGrowth(filter: only, to: &first)
        // '%-*s%9d %+9d': the name padded to the longest name, count in 9 columns, delta in 9.
        XCTAssertEqual(first, "GrowthProbe        3        +3\n")
        var second = ""
        ObjGraph.showGrowth(filter: only, to: &second)
        XCTAssertEqual(second, "", "nothing grew, nothing printed")
        probes.removeLast()
        var third = ""
        ObjGraph.showGrowth(filter: only, to: &third)
        XCTAssertEqual(third, "", "falling below the peak is not growth")
        probes.append(contentsOf: [GrowthProbe(), GrowthProbe()])
        let rows = ObjGraph.growth(filter: only)
        XCTAssertEqual(rows.map(\.name), ["GrowthProbe"])
        XCTAssertEqual(rows.first?.count, 4)
        XCTAssertEqual(rows.first?.delta, 1, "only the count above the previous peak of 3")
        withExtendedLifetime(probes) {}
    }

    func testMostCommonTypesFormat() {
        let probes = (0..<5).map { _ in CommonProbe() }
        var text = ""
        ObjGraph.showMostCommonTypes(limit: nil, filter: { $0 == "CommonProbe" || $0 == "GrowthProbe" }, to: &text)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.first, "CommonProbe 5")
        XCTAssertEqual(
            ObjGraph.mostCommonTypes(limit: 1, filter: { $0 == "CommonProbe" }),
            [TypeCount(name: "CommonProbe", count: 5, bytes: ObjGraph.bytes("CommonProbe"))])
        XCTAssertGreaterThanOrEqual(ObjGraph.bytes("CommonProbe"), 5 * 16)
        withExtendedLifetime(probes) {}
    }

    func testTypeNamesAreReadable() {
        let registryBefore = ObjGraph.count("Array<UInt8> storage")
        Session.open(id: 3000)  // its payload is a [UInt8]
        XCTAssertEqual(ObjGraph.count("Array<UInt8> storage") - registryBefore, 1)
        makeBoxCycles(1)
        let names = ObjGraph.typeStats().keys
        XCTAssertTrue(names.contains("Box<Optional<Counter>>"), "\(names.sorted())")
        XCTAssertTrue(
            ObjGraph.typeStats(shortNames: false).keys.contains("Box<Swift.Optional<LeakyScenarios.Counter>>"))
        XCTAssertFalse(names.contains { $0.contains("invalid type") })
        XCTAssertTrue(names.contains { $0.hasPrefix("closure context") })
    }

    // MARK: Objects and their counts

    func testByTypeReturnsLiveInstances() throws {
        let keep = (0..<4).map { _ in GrowthProbe() }
        let found = try ObjGraph.byType(GrowthProbe.self)
        XCTAssertTrue(keep.allSatisfy { k in found.contains { $0 === k } })
        XCTAssertEqual(found.count, ObjGraph.count("GrowthProbe"))
    }

    func testRetainCounts() {
        let owner = ZombieOwner()
        let a = owner, b = owner
        weak let w = owner
        let holder = ZombieHolder(owner: owner)
        let counts = ObjGraph.retainCount(of: owner)
        XCTAssertGreaterThanOrEqual(counts.strong, 3)
        XCTAssertEqual(counts.unowned, 2, "one unowned reference plus the runtime's own +1")
        XCTAssertEqual(counts.weak, 2, "one weak reference plus the side table's own +1")
        withExtendedLifetime((a, b, holder)) {}
        XCTAssertNotNil(w)
    }

    /// The capture writes its object records straight into the snapshot's array: the C record
    /// and `HeapSnapshot.Object` must agree field by field (else a slower copy is used), and
    /// the counts must arrive as the snapshot defines them (the runtime's implicit +1s removed).
    func testSnapshotRecordsCarryTheObjectsCounts() throws {
        XCTAssertTrue(
            SnapshotBuilder.layoutsAgree, "ogr_object and ogr_edge have the layouts of HeapSnapshot.Object and Edge")
        let owner = ZombieOwner()
        let holders = [ZombieHolder(owner: owner), ZombieHolder(owner: owner)]
        weak let w = owner
        let snapshot = try ObjGraph.snapshot()
        let id = try XCTUnwrap(
            snapshot.object(at: UInt64(UInt(bitPattern: Unmanaged.passUnretained(owner).toOpaque()))))
        let object = snapshot.objects[id]
        XCTAssertEqual(snapshot.type(of: id).shortName, "ZombieOwner")
        XCTAssertGreaterThanOrEqual(object.strongCount, 1)
        XCTAssertEqual(object.unownedCount, 2)
        XCTAssertEqual(object.weakCount, 1)
        XCTAssertFalse(object.isZombie)
        XCTAssertGreaterThanOrEqual(Int(object.size), MemoryLayout<Int>.size * 3, "header, refcounts, tag")
        for holder in holders {
            let hid = try XCTUnwrap(
                snapshot.object(at: UInt64(UInt(bitPattern: Unmanaged.passUnretained(holder).toOpaque()))))
            XCTAssertEqual(snapshot.edges(from: hid).map { Int($0.to) }, [id])
            XCTAssertEqual(snapshot.edges(from: hid).map { snapshot.label(of: $0) }, ["owner"])
            XCTAssertEqual(snapshot.edges(from: hid).map(\.kind), [.unowned])
        }
        withExtendedLifetime((owner, holders)) {}
        XCTAssertNotNil(w)
    }

    /// Edges go straight into the snapshot's array while it has room (three per object plus
    /// 4096), the rest through an overflow array; an object whose edges straddle the boundary
    /// moves to the overflow whole. One array holding more references than that must come out
    /// complete and in order, the same as through the copying path.
    func testEdgesBeyondTheReservedRoomAreKept() throws {
        let target = ZombieOwner()
        let many = [ZombieOwner](repeating: target, count: 100_000)
        let holders = (0..<50).map { _ in ZombieHolder(owner: target) }
        for copying in [false, true] {
            let snapshot = ObjGraph.untracked {
                ogr_scrub_stack(); return SnapshotBuilder(copyRecords: copying).build(flags: 0)
            }
            let address = many.withUnsafeBufferPointer { UInt64(UInt(bitPattern: $0.baseAddress!)) } - 32
            let arrayID = try XCTUnwrap(snapshot.object(at: address), "the array's storage")
            let targetID = try XCTUnwrap(
                snapshot.object(at: UInt64(UInt(bitPattern: Unmanaged.passUnretained(target).toOpaque()))))
            XCTAssertLessThan(
                3 * snapshot.objects.count + 4096, 100_000, "the array's edges do not all fit the reserved room")
            let edges = snapshot.edges(from: arrayID)
            XCTAssertEqual(edges.count, 100_000, "copying: \(copying)")
            XCTAssertTrue(edges.allSatisfy { Int($0.to) == targetID })
            XCTAssertEqual(edges.map(\.offset), (0..<100_000).map { UInt32(32 + 8 * $0) })
            XCTAssertEqual(snapshot.label(of: edges[edges.startIndex + 99_999]), "[99999]")
            XCTAssertTrue(
                zip(snapshot.edges, snapshot.edges.dropFirst()).allSatisfy {
                    ($0.from, $0.offset) < ($1.from, $1.offset)
                },
                "edges sorted by (from, offset)")
            for holder in holders {
                let id = try XCTUnwrap(
                    snapshot.object(at: UInt64(UInt(bitPattern: Unmanaged.passUnretained(holder).toOpaque()))))
                XCTAssertEqual(snapshot.edges(from: id).map { snapshot.label(of: $0) }, ["owner"])
            }
        }
        withExtendedLifetime((target, many, holders)) {}
    }

    /// A type first seen during a capture is described only once frees are let through again
    /// (no Swift runtime work while other threads may be held in the middle of theirs), from
    /// the words the capture kept: its edges get the same labels, kinds and closure names as
    /// when every type was described beforehand.
    func testTypesFirstSeenDuringTheCaptureAreLabelledAfterIt() throws {
        makeClosureCycles(3)
        makeDictionaryCycles(3)
        makeArrayCycles(3)
        makeBoxCycles(3)
        let interesting: Set<String> = [
            "Screen", "Directory", "Dictionary<String, Entry> storage", "Team",
            "Array<Member> storage", "Counter", "closure context of closure #1 in Screen.bind()",
        ]
        func labels(describedBeforeCapture: Int?) -> [String: String] {
            let snapshot = ObjGraph.untracked {
                ogr_scrub_stack()
                return SnapshotBuilder(describedBeforeCapture: describedBeforeCapture).build(flags: 0)
            }
            var out: [String: String] = [:]
            for e in snapshot.edges where interesting.contains(snapshot.type(of: Int(e.from)).shortName) {
                let key = "\(snapshot.objects[Int(e.from)].address)+\(e.offset)"
                out[key] =
                    "\(snapshot.type(of: Int(e.from)).shortName).\(snapshot.label(of: e)) \(e.kind) -> \(snapshot.type(of: Int(e.to)).shortName)"
            }
            return out
        }
        let before = labels(describedBeforeCapture: nil)
        let after = labels(describedBeforeCapture: 0)
        XCTAssertGreaterThanOrEqual(before.count, 20)
        XCTAssertEqual(before, after)
        XCTAssertTrue(
            before.values.contains {
                $0.hasPrefix(
                    "Screen.onTap (closure #1 in Screen.bind()) strong -> closure context of closure #1 in Screen.bind()"
                )
            },
            "\(before.values.sorted())")
        XCTAssertTrue(
            before.values.contains { $0.hasPrefix("Dictionary<String, Entry> storage.value[") },
            "\(before.values.sorted())")
    }

    /// Runtime facts 3 (RuntimeFacts.md): an object deinitialized while `unowned` references remain is not freed;
    /// the registry must stop counting it at deinit (the swift_deallocClassInstance interposer), and not count it twice
    /// when it is finally freed.
    func testDeinitializedObjectsHeldByUnownedAreNotLive() {
        let before = ObjGraph.count("ZombieOwner")
        var holder: ZombieHolder?
        do {
            let owner = ZombieOwner()
            holder = ZombieHolder(owner: owner)
            XCTAssertEqual(ObjGraph.count("ZombieOwner") - before, 1)
        }
        XCTAssertNotNil(holder)
        XCTAssertEqual(ObjGraph.count("ZombieOwner") - before, 0, "deinitialized, only unowned-held: not live")
        var stats = ogr_stats()
        ogr_get_stats(&stats)
        XCTAssertGreaterThan(stats.deinit_seen, 0)
        holder = nil  // now the memory is freed too
        XCTAssertEqual(ObjGraph.count("ZombieOwner") - before, 0, "freed: still not counted twice")
    }

    // MARK: Concurrency

    /// 8 threads allocate, free and retain while another reads growth tables; the counts are
    /// exact once they stop, and nothing crashes or deadlocks.
    func testStressEightThreadsWithConcurrentReader() {
        let keepBefore = ObjGraph.count("StressKeep"), tempBefore = ObjGraph.count("StressTemp")
        let keeper = Keeper()
        let perThread = 2_000
        final class Flag: @unchecked Sendable { var done = false }
        let stop = Flag()
        let reader = Thread {
            var tables = 0
            while !stop.done {
                _ = ObjGraph.growth(limit: 5)
                _ = ObjGraph.typeStats()
                tables += 1
            }
            XCTAssertGreaterThan(tables, 0)
        }
        reader.start()
        let workers = (0..<8).map { t in
            Thread {
                var kept: [StressKeep] = []
                for i in 0..<perThread {
                    let temp = StressTemp()
                    let copies = [temp, temp, temp]  // retains
                    withExtendedLifetime(copies) {}
                    let k = StressKeep(t * perThread + i)
                    k.next = kept.last  // a chain, no cycle
                    if i % 2 == 0 { kept.append(k) }  // half survive
                }
                keeper.add(kept)
            }
        }
        workers.forEach { $0.start() }
        workers.forEach { $0.join() }
        stop.done = true
        reader.join()
        XCTAssertEqual(keeper.count, 8 * perThread / 2)
        XCTAssertEqual(ObjGraph.count("StressKeep") - keepBefore, 8 * perThread / 2)
        XCTAssertEqual(ObjGraph.count("StressTemp") - tempBefore, 0)
        keeper.clear()
        XCTAssertEqual(ObjGraph.count("StressKeep") - keepBefore, 0)
    }

    /// Runtime facts 2 (RuntimeFacts.md): with the allocation hook installed, copying small strings into `Any`,
    /// printing and interpolating must not crash (the retain-adapter fix-up). The companion
    /// CLI test runs a program without the fix-up and sees it crash.
    func testRetainAdapterFixUpKeepsSmallStringsWorking() {
        let small = "a"
        let boxed: [Any] = [small, "bc", 1, small + "d"]
        var out = ""
        print("a", 1, boxed, to: &out)
        XCTAssertEqual(out, "a 1 [\"a\", \"bc\", 1, \"ad\"]\n")
        XCTAssertEqual("\(small)-\(42)-\(boxed.count)", "a-42-4")
        let dict: [String: Any] = ["k": "v", "n": 2]
        XCTAssertEqual((dict["k"] as? String), "v")
    }

    func testTrackingSurvivesFork() throws {
        let pid = fork()
        if pid == 0 {
            // Child: only this thread exists. Allocating, freeing and snapshotting must work.
            makeLeakedPairs(10)
            let ok = (try? ObjGraph.snapshot()) != nil && ObjGraph.count("Pair") >= 20
            _exit(ok ? 0 : 1)
        }
        XCTAssertGreaterThan(pid, 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        XCTAssertEqual(status, 0, "child exited with status \(status)")
    }
}

/// A joinable pthread for tests.
final class Thread: @unchecked Sendable {
    private let body: () -> Void
    private var thread = pthread_t()

    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
                me.body()
                return nil
            }, box)
    }

    func join() { pthread_join(thread, nil) }
}
