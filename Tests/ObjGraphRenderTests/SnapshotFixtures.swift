import ObjGraphCore

/// Builds small `HeapSnapshot`s by hand, shaped like the real fixtures' captures.
struct HandBuiltSnapshot {
    private var types: [HeapSnapshot.TypeInfo] = []
    private var objects: [HeapSnapshot.Object] = []
    private var edges: [HeapSnapshot.Edge] = []
    private var labels: [String] = []
    private var roots: [HeapSnapshot.Root] = []
    private var nextOffset: [Int: UInt32] = [:]

    /// Adds an object of type `name` (qualified); returns its id. Addresses rise with ids, as
    /// snapshots keep objects sorted by address.
    @discardableResult
    mutating func object(
        _ name: String, kind: HeapSnapshot.ObjectKind = .classInstance,
        size: UInt32 = 48, strongCount: UInt32 = 1
    ) -> Int {
        let typeIndex: Int
        if let existing = types.firstIndex(where: { $0.name == name }) {
            typeIndex = existing
        } else {
            types.append(.init(name: name, shortName: Self.shortName(name), kind: kind))
            typeIndex = types.count - 1
        }
        objects.append(
            .init(
                address: 0x5566_a000_1000 + UInt64(objects.count) * 0x40, typeIndex: Int32(typeIndex),
                size: size, strongCount: strongCount, unownedCount: 0, weakCount: 0, isZombie: false))
        return objects.count - 1
    }

    mutating func edge(_ from: Int, _ to: Int, _ label: String, _ kind: HeapSnapshot.EdgeKind = .strong) {
        let labelIndex: Int
        if let existing = labels.firstIndex(of: label) {
            labelIndex = existing
        } else {
            labels.append(label)
            labelIndex = labels.count - 1
        }
        let offset = nextOffset[from, default: 16]
        nextOffset[from] = offset + 8
        edges.append(.init(from: Int32(from), to: Int32(to), offset: offset, label: Int32(labelIndex), kind: kind))
    }

    /// An array-element edge: labelled `[index]` on demand (a negative label), as captures store them.
    mutating func elementEdge(_ from: Int, _ to: Int, _ index: Int, _ kind: HeapSnapshot.EdgeKind = .conservative) {
        let offset = nextOffset[from, default: 16]
        nextOffset[from] = offset + 8
        edges.append(.init(from: Int32(from), to: Int32(to), offset: offset, label: Int32(-(index + 1)), kind: kind))
    }

    mutating func root(_ kind: HeapSnapshot.RootKind, _ name: String, _ target: Int) {
        roots.append(
            .init(
                kind: kind, name: name, slotAddress: 0x5566_0000_8000 + UInt64(roots.count) * 8,
                target: Int32(target)))
    }

    func build() -> HeapSnapshot {
        let sorted = edges.sorted { ($0.from, $0.offset) < ($1.from, $1.offset) }
        return HeapSnapshot(types: types, objects: objects, edges: sorted, labels: labels, roots: roots)
    }

    func graph() -> ObjectGraph { ObjectGraph(build()) }

    /// Drops `Module.` prefixes the way the capture's short names do.
    static func shortName(_ name: String) -> String {
        name.replacing("Fixtures.", with: "").replacing("Swift.", with: "")
    }
}

/// The scenarios of the real fixtures, in miniature.
enum Scenario {
    /// (a) `Pair.partner` both ways; nothing roots them (leaked).
    static func pairCycle() -> (graph: ObjectGraph, a: Int, b: Int) {
        var s = HandBuiltSnapshot()
        let a = s.object("Fixtures.Pair", size: 32, strongCount: 1)
        let b = s.object("Fixtures.Pair", size: 32, strongCount: 1)
        s.edge(a, b, "partner")
        s.edge(b, a, "partner")
        return (s.graph(), a, b)
    }

    /// (b) a `Screen` whose `onTap` closure captures `self`: `Screen.onTap` holds the closure
    /// context, whose capture `self` holds the screen back.
    static func closureCycle() -> (graph: ObjectGraph, screen: Int, context: Int) {
        var s = HandBuiltSnapshot()
        let screen = s.object("Fixtures.Screen", size: 64, strongCount: 2)
        let context = s.object(
            "closure context of closure #1 in Fixtures.Screen.bind()", kind: .closureContext,
            size: 32, strongCount: 1)
        s.edge(screen, context, "onTap (closure #1 in Screen.bind())")
        s.edge(context, screen, "self", .conservative)
        s.root(.stack, "thread 1 stack", screen)
        return (s.graph(), screen, context)
    }

    /// (c) `static Fixtures.Session.registry` -> array storage -[3]-> Session.
    static func registryChain() -> (graph: ObjectGraph, storage: Int, sessions: [Int]) {
        var s = HandBuiltSnapshot()
        let storage = s.object("Array<Fixtures.Session> storage", size: 96, strongCount: 1)
        var sessions: [Int] = []
        for _ in 0..<4 { sessions.append(s.object("Fixtures.Session", size: 48, strongCount: 1)) }
        for (index, session) in sessions.enumerated() { s.elementEdge(storage, session, index) }
        s.root(.global, "static Fixtures.Session.registry", storage)
        return (s.graph(), storage, sessions)
    }

    /// (d) one `Node` held by 25 `Holder`s.
    static func manyReferrers(_ count: Int = 25) -> (graph: ObjectGraph, target: Int, holders: [Int]) {
        var s = HandBuiltSnapshot()
        let target = s.object("Fixtures.Node", size: 48, strongCount: UInt32(count))
        var holders: [Int] = []
        for _ in 0..<count {
            let holder = s.object("Fixtures.Holder", size: 32)
            s.edge(holder, target, "node")
            holders.append(holder)
        }
        return (s.graph(), target, holders)
    }

    /// (e) a `Child` holding its `Parent` through `unowned let parent`.
    static func unownedParent() -> (graph: ObjectGraph, parent: Int, child: Int) {
        var s = HandBuiltSnapshot()
        let parent = s.object("Fixtures.Parent", size: 48, strongCount: 1)
        let child = s.object("Fixtures.Child", size: 32, strongCount: 1)
        s.edge(parent, child, "child")
        s.edge(child, parent, "parent", .unowned)
        s.root(.global, "static Fixtures.Parent.shared", parent)
        return (s.graph(), parent, child)
    }
}
