import ObjGraph

/// Which objects of `after` are new: `before` has no object at that address, or one of another
/// type, or one from another allocation epoch (malloc gave the address to a new object: with
/// tests running in parallel, another test's freed object of the same type is a common case).
enum NewObjects {
    static func mark(before: HeapSnapshot, after: HeapSnapshot) -> [Bool] {
        after.objects.indices.map { id in
            guard let old = before.object(at: after.objects[id].address) else { return true }
            return before.objects[old].allocationEpoch != after.objects[id].allocationEpoch
                || before.type(of: old).name != after.type(of: id).name
        }
    }
}
