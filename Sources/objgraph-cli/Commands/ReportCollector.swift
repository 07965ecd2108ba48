#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ObjGraph

/// Turns what the agent left in its hand-off directory (``AgentFiles``) into the report
/// `objgraph run` prints, and decides whether anything was observed at all.
struct ReportCollector {
    let files: AgentFiles
    let program: String
    let termination: Termination
    let elapsed: Double
    /// Set by ``collect()`` when the run saw nothing: the agent could not track, the program is
    /// not Swift, or it allocated nothing the agent recorded. The command then exits with
    /// ``CommandError/notObservedStatus`` instead of the program's status.
    private(set) var nothingObserved = false
    /// Set by ``collect()`` when the agent could not start tracking: its one-line reason.
    private(set) var trackingRefused: String?
    /// Whether the agent's exit handler had started (the program ended during the final report
    /// if there is none).
    var exitHandlerStarted: Bool { access(files.exitStarted, F_OK) == 0 }

    init(files: AgentFiles, program: String, termination: Termination, elapsed: Double) {
        self.files = files
        self.program = program
        self.termination = termination
        self.elapsed = elapsed
    }

    mutating func collect() throws -> RunReport {
        let decoder = JSONDecoder()
        var report: RunReport
        var tracking: TrackingStatus?
        let complete = FileManager.default.contents(atPath: files.report) != nil
        if let data = FileManager.default.contents(atPath: files.report) {
            do {
                report = try decoder.decode(RunReport.self, from: data)
            } catch {
                throw CommandError("the agent's report is unreadable: \(error)")
            }
            tracking = report.tracking
        } else {
            report = fromWhatWasLeft(decoder: decoder)
            tracking = report.tracking
        }
        report.program = program
        report.durationSeconds = elapsed
        report.exit = RunReport.Exit(
            status: { if case .exited(let s) = termination { return Int(s) } else { return nil } }(),
            signal: { if case .signaled(let s) = termination { return Int(s) } else { return nil } }(),
            description: termination.description)
        // A census is at most a second old: its count says nothing about a program that ended
        // abnormally, except that a program that is not Swift never will have one.
        if let tracking, tracking.recordedObjects == 0, complete || !tracking.isSwiftProgram {
            nothingObserved = true
            if tracking.isSwiftProgram {
                report.notes.insert(
                    "the agent recorded no Swift heap allocation in \(program) (runtime: \(tracking.runtime)): it made no class instance, closure context, box or collection storage while tracked, or made them through a runtime objgraph did not hook; nothing was analysed",
                    at: 0)
            } else {
                report.notes.insert(
                    "\(program) is not a Swift program (it neither links libswiftCore.so nor carries a Swift runtime): nothing to track. objgraph tracks the process it starts, not the programs that one runs (a script's children, exec'd programs): run the Swift program directly",
                    at: 0)
            }
        }
        return report
    }

    /// The report when the program never reached its exit handlers (a crash, a signal, `_exit`):
    /// the last census and the crash counters, with a note saying what happened.
    private mutating func fromWhatWasLeft(decoder: JSONDecoder) -> RunReport {
        var notes: [String] = []
        if let data = FileManager.default.contents(atPath: files.error) {
            let text = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
            notes.append("agent: " + text)
            nothingObserved = true
            if FileManager.default.contents(atPath: files.census) == nil { trackingRefused = text }
        }
        let census = FileManager.default.contents(atPath: files.census).flatMap {
            try? decoder.decode(Census.self, from: $0)
        }
        var types = census?.types ?? []
        var source = census.map { "the census taken \(TextTable.fixed($0.elapsedSeconds, 1)) s after start" }
        var how = "\(program) \(termination.description) before its exit handlers ran"
        if exitHandlerStarted {
            how = "\(program) \(termination.description) while objgraph's exit handler was making the final report"
        } else if case .exited = termination {
            how =
                "\(program) \(termination.description) without running its exit handlers (it called _exit or exec'd another program, which objgraph does not follow)"
        }
        if let bytes = try? FileBytes.read(files.crash), let crash = CrashCounters(bytes) {
            types = crash.rows(names: census?.typeNames ?? [])
            let signal = "signal \(crash.signal) (\(signalName(crash.signal)))"
            source = "the counters saved when \(signal) arrived"
            switch crash.site {
            case .program:
                break
            case .agentExitHandler:
                how =
                    "objgraph's agent failed with \(signal) in its exit handler, while making the final report of \(program): this is a bug in objgraph, not in the program (please report it)"
            case .agentThread:
                how =
                    "objgraph's agent failed with \(signal) on its own thread while \(program) ran: this is a bug in objgraph, not in the program (please report it)"
            case .programDuringExitHandler:
                how = "\(program) \(termination.description) while objgraph's exit handler was making the final report"
            }
        }
        if let source {
            notes.append("\(how): no final snapshot, so no leak analysis; live counts are from \(source)")
        } else if notes.isEmpty {
            notes.append(
                "\(program) \(termination.description) and the agent left no data: it was never loaded (a program the dynamic loader does not start, or one that clears LD_PRELOAD)"
            )
            nothingObserved = true
        }
        types.sort { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
        return RunReport(
            program: program, durationSeconds: elapsed, types: types,
            growth: types.map {
                GrowthRow(
                    name: $0.name, count: $0.count, delta: $0.count, bytes: $0.bytes,
                    bytesDelta: $0.bytes)
            },
            leaks: [], cycles: [], cyclesOmitted: 0, chains: [], leaksText: "", exit: nil, notes: notes,
            tracking: census?.tracking)
    }
}
