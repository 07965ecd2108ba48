// `objgraph-bench all ...`: runs every measurement in child processes, side by side, and prints
// the tables and the summary. scripts/bench builds the programs and calls this.
import Foundation
import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var reps = 9
    var sizes = [10_000, 100_000, 1_000_000]
    var memorySize = 1_000_000
    var memoryReps = 3
    var pairs = 100_000
    var leakReps = 3
    var objgraph: String?
    var fixture: String?
    var asanFixture: String?
    var asanUnavailable: String?
    /// fixtures/whole-heap, plain and built with ASan + LeakSanitizer: section 7.
    var wholeHeap: String?
    var asanWholeHeap: String?
    /// fixtures/report-shapes (big leaked structures) and a large real binary: section 8.
    var reportShapes: String?
    var bigProgram = "swift-package"
    var python: String?
    var pythonUnavailable: String?
    var valgrind = "valgrind"
    var valgrindUnavailable: String?
    var machine: [String] = []
    var only: Set<Int> = [1, 2, 4, 5, 6, 7, 8]

    init(_ arguments: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            return i < arguments.count ? arguments[i] : ""
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--reps": reps = Int(value()) ?? reps
            case "--sizes": sizes = value().split(separator: ",").compactMap { Int($0) }
            case "--memory-size": memorySize = Int(value()) ?? memorySize
            case "--memory-reps": memoryReps = Int(value()) ?? memoryReps
            case "--pairs": pairs = Int(value()) ?? pairs
            case "--leak-reps": leakReps = Int(value()) ?? leakReps
            case "--objgraph": objgraph = value()
            case "--fixture": fixture = value()
            case "--asan-fixture": asanFixture = value()
            case "--asan-unavailable": asanUnavailable = value()
            case "--whole-heap": wholeHeap = value()
            case "--asan-whole-heap": asanWholeHeap = value()
            case "--report-shapes": reportShapes = value()
            case "--big-program": bigProgram = value()
            case "--python": python = value()
            case "--python-unavailable": pythonUnavailable = value()
            case "--valgrind": valgrind = value()
            case "--valgrind-unavailable": valgrindUnavailable = value()
            case "--machine": machine.append(value())
            case "--only": only = Set(value().split(separator: ",").compactMap { Int($0) })
            default: print("ignoring unknown option \(arguments[i])")
            }
            i += 1
        }
    }
}

/// One line of the final summary.
struct Verdict {
    var target: String
    var measured: String
    var pass: Bool?  // nil: not measured
}

final class Orchestrator {
    let options: Options
    let me = selfExecutable()
    let directory = makeTemporaryDirectory()
    var verdicts: [Verdict] = []
    var notes: [String] = []
    var outputCounter = 0

    init(options: Options) { self.options = options }

    func outputPath(_ tag: String) -> String {
        outputCounter += 1
        return "\(directory)/\(outputCounter)-\(tag).out"
    }

    func child(_ arguments: [String], tag: String) -> (ChildResult, [String: String]) {
        let result = runChild([me] + arguments, outputPath: outputPath(tag))
        return (result, parseResults(result.output))
    }

    func run() -> Int32 {
        print("swift-objgraph benchmarks (objgraph-bench all)")
        for line in options.machine { print("  \(line)") }
        print("  load average at start: \(loadAverage())")
        print(
            "  workload repetitions: \(options.reps) (median reported); heap sizes: \(options.sizes.map(count).joined(separator: ", "))"
        )
        flush()
        if options.only.contains(1) { trackingOverhead() }
        if options.only.contains(2) || options.only.contains(3) { heapQueries() }
        if options.only.contains(4) { memory() }
        if options.only.contains(5) { leakTools() }
        if options.only.contains(6) { python() }
        if options.only.contains(7) { asyncLeaks() }
        if options.only.contains(8) { bigReports() }
        print("")
        print("  load average at end: \(loadAverage())")
        summary()
        return 0
    }

    // MARK: 1. Tracking overhead

    func trackingOverhead() {
        heading("1. Tracking overhead: same workload, untracked vs tracked, separate processes")
        print("  Each repetition runs the untracked and the tracked process back to back, alternating which")
        print("  goes first. Untracked = ObjGraph linked but startTracking() never called.")
        flush()
        var untracked: [String: [Double]] = [:], tracked: [String: [Double]] = [:]
        var recorded: [String: Int] = [:]
        var paired: [String: [Double]] = [:]  // tracked / untracked of the same repetition
        var cpuU: [String: [Double]] = [:], cpuT: [String: [Double]] = [:]
        var failures: [String] = []
        for rep in 0..<options.reps {
            for workload in workloads {
                let order = rep % 2 == 0 ? [false, true] : [true, false]
                var pair: [Bool: Double] = [:]
                defer {
                    if let u = pair[false], let t = pair[true] { paired[workload.name, default: []].append(t / u) }
                }
                for isTracked in order {
                    let (result, values) = child(
                        ["workload", workload.name] + (isTracked ? ["--tracked"] : []),
                        tag: "workload-\(workload.name)")
                    guard let seconds = values["seconds"].flatMap(Double.init), values["tracking"] != "FAILED" else {
                        failures.append(
                            "\(workload.name)\(isTracked ? " --tracked" : ""): \(result.statusText) \(values["error"] ?? result.output.suffix(300).description)"
                        )
                        continue
                    }
                    pair[isTracked] = seconds
                    if let cpu = values["cpu"].flatMap(Double.init) {
                        if isTracked {
                            cpuT[workload.name, default: []].append(cpu)
                        } else {
                            cpuU[workload.name, default: []].append(cpu)
                        }
                    }
                    if isTracked {
                        tracked[workload.name, default: []].append(seconds)
                        recorded[workload.name] = Int(values["recorded"] ?? "") ?? 0
                    } else {
                        untracked[workload.name, default: []].append(seconds)
                    }
                }
            }
            print("  repetition \(rep + 1)/\(options.reps) done"); flush()
        }
        for failure in Set(failures).sorted() { print("  FAILED: \(failure)") }
        var table = Table(
            [
                "workload", "what", "untracked", "tracked", "ratio", "paired", "CPU-time", "min", "spread u/t",
                "objects recorded",
            ],
            leftAligned: [0, 1])
        for workload in workloads {
            let u = untracked[workload.name] ?? [], t = tracked[workload.name] ?? []
            let mu = median(u), mt = median(t)
            let r = mt / mu
            let minRatio = (t.min() ?? .nan) / (u.min() ?? .nan)
            func spread(_ xs: [Double]) -> String {
                guard let lo = xs.min(), let hi = xs.max(), lo > 0 else { return "n/a" }
                return "±" + fixed((hi - lo) / 2 / median(xs) * 100, 0) + "%"
            }
            table.add([
                workload.name, workload.what, ms(mu), ms(mt), ratio(r), ratio(median(paired[workload.name] ?? [])),
                ratio(median(cpuT[workload.name] ?? []) / median(cpuU[workload.name] ?? [])),
                ratio(minRatio),
                "\(spread(u))/\(spread(t))",
                "\(recorded[workload.name] ?? 0)",
            ])
            let pairedRatio = median(paired[workload.name] ?? [])
            verdicts.append(
                Verdict(
                    target: "tracking overhead \(workload.name) <= 1.30x",
                    measured: "\(ratio(pairedRatio)) (medians \(ratio(r)), min \(ratio(minRatio)))",
                    pass: pairedRatio.isFinite ? pairedRatio <= 1.3 : nil))
        }
        print(table.render())
        print("  ratio = median tracked / median untracked wall time; paired = median over the repetitions of")
        print(
            "  tracked / untracked run back to back (cancels load that drifts during the run: the summary's verdict);")
        print("  CPU-time = ratio of median CPU times; min = fastest tracked / fastest untracked run (other programs")
        print("  only ever slow a run down); spread = half the min-max range / median wall time.")
        flush()
    }

    // MARK: 2-3. Queries on a heap of N objects

    func heapQueries() {
        heading("2-3. Growth tables, snapshot, chain, cycles and leaks on a heap of N live objects")
        print("  Heap: chains of 10 nodes (each with a leaf) rooted in a global array, every 10th chain a ring,")
        print("  plus N/100 leaked Pair cycles. One tracked process per size; medians of repeated calls.")
        flush()
        var results: [Int: [String: String]] = [:]
        for n in options.sizes {
            let (result, values) = child(["heap", String(n)], tag: "heap-\(n)")
            if values["leaks"] == nil {
                print(
                    "  heap \(count(n)) FAILED (\(result.statusText)): \(values["error"] ?? String(result.output.suffix(600)))"
                )
            }
            results[n] = values
            heapResults[n] = values
            print("  heap \(count(n)) done in \(fixed(result.seconds, 1)) s"); flush()
        }
        let sizes = options.sizes
        func value(_ n: Int, _ key: String) -> Double { results[n]?[key].flatMap(Double.init) ?? .nan }
        var table = Table(["operation"] + sizes.map { "N = \(count($0))" } + ["largest / smallest"])
        let rows: [(String, String)] = [
            ("ObjGraph.growth(limit: 10)", "growth"),
            ("ObjGraph.showGrowth(to: &string)", "show_growth"),
            ("ObjGraph.typeStats()", "type_stats"),
            ("showGrowth with ~1000 more types", "show_growth_many_types"),
            ("first growth() (names every type)", "growth_first"),
            ("C capture only (ogr_capture)", "capture_c"),
            ("ObjGraph.snapshot()", "snapshot"),
            ("snapshot() with N C heap blocks more", "snapshot_with_blocks"),
            ("ObjectGraph(snapshot) index", "index"),
            ("graph.findBackrefChain(to:)", "chain_search"),
            ("ObjGraph.findBackrefChain(to:) end to end", "chain_end_to_end"),
            ("graph.cycles()", "cycles"),
            ("graph.leakingObjects()", "leaks"),
        ]
        for (label, key) in rows {
            let values = sizes.map { value($0, key) }
            let growth = (values.last ?? .nan) / (values.first ?? .nan)
            table.add([label] + values.map(ms) + [ratio(growth)])
        }
        print(table.render())
        var facts = Table(["sanity"] + sizes.map { "N = \(count($0))" })
        for (label, key) in [
            ("objects in snapshot", "snapshot_objects"), ("edges", "snapshot_edges"),
            ("nodes with the C blocks", "snapshot_with_blocks_nodes"),
            ("leaked with the C blocks / expected", "leaked_with_blocks"),
            ("roots", "snapshot_roots"), ("types registered", "types"),
            ("types for the ~1000-type row", "types_many"),
            ("chain length (refs)", "chain_length"),
            ("cycles found / expected", "cycles_found"),
            ("leaked objects / expected", "leaked_objects"),
            ("leak groups", "leak_groups"), ("RSS at end (MiB)", "rss"),
        ] {
            facts.add(
                [label]
                    + sizes.map { n -> String in
                        let v = results[n]?[key] ?? "n/a"
                        if key == "cycles_found" { return "\(v) / \(results[n]?["cycles_expected"] ?? "?")" }
                        if key == "leaked_objects" || key == "leaked_with_blocks" {
                            return "\(v) / \(results[n]?["leaked_expected"] ?? "?")"
                        }
                        if key == "rss" { return Double(v).map { fixed($0 / 1048576, 0) } ?? v }
                        return v
                    })
        }
        print("")
        print(facts.render())
        if let sample = results[sizes.last ?? 0]?["show_growth_sample"] { print("  showGrowth sample row: \(sample)") }
        if let root = results[sizes.last ?? 0]?["chain_root"] { print("  chain root: \(root)") }
        if let types = results[sizes.last ?? 0]?["leaked_with_blocks_types"] {
            print("  leaked with the C blocks: \(types)")
        }
        if let others = results[sizes.last ?? 0]?["leaked_other_types"] {
            print("  reported as leaked besides the planted Pairs: \(others)")
            print("  (the benchmark's own local arrays of timings: snapshots here use includeOwnStack: false)")
        }
        flush()

        if let largest = sizes.max(), largest >= 1_000_000 {
            let g = value(largest, "growth"), s = value(largest, "show_growth"),
                many = value(largest, "show_growth_many_types")
            verdicts.append(
                Verdict(
                    target: "growth(limit:) at \(count(largest)) objects < 1 ms", measured: ms(g),
                    pass: g.isFinite ? g < 0.001 : nil))
            verdicts.append(
                Verdict(
                    target: "showGrowth to a string at \(count(largest)) < 1 ms", measured: ms(s),
                    pass: s.isFinite ? s < 0.001 : nil))
            verdicts.append(
                Verdict(
                    target: "showGrowth at \(count(largest)), ~1000 more types < 1 ms", measured: ms(many),
                    pass: many.isFinite ? many < 0.001 : nil))
            if let smallest = sizes.min(), smallest < largest {
                let flat = g / value(smallest, "growth")
                verdicts.append(
                    Verdict(
                        target: "growth() flat in heap size (\(count(largest)) vs \(count(smallest)) <= 2x)",
                        measured: ratio(flat), pass: flat.isFinite ? flat <= 2 : nil))
            }
            let snap = value(largest, "snapshot")
            verdicts.append(
                Verdict(
                    target: "snapshot() of \(count(largest)) objects < 300 ms", measured: ms(snap),
                    pass: snap.isFinite ? snap < 0.3 : nil))
            let both = value(largest, "snapshot_with_blocks")
            verdicts.append(
                Verdict(
                    target: "snapshot() of \(count(largest)) objects + \(count(largest)) C blocks < 400 ms",
                    measured: ms(both), pass: both.isFinite ? both < 0.4 : nil))
        } else {
            notes.append("heap targets are defined at 1M objects; run with --sizes including 1000000")
        }
    }

    // MARK: 4. Memory

    func memory() {
        let n = options.memorySize
        heading("4. Memory per tracked object (RSS growth while building \(count(n)) objects)")
        flush()
        var u: [Double] = [], t: [Double] = [], ub: [Double] = [], tb: [Double] = []
        var objects = n, liveBytes = 0, liveObjects = 0
        for rep in 0..<options.memoryReps {
            for isTracked in (rep % 2 == 0 ? [false, true] : [true, false]) {
                let (result, values) = child(
                    ["mem", String(n), "--blocks"] + (isTracked ? ["--tracked"] : []), tag: "mem")
                if let blocks = values["rss_delta_blocks"].flatMap(Double.init) {
                    if isTracked { tb.append(blocks) } else { ub.append(blocks) }
                }
                guard let delta = values["rss_delta"].flatMap(Double.init) else {
                    print(
                        "  mem FAILED (\(result.statusText)): \(values["error"] ?? String(result.output.suffix(300)))")
                    continue
                }
                objects = Int(values["objects"] ?? "") ?? objects
                if isTracked {
                    t.append(delta)
                    liveBytes = Int(values["tracked_bytes"] ?? "") ?? liveBytes
                    liveObjects = Int(values["tracked_objects"] ?? "") ?? liveObjects
                } else {
                    u.append(delta)
                }
            }
        }
        let perObject = (median(t) - median(u)) / Double(objects)
        // Block sizes: usable size + 8 bytes of malloc header, in 16-byte granules.
        let averageBlock = liveObjects > 0 ? Double(liveBytes) / Double(liveObjects) + 8 : .nan
        var table = Table(["", "value"])
        table.add(["objects built", "\(objects)"])
        table.add(["RSS growth untracked (median)", fixed(median(u) / 1048576, 2) + " MiB"])
        table.add(["RSS growth tracked (median)", fixed(median(t) / 1048576, 2) + " MiB"])
        table.add(["extra per tracked object (measured)", fixed(perObject, 2) + " bytes"])
        table.add(["average heap block (usable size + 8-byte malloc header)", fixed(averageBlock, 1) + " bytes"])
        table.add(["live map at 1 bit per 16-byte granule, in theory", fixed(averageBlock / 128, 3) + " bytes/object"])
        table.add(["live map at 1 byte per 16-byte granule, in theory", fixed(averageBlock / 16, 3) + " bytes/object"])
        table.add(["per-thread type counters (fixed cost per thread)", "512 KiB reserved, pages touched per type used"])
        print(table.render())
        verdicts.append(
            Verdict(
                target: "memory per tracked object <= 24 bytes", measured: fixed(perObject, 2) + " B",
                pass: perObject.isFinite ? perObject <= 24 : nil))
        let perBlock = (median(tb) - median(ub)) / Double(n)
        print(
            "  \(count(n)) C heap blocks of 32 bytes on top: RSS growth untracked \(fixed(median(ub) / 1048576, 2)) MiB, tracked \(fixed(median(tb) / 1048576, 2)) MiB: \(fixed(perBlock, 2)) bytes per tracked block"
        )
        verdicts.append(
            Verdict(
                target: "memory per tracked C block <= 4 bytes", measured: fixed(perBlock, 2) + " B",
                pass: perBlock.isFinite ? perBlock <= 4 : nil))
        flush()
    }

    // MARK: 5. Leak tools

    struct ToolRun {
        var name: String
        var command: String
        var seconds: Double
        var status: String
        var namesType: String
        var found: String
    }

    func leakTools() {
        heading("5. Leak finding on leaky-pairs \(options.pairs) (\(2 * options.pairs) leaked Pair objects)")
        print(
            "  The fixture also makes \(options.pairs) weak pairs and \(options.pairs) unowned families that do not leak."
        )
        print(
            "  The tools take turns in \(max(1, options.leakReps)) rounds (each round: 3 runs of the short ones, 1 of valgrind"
        )
        print("  and of ASan), so load that comes and goes falls on all of them; medians over all runs.")
        flush()
        guard let fixture = options.fixture, let objgraph = options.objgraph else {
            print("  n/a: --fixture and --objgraph not given")
            return
        }
        let pairs = String(options.pairs)
        // The tools take turns: every round runs each of them (the short ones several times),
        // so a burst of load on this machine falls on all of them alike instead of on whichever
        // tool happened to be measured then. Medians over all rounds.
        struct Tool {
            var name: String
            var argv: [String]
            var env: [String: String] = [:]
            var perRound: Int
            var check: (String) -> (String, String)
            var times: [Double] = []
            var last: ChildResult? = nil
        }
        var tools: [Tool] = []
        let short = 3  // runs per round of the tools that take a fraction of a second
        tools.append(Tool(name: "plain run (no tool)", argv: [fixture, pairs], perRound: short) { _ in ("-", "-") })
        tools.append(
            Tool(name: "objgraph run", argv: [objgraph, "run", "--", fixture, pairs], perRound: short) { out in
                let leaked = firstNumber(out, before: " leaked objects")
                return (namesType(out), leaked.map { "\($0) leaked objects" } ?? "no leak line")
            })
        // The same without the objgraph command around it: the agent preloaded by hand, its
        // report files written to a scratch directory, with the settings the command gives it,
        // printing where the exit analysis spends its time (phases and their page faults). The
        // difference from the row above is the command's own cost.
        let agent =
            String(objgraph.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
            + "/libObjGraphAgent.so"
        let agentDirectory = "\(directory)/agent"
        mkdir(agentDirectory, 0o755)
        var phases = ""
        tools.append(
            Tool(
                name: "  of which: program + agent", argv: [fixture, pairs],
                env: [
                    "LD_PRELOAD": agent, "OBJGRAPH_AGENT_DIR": agentDirectory, "OBJGRAPH_MAX_CYCLES": "0",
                    "OBJGRAPH_PROFILE": "1",
                ], perRound: short
            ) { out in
                phases =
                    out.split(separator: "\n").last { $0.hasPrefix("objgraph: exit phases") }.map(String.init) ?? ""
                let report = readFile(agentDirectory + "/report.json") ?? ""  // its leaksText
                return (
                    "-", firstNumber(report, before: " leaked objects").map { "\($0) leaked objects" } ?? "no report"
                )
            })
        if options.valgrindUnavailable == nil {
            tools.append(
                Tool(
                    name: "valgrind memcheck", argv: [options.valgrind, "--leak-check=full", fixture, pairs],
                    perRound: 1
                ) { out in
                    let direct = blocks(out, "definitely lost:"), indirect = blocks(out, "indirectly lost:")
                    return (namesType(out), "\(direct ?? "?") definite + \(indirect ?? "?") indirect blocks")
                })
        }
        if let asan = options.asanFixture {
            tools.append(
                Tool(
                    name: "ASan + LeakSanitizer", argv: [asan, pairs], env: ["ASAN_OPTIONS": "detect_leaks=1"],
                    perRound: 1
                ) { out in
                    let summary = out.split(separator: "\n").first { $0.contains("SUMMARY: AddressSanitizer") }
                    let allocations = summary.flatMap { firstNumber(String($0), before: " allocation(s)") }
                    return (namesType(out), allocations.map { "\($0) allocations" } ?? "no summary")
                })
        }
        let rounds = max(1, options.leakReps)
        for round in 0..<rounds {
            for t in tools.indices {
                for _ in 0..<tools[t].perRound {
                    let result = runChild(
                        tools[t].argv, environment: tools[t].env,
                        outputPath: outputPath(String(tools[t].name.map { $0 == " " ? "_" : $0 })))
                    tools[t].times.append(result.seconds)
                    tools[t].last = result
                }
            }
            print("  round \(round + 1)/\(rounds) done")
            flush()
        }
        var runs: [ToolRun] = []
        for tool in tools {
            let (names, found) = tool.check(tool.last?.output ?? "")
            let shown = tool.argv.map { $0.hasPrefix("/") ? String($0.split(separator: "/").last!) : $0 }
            let prefix = tool.env.map {
                "\($0.key)=\($0.value.hasPrefix("/") ? String($0.value.split(separator: "/").last!) : $0.value) "
            }.sorted().joined()
            runs.append(
                ToolRun(
                    name: tool.name, command: prefix + shown.joined(separator: " "), seconds: median(tool.times),
                    status: tool.last?.statusText ?? "?", namesType: names, found: found))
        }
        let objgraphRun = runs[1]
        let valgrindRun = runs.first { $0.name == "valgrind memcheck" }
        let asanRun = runs.first { $0.name == "ASan + LeakSanitizer" }
        var table = Table(
            ["tool", "wall time (median)", "vs objgraph run", "names the Swift type?", "reported", "status"],
            leftAligned: [0, 3, 4, 5])
        for run in runs {
            table.add([
                run.name, ms(run.seconds), ratio(run.seconds / objgraphRun.seconds), run.namesType, run.found,
                run.status,
            ])
        }
        if valgrindRun == nil {
            table.add(["valgrind memcheck", "n/a", "n/a", "n/a", options.valgrindUnavailable ?? "not run", "-"])
        }
        if asanRun == nil {
            table.add(["ASan + LeakSanitizer", "n/a", "n/a", "n/a", options.asanUnavailable ?? "not built", "-"])
        }
        print(table.render())
        print("  commands:")
        for run in runs { print("    \(run.command)") }
        if let detail = phases.split(separator: "(ms): ", maxSplits: 1).dropFirst().first {
            print("  agent exit phases in ms, last run (OBJGRAPH_PROFILE=1):")
            print("    " + detail)
        }
        let speedup = (valgrindRun?.seconds ?? .nan) / objgraphRun.seconds
        verdicts.append(
            Verdict(
                target: "objgraph run >= 20x faster than valgrind", measured: ratio(speedup),
                pass: speedup.isFinite ? speedup >= 20 : nil))
        if let asanRun {
            notes.append(
                "ASan+LSan (debug build) took \(ms(asanRun.seconds)), \(ratio(asanRun.seconds / objgraphRun.seconds)) objgraph run"
            )
        }
        flush()
    }

    // MARK: 7. Async, Dispatch and C-held objects: objgraph run beside LeakSanitizer

    func asyncLeaks() {
        heading("7. The whole heap: fixtures/whole-heap under objgraph run and under LeakSanitizer")
        print("  Each mode leaves exactly the leaks its comment says (fixtures/whole-heap/main.swift);")
        print("  everything else is alive: held by suspended async frames, C buffers, pending Dispatch blocks.")
        flush()
        guard let program = options.wholeHeap, let objgraph = options.objgraph else {
            print("  n/a: --whole-heap and --objgraph not given")
            return
        }
        let modes: [(mode: String, n: Int, expected: Int)] = [
            ("async-frames", 50, 0), ("unmanaged-buffer", 40, 0), ("dispatch-pending", 30, 0),
            ("async-mixed", 30, 80), ("actor-closure", 10, 10), ("c-struct-cycle", 10, 20),
            ("dropped-unmanaged", 10, 20),
        ]
        var table = Table(
            ["mode", "expected", "objgraph run", "types named", "time", "LeakSanitizer", "time"],
            leftAligned: [0, 3])
        var exact = 0
        for (mode, n, expected) in modes {
            let json = "\(directory)/whole-heap-\(mode).json"
            let run = runChild(
                [objgraph, "run", "--quiet", "--json", json, "--", program, mode, String(n)],
                outputPath: outputPath("whole-heap-\(mode)"))
            let text = readFile(json) ?? ""
            let rows = leakRows(json: text)
            let leaked = rows.map { $0.reduce(0) { $0 + $1.count } }
            let types = (rows ?? []).map { "\($0.type) x\($0.count)" }.joined(separator: ", ")
            if leaked == expected { exact += 1 }
            var lsan = "not built", lsanTime = "n/a"
            if let asan = options.asanWholeHeap {
                let result = runChild(
                    [asan, mode, String(n)], environment: ["ASAN_OPTIONS": "detect_leaks=1"],
                    outputPath: outputPath("whole-heap-asan-\(mode)"))
                let summary = result.output.split(separator: "\n").first { $0.contains("SUMMARY: AddressSanitizer") }
                lsan =
                    summary.flatMap { firstNumber(String($0), before: " allocation(s)") }.map { "\($0) allocations" }
                    ?? (result.output.contains("ERROR: LeakSanitizer") ? "leaks (no summary)" : "0 allocations")
                lsanTime = ms(result.seconds)
            }
            table.add([
                "\(mode) \(n)", "\(expected)", leaked.map { "\($0) objects" } ?? "no report (\(run.statusText))",
                types.isEmpty ? "-" : types, ms(run.seconds), lsan, lsanTime,
            ])
        }
        print(table.render())
        print("  Counts are allocations: Swift objects and C heap blocks (c-struct-cycle: 10 objects, 10 malloc'd")
        print("  structs). LeakSanitizer counts allocations with no type; a leaked Swift object is one allocation.")
        verdicts.append(
            Verdict(
                target: "whole-heap fixtures: leaks exact, no false ones (\(modes.count) modes)",
                measured: "\(exact)/\(modes.count) exact", pass: exact == modes.count))
        flush()
    }

    /// The `leaks` rows (type and count) of a run report's JSON; nil when there is no report.
    private func leakRows(json: String) -> [(type: String, count: Int)]? {
        guard let data = json.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rows = object["leaks"] as? [[String: Any]]
        else { return nil }
        return rows.compactMap { row in
            guard let type = row["type"] as? String, let count = row["count"] as? Int else { return nil }
            return (type, count)
        }
    }

    // MARK: 8. Big leaked structures, a big real binary

    func bigReports() {
        heading("8. Reports on big structures and a big binary")
        print("  One leaked ring and one doubly linked list (fixtures/report-shapes) under objgraph run, then")
        print("  objgraph leaks on the saved snapshot: the text cuts each structure at 40 lines, the JSON lists")
        print("  1,000 objects of a cycle; both should grow with the heap's size, not its square.")
        flush()
        guard let program = options.reportShapes, let objgraph = options.objgraph else {
            print("  n/a: --report-shapes and --objgraph not given")
            return
        }
        var table = Table(
            ["structure", "objgraph run", "report", "JSON", "objgraph leaks", "leaks output", "--full output"],
            leftAligned: [0])
        var largest = 0
        for shape in ["ring", "list"] {
            for n in [10_000, 100_000] {
                let json = "\(directory)/\(shape)-\(n).json", snapshot = "\(directory)/\(shape)-\(n).ogs"
                let run = runChild(
                    [objgraph, "run", "--json", json, "--snapshot", snapshot, "--", program, shape, String(n)],
                    outputPath: outputPath("shape-\(shape)-\(n)"))
                let leaks = runChild([objgraph, "leaks", snapshot], outputPath: outputPath("leaks-\(shape)-\(n)"))
                let full = runChild(
                    [objgraph, "leaks", "--full", snapshot], outputPath: outputPath("full-\(shape)-\(n)"))
                let sizes = [run.output.utf8.count, fileSize(json), leaks.output.utf8.count]
                largest = max(largest, sizes.max()!)
                table.add([
                    "\(shape) of \(count(n))", run.exitStatus == 0 ? ms(run.seconds) : run.statusText,
                    TextTable.bytes(sizes[0]), TextTable.bytes(sizes[1]), ms(leaks.seconds), TextTable.bytes(sizes[2]),
                    "\(TextTable.bytes(full.output.utf8.count)) in \(ms(full.seconds))",
                ])
            }
        }
        print(table.render())
        verdicts.append(
            Verdict(
                target: "report, JSON, leaks text of a 100k ring/list < 1 MiB", measured: TextTable.bytes(largest),
                pass: largest < 1 << 20))
        flush()

        // A big real binary: exit analysis proportional to what the report needs.
        print("")
        print("  \(options.bigProgram) --version, plain and under objgraph run, taking turns (\(options.reps) each):")
        var plain: [Double] = [], tracked: [Double] = [], leaked = "no report"
        for rep in 0..<options.reps {
            let json = "\(directory)/big-program.json"
            for isTracked in rep % 2 == 0 ? [false, true] : [true, false] {
                if isTracked {
                    let result = runChild(
                        [objgraph, "run", "--quiet", "--json", json, "--", options.bigProgram, "--version"],
                        outputPath: outputPath("big-tracked"))
                    if result.exitStatus == 0 { tracked.append(result.seconds) }
                    if let text = readFile(json), let n = firstNumber(text, before: " leaked objects") {
                        leaked = "\(n) leaked objects"
                    }
                } else {
                    let result = runChild([options.bigProgram, "--version"], outputPath: outputPath("big-plain"))
                    if result.exitStatus == 0 { plain.append(result.seconds) }
                }
            }
        }
        guard !plain.isEmpty, !tracked.isEmpty else {
            print("  n/a: \(options.bigProgram) did not run")
            return
        }
        let ratio = median(tracked) / median(plain)
        print("  plain \(ms(median(plain))), under objgraph run \(ms(median(tracked))): \(fixed(ratio, 2))x; \(leaked)")
        verdicts.append(
            Verdict(
                target: "objgraph run -- \(options.bigProgram) --version <= 1.30x", measured: "\(fixed(ratio, 2))x",
                pass: ratio <= 1.3))
        verdicts.append(
            Verdict(
                target: "\(options.bigProgram) --version: no leak reported", measured: leaked,
                pass: leaked == "0 leaked objects"))
        flush()
    }

    // MARK: 6. Python objgraph

    func python() {
        heading("6. Python objgraph on the same heap shape (for comparison)")
        guard let python = options.python else {
            print("  skipped: \(options.pythonUnavailable ?? "python3 with objgraph not available")")
            return
        }
        let script = "\(directory)/objgraph_compare.py"
        _ = writeFile(script, pythonScript)
        var results: [Int: [String: String]] = [:]
        for n in options.sizes {
            let result = runChild([python, script, String(n)], outputPath: outputPath("python-\(n)"))
            let values = parseResults(result.output)
            if values["find_backref_chain"] == nil {
                print("  python \(count(n)) FAILED (\(result.statusText)): \(String(result.output.suffix(400)))")
            }
            results[n] = values
        }
        var table = Table(["Python objgraph"] + options.sizes.map { "N = \(count($0))" })
        for (label, key) in [
            ("show_growth()", "show_growth"), ("typestats()", "typestats"),
            ("find_backref_chain(is_proper_module)", "find_backref_chain"),
        ] {
            table.add([label] + options.sizes.map { ms(results[$0]?[key].flatMap(Double.init) ?? .nan) })
        }
        table.add(["chain length (refs)"] + options.sizes.map { results[$0]?["chain_length"] ?? "n/a" })
        table.add(["gc-tracked objects"] + options.sizes.map { results[$0]?["gc_objects"] ?? "n/a" })
        print(table.render())
        print("  (swift-objgraph figures for the same sizes are in section 2-3; ratios in the summary)")
        if let largest = options.sizes.max() {
            pythonLargest = (largest, results[largest] ?? [:])
        }
        flush()
    }

    var pythonLargest: (Int, [String: String])? = nil
    var heapResults: [Int: [String: String]] = [:]

    // MARK: Summary

    func summary() {
        heading("Summary")
        var table = Table(["target", "measured", "result"], leftAligned: [0, 1, 2])
        for v in verdicts {
            table.add([v.target, v.measured, v.pass.map { $0 ? "PASS" : "MISS" } ?? "n/a"])
        }
        print(table.render())
        if let (n, py) = pythonLargest, let heap = heapResults[n] {
            print("")
            var cmp = Table(["at \(count(n)) objects", "Python objgraph", "swift-objgraph", "speed-up"])
            for (label, pyKey, swiftKey) in [
                ("show_growth / showGrowth", "show_growth", "show_growth"),
                ("find_backref_chain (search incl. snapshot)", "find_backref_chain", "chain_end_to_end"),
                ("find_backref_chain (on a snapshot)", "find_backref_chain", "chain_search"),
            ] {
                let p = py[pyKey].flatMap(Double.init) ?? .nan, s = heap[swiftKey].flatMap(Double.init) ?? .nan
                cmp.add([label, ms(p), ms(s), ratio(p / s)])
            }
            print(cmp.render())
        }
        for note in notes { print("  note: \(note)") }
        print("")
        print("  raw outputs: \(directory)")
        flush()
    }

}

/// The first three fields of /proc/loadavg: other work on the machine shows up as noise.
func loadAverage() -> String {
    (readFile("/proc/loadavg") ?? "").split(separator: " ").prefix(3).joined(separator: " ")
}

// MARK: - Output checks

/// How a tool's output names the leaked type: "Pair" as a word (a type table or a demangled
/// frame), or only inside a mangled symbol (`$s14LeakyScenarios4PairC...`), or not at all.
/// The fixture's own "leaked N pairs (2N Pair objects)" line does not count.
func namesType(_ output: String) -> String {
    let toolLines = output.split(separator: "\n").filter { !$0.hasPrefix("leaked ") }
    if toolLines.contains(where: { $0.contains(/\bPair\b/) }) { return "yes (Pair)" }
    if toolLines.contains(where: { $0.contains("4PairC") }) { return "no: only a mangled init frame ($s..4PairC..)" }
    return "no: allocation stack only"
}

/// The integer just before `marker` on the first line that contains it.
func firstNumber(_ output: String, before marker: String) -> Int? {
    for line in output.split(separator: "\n") {
        guard let range = line.firstRange(of: marker) else { continue }
        let digits = line[..<range.lowerBound].reversed().prefix { $0.isNumber || $0 == "," }
        return Int(String(digits.reversed().filter { $0 != "," }))
    }
    return nil
}

/// Valgrind's `definitely lost: X bytes in Y blocks`: Y.
func blocks(_ output: String, _ marker: String) -> String? {
    guard let line = output.split(separator: "\n").first(where: { $0.contains(marker) }) else { return nil }
    let words = line.split(separator: " ")
    guard let i = words.firstIndex(of: "blocks"), i > 0 else { return nil }
    return String(words[i - 1])
}
