import CObjGraphRuntime

extension ObjGraph {
    /// Live objects of the type named `typeName` (short or qualified), objgraph's `by_type`.
    /// Only class instances can be returned as objects; other heap objects (closure contexts,
    /// boxes) are counted by ``count(_:)`` and appear in snapshots.
    ///
    /// ```swift
    /// makeLeakedPairs(2)
    /// let pairs = try ObjGraph.byType("Pair")      // or byType(Pair.self), typed
    /// print(pairs.count)
    /// // 4
    /// ```
    public static func byType(_ typeName: String) throws -> [AnyObject] {
        let graph = ObjectGraph(try snapshot())
        let snapshot = graph.snapshot
        let addresses = graph.objects(ofType: typeName).compactMap { id -> UInt64? in
            guard snapshot.type(of: id).kind == .classInstance, !snapshot.objects[id].isZombie else { return nil }
            return snapshot.objects[id].address
        }
        return retainLive(addresses)
    }

    /// Turns addresses from a snapshot back into objects, skipping any freed since.
    static func retainLive(_ addresses: [UInt64]) -> [AnyObject] {
        var retained = [UInt8](repeating: 0, count: addresses.count)
        ogr_retain_live(addresses, addresses.count, &retained)
        return addresses.indices.compactMap { i in
            guard retained[i] != 0, let raw = UnsafeRawPointer(bitPattern: UInt(addresses[i])) else { return nil }
            return Unmanaged<AnyObject>.fromOpaque(raw).takeRetainedValue()
        }
    }

    /// Live instances of `type`, objgraph's `by_type` with a Swift type. Matched by the type's
    /// metadata, so private and generic classes are found exactly; subclasses are not included.
    public static func byType<T: AnyObject>(_ type: T.Type) throws -> [T] {
        guard ogr_is_installed() != 0 else {
            throw TrackingError("tracking is not started: call ObjGraph.startTracking() first")
        }
        let metadata = UInt(bitPattern: unsafeBitCast(type, to: UnsafeRawPointer.self))
        let index = ogr_type_lookup_index(UInt(metadata))
        guard index != UInt32.max else { return [] }
        return untracked {
            var addresses = [UInt64](repeating: 0, count: max(16, Int(ogr_live_count(index)) * 2))
            while true {
                let found = ogr_objects_of_type(index, &addresses, addresses.count)
                if found <= addresses.count {
                    return retainLive(Array(addresses.prefix(found))).compactMap { $0 as? T }
                }
                addresses = [UInt64](repeating: 0, count: found * 2)
            }
        }
    }

}
