import XCTest
import CObjGraphRuntime
@testable import ObjGraphCore

private final class FactProbe { var a = 1; var b = 2 }

private let swizzleFlagSymbol = "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly"
private typealias ReleaseFunction = @convention(c) (UnsafeMutableRawPointer?) -> Void
nonisolated(unsafe) private var originalRelease: ReleaseFunction?
nonisolated(unsafe) private var routedReleases = 0
/// Stands in for `_swift_release` while a test counts the releases routed through it. No ARC
/// traffic of its own: it only touches two globals of trivial type. (Retains cannot be counted
/// the same way: the fixed-up retain adapter calls the runtime's retain directly.)
private let countingRelease: ReleaseFunction = { object in
    routedReleases &+= 1
    originalRelease!(object)
}

@inline(never)
private func retainAndRelease(_ object: AnyObject, times: Int) {
    let unmanaged = Unmanaged.passUnretained(object)
    for _ in 0..<times {
        _ = unmanaged.retain()
        unmanaged.release()
    }
}

/// The facts of Sources/ObjGraph/ObjGraph.docc/RuntimeFacts.md that the C runtime relies on, each checked
/// on the running toolchain, so a new Swift runtime that changes one fails here first.
/// (Section 2, the retain-adapter crash, is shown in ObjGraphCLITests.testTheRetainFixUpIsNeeded;
/// sections 4's metadata kinds and layouts in TypeCatalogTests.)
final class RuntimeFactsTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    /// Section 12: every image's RELRO part (`PT_GNU_RELRO`, whole pages) is read-only by the
    /// time the program's code runs, so the capture skips it: it cannot hold a heap pointer.
    func testRelroIsReadOnlyBeforeAnyOfTheProgramsCodeRuns() throws {
        let ranges = SymbolImage.all().images.compactMap(\.relro).map {
            (start: $0.lowerBound, end: $0.upperBound & ~4095)
        }
        XCTAssertGreaterThan(ranges.count, 3, "libc, libswiftCore and others have RELRO")
        let maps = try XCTUnwrap(MemoryMap.current()).regions
        for range in ranges where range.end > range.start {
            let covering = maps.filter { $0.start < UInt64(range.end) && $0.end > UInt64(range.start) }
            XCTAssertFalse(covering.isEmpty)
            for region in covering {
                XCTAssertFalse(region.isWritable, "RELRO 0x\(String(range.start, radix: 16)) is in a writable mapping")
            }
        }
    }

    /// Section 1: libswiftCore exports the writable hook pointers and the swizzling flag.
    func testHookPointersAreExported() throws {
        for name in [
            "_swift_allocObject", "_swift_retain", "_swift_release", "_swift_release_n",
            "_swift_retain_n", "_swift_tryRetain", swizzleFlagSymbol,
        ] {
            XCTAssertNotNil(dlsym(nil, name), name)  // RTLD_DEFAULT
        }
    }

    /// Section 1, refined: the allocation entry points call the hook whenever the swizzling flag
    /// is non-zero (and set it to 1 only when it is 0), while swift_retain and swift_release take
    /// the swizzled path only when it is exactly 1. Tracking stores 2: allocations are recorded
    /// and reference counting stays on the runtime's fast path. Checked here by counting the
    /// releases that reach the `_swift_release` pointer with the flag at 2 and then at 1.
    func testAllocationsAreHookedWhileRetainsStayUnswizzled() throws {
        let flag = try XCTUnwrap(dlsym(nil, swizzleFlagSymbol)).assumingMemoryBound(to: UInt8.self)
        XCTAssertEqual(flag.pointee, 2, "startTracking leaves the flag at 2")
        var stats = ogr_stats()
        ogr_get_stats(&stats)
        XCTAssertEqual(stats.swizzled, 0)

        let probe = FactProbe()
        let raw = Unmanaged.passUnretained(probe).toOpaque()
        XCTAssertEqual(ogr_is_tracked(raw), 1, "the allocation hook ran with the flag at 2")
        XCTAssertEqual(flag.pointee, 2, "and the allocation did not set the flag back to 1")

        let releasePointer = try XCTUnwrap(dlsym(nil, "_swift_release")).assumingMemoryBound(to: ReleaseFunction.self)
        originalRelease = releasePointer.pointee
        routedReleases = 0
        releasePointer.pointee = countingRelease
        retainAndRelease(probe, times: 100)
        let unswizzled = routedReleases
        flag.pointee = 1
        retainAndRelease(probe, times: 100)
        flag.pointee = 2
        releasePointer.pointee = originalRelease!
        let swizzled = routedReleases - unswizzled
        XCTAssertEqual(unswizzled, 0, "with the flag at 2, no release goes through the hook pointer")
        XCTAssertGreaterThanOrEqual(swizzled, 100, "with the flag at 1, every release does")
    }

    /// Section 3: every Swift object is freed with `free`, which ours interposes; the object
    /// leaves the live map at that moment.
    func testObjectsAreFreedThroughTheInterposedFree() {
        var before = ogr_stats()
        ogr_get_stats(&before)
        var probe: FactProbe? = FactProbe()
        let address = Unmanaged.passUnretained(probe!).toOpaque()
        XCTAssertEqual(ogr_is_tracked(address), 1)
        probe = nil
        var after = ogr_stats()
        ogr_get_stats(&after)
        XCTAssertGreaterThan(after.freed, before.freed)
        XCTAssertEqual(after.missed_frees, before.missed_frees, "no object was freed behind our back")
    }

    /// Section 4: the metadata pointer is at +0 and the inline reference counts at +8, with the
    /// bit layout the deallocation interposer decodes (unowned count in bits 1-31 with the runtime's +1,
    /// strong extra count in bits 33-62, side-table flag in bit 63).
    func testObjectHeaderAndInlineRefcountLayout() {
        let probe = FactProbe()
        let raw = Unmanaged.passUnretained(probe).toOpaque()
        XCTAssertEqual(raw.load(as: UInt.self), unsafeBitCast(FactProbe.self, to: UInt.self))
        let a = probe, b = probe
        withExtendedLifetime((a, b)) {
            let bits = raw.load(fromByteOffset: 8, as: UInt64.self)
            XCTAssertEqual(bits >> 63, 0, "no side table yet")
            let strongExtra = (bits >> 33) & 0x3fff_ffff
            var strong: UInt32 = 0, unowned: UInt32 = 0, weak: UInt32 = 0
            ogr_retain_counts(raw, &strong, &unowned, &weak)  // the raw pointer: no extra retain
            XCTAssertEqual(UInt32(strongExtra) + 1, strong, "the inline strong count is swift_retainCount - 1")
            XCTAssertGreaterThanOrEqual(strong, 3, "probe, a and b")
            XCTAssertEqual((bits >> 1) & 0x7fff_ffff, 1, "unowned count holds only the runtime's +1")
        }
        unowned let u = probe
        let bits = raw.load(fromByteOffset: 8, as: UInt64.self)
        XCTAssertEqual((bits >> 1) & 0x7fff_ffff, 2, "one unowned reference")
        _ = u
        weak let w = probe
        XCTAssertEqual(
            raw.load(fromByteOffset: 8, as: UInt64.self) >> 63, 1, "a weak reference moves counts to a side table")
        XCTAssertNotNil(w)
    }

    /// Section 4: the capture reads reference counts from the inline word (no runtime call per
    /// object) and asks the runtime only when there is a side table. The decoded counts must
    /// equal `swift_retainCount`, `swift_unownedRetainCount`, `swift_weakRetainCount` and
    /// `swift_isDeallocating` in every state: fresh, retained many times, unowned-referenced,
    /// weakly referenced (side table) and while deinit runs.
    func testInlineRefcountDecodingMatchesTheRuntime() {
        func check(
            _ raw: UnsafeMutableRawPointer, _ what: String, deinitializing: Bool = false,
            file: StaticString = #filePath, line: UInt = #line
        ) -> (strong: UInt32, unowned: UInt32, weak: UInt32) {
            var strong: UInt32 = 0, unowned: UInt32 = 0, weak: UInt32 = 0
            var inlineStrong: UInt32 = 0, inlineUnowned: UInt32 = 0, inlineWeak: UInt32 = 0
            var inlineDeinit: Int32 = 0
            ogr_retain_counts(raw, &strong, &unowned, &weak)
            ogr_retain_counts_inline(raw, &inlineStrong, &inlineUnowned, &inlineWeak, &inlineDeinit)
            XCTAssertEqual(inlineStrong, strong, "strong count, \(what)", file: file, line: line)
            XCTAssertEqual(inlineUnowned, unowned, "unowned count, \(what)", file: file, line: line)
            XCTAssertEqual(inlineWeak, weak, "weak count, \(what)", file: file, line: line)
            XCTAssertEqual(inlineDeinit != 0, deinitializing, "deinitializing, \(what)", file: file, line: line)
            return (strong, unowned, weak)
        }
        let probe = FactProbe()
        let raw = Unmanaged.passUnretained(probe).toOpaque()
        let fresh = check(raw, "fresh")
        for _ in 0..<1000 { _ = Unmanaged.passUnretained(probe).retain() }
        XCTAssertEqual(check(raw, "retained 1000 times").strong, fresh.strong + 1000)
        for _ in 0..<1000 { Unmanaged.passUnretained(probe).release() }
        unowned let u1 = probe
        unowned let u2 = probe
        XCTAssertEqual(check(raw, "two unowned references").unowned, fresh.unowned + 2)
        weak var w = probe
        XCTAssertEqual(raw.load(fromByteOffset: 8, as: UInt64.self) >> 63, 1, "the weak reference made a side table")
        let withSideTable = check(raw, "side table")
        XCTAssertGreaterThanOrEqual(withSideTable.weak, 1)
        XCTAssertEqual(withSideTable.strong, fresh.strong)
        _ = (u1, u2, w)
        w = nil

        // During deinit: the inline word says deiniting, the strong count is the runtime's.
        final class Reporter {
            nonisolated(unsafe) static var seen: (UnsafeMutableRawPointer) -> Void = { _ in }
            deinit { Reporter.seen(Unmanaged.passUnretained(self).toOpaque()) }
        }
        var checked = false
        Reporter.seen = { raw in
            _ = check(raw, "in deinit", deinitializing: true)
            checked = true
        }
        do { _ = Reporter() }
        Reporter.seen = { _ in }
        XCTAssertTrue(checked, "deinit ran")
    }

    /// Section 4: a weak reference stores a side-table pointer, never the object's address, so
    /// the heap scan cannot mistake it for a strong edge.
    func testWeakReferenceDoesNotStoreTheAddress() {
        final class Holder { weak var target: FactProbe? }
        let target = FactProbe(), holder = Holder()
        holder.target = target
        let stored = Unmanaged.passUnretained(holder).toOpaque().load(fromByteOffset: 16, as: UInt.self)
        XCTAssertNotEqual(stored, UInt(bitPattern: Unmanaged.passUnretained(target).toOpaque()))
        XCTAssertNotEqual(stored, 0)
    }

    /// The block sizes the registry counts, read from glibc's chunk headers, are what
    /// malloc_usable_size reports, for small, large and mmapped blocks.
    func testBlockSizesMatchMallocUsableSize() throws {
        final class Holder { var arrays: [[Int]] = [] }
        let holder = Holder()
        for n in [1, 3, 40, 1000, 70_000] { holder.arrays.append([Int](repeating: 7, count: n)) }
        typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int
        let usable = unsafeBitCast(try XCTUnwrap(dlsym(nil, "malloc_usable_size")), to: UsableSize.self)
        let snapshot = try ObjGraph.snapshot()
        for array in holder.arrays {
            let storage = array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) - 32 }
            let id = try XCTUnwrap(snapshot.object(at: UInt64(UInt(bitPattern: storage))))
            XCTAssertEqual(Int(snapshot.objects[id].size), usable(UnsafeMutableRawPointer(mutating: storage)))
        }
    }
}
