import Dispatch
import Glibc
import XCTest

@testable import ObjGraphCore

/// Objects made only by these tests.
private final class FrameHeld: @unchecked Sendable {
    let id: Int
    init(id: Int) { self.id = id }
}
private final class BufferHeld {}
private final class BlockHeld: @unchecked Sendable {}
private final class StructOwner {
    var link: UnsafeMutablePointer<Unmanaged<StructOwner>>?
}

/// Continuations parked until the test lets them go.
private final class Parking: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var waiting: [CheckedContinuation<Void, Never>] = []
    init() { pthread_mutex_init(&lock, nil) }
    var count: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return waiting.count
    }
    func park(_ continuation: CheckedContinuation<Void, Never>) {
        pthread_mutex_lock(&lock)
        waiting.append(continuation)
        pthread_mutex_unlock(&lock)
    }
    func releaseAll() {
        pthread_mutex_lock(&lock)
        let all = waiting
        waiting = []
        pthread_mutex_unlock(&lock)
        for continuation in all { continuation.resume() }
    }
}

@inline(never)
private func holdWhileParked(_ object: FrameHeld, on parking: Parking) async {
    await withCheckedContinuation { parking.park($0) }
    _ = object.id  // the frame keeps `object` across the suspension
}

/// The library's snapshot sees the whole heap: what only a suspended async frame, a malloc'd
/// buffer or a pending Dispatch block holds is reachable, and the chain to it names the frame or
/// block; a cycle through a malloc'd struct is a leak with the block in it.
final class WholeHeapTests: XCTestCase {
    nonisolated(unsafe) static var holder: [UnsafeMutableRawPointer] = []

    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    private func snapshot() throws -> ObjectGraph { ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false)) }

    func testObjectsHeldBySuspendedAsyncFramesAreReachableThroughNamedFrames() throws {
        let parking = Parking()
        for i in 0..<5 {
            Task.detached { await holdWhileParked(FrameHeld(id: i), on: parking) }
        }
        let deadline = Date().addingTimeInterval(10)
        while parking.count < 5 && Date() < deadline { usleep(1000) }
        XCTAssertEqual(parking.count, 5)
        defer { parking.releaseAll() }
        let graph = try snapshot()
        let held = graph.objects(ofType: "FrameHeld")
        XCTAssertEqual(held.count, 5)
        let leaked = Set(graph.leakedObjectIDs())
        XCTAssertTrue(held.allSatisfy { !leaked.contains($0) })
        // Each is referred to by its suspended frame, a node named after the closure.
        let frame =
            "async frame of closure #1 in WholeHeapTests.testObjectsHeldBySuspendedAsyncFramesAreReachableThroughNamedFrames()"
        for object in held {
            let referrers = graph.referrers(of: object).map { graph.snapshot.type(of: $0).shortName }
            XCTAssertTrue(referrers.contains(frame), "\(referrers)")
            XCTAssertNotNil(graph.findBackrefChain(to: object))
        }
    }

    func testUnmanagedReferencesInAMallocdBufferAreReachable() throws {
        let buffer = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 4)
        for i in 0..<4 { buffer[i] = Unmanaged.passRetained(BufferHeld()).toOpaque() }
        WholeHeapTests.holder = [UnsafeMutableRawPointer(buffer)]  // a global Swift array holds the C buffer
        defer {
            WholeHeapTests.holder = []
            for i in 0..<4 { Unmanaged<BufferHeld>.fromOpaque(buffer[i]!).release() }
            buffer.deallocate()
        }
        let graph = try snapshot()
        let held = graph.objects(ofType: "BufferHeld")
        XCTAssertEqual(held.count, 4)
        let leaked = Set(graph.leakedObjectIDs())
        XCTAssertTrue(held.allSatisfy { !leaked.contains($0) })
        let chain = try XCTUnwrap(graph.findBackrefChain(to: held[0]))
        XCTAssertEqual(
            chain.objects.map { graph.snapshot.type(of: $0).shortName },
            ["Array<UnsafeMutableRawPointer> storage", "malloc block", "BufferHeld"])
        XCTAssertEqual(chain.root?.name, "static ObjGraphCoreTests.WholeHeapTests.holder")
    }

    /// A suspended queue a static holds, with blocks pending on it: what the blocks capture is
    /// alive (the test's own stack is no root here, so the queue must be held from elsewhere,
    /// as a program's queues are).
    func testObjectsCapturedByBlocksPendingOnASuspendedQueueAreReachable() throws {
        let queue = DispatchQueue(label: "whole-heap-tests.suspended")
        WholeHeapTests.suspendedQueue = queue
        queue.suspend()
        for _ in 0..<3 {
            let object = BlockHeld()
            queue.async { withExtendedLifetime(object) {} }
        }
        defer {
            queue.resume()
            WholeHeapTests.suspendedQueue = nil
        }
        let graph = try snapshot()
        let held = graph.objects(ofType: "BlockHeld")
        XCTAssertEqual(held.count, 3)
        let leaked = Set(graph.leakedObjectIDs())
        XCTAssertTrue(held.allSatisfy { !leaked.contains($0) }, LeaksReport(graph: graph).text)
        // Each is held by its Dispatch block, named after the closure. (The shortest chain from a
        // root may go elsewhere: a stale word in a C pool, such as the runtime's metadata
        // AllocationPool, can be nearer a root than the queue is.)
        for object in held {
            let fromBlock = graph.findBackrefChain(
                to: object,
                where: {
                    graph.snapshot.type(of: $0).shortName.hasPrefix(
                        "Dispatch block of closure #1 in WholeHeapTests.testObjectsCapturedByBlocksPending")
                })
            let shortest = graph.findBackrefChain(to: object).map { ChainText.line($0, in: graph.snapshot) }
            XCTAssertNotNil(fromBlock, shortest ?? "no chain")
        }
    }

    nonisolated(unsafe) static var suspendedQueue: DispatchQueue?

    func testACycleThroughAMallocdStructIsALeakWithTheBlockInIt() throws {
        ObjGraph.runOnFreshThread {
            let owner = StructOwner()
            let link = UnsafeMutablePointer<Unmanaged<StructOwner>>.allocate(capacity: 1)
            link.initialize(to: Unmanaged.passRetained(owner))
            owner.link = link
        }
        let graph = try snapshot()
        let owner = try XCTUnwrap(graph.objects(ofType: "StructOwner").last)
        let group = try XCTUnwrap(graph.leakingObjects().first { $0.members.contains(owner) })
        XCTAssertEqual(
            group.members.map { graph.snapshot.type(of: $0).shortName }.sorted(), ["StructOwner", "malloc block"])
        let cycle = try XCTUnwrap(group.cycle)
        XCTAssertEqual(cycle.edges.map { graph.snapshot.label(of: $0) }.sorted(), ["+0", "link"])
    }
}
