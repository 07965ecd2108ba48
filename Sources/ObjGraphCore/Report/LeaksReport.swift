#if canImport(Glibc)
import Glibc
#endif

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
        /// The tree text of `example`, cut after the line limit (the rest summarised by type).
        public var tree: String
        /// Whether `tree` was cut at the line limit.
        public var isCut: Bool
    }

    public var entries: [Entry]
    /// Swift objects in the leak groups.
    public var leakedObjects: Int
    /// Bytes of the leak groups (C heap blocks they hold included).
    public var leakedBytes: Int
    /// C heap blocks inside the leak groups (a malloc'd struct in a cycle, a leaked object's buffer).
    public var leakedNativeBlocks: Int
    /// C heap blocks nothing reaches that hold no Swift object, and their bytes: reported on
    /// their own line, never mixed into the groups.
    public var unreachableNativeBlocks: Int
    public var unreachableNativeBytes: Int

    /// The most lines one structure's tree printed (nil: no limit).
    public var lineLimit: Int?

    /// Builds the report for `graph`'s ``ObjectGraph/leakingObjects()``.
    ///
    /// - Parameter lineLimit: the most lines each structure's tree prints; the objects left out
    ///   are counted by type on one line. `nil` prints every structure whole.
    public init(graph: ObjectGraph, shortNames: Bool = true, lineLimit: Int? = LeaksReport.defaultLineLimit) {
        self.init(graph: graph, forest: graph.leakForest(), shortNames: shortNames, lineLimit: lineLimit)
    }

    /// Builds the report for some of `graph`'s leak groups.
    public init(
        graph: ObjectGraph, groups: [LeakGroup], shortNames: Bool = true,
        lineLimit: Int? = LeaksReport.defaultLineLimit
    ) {
        self.init(
            graph: graph, forest: LeakForest(groups: groups, objectCount: graph.count), shortNames: shortNames,
            lineLimit: lineLimit)
    }

    init(graph: ObjectGraph, forest: LeakForest, shortNames: Bool, lineLimit: Int?) {
        self.lineLimit = lineLimit
        // Shapes by a hash of their key; keys of equal hash are compared in full. Leaks are
        // usually many instances of a few shapes, so the last shape seen is tried first.
        var entryOf: [UInt64: [Int]] = [:]
        var keys: [[Int32]] = []
        var entries: [Entry] = []
        var last = -1
        var shapes = ShapeKeys(graph: graph, forest: forest)
        shapes.withKeys { shapes in
            for g in 0..<forest.count {
                shapes.computeKey(of: g)
                let objects = Int(forest.memberStart[g + 1] - forest.memberStart[g])
                let found: Int?
                if last >= 0 && shapes.keyEquals(keys[last]) {
                    found = last
                } else {
                    found = entryOf[shapes.hash]?.first { shapes.keyEquals(keys[$0]) }
                }
                if let e = found {
                    last = e
                    entries[e].instances += 1
                    entries[e].objects += objects
                    entries[e].bytes += forest.bytes[g]
                } else {
                    last = entries.count
                    entryOf[shapes.hash, default: []].append(entries.count)
                    keys.append(Array(shapes.key))
                    let example = graph.group(g, of: forest)
                    let tree = LeaksReport.tree(of: example, in: graph, shortNames: shortNames, lineLimit: lineLimit)
                    entries.append(
                        Entry(
                            instances: 1, example: example, objects: objects, bytes: forest.bytes[g],
                            tree: tree.text, isCut: tree.isCut))
                }
            }
        }
        self.entries = entries.sorted {
            $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.tree < $1.tree
        }
        let native = graph.snapshot.types.map { $0.kind == .nativeBlock }
        leakedNativeBlocks = forest.members.reduce(0) {
            $0 + (native[Int(graph.snapshot.objects[Int($1)].typeIndex)] ? 1 : 0)
        }
        leakedObjects = forest.members.count - leakedNativeBlocks
        leakedBytes = forest.leakedBytes
        unreachableNativeBlocks = forest.unreachableNativeBlocks
        unreachableNativeBytes = forest.unreachableNativeBytes
    }

    /// The whole report as text.
    public var text: String {
        var out = "\(leakedObjects) leaked objects"
        if leakedNativeBlocks > 0 {
            out += " (and \(leakedNativeBlocks) C heap block\(leakedNativeBlocks == 1 ? "" : "s") they hold)"
        }
        out += " for \(leakedBytes) total leaked bytes"
        let groups = entries.reduce(0) { $0 + $1.instances }
        out += entries.isEmpty ? ".\n" : " in \(groups) group\(groups == 1 ? "" : "s").\n"
        for entry in entries {
            out += "\n"
            if entry.instances > 1 {
                out +=
                    "\(entry.instances) instances of this structure, \(entry.objects) objects, \(entry.bytes) bytes in all:\n"
            }
            out += entry.tree
        }
        if let lineLimit, entries.contains(where: \.isCut) {
            out += "\n(structures cut at \(lineLimit) lines, the rest counted by type: --full prints them whole)\n"
        }
        if unreachableNativeBlocks > 0 {
            out +=
                "\nalso \(unreachableNativeBlocks) non-Swift heap block\(unreachableNativeBlocks == 1 ? "" : "s"), "
                + "\(unreachableNativeBytes) bytes, unreachable (C memory that holds no Swift object)\n"
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

    /// Lines one structure's tree prints by default; the objects left over are summarised by
    /// type on one line, so a leaked ring of 100,000 nodes costs a few lines, not gigabytes.
    public static let defaultLineLimit = 40
    /// Deeper than this many levels, lines stop moving right and show their depth instead:
    /// the text of a long chain grows linearly with its length, not quadratically.
    static let maxIndentLevels = 12

    /// One group as a `leaks`-style tree of at most `lineLimit` lines after the first (nil: all).
    static func tree(
        of group: LeakGroup, in graph: ObjectGraph, shortNames: Bool, lineLimit: Int?
    ) -> (text: String, isCut: Bool) {
        let snapshot = graph.snapshot
        let members = Set(group.members)
        let cycleMembers = Set(group.cycle?.members ?? [])
        func name(_ id: Int) -> String {
            let type = snapshot.type(of: id)
            return shortNames ? type.shortName : type.name
        }
        func describe(_ id: Int) -> String {
            let object = snapshot.objects[id]
            return "<\(name(id)) 0x\(String(object.address, radix: 16))> [\(object.size)]"
        }
        let limit = lineLimit ?? Int.max
        // When the tree will be cut, the cycle's own edges go first so its spine is what shows.
        let spineFirst = lineLimit != nil && group.members.count >= limit ? group.cycle.map { Set($0.members) } : nil
        let top = group.tops[0]
        func inGroup(_ id: Int) -> [HeapSnapshot.Edge] {
            let edges = graph.outgoing(id).filter { members.contains(Int($0.to)) }
            guard let spine = spineFirst else { return edges }
            return edges.filter { spine.contains(Int($0.to)) } + edges.filter { !spine.contains(Int($0.to)) }
        }
        var out = "    \(group.members.count) (\(group.bytes) bytes) "
        out += group.cycle != nil ? "ROOT CYCLE: " : "ROOT LEAK: "
        out += describe(top) + "\n"
        var printed: Set<Int> = [top]
        var lines = 0
        // Depth-first, edges in offset order, each child expanded right under its line. An edge
        // to an object already printed closes a cycle (or joins a shared object) and stops there.
        var work: [(edges: [HeapSnapshot.Edge], next: Int)] = [(inGroup(top), 0)]
        while !work.isEmpty && lines < limit {
            let depth = work.count
            let frame = work.count - 1
            guard work[frame].next < work[frame].edges.count else { work.removeLast(); continue }
            let edge = work[frame].edges[work[frame].next]
            work[frame].next += 1
            let target = Int(edge.to)
            let indent =
                depth < maxIndentLevels
                ? String(repeating: "   ", count: depth + 1)
                : String(repeating: "   ", count: maxIndentLevels + 1) + "(depth \(depth)) "
            let prefix = edge.kind == .strong ? "__strong " : edge.kind == .conservative ? "" : "__unowned "
            let label = prefix + snapshot.label(of: edge)
            lines += 1
            if printed.contains(target) {
                let backTo = cycleMembers.contains(target) ? "CYCLE BACK TO " : "SHARED "
                out += "\(indent)\(label) --> \(backTo)\(describe(target))\n"
            } else {
                printed.insert(target)
                out += "\(indent)\(label) --> \(describe(target))\n"
                work.append((inGroup(target), 0))
            }
        }
        let rest = group.members.filter { !printed.contains($0) }
        if !rest.isEmpty {
            out += "      ... \(rest.count) more object\(rest.count == 1 ? "" : "s") in this structure: "
            out += TypeTally.summary(of: rest.map(name)) + "\n"
            return (out, true)
        }
        if work.contains(where: { $0.next < $0.edges.count }) {
            out += "      ... more references between these objects\n"
            return (out, true)
        }
        return (out, false)
    }
}

/// Counts of names, most common first: `4795 XCTestSuite, 1205 XCTestSuiteRun, and 3 more types`.
package enum TypeTally {
    package static func summary(of names: [String], types: Int = 4) -> String {
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var text = sorted.prefix(types).map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        if sorted.count > types {
            let more = sorted.count - types
            text += ", and \(more) more type\(more == 1 ? "" : "s")"
        }
        return text
    }
}

/// The shape of a leak group as integers, for recognising identical structures cheaply: the
/// same walk as the printed tree, recording types, edge kinds, labels with collection slot
/// numbers removed (`value[3]` and `value[5]` are the same shape) and where each edge leads.
/// Addresses and block sizes are left out (malloc may give one type blocks of different sizes).
///
/// Works in buffers reused from group to group: computing a key allocates nothing and touches
/// no reference count (a program that leaked 100,000 pairs has 100,000 keys to compute).
struct ShapeKeys {
    let graph: ObjectGraph
    let forest: LeakForest
    /// Label index -> normalized label id; -2 until first needed.
    private var labelIDs: [Int32]
    private var normalized: [String: Int32] = [:]

    init(graph: ObjectGraph, forest: LeakForest) {
        self.graph = graph
        self.forest = forest
        labelIDs = [Int32](repeating: -2, count: graph.snapshot.labels.count)
    }

    /// Runs `body` with a key computer over raw views of the graph and the forest.
    mutating func withKeys<R>(_ body: (inout Computer) throws -> R) rethrows -> R {
        let n = graph.count
        // Scratch: walk position per object (-1 outside the current group) and the walk's
        // stack. Sized for the worst case; only the pages a walk reaches are ever touched.
        let position = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        position.initialize(repeating: -1, count: n)
        let stack = UnsafeMutablePointer<(node: Int32, edge: Int32)>.allocate(capacity: max(n, 1))
        defer { position.deallocate(); stack.deallocate() }
        let labels = graph.snapshot.labels
        return try graph.snapshot.objects.withUnsafeBufferPointer { objects in
            try graph.snapshot.edges.withUnsafeBufferPointer { edges in
                try graph.outStart.withUnsafeBufferPointer { outStart in
                    try forest.groupOf.withUnsafeBufferPointer { groupOf in
                        try forest.members.withUnsafeBufferPointer { members in
                            try forest.memberStart.withUnsafeBufferPointer { memberStart in
                                try forest.isCycle.withUnsafeBufferPointer { isCycle in
                                    var computer = Computer(
                                        objects: objects, edges: edges, outStart: outStart, groupOf: groupOf,
                                        members: members, memberStart: memberStart, isCycle: isCycle,
                                        position: position, stack: stack, labelIDs: labelIDs, normalized: normalized,
                                        labels: labels)
                                    defer {
                                        labelIDs = computer.labelIDs; normalized = computer.normalized;
                                        computer.release()
                                    }
                                    return try body(&computer)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    struct Computer {
        let objects: UnsafeBufferPointer<HeapSnapshot.Object>
        let edges: UnsafeBufferPointer<HeapSnapshot.Edge>
        let outStart: UnsafeBufferPointer<Int32>
        let groupOf: UnsafeBufferPointer<Int32>
        let members: UnsafeBufferPointer<Int32>
        let memberStart: UnsafeBufferPointer<Int32>
        let isCycle: UnsafeBufferPointer<Bool>
        let position: UnsafeMutablePointer<Int32>
        let stack: UnsafeMutablePointer<(node: Int32, edge: Int32)>
        var labelIDs: [Int32]
        var normalized: [String: Int32]
        let labels: [String]
        /// Storage of the current key, grown as needed and reused from group to group.
        var keyStorage = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 64)
        var keyCount = 0

        /// The key of the group passed to the last ``computeKey(of:)``.
        var key: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(rebasing: keyStorage[..<keyCount]) }

        /// A 64-bit hash of ``key`` (FNV-1a over its elements).
        var hash: UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for v in key { h = (h ^ UInt64(UInt32(bitPattern: v))) &* 0x100_0000_01b3 }
            return h
        }

        func keyEquals(_ other: [Int32]) -> Bool {
            other.count == keyCount
                && other.withUnsafeBufferPointer {
                    memcmp($0.baseAddress!, keyStorage.baseAddress!, keyCount * MemoryLayout<Int32>.stride) == 0
                }
        }

        /// Frees the key storage (the computer is done).
        func release() { keyStorage.deallocate() }

        @inline(__always)
        private mutating func append(_ value: Int32) {
            if keyCount == keyStorage.count {
                let grown = UnsafeMutableBufferPointer<Int32>.allocate(capacity: keyStorage.count * 2)
                _ = grown.initialize(from: keyStorage)
                keyStorage.deallocate()
                keyStorage = grown
            }
            keyStorage[keyCount] = value
            keyCount += 1
        }

        mutating func computeKey(of g: Int) {
            let group = Int32(g)
            let first = Int(memberStart[g]), end = Int(memberStart[g + 1])
            let top = Int(members[first])
            keyCount = 0
            append(isCycle[g] ? 1 : 0)
            append(Int32(end - first))
            append(objects[top].typeIndex)
            var placed: Int32 = 1
            position[top] = 0
            stack[0] = (Int32(top), outStart[top])
            var depth = 1
            while depth > 0 {
                let frame = stack[depth - 1]
                // The next edge of this node that stays inside the group.
                var e = Int(frame.edge)
                let last = Int(outStart[Int(frame.node) + 1])
                while e < last && groupOf[Int(edges[e].to)] != group { e += 1 }
                guard e < last else {
                    depth -= 1
                    append(-1)  // end of this node's children
                    continue
                }
                stack[depth - 1].edge = Int32(e + 1)
                let edge = edges[e]
                let target = Int(edge.to)
                append(Int32(edge.kind.rawValue))
                append(labelID(edge.label))
                if position[target] >= 0 {
                    append(-2 - position[target])  // back to an object already printed
                } else {
                    position[target] = placed
                    placed += 1
                    append(objects[target].typeIndex)
                    stack[depth] = (edge.to, outStart[target])
                    depth += 1
                }
            }
            for i in first..<end { position[Int(members[i])] = -1 }
        }

        private mutating func labelID(_ label: Int32) -> Int32 {
            if label <= HeapSnapshot.firstOffsetLabel { return label }  // `+offset`: that word
            if label < 0 { return -1 }  // `[i]`: any array slot
            let known = labelIDs[Int(label)]
            if known != -2 { return known }
            let text = LeaksReport.withoutIndices(labels[Int(label)])
            let id = normalized[text] ?? Int32(normalized.count)
            normalized[text] = id
            labelIDs[Int(label)] = id
            return id
        }
    }
}
