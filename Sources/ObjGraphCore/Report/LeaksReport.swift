/// Leak reports in the style of Apple's `leaks`: each leaked structure as an indented tree,
/// `ROOT CYCLE` at the top, one `--> ` line per reference, `CYCLE BACK TO` where a cycle closes.
///
/// Unlike `leaks`, identical structures (same types, same labels) are printed once with how
/// many instances there are, and every type has its Swift name.
public struct LeaksReport: Sendable {
    public struct Entry: Sendable {
        /// How many leak groups have this exact shape.
        public var instances: Int
        /// The first group of that shape (lowest address), printed as the tree.
        public var example: LeakGroup
        /// Objects and bytes over all instances.
        public var objects: Int
        public var bytes: Int
        /// The tree text of `example`.
        public var tree: String
    }

    public var entries: [Entry]
    public var leakedObjects: Int
    public var leakedBytes: Int

    /// Builds the report for `graph`'s ``ObjectGraph/leakingObjects()``.
    public init(graph: ObjectGraph, shortNames: Bool = true) {
        self.init(graph: graph, groups: graph.leakingObjects(), shortNames: shortNames)
    }

    public init(graph: ObjectGraph, groups: [LeakGroup], shortNames: Bool = true) {
        var order: [[Int32]] = []
        var byShape: [[Int32]: Entry] = [:]
        var shapes = ShapeKeys(graph: graph)
        for group in groups {
            let key = shapes.key(of: group)
            if var entry = byShape[key] {
                entry.instances += 1
                entry.objects += group.members.count
                entry.bytes += group.bytes
                byShape[key] = entry
            } else {
                order.append(key)
                byShape[key] = Entry(instances: 1, example: group, objects: group.members.count, bytes: group.bytes,
                                     tree: LeaksReport.tree(of: group, in: graph, shortNames: shortNames))
            }
        }
        entries = order.map { byShape[$0]! }.sorted {
            $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.tree < $1.tree
        }
        leakedObjects = groups.reduce(0) { $0 + $1.members.count }
        leakedBytes = groups.reduce(0) { $0 + $1.bytes }
    }

    /// The whole report as text.
    public var text: String {
        var out = "\(leakedObjects) leaked objects for \(leakedBytes) total leaked bytes"
        let groups = entries.reduce(0) { $0 + $1.instances }
        out += entries.isEmpty ? ".\n" : " in \(groups) group\(groups == 1 ? "" : "s").\n"
        for entry in entries {
            out += "\n"
            if entry.instances > 1 {
                out += "\(entry.instances) instances of this structure, \(entry.objects) objects, \(entry.bytes) bytes in all:\n"
            }
            out += entry.tree
        }
        return out
    }

    /// `value[3]` → `value[*]`: in the shape of a structure, which slot of a collection holds
    /// a reference does not matter.
    static func withoutIndices(_ label: String) -> String {
        var out = ""
        var inBrackets = false
        for c in label {
            if c == "[" { inBrackets = true; out.append(c); continue }
            if c == "]" { inBrackets = false; out.append(c); continue }
            if inBrackets && c.isNumber {
                if out.last != "*" { out.append("*") }
                continue
            }
            out.append(c)
        }
        return out
    }

    /// One group as a `leaks`-style tree.
    static func tree(of group: LeakGroup, in graph: ObjectGraph, shortNames: Bool) -> String {
        let snapshot = graph.snapshot
        let members = Set(group.members)
        func describe(_ id: Int) -> String {
            let type = snapshot.type(of: id)
            let name = shortNames ? type.shortName : type.name
            let object = snapshot.objects[id]
            return "<\(name) 0x\(String(object.address, radix: 16))> [\(object.size)]"
        }
        let top = group.tops[0]
        func inGroup(_ id: Int) -> [HeapSnapshot.Edge] { graph.outgoing(id).filter { members.contains(Int($0.to)) } }
        var out = "    \(group.members.count) (\(group.bytes) bytes) "
        out += group.cycle != nil ? "ROOT CYCLE: " : "ROOT LEAK: "
        out += describe(top) + "\n"
        var printed: Set<Int> = [top]
        // Depth-first, edges in offset order, each child expanded right under its line. An edge
        // to an object already printed closes a cycle (or joins a shared object) and stops there.
        var work: [(edges: [HeapSnapshot.Edge], next: Int)] = [(inGroup(top), 0)]
        while !work.isEmpty {
            let depth = work.count
            let frame = work.count - 1
            guard work[frame].next < work[frame].edges.count else { work.removeLast(); continue }
            let edge = work[frame].edges[work[frame].next]
            work[frame].next += 1
            let target = Int(edge.to)
            let indent = String(repeating: "   ", count: depth + 1)
            let prefix = edge.kind == .strong ? "__strong " : edge.kind == .conservative ? "" : "__unowned "
            let label = prefix + snapshot.label(of: edge)
            if printed.contains(target) {
                let backTo = group.cycle?.members.contains(target) == true ? "CYCLE BACK TO " : "SHARED "
                out += "\(indent)\(label) --> \(backTo)\(describe(target))\n"
            } else {
                printed.insert(target)
                out += "\(indent)\(label) --> \(describe(target))\n"
                work.append((inGroup(target), 0))
            }
        }
        return out
    }
}

/// The shape of a leak group as integers, for recognising identical structures cheaply: the
/// same walk as the printed tree, recording types, edge kinds, labels with collection slot
/// numbers removed (`value[3]` and `value[5]` are the same shape) and where each edge leads.
/// Addresses and block sizes are left out (malloc may give one type blocks of different sizes).
struct ShapeKeys {
    let graph: ObjectGraph
    private var labelIDs: [Int32: Int32] = [:]
    private var normalized: [String: Int32] = [:]

    init(graph: ObjectGraph) { self.graph = graph }

    mutating func key(of group: LeakGroup) -> [Int32] {
        let snapshot = graph.snapshot
        let members = SmallIDSet(group.members)
        let top = group.tops[0]
        var key: [Int32] = [group.cycle == nil ? 0 : 1, Int32(group.members.count), snapshot.objects[top].typeIndex]
        var position = SmallPositions()
        position.set(top, 0)
        var work: [(edges: [HeapSnapshot.Edge], next: Int)] = [(graph.outgoing(top).filter { members.contains(Int($0.to)) }, 0)]
        while !work.isEmpty {
            let frame = work.count - 1
            guard work[frame].next < work[frame].edges.count else {
                work.removeLast()
                key.append(-1)   // end of this node's children
                continue
            }
            let edge = work[frame].edges[work[frame].next]
            work[frame].next += 1
            let target = Int(edge.to)
            key.append(Int32(edge.kind.rawValue))
            key.append(labelID(edge.label))
            if let seen = position.get(target) {
                key.append(-2 - seen)   // back to an object already printed
            } else {
                position.set(target, Int32(position.count))
                key.append(snapshot.objects[target].typeIndex)
                work.append((graph.outgoing(target).filter { members.contains(Int($0.to)) }, 0))
            }
        }
        return key
    }

    private mutating func labelID(_ label: Int32) -> Int32 {
        if label < 0 { return -1 }   // `[i]`: any array slot
        if let known = labelIDs[label] { return known }
        let text = LeaksReport.withoutIndices(graph.snapshot.labels[Int(label)])
        let id = normalized[text] ?? Int32(normalized.count)
        normalized[text] = id
        labelIDs[label] = id
        return id
    }
}


/// Object id -> position, scanning an array while small (see ``SmallIDSet``).
private struct SmallPositions {
    private var small: [(Int, Int32)] = []
    private var large: [Int: Int32]?
    private(set) var count = 0

    func get(_ id: Int) -> Int32? {
        if let large { return large[id] }
        return small.first { $0.0 == id }?.1
    }

    mutating func set(_ id: Int, _ value: Int32) {
        count += 1
        if large != nil { large![id] = value; return }
        small.append((id, value))
        if small.count > 16 { large = Dictionary(small, uniquingKeysWith: { a, _ in a }) }
    }
}
