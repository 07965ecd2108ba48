import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials   // not all of Foundation: it costs ~7 ms of start-up (ICU)
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ObjGraph

extension ObjgraphCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a program under heap tracking and report what grew and what leaked.",
            discussion: """
                The program is started with the objgraph agent preloaded (LD_PRELOAD): no change to its \
                code or build. At exit the report lists live types, growth since start, leaked retain \
                cycles (like Apple's `leaks`) and who holds the fastest-growing types. Send SIGUSR1 to \
                the program for a growth table at any time. The program's exit status is passed through \
                (128 + N when signal N killed it).

                Examples:
                  objgraph run -- .build/debug/leaky-pairs 300
                  objgraph run --interval 2 --json out.json --svg leaks.svg -- ./server
                """
        )

        @Option(help: "Print a growth table every SECONDS while the program runs.")
        var interval: Double?

        @Option(help: "Write the final report as JSON to FILE.")
        var json: String?

        @Option(help: "Draw the leaked cycles (or who holds the top growing types) to FILE (.svg, .png, .dot).")
        var svg: String?

        @Option(help: "Save the final heap snapshot to FILE (read it with stats, diff, leaks, render).")
        var snapshot: String?

        @Option(help: "Back-reference chains for the N fastest-growing types.")
        var top: Int = 5

        @Option(help: "Stop the program (SIGTERM, then SIGKILL 5 s later) after SECONDS.")
        var timeout: Double?

        @Flag(help: "Do not print the report (use with --json).")
        var quiet = false

        @Argument(parsing: .captureForPassthrough, help: "The program and its arguments, after --.")
        var command: [String] = []

        mutating func run() throws {
            do {
                try execute()
            } catch let error as CommandError {
                printError("objgraph: \(error.description)")
                throw ExitCode(error.exitCode)
            }
        }

        private func execute() throws {
            var command = self.command
            if command.first == "--" { command.removeFirst() }
            guard let program = command.first else { throw CommandError("no program given: objgraph run [options] -- PROGRAM [ARGS...]", exitCode: 2) }
            if let interval, !(interval > 0) { throw CommandError("--interval must be a positive number of seconds", exitCode: 2) }
            if let timeout, !(timeout > 0) { throw CommandError("--timeout must be a positive number of seconds", exitCode: 2) }
            for output in [svg, snapshot, json].compactMap({ $0 }) { try checkWritableDirectory(of: output) }
            if let svg, OutputFormat(fileExtension: AtomicFile.fileExtension(of: svg)) == nil {
                throw CommandError("--svg \(svg): unknown extension (use .svg, .png or .dot)", exitCode: 2)
            }
            let path = try ProgramRunner.resolve(program)
            let agent = try agentLibrary()
            let directory = try makeTemporaryDirectory()
            defer { removeDirectory(directory) }

            var environment = [
                "LD_PRELOAD": ([agent] + (ProcessInfo.processInfo.environment["LD_PRELOAD"].map { [$0] } ?? [])).joined(separator: ":"),
                "OBJGRAPH_AGENT_DIR": directory,
                "OBJGRAPH_TOP": String(top),
                // Only --json prints the cycle list: without it the agent need not build one.
                "OBJGRAPH_MAX_CYCLES": json == nil ? "0" : "1000",
            ]
            if let interval { environment["OBJGRAPH_INTERVAL"] = String(interval) }
            // The drawing is made here from the final snapshot, not in the program (which then
            // loads no Graphviz): ask for one when --svg needs it and --snapshot did not.
            let finalSnapshot = snapshot.map(ProgramRunner.absolute) ?? (svg != nil ? directory + "/final.ogs" : nil)
            if let finalSnapshot { environment["OBJGRAPH_SNAPSHOT"] = finalSnapshot }

            let start = ProgramRunner.now()
            let termination = try ProgramRunner.run(path, arguments: Array(command.dropFirst()), extra: environment, timeout: timeout)
            let elapsed = ProgramRunner.now() - start

            var report = try collectReport(directory: directory, program: program, termination: termination, elapsed: elapsed)
            report.exit = RunReport.Exit(
                status: { if case .exited(let s) = termination { return Int(s) } else { return nil } }(),
                signal: { if case .signaled(let s) = termination { return Int(s) } else { return nil } }(),
                description: termination.description)
            if snapshot != nil && report.leaksText.isEmpty {
                report.notes.append("no snapshot was saved: the program ended before its exit handlers ran")
            }
            let drawFrom = finalSnapshot.flatMap { !report.leaksText.isEmpty && FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            if svg != nil && drawFrom == nil {
                report.notes.append("no drawing was made: the program ended before its exit handlers ran")
            }
            if let json { try AtomicFile.write(report.json, to: json) }
            if !quiet { printError(report.text) }
            // Last: a drawing that fails is a one-line error after the report, not instead of it.
            if let svg, let drawFrom { try draw(snapshot: drawFrom, growth: report.growth, to: svg) }
            throw ExitCode(termination.exitCode)
        }

        /// The agent's report, or, when the program never reached its exit handlers (a crash,
        /// a signal), what the agent left behind: the last census and the crash counters.
        private func collectReport(directory: String, program: String, termination: Termination, elapsed: Double) throws -> RunReport {
            let decoder = JSONDecoder()
            if let data = FileManager.default.contents(atPath: directory + "/report.json") {
                do {
                    return try decoder.decode(RunReport.self, from: data)
                } catch {
                    throw CommandError("the agent's report is unreadable: \(error)")
                }
            }
            var notes: [String] = []
            if let data = FileManager.default.contents(atPath: directory + "/error.txt") {
                let text = String(decoding: data, as: UTF8.self)
                notes.append("agent: " + text.split(whereSeparator: \.isNewline).joined(separator: " "))
            }
            let census = FileManager.default.contents(atPath: directory + "/census.json")
                .flatMap { try? decoder.decode(Census.self, from: $0) }
            var types = census?.types ?? []
            var source = census.map { "the census taken \(TextTable.fixed($0.elapsedSeconds, 1)) s after start" }
            if let crash = FileManager.default.contents(atPath: directory + "/crash.bin"), let parsed = CrashCounters(crash) {
                types = parsed.rows(names: census?.typeNames ?? [])
                source = "the counters saved when signal \(parsed.signal) (\(signalName(parsed.signal))) arrived"
            }
            let how: String
            if case .exited = termination {
                how = "\(program) \(termination.description) without running its exit handlers (it called _exit or exec'd another program, which objgraph does not follow)"
            } else {
                how = "\(program) \(termination.description) before its exit handlers ran"
            }
            if let source {
                notes.append("\(how): no final snapshot, so no leak analysis; live counts are from \(source)")
            } else if notes.isEmpty {
                notes.append("\(program) \(termination.description) and the agent left no data (was it a Swift program?)")
            }
            types.sort { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
            return RunReport(program: program, durationSeconds: elapsed, types: types,
                             growth: types.map { RunReport.GrowthEntry(name: $0.name, count: $0.count, delta: $0.count) },
                             leaks: [], cycles: [], cyclesOmitted: 0, chains: [], leaksText: "", exit: nil, notes: notes)
        }

        /// One drawing: every leaked cycle (red clusters, at most 20); when nothing leaked, who
        /// holds the three fastest-growing types.
        private func draw(snapshot path: String, growth: [RunReport.GrowthEntry], to output: String) throws {
            let graph = ObjectGraph(try loadSnapshot(path))
            do {
                let cycles = graph.leakingObjects().compactMap(\.cycle).prefix(20)
                if !cycles.isEmpty {
                    try graph.showCycles(Array(cycles), to: output)
                    return
                }
                let held = graph.lastReachableInstances(ofTypes: growth.prefix(3).map(\.name),
                                                        reachable: graph.reachableFromRoots()).compactMap { $0 }
                try graph.showBackrefs(held, maxDepth: 6, to: output)
            } catch {
                throw CommandError("cannot draw \(output): \(error)")
            }
        }

        private func agentLibrary() throws -> String {
            if let explicit = ProcessInfo.processInfo.environment["OBJGRAPH_AGENT_LIBRARY"] {
                guard FileManager.default.fileExists(atPath: explicit) else {
                    throw CommandError("OBJGRAPH_AGENT_LIBRARY names a missing file: \(explicit)")
                }
                return explicit
            }
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let directory = parentDirectory(of: executable)
            for candidate in [directory + "/libObjGraphAgent.so", directory + "/../lib/libObjGraphAgent.so"] {
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
            }
            throw CommandError("cannot find libObjGraphAgent.so next to \(executable); build it with `swift build --product ObjGraphAgent` or set OBJGRAPH_AGENT_LIBRARY")
        }
    }
}

/// The agent's periodic census file.
struct Census: Decodable {
    var elapsedSeconds: Double
    var typeNames: [String]
    var types: [RunReport.TypeRow]
}

/// What the agent's crash handler writes: the signal, the raw per-type counters, each type's
/// metadata address, and the process's memory map (to name types the agent never named).
struct CrashCounters {
    var signal: Int32
    var counts: [(Int64, Int64)]
    var metadata: [UInt64]
    var maps: String

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { return nil }
        func int32(_ at: Int) -> Int32 { bytes[at..<at + 4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } }
        func int64(_ at: Int) -> Int64 { bytes[at..<at + 8].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } }
        signal = int32(0)
        let n = Int(int32(4))
        guard n >= 0, n <= 1 << 20, bytes.count >= 8 + n * 16 else { return nil }
        counts = (0..<n).map { (int64(8 + $0 * 16), int64(16 + $0 * 16)) }
        let metadataStart = 8 + n * 16
        if bytes.count >= metadataStart + n * 8 {
            metadata = (0..<n).map { UInt64(bitPattern: int64(metadataStart + $0 * 8)) }
            maps = String(decoding: bytes[(metadataStart + n * 8)...], as: UTF8.self)
        } else {
            metadata = []
            maps = ""
        }
    }

    /// Rows by short name: names the census recorded first, then names from the symbols of the
    /// files the program had mapped, else `type #N`.
    func rows(names: [String]) -> [RunReport.TypeRow] {
        var offline = OfflineTypeNames(maps: maps)
        var byName: [String: RunReport.TypeRow] = [:]
        for (index, (count, bytes)) in counts.enumerated() where count > 0 {
            var name = index < names.count ? names[index] : "type #\(index)"
            if index >= names.count, index < metadata.count, let found = offline.name(ofMetadata: metadata[index]) {
                name = found.shortName
            }
            byName[name, default: RunReport.TypeRow(name: name, count: 0, bytes: 0)].count += Int(count)
            byName[name]!.bytes += Int(bytes)
        }
        return Array(byName.values)
    }
}

func printError(_ text: String) {
    var err = StandardError()
    err.write(text.hasSuffix("\n") ? text : text + "\n")
}

/// `path` without its last component (`/a/b/c` -> `/a/b`, `c` -> `.`).
func parentDirectory(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
}

func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/objgraph-run-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw CommandError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
    }
    return String(cString: made)
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// Refuses early, before the program runs, when an output cannot be written.
func checkWritableDirectory(of path: String) throws {
    let directory = parentDirectory(of: ProgramRunner.absolute(path))
    guard ProgramRunner.isDirectory(directory) else {
        throw CommandError("cannot write \(path): no such directory \(directory)", exitCode: 2)
    }
    guard access(directory, W_OK) == 0 else {
        throw CommandError("cannot write \(path): directory \(directory) is not writable", exitCode: 2)
    }
}
