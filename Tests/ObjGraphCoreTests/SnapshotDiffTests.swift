import XCTest
@testable import ObjGraphCore

final class SnapshotDiffTests: XCTestCase {
    typealias S = HeapSnapshot

    static func object(_ address: UInt64, _ type: Int32, _ size: UInt32) -> S.Object {
        S.Object(
            address: address, typeIndex: type, size: size, strongCount: 1, unownedCount: 0, weakCount: 0,
            isZombie: false)
    }

    /// Types are listed in a different order in each snapshot, and `A.Node`/`B.Node` share a short name.
    static let old = S(
        types: [
            S.TypeInfo(name: "App.Session", shortName: "Session", kind: .classInstance),
            S.TypeInfo(name: "A.Node", shortName: "Node", kind: .classInstance),
            S.TypeInfo(name: "App.Gone", shortName: "Gone", kind: .classInstance),
            S.TypeInfo(name: "App.Cache", shortName: "Cache", kind: .classInstance),
        ],
        objects: [
            object(0x100, 0, 32), object(0x200, 1, 16), object(0x300, 1, 16), object(0x400, 2, 64),
            object(0x500, 3, 100),
        ],
        edges: [], labels: [], roots: [])

    static let new = S(
        types: [
            S.TypeInfo(name: "A.Node", shortName: "Node", kind: .classInstance),
            S.TypeInfo(name: "B.Node", shortName: "Node", kind: .classInstance),
            S.TypeInfo(name: "App.Session", shortName: "Session", kind: .classInstance),
            S.TypeInfo(name: "App.Cache", shortName: "Cache", kind: .classInstance),
        ],
        objects: [
            object(0x100, 2, 32),  // Session survives
            object(0x200, 1, 16),  // B.Node where an A.Node was: a new Node, a deleted Node
            object(0x300, 0, 16),  // A.Node survives
            object(0x400, 2, 48),  // Session reuses Gone's address: new Session, deleted Gone
            object(0x500, 3, 120),  // Cache survives and grew
            object(0x600, 0, 16), object(0x700, 0, 16), object(0x800, 2, 32),
        ],
        edges: [], labels: [], roots: [])

    func testShortNameRows() {
        XCTAssertEqual(
            SnapshotDiff.compare(old: Self.old, new: Self.new),
            [
                SnapshotDiff.Row(
                    name: "Node", added: 3, deleted: 1, oldCount: 2, newCount: 4, oldBytes: 32, newBytes: 64),
                SnapshotDiff.Row(
                    name: "Session", added: 2, deleted: 0, oldCount: 1, newCount: 3, oldBytes: 32, newBytes: 112),
                SnapshotDiff.Row(
                    name: "Gone", added: 0, deleted: 1, oldCount: 1, newCount: 0, oldBytes: 64, newBytes: 0),
                SnapshotDiff.Row(
                    name: "Cache", added: 0, deleted: 0, oldCount: 1, newCount: 1, oldBytes: 100, newBytes: 120),
            ])
    }

    func testQualifiedNameRows() {
        let rows = SnapshotDiff.compare(old: Self.old, new: Self.new, shortNames: false)
        XCTAssertEqual(rows.map(\.name), ["App.Session", "A.Node", "App.Gone", "B.Node", "App.Cache"])
        XCTAssertEqual(rows.map(\.added), [2, 2, 0, 1, 0])
        XCTAssertEqual(rows.map(\.deleted), [0, 1, 1, 0, 0])
        XCTAssertEqual(rows.map(\.delta), [2, 1, -1, 1, 0])
        XCTAssertEqual(rows.map(\.sizeDelta), [80, 16, -64, 16, 20])
    }

    func testTable() {
        XCTAssertEqual(
            SnapshotDiff.table(SnapshotDiff.compare(old: Self.old, new: Self.new)),
            """
            TYPE     #NEW  #DELETED  #DELTA  SIZE DELTA
            Node        3         1      +2         +32
            Session     2         0      +2         +80
            Gone        0         1      -1         -64
            Cache       0         0       0         +20
            TOTAL       5         2      +3         +68

            """)
        XCTAssertEqual(SnapshotDiff.table([]), "")
    }

    func testIdenticalSnapshotsHaveNoRows() {
        XCTAssertEqual(SnapshotDiff.compare(old: Self.new, new: Self.new), [])
    }

    func testUnsortedObjectsMatchByAddress() {
        var old = Self.old, new = Self.new
        old.objects.reverse()
        new.objects.swapAt(0, 7)
        XCTAssertEqual(SnapshotDiff.compare(old: old, new: new), SnapshotDiff.compare(old: Self.old, new: Self.new))
    }

    func testReversedComparisonSwapsNewAndDeleted() {
        let forward = SnapshotDiff.compare(old: Self.old, new: Self.new)
        let backward = SnapshotDiff.compare(old: Self.new, new: Self.old)
        XCTAssertEqual(backward.map(\.name), forward.map(\.name))
        XCTAssertEqual(backward.map(\.added), forward.map(\.deleted))
        XCTAssertEqual(backward.map(\.deleted), forward.map(\.added))
        XCTAssertEqual(backward.map(\.sizeDelta), forward.map { -$0.sizeDelta })
    }

    func testCensus() {
        XCTAssertEqual(
            SnapshotDiff.census(of: Self.new),
            [
                TypeCount(name: "Cache", count: 1, bytes: 120),
                TypeCount(name: "Session", count: 3, bytes: 112),
                TypeCount(name: "Node", count: 4, bytes: 64),
            ])
        XCTAssertEqual(
            SnapshotDiff.census(of: Self.new, shortNames: false).map(\.name),
            ["App.Cache", "App.Session", "A.Node", "B.Node"])
        XCTAssertEqual(
            TextTable.census(SnapshotDiff.census(of: Self.old)),
            "   COUNT      BYTES       AVG   CLASS_NAME\n"
                + "       1        100     100.0   Cache\n"
                + "       1         64      64.0   Gone\n"
                + "       2         32      16.0   Node\n"
                + "       1         32      32.0   Session\n"
                + "       5        228             TOTAL\n")
    }
}
