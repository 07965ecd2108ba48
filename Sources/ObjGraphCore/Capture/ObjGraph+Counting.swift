import CObjGraphRuntime
import Synchronization

/// One row of a type table: a type, how many of its objects are live and how many bytes they use.
public struct TypeCount: Codable, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var count: Int
    public var bytes: Int

    public init(name: String, count: Int, bytes: Int) {
        self.name = name
        self.count = count
        self.bytes = bytes
    }

    public var description: String { "\(name) \(count)" }

    package func write(to w: inout JSONWriter) {
        w.beginObject(); w.field("name", name); w.field("count", count); w.field("bytes", bytes); w.endObject()
    }
}

/// One row of a growth table: a type whose live count rose above its previous peak.
public struct GrowthRow: Codable, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// Live objects now.
    public var count: Int
    /// How far `count` is above the previous peak.
    public var delta: Int
    /// Live bytes now.
    public var bytes: Int
    /// Bytes above the bytes recorded at the previous peak.
    public var bytesDelta: Int

    public init(name: String, count: Int, delta: Int, bytes: Int, bytesDelta: Int) {
        self.name = name
        self.count = count
        self.delta = delta
        self.bytes = bytes
        self.bytesDelta = bytesDelta
    }

    public var description: String { "\(name) \(count) \(delta >= 0 ? "+" : "")\(delta)" }

    package func write(to w: inout JSONWriter) {
        w.beginObject(); w.field("name", name); w.field("count", count); w.field("delta", delta)
        w.field("bytes", bytes); w.field("bytesDelta", bytesDelta); w.endObject()
    }
}

/// Remembers each type's peak count, so successive ``GrowthTracker/growth(limit:shortNames:filter:)``
/// calls report only what is new, like objgraph's `peak_stats`.
///
/// `ObjGraph.growth(limit:)` uses one process-wide tracker; make your own to keep a baseline
/// that other code cannot move.
public final class GrowthTracker: Sendable {
    private struct Peak { var count: Int; var bytes: Int }
    private let peaks = Mutex<[String: Peak]>([:])
    private let includeNativeBlocks: Bool

    public init() { includeNativeBlocks = false }

    /// A tracker whose tables also have a row for the C heap blocks (``ObjGraph/nativeBlocksRowName``).
    package init(includeNativeBlocks: Bool) { self.includeNativeBlocks = includeNativeBlocks }

    /// Types whose live count is above its previous peak, largest increase first; the peaks
    /// are raised to the current counts. The first call reports everything alive.
    public func growth(
        limit: Int? = 10, shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) -> [GrowthRow] {
        ObjGraph.untracked {
            let stats = ObjGraph.census(
                shortNames: shortNames, filter: filter, includeNativeBlocks: includeNativeBlocks)
            var rows: [GrowthRow] = []
            peaks.withLock { peaks in
                for row in stats {
                    let old = peaks[row.name] ?? Peak(count: 0, bytes: 0)
                    if row.count > old.count {
                        rows.append(
                            GrowthRow(
                                name: row.name, count: row.count, delta: row.count - old.count,
                                bytes: row.bytes, bytesDelta: row.bytes - old.bytes))
                        peaks[row.name] = Peak(count: row.count, bytes: row.bytes)
                    }
                }
            }
            rows.sort { $0.delta != $1.delta ? $0.delta > $1.delta : $0.name < $1.name }
            if let limit, rows.count > limit { rows.removeSubrange(limit...) }
            return rows
        }
    }

    /// Forget all peaks: the next `growth` call reports every live type again.
    public func reset() { peaks.withLock { $0.removeAll() } }

    /// Set the peaks to the current counts without reporting anything.
    public func setBaseline(shortNames: Bool = true) { _ = growth(limit: nil, shortNames: shortNames) }
}

extension ObjGraph {
    static let defaultGrowth = GrowthTracker()

    /// Live count and bytes per type name, in the order types were first seen. O(number of
    /// types): it reads the registry's counters, never the heap.
    /// The row name of the C heap blocks (malloc's, not Swift objects) in tables that have one.
    package static let nativeBlocksRowName = "(C heap blocks)"

    /// Live C heap blocks (not Swift objects) and their bytes, from the counters. O(threads).
    package static func nativeBlockTotals() -> TypeCount {
        var count: Int64 = 0, bytes: Int64 = 0
        ogr_block_totals(&count, &bytes)
        return TypeCount(name: nativeBlocksRowName, count: Int(count), bytes: Int(bytes))
    }

    package static func census(
        shortNames: Bool, filter: ((String) -> Bool)? = nil,
        includeNativeBlocks: Bool = false
    ) -> [TypeCount] {
        // One read of the counters: every type they call live is described (types past a slot
        // still being published wait for the next call).
        let (descriptions, counts, bytes) = TypeRegistry.shared.liveTypes()
        let n = descriptions.count
        var rows: [TypeCount] = []
        var position: [String: Int] = [:]
        for index in 0..<n where counts[index] > 0 {
            let name = shortNames ? descriptions[index].shortName : descriptions[index].name
            if let filter, !filter(name) { continue }
            if let at = position[name] {
                rows[at].count += Int(counts[index])
                rows[at].bytes += Int(bytes[index])
            } else {
                position[name] = rows.count
                rows.append(TypeCount(name: name, count: Int(counts[index]), bytes: Int(bytes[index])))
            }
        }
        if includeNativeBlocks {
            let blocks = nativeBlockTotals()
            if blocks.count > 0 { rows.append(blocks) }
        }
        return rows
    }

    /// The name of every type the registry has seen, indexed by registry type index.
    package static func registryTypeNames(shortNames: Bool = true) -> [String] {
        untracked { TypeRegistry.shared.descriptions().map { shortNames ? $0.shortName : $0.name } }
    }

    /// Live object count per type name, like objgraph's `typestats()`. O(number of types).
    public static func typeStats(
        shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) -> [String: Int] {
        untracked {
            var stats: [String: Int] = [:]
            for row in census(shortNames: shortNames, filter: filter) { stats[row.name] = row.count }
            return stats
        }
    }

    /// Live objects of the type named `typeName` (short like `Pair` or qualified like
    /// `Fixtures.Pair`).
    public static func count(_ typeName: String) -> Int { row(named: typeName)?.count ?? 0 }

    /// Live bytes of the type named `typeName` (short or qualified).
    public static func bytes(_ typeName: String) -> Int { row(named: typeName)?.bytes ?? 0 }

    /// The census row of `typeName`, matched against short names first, then qualified ones.
    static func row(named typeName: String) -> TypeCount? {
        untracked {
            census(shortNames: true).first { $0.name == typeName }
                ?? census(shortNames: false).first { $0.name == typeName }
        }
    }

    /// The most numerous live types, largest first, like objgraph's `most_common_types()`.
    public static func mostCommonTypes(
        limit: Int? = 10, shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) -> [TypeCount] {
        untracked {
            var rows = census(shortNames: shortNames, filter: filter)
            rows.sort { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
            if let limit, rows.count > limit { rows.removeSubrange(limit...) }
            return rows
        }
    }

    /// Prints ``mostCommonTypes(limit:shortNames:filter:)``: the name padded to the longest
    /// name, a space, the count (objgraph's format).
    public static func showMostCommonTypes(
        limit: Int? = 10, shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) {
        var out = StandardOutput()
        showMostCommonTypes(limit: limit, shortNames: shortNames, filter: filter, to: &out)
    }

    /// Writes ``mostCommonTypes(limit:shortNames:filter:)`` to `stream`.
    public static func showMostCommonTypes<Target: TextOutputStream>(
        limit: Int? = 10, shortNames: Bool = true, filter: ((String) -> Bool)? = nil, to stream: inout Target
    ) {
        let text: String = untracked {
            let rows = mostCommonTypes(limit: limit, shortNames: shortNames, filter: filter)
            return TextTable.mostCommonTypes(rows)
        }
        stream.write(text)
    }

    /// Types whose live count grew above its previous peak since the last call, largest growth
    /// first; updates the process-wide peaks (objgraph's `growth()`). The first call reports
    /// every live type.
    ///
    /// ```swift
    /// _ = ObjGraph.growth()            // baseline
    /// makeLeakedPairs(3)
    /// print(ObjGraph.growth())
    /// // [Pair 6 +6]
    /// ```
    public static func growth(
        limit: Int? = 10, shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) -> [GrowthRow] {
        defaultGrowth.growth(limit: limit, shortNames: shortNames, filter: filter)
    }

    /// Prints ``growth(limit:shortNames:filter:)`` in objgraph's `show_growth` format: the name
    /// left-aligned to the longest name, the count in 9 columns, the signed delta in 9 columns.
    /// Prints nothing when nothing grew.
    public static func showGrowth(
        limit: Int? = 10, shortNames: Bool = true,
        filter: ((String) -> Bool)? = nil
    ) {
        var out = StandardOutput()
        showGrowth(limit: limit, shortNames: shortNames, filter: filter, to: &out)
    }

    /// Writes ``growth(limit:shortNames:filter:)`` to `stream` in objgraph's format.
    public static func showGrowth<Target: TextOutputStream>(
        limit: Int? = 10, shortNames: Bool = true, filter: ((String) -> Bool)? = nil, to stream: inout Target
    ) {
        let text: String = untracked {
            TextTable.growth(growth(limit: limit, shortNames: shortNames, filter: filter))
        }
        stream.write(text)
    }
}
