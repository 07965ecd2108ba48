import XCTest
@testable import ObjGraphCore

/// `objectsWithoutReferrers()` (objgraph's `get_leaking_objects()`), `distancesFromRoots()` and
/// `incomingCount(_:)` on a hand-built graph: a global holds 0, 0 -> 1 -> 2 strongly, 2 -> 3
/// weakly (unowned(unsafe)), 4 <-> 5 is a leaked pair, 6 is referred to by nothing.
final class ReachabilityTests: XCTestCase {
    private func graph() -> ObjectGraph {
        typealias S = HeapSnapshot
        let objects = (0..<7).map { i in
            S.Object(
                address: UInt64(0x1000 + 0x100 * i), typeIndex: 0, size: 32, strongCount: 1, unownedCount: 0,
                weakCount: 0, isZombie: false)
        }
        let edges = [
            S.Edge(from: 0, to: 1, offset: 16, label: 0, kind: .strong),
            S.Edge(from: 1, to: 2, offset: 16, label: 0, kind: .strong),
            S.Edge(from: 2, to: 3, offset: 24, label: 0, kind: .unownedUnsafe),
            S.Edge(from: 4, to: 5, offset: 16, label: 0, kind: .strong),
            S.Edge(from: 5, to: 4, offset: 16, label: 0, kind: .strong),
        ]
        let snapshot = S(
            types: [S.TypeInfo(name: "M.Node", shortName: "Node", kind: .classInstance)], objects: objects,
            edges: edges, labels: ["next"],
            roots: [S.Root(kind: .global, name: "static M.head", slotAddress: 0x10, target: 0)])
        return ObjectGraph(snapshot)
    }

    func testObjectsWithoutReferrers() {
        XCTAssertEqual(graph().objectsWithoutReferrers(), [6], "3 has a (weak) referrer, 4 and 5 refer to each other")
    }

    func testDistancesFromRootsFollowStrongReferencesOnly() {
        XCTAssertEqual(graph().distancesFromRoots(), [0, 1, 2, nil, nil, nil, nil])
    }

    func testIncomingCount() {
        let g = graph()
        XCTAssertEqual((0..<7).map(g.incomingCount), [0, 1, 1, 1, 1, 1, 0])
    }
}
