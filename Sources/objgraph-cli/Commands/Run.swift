import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials  // not all of Foundation: it costs ~7 ms of start-up (ICU)
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ObjGraph

extension ObjGraphCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a program under heap tracking and report what grew and what leaked.",
            discussion: """
                The program is started with the objgraph agent preloaded (LD_PRELOAD): no change to its \
                code or build. At exit the report lists live types, growth since start, leaked retain \
                cycles (like Apple's `leaks`) and who holds the fastest-growing types. Send SIGUSR1 to \
                the program for a growth table at any time.

                SIGTERM, SIGINT and SIGHUP sent to objgraph are passed on to the program; objgraph waits \
                for it (SIGKILL after 20 s), prints the report and exits with the program's status \
                (128 + N when signal N killed it). If objgraph itself is killed, the program is stopped \
                too and its report is written to objgraph-report-PID.txt in its working directory.

                Examples:
                  objgraph run -- .build/debug/leaky-pairs 300
                  objgraph run --interval 2 --json out.json --draw leaks.svg -- ./server
                """
        )

        @Option(help: ArgumentHelp("Print a growth table every SECONDS while the program runs.", valueName: "seconds"))
        var interval: Double?

        @Option(help: ArgumentHelp("Write the final report as JSON to FILE.", valueName: "file"))
        var json: String?

        @Option(
            name: [.customLong("draw"), .customLong("svg")],
            help: ArgumentHelp(
                "Draw the leaked cycles (or who holds the top growing types) to FILE (.svg, .png, .dot).",
                valueName: "file"))
        var draw: String?

        @Option(
            help: ArgumentHelp(
                "Save the final heap snapshot to FILE (read it with stats, diff, leaks, render).",
                valueName: "file"))
        var snapshot: String?

        @Option(help: ArgumentHelp("Back-reference chains for the N fastest-growing types.", valueName: "n"))
        var top: Int = AgentSettings.defaultTop

        @Option(
            help: ArgumentHelp(
                "Stop the program (SIGTERM, then SIGKILL 5 s later) after SECONDS.", valueName: "seconds"))
        var timeout: Double?

        @Flag(
            help: ArgumentHelp(
                "Print every leaked structure whole and list every object of a cycle in the JSON "
                    + "(default: \(LeaksReport.defaultLineLimit) lines per structure, the rest counted by type)."))
        var full = false

        @Flag(
            help:
                "Print type names whole in the tables (default: cut in the middle at \(TextTable.nameWidth) characters)."
        )
        var wide = false

        @Flag(help: "Do not print the report (use with --json).")
        var quiet = false

        @Argument(
            parsing: .captureForPassthrough,
            help: ArgumentHelp("The program and its arguments, after --.", valueName: "program"))
        var command: [String] = []

        /// The program and its arguments, without the `--` that separates them from options.
        private var programAndArguments: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

        func validate() throws {
            // `objgraph run --help`: the passthrough argument captures it before ArgumentParser can.
            if let first = command.first, ["-h", "--help", "-help"].contains(first) {
                throw CleanExit.helpRequest(self)
            }
            if let first = command.first, first.hasPrefix("-"), first != "--" {
                throw ValidationError("unknown option '\(first)' (options go before --, the program after it)")
            }
            guard !programAndArguments.isEmpty else {
                throw ValidationError("no program given: objgraph run [options] -- PROGRAM [ARGS...]")
            }
            if let interval, !(interval > 0) {
                throw ValidationError("--interval must be a positive number of seconds")
            }
            if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
            if top < 0 { throw ValidationError("--top must not be negative") }
            if let draw {
                do { _ = try drawingFormat(of: draw) } catch let error as CommandError {
                    throw ValidationError(error.description)
                }
            }
        }

        mutating func run() throws {
            try reportingErrors(execute)
        }

        private func execute() throws {
            let program = programAndArguments[0]
            for output in [draw, snapshot, json].compactMap({ $0 }) { try checkWritableDirectory(of: output) }
            let path = try ProgramRunner.resolve(program)
            try AttachCheck.refuseUnobservable(path: path, program: program)
            let agent = try agentLibrary()
            let directory: String
            do { directory = try TemporaryDirectory.make(prefix: "objgraph-run") } catch {
                throw CommandError("cannot create a temporary directory: \(error)")
            }
            defer { TemporaryDirectory.remove(directory) }

            var settings = AgentSettings()
            settings.directory = directory
            settings.top = top
            // Only --json prints the cycle list: without it the agent need not build one.
            settings.maxCycles = json == nil ? 0 : AgentSettings.defaultMaxCycles
            settings.interval = interval ?? 0
            settings.full = full
            settings.wide = wide
            settings.parent = getpid()
            // The drawing is made here from the final snapshot, not in the program (which then
            // loads no Graphviz): ask for one when --draw needs it and --snapshot did not.
            let finalSnapshot = snapshot.map(ProgramRunner.absolute) ?? (draw != nil ? directory + "/final.ogs" : nil)
            settings.snapshotPath = finalSnapshot
            var environment = settings.environment
            environment["LD_PRELOAD"] =
                ([agent] + (ProcessInfo.processInfo.environment["LD_PRELOAD"].map { [$0] } ?? []))
                .joined(separator: ":")

            let start = MonotonicClock.now()
            let termination = try ProgramRunner.run(
                path, arguments: Array(programAndArguments.dropFirst()),
                extra: environment, timeout: timeout)
            let elapsed = MonotonicClock.now() - start

            var collector = ReportCollector(
                files: AgentFiles(directory: directory), program: path,
                termination: termination, elapsed: elapsed)
            var report = try collector.collect()
            let when =
                collector.exitHandlerStarted
                ? "the program ended while objgraph's exit handler was making the final report"
                : "the program ended before its exit handlers ran"
            if snapshot != nil && report.leaksText.isEmpty {
                report.notes.append("no snapshot was saved: \(when)")
            }
            let drawFrom = finalSnapshot.flatMap { !report.leaksText.isEmpty && access($0, F_OK) == 0 ? $0 : nil }
            if draw != nil && drawFrom == nil {
                report.notes.append("no drawing was made: \(when)")
            }
            if let json { try writeOutput { try AtomicFile.write(report.json, to: json) } }
            if let reason = collector.trackingRefused {
                // The agent could not start tracking: one line, not an empty report.
                throw CommandError(
                    "tracking could not start in \(program): \(reason)", exitCode: CommandError.notObservedStatus)
            }
            if !quiet { printError(report.text(nameWidth: wide ? nil : TextTable.nameWidth)) }
            // Last: a drawing that fails is a one-line error after the report, not instead of it.
            if let draw, let drawFrom { try drawing(from: drawFrom, growth: report.growth, to: draw) }
            if collector.nothingObserved {
                throw CommandError(
                    "nothing was observed in \(program) (see the note above)",
                    exitCode: CommandError.notObservedStatus)
            }
            throw ExitCode(termination.exitCode)
        }

        private func writeOutput(_ body: () throws -> Void) throws {
            do { try body() } catch { throw CommandError("\(error)") }
        }

        /// One drawing: the leaked structures as the report merges them (red clusters, each drawn
        /// once with its count, at most 20, big ones cut); when nothing leaked, who holds the three
        /// fastest-growing types.
        private func drawing(from path: String, growth: [GrowthRow], to output: String) throws {
            let graph = ObjectGraph(try loadSnapshot(path))
            do {
                let leaks = graph.leakingObjects()
                if !leaks.isEmpty {
                    try graph.showLeaks(leaks, to: output)
                    return
                }
                let held = graph.lastReachableInstances(
                    ofTypes: growth.prefix(3).map(\.name),
                    reachable: graph.reachableFromRoots()
                ).compactMap { $0 }
                try graph.showBackrefs(held, maxDepth: 6, to: output)
            } catch {
                throw CommandError("cannot draw \(output): \(error)")
            }
        }

        private func agentLibrary() throws -> String {
            if let explicit = ProcessInfo.processInfo.environment["OBJGRAPH_AGENT_LIBRARY"] {
                guard access(explicit, F_OK) == 0 else {
                    throw CommandError("OBJGRAPH_AGENT_LIBRARY names a missing file: \(explicit)")
                }
                return explicit
            }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let executable =
                readlink("/proc/self/exe", &buffer, buffer.count - 1) > 0 ? String(cBuffer: buffer) : "objgraph"
            let directory = parentDirectory(of: executable)
            for candidate in [directory + "/libObjGraphAgent.so", directory + "/../lib/libObjGraphAgent.so"]
            where access(candidate, F_OK) == 0 {
                return candidate
            }
            throw CommandError(
                "cannot find libObjGraphAgent.so next to \(executable); build it with `swift build --product ObjGraphAgent` or set OBJGRAPH_AGENT_LIBRARY"
            )
        }
    }
}
