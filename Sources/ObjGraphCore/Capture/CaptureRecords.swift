import CObjGraphRuntime

extension SnapshotBuilder {
    /// Runs the capture up to its last step (the caller reads object memory, then calls
    /// `ogr_capture_end`), writing object and edge records straight into the snapshot's arrays
    /// when the C records and ``HeapSnapshot/Object`` / ``HeapSnapshot/Edge`` have one layout
    /// (they are declared to), else through C arrays. Objects' `typeIndex` holds registry type
    /// indices; edges have no labels yet. Nil when tracking is not installed.
    static func capture(flags: UInt32, into capture: inout ogr_capture_result, copying: Bool = false)
        -> (objects: [HeapSnapshot.Object], edges: [HeapSnapshot.Edge])?
    {
        let count = ogr_capture_begin(flags)
        guard count >= 0 else { return nil }
        var captured = capture
        defer { capture = captured }
        guard layoutsAgree && !copying else {
            let records = UnsafeMutablePointer<ogr_object>.allocate(capacity: max(Int(count), 1))
            defer { records.deallocate() }
            ogr_capture_scan(records, nil, 0, &captured)
            let objects = UnsafeBufferPointer(start: records, count: captured.object_count).map {
                HeapSnapshot.Object(
                    address: $0.address, typeIndex: Int32(bitPattern: $0.type), size: $0.size,
                    strongCount: $0.strong, unownedCount: $0.unowned, weakCount: $0.weak,
                    isZombie: $0.deinitialized != 0, allocationEpoch: $0.epoch)
            }
            let edges = UnsafeBufferPointer(start: captured.overflow, count: captured.overflow_count).map {
                HeapSnapshot.Edge(
                    from: Int32(bitPattern: $0.from), to: Int32(bitPattern: $0.to), offset: $0.offset,
                    label: 0, kind: .conservative)
            }
            return (objects, edges)
        }
        // Room for three references per object, reserved but not touched: only the pages the
        // capture writes are ever faulted in. Edges beyond that come back in `overflow`.
        let edgeCapacity = 3 * Int(count) + 4096
        var edges: [HeapSnapshot.Edge] = []
        let objects = [HeapSnapshot.Object](unsafeUninitializedCapacity: Int(count)) { objectBuffer, objectCount in
            edges = [HeapSnapshot.Edge](unsafeUninitializedCapacity: edgeCapacity) { edgeBuffer, edgeCount in
                objectBuffer.withMemoryRebound(to: ogr_object.self) { objectRecords in
                    edgeBuffer.withMemoryRebound(to: ogr_edge.self) { edgeRecords in
                        ogr_capture_scan(objectRecords.baseAddress, edgeRecords.baseAddress, edgeCapacity, &captured)
                    }
                }
                edgeCount = captured.edge_count
            }
            objectCount = captured.object_count
        }
        if captured.overflow_count > 0 {
            UnsafeRawPointer(captured.overflow).withMemoryRebound(
                to: HeapSnapshot.Edge.self, capacity: captured.overflow_count
            ) {
                edges.append(contentsOf: UnsafeBufferPointer(start: $0, count: captured.overflow_count))
            }
        }
        return (objects, edges)
    }

    /// Words 2..<8 of `object` (a dictionary's or set's header), or none when the block is
    /// smaller. Only while the capture still holds frees off.
    static func headerWords(of object: HeapSnapshot.Object) -> [UInt64] {
        guard object.size >= 64, let base = UnsafeRawPointer(bitPattern: UInt(object.address)) else { return [] }
        return (2..<8).map { base.load(fromByteOffset: 8 * $0, as: UInt64.self) }
    }

    /// True when `ogr_object` / `ogr_edge` and ``HeapSnapshot/Object`` / ``HeapSnapshot/Edge``
    /// agree field by field (checked by a test too; this keeps a compiler that lays structs out
    /// differently correct, only slower).
    static let layoutsAgree: Bool = {
        typealias O = HeapSnapshot.Object
        typealias E = HeapSnapshot.Edge
        let conservative = HeapSnapshot.EdgeKind.conservative
        return MemoryLayout<E>.stride == MemoryLayout<ogr_edge>.stride
            && MemoryLayout<E>.offset(of: \.from) == MemoryLayout<ogr_edge>.offset(of: \.from)
            && MemoryLayout<E>.offset(of: \.to) == MemoryLayout<ogr_edge>.offset(of: \.to)
            && MemoryLayout<E>.offset(of: \.offset) == MemoryLayout<ogr_edge>.offset(of: \.offset)
            && MemoryLayout<E>.offset(of: \.label) == MemoryLayout<ogr_edge>.offset(of: \.label)
            && MemoryLayout<E>.offset(of: \.kind) == MemoryLayout<ogr_edge>.offset(of: \.kind)
            && MemoryLayout<HeapSnapshot.EdgeKind>.size == 1
            && withUnsafeBytes(of: conservative) { $0[0] } == 3  // what the capture writes
            && MemoryLayout<O>.stride == MemoryLayout<ogr_object>.stride
            && MemoryLayout<O>.offset(of: \.address) == MemoryLayout<ogr_object>.offset(of: \.address)
            && MemoryLayout<O>.offset(of: \.typeIndex) == MemoryLayout<ogr_object>.offset(of: \.type)
            && MemoryLayout<O>.offset(of: \.size) == MemoryLayout<ogr_object>.offset(of: \.size)
            && MemoryLayout<O>.offset(of: \.strongCount) == MemoryLayout<ogr_object>.offset(of: \.strong)
            && MemoryLayout<O>.offset(of: \.unownedCount) == MemoryLayout<ogr_object>.offset(of: \.unowned)
            && MemoryLayout<O>.offset(of: \.weakCount) == MemoryLayout<ogr_object>.offset(of: \.weak)
            && MemoryLayout<O>.offset(of: \.isZombie) == MemoryLayout<ogr_object>.offset(of: \.deinitialized)
            && MemoryLayout<O>.offset(of: \.allocationEpoch) == MemoryLayout<ogr_object>.offset(of: \.epoch)
            && MemoryLayout<Bool>.size == 1 && MemoryLayout<O>.size <= MemoryLayout<ogr_object>.size
    }()
}
