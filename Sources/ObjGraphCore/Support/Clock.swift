#if canImport(Glibc)
import Glibc
#endif

/// Seconds on `CLOCK_MONOTONIC`: for durations (never jumps with the wall clock).
package enum MonotonicClock {
    package static func now() -> Double { read(CLOCK_MONOTONIC) }

    /// CPU time of the calling thread, for phase profiles steadier than wall time.
    package static func threadCPUTime() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of the whole process.
    package static func processCPUTime() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }

    static func read(_ clock: clockid_t) -> Double {
        var t = timespec()
        clock_gettime(clock, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// Seconds since 1970 on `CLOCK_REALTIME`: for timestamps people read.
package enum WallClock {
    package static func now() -> Double { MonotonicClock.read(CLOCK_REALTIME) }
}
