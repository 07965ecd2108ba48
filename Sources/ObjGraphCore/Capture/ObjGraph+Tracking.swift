import CObjGraphRuntime
import Synchronization

/// Why automatic tracking could not start. Nothing in the process was changed.
public struct TrackingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ObjGraph {
    /// Start counting every Swift heap object allocated from now on, with no change to user
    /// classes.
    ///
    /// Hooks the Swift runtime's allocation entry point, applies the Swift 6.3 retain-adapter
    /// fix-up (located at run time from libswiftCore's symbol table) and checks that `free` is
    /// interposed. Calling it again is harmless.
    ///
    /// - Throws: ``TrackingError`` when the runtime cannot be hooked safely; the process is
    ///   then left untouched.
    public static func startTracking() throws {
        // Two threads starting at once must not run the free-interposition probe concurrently.
        try startLock.withLock { _ in try startTrackingLocked() }
    }

    private static let startLock = Mutex(())

    private static func startTrackingLocked() throws {
        if ogr_is_installed() != 0 {
            ogr_set_recording(1)
            return
        }
        var message = [CChar](repeating: 0, count: 512)
        if ogr_install(&message, message.count) != 0 {
            throw TrackingError(String(cBuffer: message))
        }
        try verifyFreeInterposition()
    }

    /// Stop recording new allocations. Objects already counted are still removed from the
    /// counts when they are freed, so the numbers stay exact; `startTracking()` resumes.
    public static func stopTracking() { ogr_set_recording(0) }

    /// True while new allocations are being recorded.
    public static var isTracking: Bool { ogr_is_installed() != 0 && ogr_is_recording() != 0 }

    /// A tracked object must leave the registry when it is freed. If another library defines
    /// `free` ahead of ours, frees would go unseen and counts would only grow: refuse then.
    private static func verifyFreeInterposition() throws {
        guard ogr_free_is_interposed() != 0 else {
            ogr_set_recording(0)
            throw TrackingError(
                "free() is not interposed: another library defines free ahead of ObjGraph; tracking stopped")
        }
        // End to end, when this library's own objects go through the hooked runtime (not when
        // it was preloaded into a program that carries its own runtime).
        guard ogr_swift_code_uses_tracked_runtime() != 0 else { return }
        var before = ogr_stats()
        ogr_get_stats(&before)
        let depth = ogr_suppress_save()  // the probe must be recorded even inside the agent
        probeAllocation()
        ogr_suppress_restore(depth)
        var after = ogr_stats()
        ogr_get_stats(&after)
        // Whatever the probe made (the object, and lazily initialised storage with it).
        probeObjects.add(Int(after.recorded - before.recorded), ordering: .relaxed)
        if after.freed == before.freed {
            ogr_set_recording(0)
            throw TrackingError(
                "free() is not interposed: another library defines free ahead of ObjGraph; tracking stopped")
        }
    }

    /// Allocates one object on the heap and frees it. The object is stored in a global so the
    /// optimizer can neither remove it nor promote it to the stack (release builds would).
    @inline(never) @_optimize(none)
    private static func probeAllocation() {
        probeSink = TrackingProbe()
        probeSink = nil
    }

    /// Runs `body` with the calling thread's allocations left out of the counts, so the
    /// library's own arrays and strings never show up in the user's tables.
    @inline(__always)
    package static func untracked<T>(_ body: () throws -> T) rethrows -> T {
        ogr_suppress_begin()
        defer { ogr_suppress_end() }
        return try body()
    }
}

private final class TrackingProbe {}

/// Objects the free-interposition probe allocated: recorded, but not the program's.
private let probeObjects = Atomic<Int>(0)

extension ObjGraph {
    /// Objects recorded since tracking started, freed ones included, without this library's
    /// own probe: 0 means the program made no Swift heap object while tracked.
    package static var recordedObjects: Int {
        var stats = ogr_stats()
        ogr_get_stats(&stats)
        return Int(stats.recorded) - probeObjects.load(ordering: .relaxed)
    }
}
nonisolated(unsafe) private var probeSink: AnyObject?

/// Strong, unowned and weak reference counts of one object, as the Swift runtime keeps them.
public struct RetainCounts: Sendable, Equatable, CustomStringConvertible {
    /// Strong references, including any the caller holds while asking.
    public var strong: Int
    /// `unowned` references, plus one while strong references exist (the runtime's own +1).
    public var unowned: Int
    /// Weak references (0 when the object has no side table).
    public var weak: Int

    public var description: String { "strong \(strong), unowned \(unowned), weak \(weak)" }
}

extension ObjGraph {
    /// The runtime's reference counts for `object`. The reference passed in may itself add one
    /// to `strong`, as with any retain-count API.
    public static func retainCount(of object: AnyObject) -> RetainCounts {
        var strong: UInt32 = 0, unowned: UInt32 = 0, weak: UInt32 = 0
        let pointer = Unmanaged.passUnretained(object).toOpaque()
        ogr_retain_counts(pointer, &strong, &unowned, &weak)
        return RetainCounts(strong: Int(strong), unowned: Int(unowned), weak: Int(weak))
    }

    /// True when `object` is counted by the tracking registry (it was allocated while
    /// tracking was on and has not been freed).
    public static func isTracked(_ object: AnyObject) -> Bool {
        ogr_is_tracked(Unmanaged.passUnretained(object).toOpaque()) != 0
    }
}
