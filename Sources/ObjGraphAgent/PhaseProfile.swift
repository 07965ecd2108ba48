import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

/// Collects ``ExitPhases`` marks: `objgraph: exit phases (ms): capture 12.1 (3100 faults), ...`.
/// Page faults are counted because first touches of fresh memory are a large share of the
/// exit analysis on virtual machines (~2 µs per 4 KiB page).
final class PhaseProfile: @unchecked Sendable {
    /// Thread CPU time instead of wall time (steadier when other programs compete for the CPU).
    private let cpuTime: Bool
    private var last: Double
    private var lastFaults = PhaseProfile.minorFaults()
    private var laps: [(name: String, seconds: Double, faults: Int)] = []

    init(cpuTime: Bool) {
        self.cpuTime = cpuTime
        last = PhaseProfile.clock(cpuTime: cpuTime)
    }

    static func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_minflt)
    }

    private static func clock(cpuTime: Bool) -> Double {
        cpuTime ? MonotonicClock.threadCPUTime() : MonotonicClock.now()
    }

    /// The exiting thread, the only one whose marks count (a snapshot another thread takes
    /// meanwhile passes the same marks).
    private let thread = pthread_self()

    func lap(_ name: String) {
        guard pthread_equal(pthread_self(), thread) != 0 else { return }
        let now = PhaseProfile.clock(cpuTime: cpuTime), faults = PhaseProfile.minorFaults()
        laps.append((name, now - last, faults - lastFaults))
        last = now
        lastFaults = faults
    }

    var summary: String {
        let total = laps.reduce(0) { $0 + $1.seconds }, faults = laps.reduce(0) { $0 + $1.faults }
        let parts = laps.map { "\($0.name) \(TextTable.fixed($0.seconds * 1000, 1)) (\($0.faults) faults)" }
        return "objgraph: exit phases (ms): " + parts.joined(separator: ", ")
            + "; total \(TextTable.fixed(total * 1000, 1)) (\(faults) faults)\n"
    }
}
