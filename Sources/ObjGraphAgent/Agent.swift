// The agent `objgraph run` preloads into a program (LD_PRELOAD). It starts tracking before
// `main`, prints growth tables on a timer or on SIGUSR1 from a thread of its own, keeps a
// census file up to date (what is left if the program is killed), and at exit takes a final
// snapshot and writes the report the `objgraph` command prints. What it reads and writes is
// the contract in ObjGraphCore's Run/AgentHandoff.swift.
import CObjGraphAgentInit
import CObjGraphRuntime
import ObjGraphCore  // not the drawing module: Graphviz and its libraries stay out of the program
#if canImport(Glibc)
import Glibc
#endif

/// State shared between the constructor, the agent thread and the exit handler.
final class Agent: @unchecked Sendable {
    nonisolated(unsafe) static var current: Agent?

    let settings: AgentSettings
    /// argv[0], read from glibc rather than `CommandLine.arguments`: that array is the
    /// program's, made lazily; building it here would hide it from the program's counts.
    let program = ogr_agent_program_name().map { String(cString: $0) } ?? "program"
    let startPid = getpid()
    let startTime = MonotonicClock.now()
    let sinceStart = GrowthTracker(includeNativeBlocks: true)
    let tables = GrowthTracker(includeNativeBlocks: true)
    var wakeFDs: [Int32] = [-1, -1]
    /// The hand-off directory, until the command that made it is gone.
    var files: AgentFiles?
    /// Where the report goes once the command is gone (see ``ParentWatch``).
    var orphanReportPath: String?

    init(settings: AgentSettings) {
        self.settings = settings
        files = settings.directory.map(AgentFiles.init)
    }

    func start() {
        if let files { ogr_agent_watch_crashes(files.crash) }
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
        // The frames of whatever called exit() are roots; the exit handler's own, and what
        // the C library's startup code leaves when main returned, are not.
        atexit {
            let floor = ogr_agent_exit_caller_stack()
            Agent.current?.finish(stackFloor: floor == 0 ? nil : UInt(floor))
        }
    }

    /// How tracking went, for the census and the report.
    var trackingStatus: TrackingStatus {
        TrackingStatus(
            recordedObjects: ObjGraph.recordedObjects, isSwiftProgram: ogr_program_is_swift() != 0,
            runtime: ogr_runtime_is_in_executable() != 0
                ? "the program's own (built with --static-swift-stdlib)" : "libswiftCore.so")
    }

    /// The agent thread: every `interval` (or second, for the census file), on SIGUSR1, and
    /// at least once a second to notice the `objgraph` command going away.
    private func startThread() {
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { _ in
                Agent.current?.loop()
                return nil
            }, nil)
        if rc == 0 { pthread_detach(thread) }
    }

    private func loop() {
        ogr_suppress_begin()  // the agent thread's own allocations are never counted
        ogr_agent_set_role(Int32(OGR_CRASH_IN_AGENT_THREAD.rawValue))
        let period = settings.interval > 0 ? settings.interval : 1.0
        var next = MonotonicClock.now() + period
        var watch = ParentWatch(parent: settings.parent)
        while true {
            var fd = pollfd(fd: wakeFDs[0], events: Int16(POLLIN), revents: 0)
            let timeout = Int32(max(0, min(next - MonotonicClock.now(), 1.0)) * 1000)
            let ready = poll(&fd, 1, timeout)
            guard getpid() == startPid else { return }
            if ready > 0 {
                var byte: UInt8 = 0
                _ = read(wakeFDs[0], &byte, 1)
                printTable(reason: "SIGUSR1")
            }
            if MonotonicClock.now() >= next {
                if settings.interval > 0 { printTable(reason: nil) }
                writeCensus()
                next = MonotonicClock.now() + period
            }
            watch.check(agent: self)
        }
    }

    private func printTable(reason: String?) {
        let rows = tables.growth(limit: 20)
        let elapsed = TextTable.fixed(MonotonicClock.now() - startTime, 1)
        var text = "objgraph: growth at \(elapsed) s\(reason.map { " (\($0))" } ?? "")\n"
        text +=
            rows.isEmpty
            ? "   (no growth)\n" : TextTable.growth(rows, nameWidth: settings.wide ? nil : TextTable.nameWidth)
        var err = StandardError()
        err.write(text)
    }

    func writeCensus() {
        guard let files else { return }
        let census = Census(
            elapsedSeconds: MonotonicClock.now() - startTime,
            typeNames: ObjGraph.registryTypeNames(shortNames: true),
            types: ObjGraph.census(shortNames: true), tracking: trackingStatus)
        try? AtomicFile.write(census.json, to: files.census, durable: false)
    }

    /// The report from a snapshot taken now. At exit, the exiting thread's stack counts only
    /// from `stackFloor` up (the frames of the function that called `exit()`), or not at all
    /// when `main` returned (then only the C library's startup frames and stale words are left).
    ///
    /// Globals are named only where the report shows them (its chains); the snapshot file, when
    /// one is asked for, names them all (``finish(stackFloor:)``).
    func makeReport(atExit: Bool = false, stackFloor: UInt? = nil) throws -> (RunReport, HeapSnapshot) {
        let snapshot =
            atExit
            ? try ObjGraph.snapshot(ownStackAbove: stackFloor, namingGlobals: false)
            : try ObjGraph.snapshot(includeOwnStack: true)
        let graph = ObjectGraph(snapshot)
        ExitPhases.mark("index")
        let memory = MemoryBreakdown.current(of: snapshot)
        let report = RunReport(
            graph: graph, growth: sinceStart.growth(limit: nil), top: settings.top,
            maxCycles: settings.maxCycles, full: settings.full, program: program,
            duration: MonotonicClock.now() - startTime, tracking: trackingStatus, memory: memory,
            rootNames: ObjGraph.nameRoots)
        return (report, snapshot)
    }

    /// At exit: final snapshot, analyses, report files, optional snapshot file.
    func finish(stackFloor: UInt?) {
        guard getpid() == startPid else { return }  // a forked child exiting: not our report
        ogr_agent_exit_handler_started()
        ObjGraph.stopTracking()
        ogr_suppress_begin()
        files?.markExitStarted()  // after the two lines above: its path is a String the program's counts must not see
        // For the test that the command blames the agent, not the program, for the agent's own
        // failures: nothing else sets it. (After the two lines above: even reading the
        // environment allocates in a debug build, and the program's counts must not see it.)
        if getenv("OBJGRAPH_TEST_AGENT_FAULT") != nil { raise(SIGSEGV) }
        ogr_scrub_stack()
        ogr_agent_keep_freed_memory()
        let profile = settings.profile ? PhaseProfile(cpuTime: settings.profileCPU) : nil
        if let profile { ExitPhases.sink = profile.lap }
        defer {
            ExitPhases.sink = nil
            if let profile { var err = StandardError(); err.write(profile.summary) }
        }
        do {
            var (report, snapshot) = try makeReport(atExit: true, stackFloor: stackFloor)
            // The report file is handed to the `objgraph` command, which reads it at once:
            // atomic, but not worth an fsync.
            if let files { try AtomicFile.write(report.json, to: files.report, durable: false) }
            ExitPhases.mark("report files")
            if let file = settings.snapshotPath {
                ObjGraph.nameGlobalRoots(in: &snapshot)
                try snapshot.write(to: file)
            }
            if let orphanReportPath {
                try AtomicFile.write(report.text, to: orphanReportPath)
                var err = StandardError()
                err.write("objgraph: the final report of \(program) is in \(orphanReportPath)\n")
            } else if files == nil {
                var err = StandardError()
                err.write(report.text)
            }
        } catch {
            var err = StandardError()
            err.write("objgraph: final report failed: \(String(describing: error))\n")
            if let files { try? AtomicFile.write("\(String(describing: error))\n", to: files.error, durable: false) }
        }
    }
}

/// Notices the `objgraph` command that started the program going away (killed with SIGKILL,
/// say): the program must not live on as an orphan, and the report must not be lost with the
/// command's temporary directory. The agent then writes a report of the heap as it is to a
/// file it names on stderr, removes the directory, and stops the program with SIGTERM (its
/// exit handler, if it runs, replaces that report with the final one); SIGKILL follows if the
/// program is still running 10 seconds later.
struct ParentWatch {
    let parent: Int32?
    private var stopSentAt: Double?

    init(parent: Int32?) { self.parent = parent }

    mutating func check(agent: Agent) {
        if let sent = stopSentAt {
            if MonotonicClock.now() - sent > 10 { kill(getpid(), SIGKILL) }
            return
        }
        guard let parent, getppid() != parent else { return }
        stopSentAt = MonotonicClock.now()
        let path = Self.reportPath(pid: getpid())
        var err = StandardError()
        err.write(
            "objgraph: the objgraph command (pid \(parent)) is gone: stopping \(agent.program) with SIGTERM; its report goes to \(path)\n"
        )
        agent.orphanReportPath = path
        if var (report, _) = try? agent.makeReport() {
            report.notes.append(
                "the objgraph command was gone before the program ended: this report was made when the agent noticed, and is replaced by the final one if the program's exit handlers run"
            )
            try? AtomicFile.write(report.text, to: path)
        }
        if let files = agent.files {
            agent.files = nil
            TemporaryDirectory.remove(files.directory)
        }
        kill(getpid(), SIGTERM)
    }

    /// `objgraph-report-PID.txt` in the working directory, or in the temporary directory when
    /// the working directory is not writable.
    static func reportPath(pid: Int32) -> String {
        let name = "objgraph-report-\(pid).txt"
        if access(".", W_OK) == 0 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil { return String(cBuffer: buffer) + "/" + name }
        }
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return base + "/" + name
    }
}
