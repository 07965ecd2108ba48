// The agent `objgraph run` preloads into a program (LD_PRELOAD). It starts tracking before
// `main`, prints growth tables on a timer or on SIGUSR1 from a thread of its own, keeps a
// census file up to date (what is left if the program is killed), and at exit takes a final
// snapshot and writes the report files the `objgraph` command prints.
//
// Settings come from the environment, which the agent then removes so that programs started
// by the target do not load the agent too:
//   OBJGRAPH_AGENT_DIR   directory for census.json, report.json, report.txt, crash.bin
//   OBJGRAPH_INTERVAL    seconds between growth tables printed to stderr (0: none)
//   OBJGRAPH_SNAPSHOT    path for the final heap snapshot
//   OBJGRAPH_TOP         how many growing types get a back-reference chain (default 5)
//   OBJGRAPH_MAX_CYCLES  how many leaked cycles report.json lists in full (default 1000; the
//                        `objgraph` command passes 0 unless --json asks for them)
//   OBJGRAPH_PROFILE     print the time each phase of the exit analysis took to stderr, with
//                        its page faults (OBJGRAPH_PROFILE_CPU=1: thread CPU time, not wall time)
import CObjGraphAgentInit
import CObjGraphRuntime
import ObjGraphCore   // not the drawing module: Graphviz and its libraries stay out of the program
#if canImport(Glibc)
import Glibc
#endif

struct AgentSettings: Sendable {
    var directory: String?
    var interval: Double = 0
    var snapshotPath: String?
    var top = 5
    var maxCycles = 1000
    var profile = false
    var profileCPU = false
    /// argv[0], read from glibc rather than `CommandLine.arguments`: that array is the
    /// program's, made lazily; building it here would hide it from the program's counts.
    var program = ogr_agent_program_name().map { String(cString: $0) } ?? "program"

    static func fromEnvironment() -> AgentSettings {
        func env(_ name: String) -> String? {
            guard let raw = getenv(name) else { return nil }
            let value = String(cString: raw)
            return value.isEmpty ? nil : value
        }
        var s = AgentSettings()
        s.directory = env("OBJGRAPH_AGENT_DIR")
        s.interval = env("OBJGRAPH_INTERVAL").flatMap(Double.init) ?? 0
        s.snapshotPath = env("OBJGRAPH_SNAPSHOT")
        s.top = env("OBJGRAPH_TOP").flatMap(Int.init) ?? 5
        s.maxCycles = max(0, env("OBJGRAPH_MAX_CYCLES").flatMap(Int.init) ?? 1000)
        s.profile = env("OBJGRAPH_PROFILE") != nil
        s.profileCPU = env("OBJGRAPH_PROFILE_CPU") != nil
        for name in ["OBJGRAPH_AGENT_DIR", "OBJGRAPH_INTERVAL", "OBJGRAPH_SNAPSHOT", "OBJGRAPH_TOP",
                     "OBJGRAPH_MAX_CYCLES", "OBJGRAPH_PROFILE", "OBJGRAPH_PROFILE_CPU"] {
            unsetenv(name)
        }
        removeAgentFromPreload()
        return s
    }

    /// Drops this library from LD_PRELOAD, keeping anything else the user preloads.
    static func removeAgentFromPreload() {
        guard let raw = getenv("LD_PRELOAD") else { return }
        let kept = String(cString: raw).split(whereSeparator: { $0 == ":" || $0 == " " })
            .filter { !$0.contains("libObjGraphAgent") }
        if kept.isEmpty { unsetenv("LD_PRELOAD") } else { setenv("LD_PRELOAD", kept.joined(separator: ":"), 1) }
    }
}

/// State shared between the constructor, the agent thread and the exit handler.
final class Agent: @unchecked Sendable {
    nonisolated(unsafe) static var current: Agent?

    let settings: AgentSettings
    let startPid = getpid()
    let startTime: Double
    let sinceStart = GrowthTracker()
    let tables = GrowthTracker()
    var wakeFDs: [Int32] = [-1, -1]

    init(settings: AgentSettings) {
        self.settings = settings
        startTime = Agent.now()
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    func path(_ name: String) -> String? { settings.directory.map { $0 + "/" + name } }

    func start() {
        if let crash = path("crash.bin") { ogr_agent_watch_crashes(crash) }
        if pipe(&wakeFDs) == 0 {
            _ = fcntl(wakeFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(wakeFDs[1], F_SETFD, FD_CLOEXEC)
            _ = fcntl(wakeFDs[1], F_SETFL, O_NONBLOCK)
            _ = ogr_agent_watch_sigusr1(wakeFDs[1])
        }
        // The first census now, not from the agent thread: a program killed at once must still
        // leave one (it names the types of the crash handler's counters).
        writeCensus()
        startThread()
        atexit { Agent.current?.finish() }
    }

    /// The agent thread: every `interval` (or second, for the census file) and on SIGUSR1.
    private func startThread() {
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { _ in
            Agent.current?.loop()
            return nil
        }, nil)
        if rc == 0 { pthread_detach(thread) }
    }

    private func loop() {
        ogr_suppress_begin()   // the agent thread's own allocations are never counted
        let period = settings.interval > 0 ? settings.interval : 1.0
        var next = Agent.now() + period
        while true {
            var fd = pollfd(fd: wakeFDs[0], events: Int16(POLLIN), revents: 0)
            let timeout = Int32(max(0, (next - Agent.now()) * 1000))
            let ready = poll(&fd, 1, timeout)
            guard getpid() == startPid else { return }
            if ready > 0 {
                var byte: UInt8 = 0
                _ = read(wakeFDs[0], &byte, 1)
                printTable(reason: "SIGUSR1")
            }
            if Agent.now() >= next {
                if settings.interval > 0 { printTable(reason: nil) }
                writeCensus()
                next = Agent.now() + period
            }
        }
    }

    private func printTable(reason: String?) {
        let rows = tables.growth(limit: 20)
        let elapsed = TextTable.fixed(Agent.now() - startTime, 1)
        var text = "objgraph: growth at \(elapsed) s\(reason.map { " (\($0))" } ?? "")\n"
        text += rows.isEmpty ? "   (no growth)\n" : TextTable.growth(rows)
        var err = StandardError()
        err.write(text)
    }

    /// The census file: current live counts by type, plus every type name by registry index so
    /// the raw counters a crash handler dumps can be named afterwards.
    func writeCensus() {
        guard let file = path("census.json") else { return }
        let census = ObjGraph.census(shortNames: true)
        var w = JSONWriter()
        w.beginObject()
        w.field("elapsedSeconds", Agent.now() - startTime)
        w.key("typeNames"); w.beginArray()
        for name in ObjGraph.registryTypeNames(shortNames: true) { w.value(name) }
        w.endArray()
        w.key("types"); w.beginArray()
        for row in census { w.beginObject(); w.field("name", row.name); w.field("count", row.count); w.field("bytes", row.bytes); w.endObject() }
        w.endArray()
        w.endObject()
        try? AtomicFile.write(w.text, to: file, durable: false)
    }

    /// At exit: final snapshot, analyses, report files, optional snapshot and drawing.
    func finish() {
        guard getpid() == startPid else { return }   // a forked child exiting: not our report
        ObjGraph.stopTracking()
        ogr_suppress_begin()
        ogr_scrub_stack()
        ogr_agent_keep_freed_memory()
        let profile = settings.profile ? PhaseProfile(cpuTime: settings.profileCPU) : nil
        if let profile { ExitPhases.sink = profile.lap }
        defer {
            ExitPhases.sink = nil
            if let profile { var err = StandardError(); err.write(profile.summary) }
        }
        do {
            // The exiting thread's stack is no root: `main` has returned (or `exit` abandons
            // the frames), and what is left there is stale.
            let snapshot = try ObjGraph.snapshot(includeOwnStack: false)
            let graph = ObjectGraph(snapshot)
            ExitPhases.mark("index")
            let growth = sinceStart.growth(limit: nil)
            let report = RunReport(graph: graph, growth: growth, top: settings.top, maxCycles: settings.maxCycles,
                                   program: settings.program, duration: Agent.now() - startTime)
            // The report files are handed to the `objgraph` command, which reads them at once:
            // atomic, but not worth an fsync each.
            if let json = path("report.json") { try AtomicFile.write(report.json, to: json, durable: false) }
            if let text = path("report.txt") { try AtomicFile.write(report.text, to: text, durable: false) }
            ExitPhases.mark("report files")
            if let file = settings.snapshotPath { try snapshot.write(to: file) }
            if settings.directory == nil {
                var err = StandardError()
                err.write(report.text)
            }
        } catch {
            var err = StandardError()
            err.write("objgraph: final report failed: \(String(describing: error))\n")
            if let file = path("error.txt") { try? AtomicFile.write("\(String(describing: error))\n", to: file, durable: false) }
        }
    }
}

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
        guard cpuTime else { return Agent.now() }
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
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

@_cdecl("objgraph_agent_start")
public func objgraphAgentStart() {
    // This runs on the program's main thread before `main`: the agent's own objects are left
    // out of the counts, and counting the program's starts when this returns.
    ogr_suppress_begin()
    defer { ogr_suppress_end() }
    let settings = AgentSettings.fromEnvironment()
    do {
        try ObjGraph.startTracking()
    } catch {
        var err = StandardError()
        err.write("objgraph: tracking disabled: \(String(describing: error))\n")
        if let dir = settings.directory { try? AtomicFile.write("\(String(describing: error))\n", to: dir + "/error.txt", durable: false) }
        return
    }
    let agent = Agent(settings: settings)
    Agent.current = agent
    agent.start()
}
