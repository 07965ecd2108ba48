/// Compares two snapshots type by type, like the Comparison view of Chrome DevTools' heap profiler.
///
/// Addresses are reused after objects die, so objects cannot be matched perfectly. An object of
/// the new snapshot *survived* when the old snapshot has an object at the same address whose type
/// has the same qualified name; every other new object is *new*, every old object that no survivor
/// matches is *deleted*. So `#new - #deleted == #delta`, the change in the live count. A dead
/// object whose address was reused by an object of the same type counts as a survivor.
public enum SnapshotDiff {
    /// The change of one type between two snapshots.
    public struct Row: Sendable, Equatable, CustomStringConvertible {
        /// Type name: short (`Session`) or qualified (`App.Session`), as asked of ``compare(old:new:shortNames:)``.
        public var name: String
        /// Objects in the new snapshot with no same-typed object at their address in the old one.
        public var added: Int
        /// Objects in the old snapshot with no same-typed object at their address in the new one.
        public var deleted: Int
        public var oldCount: Int
        public var newCount: Int
        public var oldBytes: Int
        public var newBytes: Int

        public init(
            name: String, added: Int, deleted: Int, oldCount: Int, newCount: Int,
            oldBytes: Int, newBytes: Int
        ) {
            self.name = name
            self.added = added
            self.deleted = deleted
            self.oldCount = oldCount
            self.newCount = newCount
            self.oldBytes = oldBytes
            self.newBytes = newBytes
        }

        /// `newCount - oldCount`, which equals `added - deleted`.
        public var delta: Int { newCount - oldCount }
        /// `newBytes - oldBytes`.
        public var sizeDelta: Int { newBytes - oldBytes }

        public var description: String { "\(name) +\(added) -\(deleted) \(signed(delta)) \(signed(sizeDelta))" }
    }

    /// Per-type changes from `old` to `new`, for every type with a new or deleted object or a
    /// change of size, sorted by `|delta|` (largest first), then by name. Types with short names
    /// in common (`A.Node`, `B.Node`) share a row when `shortNames` is true. O(objects) after
    /// sorting by address (skipped when the objects are already sorted, as snapshots keep them).
    public static func compare(old: HeapSnapshot, new: HeapSnapshot, shortNames: Bool = true) -> [Row] {
        var rowOf: [String: Int] = [:], rows: [Row] = []
        var typeKey: [String: Int] = [:]  // qualified name -> key shared by both snapshots
        func index(_ snapshot: HeapSnapshot) -> (row: [Int], key: [Int]) {
            var row: [Int] = [], key: [Int] = []
            for type in snapshot.types {
                let name = shortNames ? type.shortName : type.name
                if rowOf[name] == nil {
                    rowOf[name] = rows.count
                    rows.append(
                        Row(name: name, added: 0, deleted: 0, oldCount: 0, newCount: 0, oldBytes: 0, newBytes: 0))
                }
                if typeKey[type.name] == nil { typeKey[type.name] = typeKey.count }
                row.append(rowOf[name]!)
                key.append(typeKey[type.name]!)
            }
            return (row, key)
        }
        let (oldRow, oldKey) = index(old), (newRow, newKey) = index(new)
        for object in old.objects {
            let r = oldRow[Int(object.typeIndex)]
            rows[r].oldCount += 1
            rows[r].oldBytes += Int(object.size)
        }
        for object in new.objects {
            let r = newRow[Int(object.typeIndex)]
            rows[r].newCount += 1
            rows[r].newBytes += Int(object.size)
        }
        // Survivors: same address, same qualified type name. Merge the two address-sorted lists.
        var survivors = [Int](repeating: 0, count: rows.count)
        let oldOrder = addressOrder(old), newOrder = addressOrder(new)
        var i = 0, j = 0
        while i < oldOrder.count && j < newOrder.count {
            let a = old.objects[oldOrder[i]], b = new.objects[newOrder[j]]
            if a.address < b.address {
                i += 1
            } else if a.address > b.address {
                j += 1
            } else {
                if oldKey[Int(a.typeIndex)] == newKey[Int(b.typeIndex)] { survivors[newRow[Int(b.typeIndex)]] += 1 }
                i += 1
                j += 1
            }
        }
        for r in rows.indices {
            rows[r].added = rows[r].newCount - survivors[r]
            rows[r].deleted = rows[r].oldCount - survivors[r]
        }
        return rows.filter { $0.added != 0 || $0.deleted != 0 || $0.sizeDelta != 0 }.sorted {
            abs($0.delta) != abs($1.delta) ? abs($0.delta) > abs($1.delta) : $0.name < $1.name
        }
    }

    /// The rows as an aligned table: `TYPE  #NEW  #DELETED  #DELTA  SIZE DELTA`, names left-aligned,
    /// numbers right-aligned, deltas signed (`+200`, `-3`, `0`), sizes in bytes, then a `TOTAL`
    /// line summing the rows given. Empty when there are no rows.
    ///
    /// - Parameter nameWidth: the widest a type name is printed: longer ones are cut in their
    ///   middle (`Envelope<VeryLong…>>`); nil prints them whole.
    public static func table(_ rows: [Row], nameWidth: Int? = nil) -> String {
        guard !rows.isEmpty else { return "" }
        let total = rows.reduce(into: (added: 0, deleted: 0, delta: 0, size: 0)) {
            $0.added += $1.added; $0.deleted += $1.deleted; $0.delta += $1.delta; $0.size += $1.sizeDelta
        }
        let lines =
            [["TYPE", "#NEW", "#DELETED", "#DELTA", "SIZE DELTA"]]
            + rows.map {
                [
                    TextTable.name($0.name, width: nameWidth), String($0.added), String($0.deleted), signed($0.delta),
                    signed($0.sizeDelta),
                ]
            }
            + [["TOTAL", String(total.added), String(total.deleted), signed(total.delta), signed(total.size)]]
        let widths = (0..<5).map { column in lines.map { $0[column].count }.max()! }
        return lines.map { cells in
            TextTable.pad(cells[0], widths[0])
                + (1..<5).map { "  " + TextTable.leftPad(cells[$0], widths[$0]) }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// Count and bytes per type name in `snapshot`, largest bytes first, then by name; the rows
    /// `TextTable.census` prints for `objgraph stats FILE`.
    public static func census(of snapshot: HeapSnapshot, shortNames: Bool = true) -> [TypeCount] {
        var rowOf: [String: Int] = [:], rows: [TypeCount] = []
        let typeRow = snapshot.types.map { type -> Int in
            let name = shortNames ? type.shortName : type.name
            if let row = rowOf[name] { return row }
            rowOf[name] = rows.count
            rows.append(TypeCount(name: name, count: 0, bytes: 0))
            return rows.count - 1
        }
        for object in snapshot.objects {
            let r = typeRow[Int(object.typeIndex)]
            rows[r].count += 1
            rows[r].bytes += Int(object.size)
        }
        return rows.filter { $0.count > 0 }.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
    }

    /// Object indices in address order; the identity when already sorted.
    private static func addressOrder(_ snapshot: HeapSnapshot) -> [Int] {
        let objects = snapshot.objects
        let sorted = zip(objects, objects.dropFirst()).allSatisfy { $0.address <= $1.address }
        return sorted ? Array(objects.indices) : objects.indices.sorted { objects[$0].address < objects[$1].address }
    }
}

private func signed(_ n: Int) -> String { n > 0 ? "+\(n)" : String(n) }
