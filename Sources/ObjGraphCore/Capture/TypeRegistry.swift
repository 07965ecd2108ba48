import CObjGraphRuntime
import Synchronization

/// Names and scan plans for the registry's dense type indices, computed once per type.
///
/// The C registry knows types only as metadata pointers; this turns index `i` into a
/// ``TypeDescription`` the first time anybody asks, and tells the heap walk how to scan objects
/// of that type.
final class TypeRegistry: Sendable {
    static let shared = TypeRegistry()

    let symbolizer = Symbolizer()
    let catalog: TypeCatalog
    /// One entry per published registry type; nil until the type is described.
    private let described = Mutex<[TypeDescription?]>([])

    private init() { catalog = TypeCatalog(symbolizer: symbolizer) }

    /// Descriptions of registry types `0 ..< ogr_type_count()`, extending the cache as needed.
    ///
    /// - Parameter needed: which types to describe now (nil: all). Describing a type reads its
    ///   metadata through the runtime (fields, closure captures): a big program registers
    ///   hundreds of types of which a few have live objects at exit, so the snapshot and the
    ///   census describe only the types with live objects. The others are
    ///   ``TypeDescription/undescribed`` until needed; the heap walk scans their objects whole.
    func descriptions(needed: ((Int) -> Bool)? = nil) -> [TypeDescription] {
        let count = Int(ogr_type_count())
        return described.withLock { cache in
            if cache.count < count {
                for index in cache.count..<count {
                    // A type is counted a moment before its metadata slot is written: stop at
                    // such a slot and pick it up on the next call.
                    if ogr_type_metadata(UInt32(index)) == 0 && index < Int(OGR_MAX_TYPES) - 1 { break }
                    cache.append(nil)
                }
            }
            for index in cache.indices where cache[index] == nil && needed?(index) ?? true {
                let metadata = UInt(ogr_type_metadata(UInt32(index)))
                let description = metadata == 0 ? TypeDescription.overflow : catalog.describe(metadata: metadata)
                cache[index] = description
                let plan = ScanPlan(description, metadata: metadata)
                ogr_set_scan_plan(UInt32(index), plan.mode.rawValue, plan.a, plan.b)
            }
            return cache.map { $0 ?? .undescribed }
        }
    }

    /// Descriptions of the types with live objects now (and of every type already described).
    /// The live counts and bytes per registry type, read once, and descriptions in which every
    /// type those counts call live is described (the arrays have one entry per description).
    func liveTypes() -> (descriptions: [TypeDescription], counts: [Int64], bytes: [Int64]) {
        let n = Int(ogr_type_count())
        var counts = [Int64](repeating: 0, count: n)
        var bytes = [Int64](repeating: 0, count: n)
        counts.withUnsafeMutableBufferPointer { c in
            bytes.withUnsafeMutableBufferPointer { b in ogr_all_totals(c.baseAddress, b.baseAddress, UInt32(n)) }
        }
        let descriptions = descriptions { $0 >= n || counts[$0] > 0 }
        // Types published since the counts were read have none yet.
        let pad = max(0, descriptions.count - n)
        return (
            descriptions, Array(counts.prefix(descriptions.count)) + Array(repeating: 0, count: pad),
            Array(bytes.prefix(descriptions.count)) + Array(repeating: 0, count: pad)
        )
    }
}

/// How the heap walk reads an object's reference words (mirrors `enum ogr_scan_mode`).
struct ScanPlan: Equatable {
    var mode: ogr_scan_mode
    var a: UInt32 = 0
    var b: UInt32 = 0
}

extension ScanPlan {
    /// How the heap walk should read objects of a type: only the words that can hold
    /// references (array elements up to `count`, occupied dictionary buckets, a class's
    /// instance size), so stale words in spare capacity are never mistaken for references.
    init(_ description: TypeDescription, metadata: UInt) {
        switch description.layout.body {
        case let .elements(start, stride, _) where start == 32 && stride > 0:
            self.init(mode: OGR_SCAN_ARRAY, a: UInt32(stride))
        case let .hashed(_, keys, values):
            if let values {
                self.init(mode: OGR_SCAN_DICTIONARY, a: UInt32(keys.stride), b: UInt32(values.stride))
            } else {
                self.init(mode: OGR_SCAN_SET, a: UInt32(keys.stride))
            }
        default:
            if description.name == "String storage" {
                self.init(mode: OGR_SCAN_NONE)  // UTF-8 bytes, no references
            } else if description.kind == .classInstance, metadata != 0 {
                // Class metadata word 3: instance size (low 32 bits), alignment mask, reserved.
                let instanceSize = UInt32(truncatingIfNeeded: MetadataReader.word(metadata, 3))
                self.init(mode: instanceSize >= 16 ? OGR_SCAN_FIXED : OGR_SCAN_BLOCK, a: instanceSize)
            } else {
                self.init(mode: OGR_SCAN_BLOCK)
            }
        }
    }
}
