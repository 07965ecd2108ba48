import CObjGraphRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Where the process's memory goes: "leak or peak?" at a glance. The resident set, the live
/// Swift objects, the other blocks of the C heap, and what the allocator holds free (memory
/// that is neither leaked nor in use: glibc keeps freed pages for reuse).
package struct MemoryBreakdown: Codable, Sendable, Equatable {
    /// Resident set size of the process.
    package var residentBytes: Int
    package var swiftObjects: Int
    package var swiftBytes: Int
    /// Live blocks of the C heap that are not Swift objects (malloc'd buffers, Dispatch, C++).
    package var nativeBlocks: Int
    package var nativeBytes: Int
    /// Free bytes the allocator keeps (glibc's `mallinfo2().fordblks`); nil under another allocator.
    package var allocatorFreeBytes: Int?

    package init(
        residentBytes: Int, swiftObjects: Int, swiftBytes: Int, nativeBlocks: Int, nativeBytes: Int,
        allocatorFreeBytes: Int?
    ) {
        self.residentBytes = residentBytes
        self.swiftObjects = swiftObjects
        self.swiftBytes = swiftBytes
        self.nativeBlocks = nativeBlocks
        self.nativeBytes = nativeBytes
        self.allocatorFreeBytes = allocatorFreeBytes
    }

    /// The breakdown of `snapshot`'s objects, with the resident set and the allocator's free
    /// bytes read now.
    package static func current(of snapshot: HeapSnapshot) -> MemoryBreakdown {
        var swift = (count: 0, bytes: 0), native = (count: 0, bytes: 0)
        let frame = snapshot.types.map(\.isAsyncFrame)
        for object in snapshot.objects where !object.isZombie {
            if snapshot.types[Int(object.typeIndex)].kind == .nativeBlock {
                // A frame's bytes are its block's (the block's size leaves them out).
                native.count += frame[Int(object.typeIndex)] ? 0 : 1
                native.bytes += Int(object.size)
            } else {
                swift.count += 1
                swift.bytes += Int(object.size)
            }
        }
        var resident = 0
        if let statm = try? FileBytes.read("/proc/self/statm"),
            let pages = String(decoding: statm, as: UTF8.self).split(separator: " ").dropFirst().first.flatMap({
                Int($0)
            })
        {
            resident = pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        return MemoryBreakdown(
            residentBytes: resident, swiftObjects: swift.count, swiftBytes: swift.bytes,
            nativeBlocks: native.count, nativeBytes: native.bytes,
            allocatorFreeBytes: ogr_allocator_free_bytes() >= 0 ? Int(ogr_allocator_free_bytes()) : nil)
    }

    /// `Memory: RSS 12.3 MiB = Swift objects 55.4 KiB (1234) + other heap blocks 120 KiB (567) + ...`
    package var text: String {
        var out =
            "Memory: RSS \(TextTable.bytes(residentBytes)); Swift objects \(TextTable.bytes(swiftBytes)) (\(swiftObjects))"
        out += "; other heap blocks \(TextTable.bytes(nativeBytes)) (\(nativeBlocks))"
        if let allocatorFreeBytes { out += "; free in the allocator \(TextTable.bytes(allocatorFreeBytes))" }
        return out + "\n"
    }

    package func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("residentBytes", residentBytes)
        w.field("swiftObjects", swiftObjects)
        w.field("swiftBytes", swiftBytes)
        w.field("nativeBlocks", nativeBlocks)
        w.field("nativeBytes", nativeBytes)
        w.key("allocatorFreeBytes")
        if let allocatorFreeBytes { w.value(allocatorFreeBytes) } else { w.null() }
        w.endObject()
    }
}
