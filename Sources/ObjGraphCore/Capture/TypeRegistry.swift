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
    private let described = Mutex<[TypeDescription]>([])
    private let plans = Mutex<[ScanPlan]>([])

    private init() { catalog = TypeCatalog(symbolizer: symbolizer) }

    /// Descriptions of registry types `0 ..< ogr_type_count()`, extending the cache as needed.
    func descriptions() -> [TypeDescription] {
        let count = Int(ogr_type_count())
        return described.withLock { cache in
            if cache.count < count {
                for index in cache.count..<count {
                    let metadata = UInt(ogr_type_metadata(UInt32(index)))
                    // A type is counted a moment before its metadata slot is written: stop at
                    // such a slot and pick it up on the next call.
                    if metadata == 0 && index < Int(OGR_MAX_TYPES) - 1 { break }
                    let description = metadata == 0
                        ? TypeDescription.overflow
                        : catalog.describe(metadata: metadata)
                    cache.append(description)
                    let plan = ScanPlan(description, metadata: metadata)
                    plans.withLock { $0.append(plan) }
                    ogr_set_scan_plan(UInt32(index), plan.mode.rawValue, plan.a, plan.b)
                }
            }
            return cache
        }
    }
}

extension TypeRegistry {
    /// Scan plans of registry types `0 ..< descriptions().count`.
    func scanPlans() -> [ScanPlan] { plans.withLock { $0 } }
}

/// How the heap walk reads an object's reference words (mirrors `enum ogr_scan_mode`).
struct ScanPlan: Equatable {
    var mode: ogr_scan_mode
    var a: UInt32 = 0
    var b: UInt32 = 0
}
