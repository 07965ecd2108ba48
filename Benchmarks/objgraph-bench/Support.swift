// Small helpers for the benchmark: a monotonic clock, RSS, medians, child processes and
// aligned text tables. No Foundation: the workloads should run in a process as lean as the
// programs ObjGraph is meant for.
#if canImport(Glibc)
import Glibc
#endif
import ObjGraphCore

// MARK: - Time and memory

/// Seconds on the monotonic clock.
func now() -> Double { MonotonicClock.now() }

/// CPU seconds this process has used (all threads): not inflated when other programs take the CPU.
func cpuTime() -> Double { MonotonicClock.processCPUTime() }

/// Runs `body` and returns how long it took in seconds, and its result.
@inline(never)
func timed<T>(_ body: () throws -> T) rethrows -> (Double, T) {
    let start = now()
    let result = try body()
    return (now() - start, result)
}

/// Resident set size of this process in bytes (/proc/self/statm, second field).
func residentBytes() -> Int {
    guard let text = readFile("/proc/self/statm") else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Median of `reps` timings of `body`, after `warmup` untimed calls.
@inline(never)
func medianTime(reps: Int, warmup: Int = 1, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<reps {
        let start = now()
        try body()
        times.append(now() - start)
    }
    return median(times)
}

// MARK: - Files

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Bytes of the file at `path` (0 when missing).
func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func writeFile(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var utf8 = Array(text.utf8)
    var offset = 0
    while offset < utf8.count {
        let n = utf8.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return false }
        offset += n
    }
    return true
}

func makeTemporaryDirectory() -> String { (try? TemporaryDirectory.make(prefix: "objgraph-bench")) ?? "/tmp" }

/// The absolute path of this executable.
func selfExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

// MARK: - Child processes

struct ChildResult {
    var seconds: Double
    var exitStatus: Int32?  // nil when killed by a signal
    var signal: Int32?
    var output: String  // stdout and stderr, interleaved

    var statusText: String {
        if let s = exitStatus { return "exit \(s)" }
        return "signal \(signal ?? 0)"
    }
}

/// Runs `argv` (PATH is searched for argv[0]) with the current environment plus `environment`,
/// stdout and stderr going to `outputPath`; returns its wall time and output.
func runChild(
    _ argv: [String], environment: [String: String] = [:], outputPath: String,
    removeEnvironment: [String] = []
) -> ChildResult {
    var env: [String] = []
    var raw = environ
    while let entry = raw.pointee {
        let text = String(cString: entry)
        let key = String(text.prefix { $0 != "=" })
        if environment[key] == nil && !removeEnvironment.contains(key) { env.append(text) }
        raw += 1
    }
    for (key, value) in environment { env.append("\(key)=\(value)") }

    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    defer {
        cArgs.forEach { free($0) }
        cEnv.forEach { free($0) }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

    var pid: pid_t = 0
    let start = now()
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnv)
    guard rc == 0 else {
        return ChildResult(
            seconds: 0, exitStatus: 127, signal: nil,
            output: "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let elapsed = now() - start
    let output = readFile(outputPath) ?? ""
    if status & 0x7f == 0 {
        return ChildResult(seconds: elapsed, exitStatus: (status >> 8) & 0xff, signal: nil, output: output)
    }
    return ChildResult(seconds: elapsed, exitStatus: nil, signal: status & 0x7f, output: output)
}

/// `key value` result lines a child prints as `@ key value`.
func parseResults(_ output: String) -> [String: String] {
    var results: [String: String] = [:]
    for line in output.split(separator: "\n") where line.hasPrefix("@ ") {
        let parts = line.dropFirst(2).split(separator: " ", maxSplits: 1)
        if parts.count == 2 { results[String(parts[0])] = String(parts[1]) }
    }
    return results
}

func report(_ key: String, _ value: Double) { print("@ \(key) \(value)") }
func report(_ key: String, _ value: Int) { print("@ \(key) \(value)") }
func report(_ key: String, _ value: String) { print("@ \(key) \(value)") }

// MARK: - Formatting

func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "n/a" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (abs(value) * scale).rounded()
    let whole = Int(rounded / scale)
    let frac = Int(rounded - Double(whole) * scale)
    var text = "\(value < 0 && rounded > 0 ? "-" : "")\(whole)"
    if digits > 0 {
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        text += "." + f
    }
    return text
}

/// Milliseconds with sensible precision.
func ms(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "n/a" }
    let m = seconds * 1000
    if m < 0.1 { return fixed(m, 4) + " ms" }
    if m < 10 { return fixed(m, 3) + " ms" }
    if m < 1000 { return fixed(m, 1) + " ms" }
    return fixed(seconds, 2) + " s"
}

func ratio(_ value: Double) -> String { value.isFinite ? fixed(value, 2) + "x" : "n/a" }

func count(_ n: Int) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000)M" }
    if n >= 1_000 && n % 1_000 == 0 { return "\(n / 1_000)k" }
    return "\(n)"
}

/// A plain text table: columns padded to their widest cell, numbers right-aligned.
struct Table {
    var headers: [String]
    var rows: [[String]] = []
    var leftAligned: Set<Int> = [0]

    init(_ headers: [String], leftAligned: Set<Int> = [0]) {
        self.headers = headers
        self.leftAligned = leftAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "  ") -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                parts.append(leftAligned.contains(i) ? cell + pad : pad + cell)
            }
            var text = indent + parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var out = [line(headers), indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

func heading(_ text: String) {
    print("")
    print(text)
    print(String(repeating: "=", count: text.count))
}

/// Flushes stdout (print buffers when stdout is a pipe or file).
func flush() { fflush(nil) }
