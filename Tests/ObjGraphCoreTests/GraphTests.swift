import XCTest
import LeakyScenarios
@testable import ObjGraphCore

/// The object graph against the fixtures' scenarios: each leak is found with the right member
/// types and labels, the fixed versions report nothing, chains end at named roots.
final class GraphTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    /// Runs `body` on a fresh thread, then snapshots (without this thread's older frames as
    /// roots) and returns the graph and the leaked cycles made only of objects that are new.
    private func leaks(during body: @escaping @Sendable () -> Void) throws -> (ObjectGraph, [LeakGroup]) {
        // Addresses are reused by malloc: an object is old only if the same address held the
        // same type before.
        let old = try ObjGraph.snapshot(includeOwnStack: false)
        let before = Set(old.objects.indices.map { "\(old.objects[$0].address) \(old.type(of: $0).name)" })
        ObjGraph.runOnFreshThread(body)
        let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
        let groups = graph.leakingObjects().filter { group in
            group.members.allSatisfy {
                !before.contains("\(graph.snapshot.objects[$0].address) \(graph.snapshot.type(of: $0).name)")
            }
        }
        // Only cycles: the process (XCTest, the runtime) may lazily create objects held by memory
        // outside the Swift heap, which show up as cycle-free ROOT LEAKs.
        return (graph, groups.filter { $0.cycle != nil })
    }

    private func cycleShape(_ group: LeakGroup, _ graph: ObjectGraph) -> (types: [String], labels: [String]) {
        let s = graph.snapshot
        let cycle = group.cycle!
        return (cycle.members.map { s.type(of: $0).shortName }, cycle.edges.map { s.label(of: $0) })
    }

    /// A word of a Swift object that is scanned conservatively (an array element's enum
    /// payload) and happens to equal the object's own address is a self-edge, but not a
    /// retain: a static that holds the object keeps it alive, not "leaked in a cycle of one"
    /// (seen on swift-package's `Array<NameSpecification.Element>` storage).
    func testAWordEqualToItsOwnAddressDoesNotMakeAHeldObjectALeak() throws {
        var elements = [SelfAddressElement(base: .number(0)), SelfAddressElement(base: .number(1))]
        let storage = elements.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress!) } - 32
        elements[0].base = .number(Int(bitPattern: storage))
        GraphTests.held = elements
        elements = []  // the static is the only holder: strong count 1
        defer { GraphTests.held = [] }
        let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
        let id = try XCTUnwrap(graph.snapshot.objects.firstIndex { $0.address == UInt64(storage) })
        let selfEdges = graph.outgoing(id).filter { Int($0.to) == id }
        XCTAssertEqual(selfEdges.map(\.kind), [.conservative], "the payload word is a conservative self-edge")
        XCTAssertFalse(graph.leakingObjects().contains { $0.members.contains(id) })
        XCTAssertEqual(graph.findBackrefChain(to: id)?.root?.name, "static ObjGraphCoreTests.GraphTests.held")
    }

    nonisolated(unsafe) static var held: [SelfAddressElement] = []

    /// malloc hands a freed block to the next object of the same size: the allocation epoch
    /// (advanced by every capture) tells the new object from the old one at that address.
    func testAllocationEpochTellsAReusedAddressApart() throws {
        final class Reused { var value = 0 }
        var old: Reused? = Reused()
        let address = UInt64(UInt(bitPattern: Unmanaged.passUnretained(old!).toOpaque()))
        let first = try ObjGraph.snapshot()
        let oldID = try XCTUnwrap(first.object(at: address))
        old = nil
        var made: [Reused] = []
        for _ in 0..<64 {  // until malloc gives the same block back
            made.append(Reused())
            if UInt64(UInt(bitPattern: Unmanaged.passUnretained(made.last!).toOpaque())) == address { break }
        }
        try XCTSkipUnless(
            made.contains { UInt64(UInt(bitPattern: Unmanaged.passUnretained($0).toOpaque())) == address },
            "malloc did not reuse the block")
        let second = try ObjGraph.snapshot()
        let newID = try XCTUnwrap(second.object(at: address))
        XCTAssertEqual(first.type(of: oldID).name, second.type(of: newID).name)
        XCTAssertNotEqual(first.objects[oldID].allocationEpoch, second.objects[newID].allocationEpoch)
        withExtendedLifetime(made) {}
    }

    func testPairCycles() throws {
        let (graph, groups) = try leaks { makeLeakedPairs(3) }
        XCTAssertEqual(groups.count, 3)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Pair", "Pair"])
            XCTAssertEqual(shape.labels, ["partner", "partner"])
            XCTAssertEqual(group.cycle!.edges.map(\.kind), [.strong, .strong])
            XCTAssertEqual(group.members.count, 2)
        }
    }

    func testClosureCapturingSelf() throws {
        let (graph, groups) = try leaks { makeClosureCycles(2) }
        XCTAssertEqual(groups.count, 2)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Screen", "closure context of closure #1 in Screen.bind()"])
            XCTAssertEqual(shape.labels, ["onTap (closure #1 in Screen.bind())", "capture #1"])
        }
    }

    func testDelegateHeldStrongly() throws {
        let (graph, groups) = try leaks { makeDelegateCycles(2) }
        XCTAssertEqual(groups.count, 2)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Controller", "View"])
            XCTAssertEqual(shape.labels, ["view", "delegate"])
            // The controller's other view is leaked with it, but is not part of the cycle.
            XCTAssertEqual(
                group.members.map { graph.snapshot.type(of: $0).shortName }.sorted(),
                ["Controller", "View", "WeakView"])
        }
    }

    func testCycleThroughArrayStorage() throws {
        let (graph, groups) = try leaks { makeArrayCycles(2) }
        XCTAssertEqual(groups.count, 2)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Member", "Team", "Array<Member> storage"])
            XCTAssertEqual(shape.labels, ["team", "members", "[0]"])
        }
    }

    func testCycleThroughDictionaryStorage() throws {
        let (graph, groups) = try leaks { makeDictionaryCycles(2) }
        XCTAssertEqual(groups.count, 2)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Directory", "Dictionary<String, Entry> storage", "Entry"])
            XCTAssertEqual(shape.labels[0], "entries")
            XCTAssertTrue(shape.labels[1].hasPrefix("value["), shape.labels[1])
            XCTAssertEqual(shape.labels[2], "directory")
        }
    }

    func testCycleThroughCapturedVarBox() throws {
        let (graph, groups) = try leaks { makeBoxCycles(2) }
        XCTAssertEqual(groups.count, 2)
        for group in groups {
            let shape = cycleShape(group, graph)
            XCTAssertEqual(shape.types, ["Counter", "Box<Optional<Counter>>"])
            XCTAssertEqual(shape.labels, ["onChange (closure #1 in makeBoxCycles(Int))", "value"])
        }
    }

    func testRingOfNine() throws {
        let (graph, groups) = try leaks { makeRings(1) }
        XCTAssertEqual(groups.count, 1)
        let shape = cycleShape(groups[0], graph)
        XCTAssertEqual(shape.types, Array(repeating: "RingNode", count: 9))
        XCTAssertEqual(shape.labels, Array(repeating: "next", count: 9))
        // Following the edges from the first member visits all nine and returns.
        let cycle = groups[0].cycle!
        for (i, edge) in cycle.edges.enumerated() {
            XCTAssertEqual(Int(edge.from), cycle.members[i])
            XCTAssertEqual(Int(edge.to), cycle.members[(i + 1) % 9])
        }
    }

    func testFixedVersionsReportNothing() throws {
        let (_, groups) = try leaks {
            makeWeakPairs(5)
            makeUnownedFamilies(5)
            makeWeakClosures(5)
            makeWeakDelegates(5)
            for i in 0..<5 { WeakSession.open(id: 500 + i) }
        }
        XCTAssertEqual(groups.count, 0, "\(groups)")
    }

    func testRegistryChainEndsAtTheStaticProperty() throws {
        ObjGraph.runOnFreshThread { Session.open(id: 4242) }
        let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
        let sessions = graph.objects(ofType: "Session")
        let target = try XCTUnwrap(sessions.last)
        let chain = try XCTUnwrap(graph.findBackrefChain(to: target))
        XCTAssertEqual(chain.root?.name, "static LeakyScenarios.Session.registry")
        XCTAssertEqual(chain.root?.kind, .global)
        XCTAssertEqual(
            chain.objects.map { graph.snapshot.type(of: $0).shortName }, ["Array<Session> storage", "Session"])
        XCTAssertEqual(chain.objects.last, target)
        XCTAssertTrue(graph.snapshot.label(of: chain.edges[0]).hasPrefix("["))
        XCTAssertEqual(
            ChainText.line(chain, in: graph.snapshot).components(separatedBy: " 0x").first,
            "static LeakyScenarios.Session.registry --> Array<Session> storage --\(graph.snapshot.label(of: chain.edges[0]))--> Session"
        )
        XCTAssertFalse(graph.leakedObjectIDs().contains(target))
    }

    func testObjectsHeldOnlyByAnotherThreadsStackAreNotLeaks() throws {
        let holder = StackHolder()
        let before = Set(try ObjGraph.snapshot(includeOwnStack: false).objects.map(\.address))
        holder.start(count: 5)
        let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
        holder.finish()
        let held = graph.objects(ofType: "StackHeld").filter { !before.contains(graph.snapshot.objects[$0].address) }
        XCTAssertEqual(held.count, 5)
        let leaked = Set(graph.leakedObjectIDs())
        XCTAssertTrue(held.allSatisfy { !leaked.contains($0) })
        let chain = try XCTUnwrap(graph.findBackrefChain(to: held[0]))
        XCTAssertEqual(chain.root?.kind, .stack)
        XCTAssertTrue(chain.root?.name.hasPrefix("thread ") == true, chain.root?.name ?? "")
    }

    func testRetainedSizesOfALeakedRing() throws {
        let (graph, groups) = try leaks { makeRings(1) }
        let sizes = graph.retainedSizes()
        let members = groups[0].members
        let total = members.reduce(0) { $0 + Int(graph.snapshot.objects[$1].size) }
        // The ring is entered at one member, which dominates the other eight. (It hangs off the
        // super-root there, unless a stale word in a C block, such as a continuation Dispatch
        // keeps cached, points at it: a proven cycle is a leak all the same.)
        XCTAssertEqual(members.map { sizes.perObject[$0] }.max(), total)
        XCTAssertEqual(
            members.filter { sizes.immediateDominator[$0].map { !members.contains($0) } ?? true }.count, 1)
        XCTAssertEqual(members.map { sizes.perObject[$0] }.min(), Int(graph.snapshot.objects[members[0]].size))
    }

    func testLeaksReportInTheStyleOfAppleLeaks() throws {
        let (graph, groups) = try leaks { makeLeakedPairs(2) }
        let text = LeaksReport(graph: graph, groups: groups).text
        XCTAssertTrue(text.hasPrefix("4 leaked objects for "), text)
        XCTAssertTrue(text.contains("2 instances of this structure, 4 objects"), text)
        XCTAssertTrue(text.contains("ROOT CYCLE: <Pair 0x"), text)
        XCTAssertTrue(text.contains("__strong partner --> <Pair 0x"), text)
        XCTAssertTrue(text.contains("__strong partner --> CYCLE BACK TO <Pair 0x"), text)
    }

    func testReferrersReferentsAndRefChain() throws {
        let (graph, groups) = try leaks { makeArrayCycles(1) }
        let members = groups[0].members
        let s = graph.snapshot
        let team = try XCTUnwrap(members.first { s.type(of: $0).shortName == "Team" })
        let storage = try XCTUnwrap(members.first { s.type(of: $0).shortName == "Array<Member> storage" })
        let member = try XCTUnwrap(members.first { s.type(of: $0).shortName == "Member" })
        XCTAssertEqual(graph.referents(of: team), [storage])
        // Swift referrers only: a continuation Dispatch keeps cached for reuse may still hold a
        // stale word equal to the storage's address.
        XCTAssertEqual(
            graph.referrers(of: storage).filter { s.types[Int(s.objects[$0].typeIndex)].kind != .nativeBlock }, [team])
        let chain = try XCTUnwrap(graph.findRefChain(from: team, where: { $0 == member }))
        XCTAssertEqual(chain.objects, [team, storage, member])
        XCTAssertEqual(
            graph.cycles(
                among: groups[0].members.reduce(into: [Bool](repeating: false, count: graph.count)) { $0[$1] = true }
            ).count, 1)
    }

    /// A conservative root that points into a leaked cycle (a stale stack word) does not hide
    /// it: every member's retain count is explained by the cycle's own references. A cycle with
    /// one real outside retain is not reported.
    func testStaleRootDoesNotHideARetainClosedCycle() throws {
        let (graph, groups) = try leaks { makeLeakedPairs(1) }
        let pair = try XCTUnwrap(groups.first?.cycle?.members.first)
        var snapshot = graph.snapshot
        snapshot.roots.append(
            HeapSnapshot.Root(kind: .stack, name: "thread 1 stack", slotAddress: 0x1000, target: Int32(pair)))
        let stale = ObjectGraph(snapshot)
        XCTAssertTrue(stale.reachableFromRoots()[pair], "the fake root reaches it")
        XCTAssertTrue(stale.leakedObjectIDs().contains(pair), "still a leak: nothing outside retains it")
        // One more strong retain than the cycle explains: something real may hold it.
        snapshot.objects[pair].strongCount += 1
        XCTAssertFalse(ObjectGraph(snapshot).leakedObjectIDs().contains(pair))
    }

    /// The instance a report chains and draws for a growing type: the last one in address order
    /// that a root reaches, as `objects(ofType:).last { reachable[$0] }` gives it, for each
    /// name given, qualified or short, and nil when no instance is reachable.
    func testLastReachableInstancesOfTypes() {
        let types = [
            HeapSnapshot.TypeInfo(name: "M.Node", shortName: "Node", kind: .classInstance),
            HeapSnapshot.TypeInfo(name: "M.Leaf", shortName: "Leaf", kind: .classInstance),
        ]
        let objects = (0..<6).map { i in
            HeapSnapshot.Object(
                address: UInt64(0x1000 + 16 * i), typeIndex: Int32(i % 2), size: 32, strongCount: 1,
                unownedCount: 0, weakCount: 0, isZombie: false)
        }
        let graph = ObjectGraph(HeapSnapshot(types: types, objects: objects, edges: [], labels: [], roots: []))
        let reachable = [true, true, true, false, false, false]
        let names = ["Node", "M.Node", "Leaf", "Missing"]
        let found = graph.lastReachableInstances(ofTypes: names, reachable: reachable)
        XCTAssertEqual(found, [2, 2, 1, nil])
        XCTAssertEqual(found, names.map { name in graph.objects(ofType: name).last { reachable[$0] } })
    }
}

struct SelfAddressElement {
    enum Base {
        case number(Int)
        case object(AnyObject)
    }
    var base: Base
}
