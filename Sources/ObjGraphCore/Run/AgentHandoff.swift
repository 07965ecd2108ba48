import CObjGraphRuntime
#if canImport(Glibc)
import Glibc
#endif

// The contract between `objgraph run` and the agent it preloads into the program, in one
// place: the environment the command sets and the agent reads, and the files the agent leaves
// in the directory the command made, which the command reads back. Both sides use these types,
// so a name or a format cannot drift between them (a round-trip test pins the JSON).

/// What the command asks of the agent, passed through the program's environment.
package struct AgentSettings: Sendable, Equatable {
    /// The environment variables, by role.
    package enum Variable: String, CaseIterable, Sendable {
        /// Directory for the hand-off files (``AgentFiles``).
        case directory = "OBJGRAPH_AGENT_DIR"
        /// Seconds between growth tables printed to stderr (absent or 0: none).
        case interval = "OBJGRAPH_INTERVAL"
        /// Path for the final heap snapshot.
        case snapshot = "OBJGRAPH_SNAPSHOT"
        /// How many growing types get a back-reference chain.
        case top = "OBJGRAPH_TOP"
        /// How many leaked cycles report.json lists in full.
        case maxCycles = "OBJGRAPH_MAX_CYCLES"
        /// Leak structures printed whole and cycles listed with every object (no line or size cap).
        case full = "OBJGRAPH_FULL"
        /// Type names printed whole in the growth tables (not cut at ``TextTable/nameWidth``).
        case wide = "OBJGRAPH_WIDE"
        /// The command's process id: when it is gone, the agent saves its report elsewhere and
        /// stops the program (no orphan lives on).
        case parent = "OBJGRAPH_PARENT_PID"
        /// Print the time each phase of the exit analysis took (set by hand, not by the command).
        case profile = "OBJGRAPH_PROFILE"
        /// With ``profile``: thread CPU time instead of wall time.
        case profileCPU = "OBJGRAPH_PROFILE_CPU"
    }

    package static let defaultTop = 5
    package static let defaultMaxCycles = 1000

    package var directory: String?
    package var interval: Double = 0
    package var snapshotPath: String?
    package var top = AgentSettings.defaultTop
    package var maxCycles = AgentSettings.defaultMaxCycles
    package var full = false
    package var wide = false
    package var parent: Int32?
    package var profile = false
    package var profileCPU = false

    package init() {}

    /// The settings `lookup` (an environment) describes. Empty values count as absent.
    package init(lookup: (String) -> String?) {
        func value(_ variable: Variable) -> String? {
            guard let text = lookup(variable.rawValue), !text.isEmpty else { return nil }
            return text
        }
        directory = value(.directory)
        interval = value(.interval).flatMap(Double.init).map { max(0, $0) } ?? 0
        snapshotPath = value(.snapshot)
        top = value(.top).flatMap(Int.init).map { max(0, $0) } ?? AgentSettings.defaultTop
        maxCycles = value(.maxCycles).flatMap(Int.init).map { max(0, $0) } ?? AgentSettings.defaultMaxCycles
        full = value(.full) != nil
        wide = value(.wide) != nil
        parent = value(.parent).flatMap { Int32($0) }
        profile = value(.profile) != nil
        profileCPU = value(.profileCPU) != nil
    }

    /// The settings of this process's environment.
    package static func fromProcessEnvironment() -> AgentSettings {
        AgentSettings { name in getenv(name).map { String(cString: $0) } }
    }

    /// The environment variables that give these settings (what the command adds to the
    /// program's environment).
    package var environment: [String: String] {
        var env: [String: String] = [
            Variable.top.rawValue: String(top),
            Variable.maxCycles.rawValue: String(maxCycles),
        ]
        if let directory { env[Variable.directory.rawValue] = directory }
        if interval > 0 { env[Variable.interval.rawValue] = String(interval) }
        if let snapshotPath { env[Variable.snapshot.rawValue] = snapshotPath }
        if full { env[Variable.full.rawValue] = "1" }
        if wide { env[Variable.wide.rawValue] = "1" }
        if let parent { env[Variable.parent.rawValue] = String(parent) }
        if profile { env[Variable.profile.rawValue] = "1" }
        if profileCPU { env[Variable.profileCPU.rawValue] = "1" }
        return env
    }

    /// Removes every variable of the contract from this process's environment, so programs the
    /// observed one starts do not take them as meant for them.
    package static func clearProcessEnvironment() {
        for variable in Variable.allCases { unsetenv(variable.rawValue) }
    }
}

/// The files the agent leaves in ``AgentSettings/directory``.
package struct AgentFiles: Sendable {
    package var directory: String
    package init(directory: String) { self.directory = directory }

    /// The final report (``RunReport`` as JSON), written by the exit handler.
    package var report: String { directory + "/report.json" }
    /// The latest ``Census``, rewritten every second: what is left if the program is killed.
    package var census: String { directory + "/census.json" }
    /// The raw counters a crash handler saved (``CrashCounters``).
    package var crash: String { directory + "/crash.bin" }
    /// One line: why the agent could not track or report.
    package var error: String { directory + "/error.txt" }
    /// Empty; made when the agent's exit handler starts, so a program killed during the final
    /// report (SIGKILL leaves no crash file) is told from one killed before it.
    package var exitStarted: String { directory + "/exit-started" }

    /// Makes the ``exitStarted`` marker (no Foundation, no allocation worth counting).
    package func markExitStarted() {
        let fd = open(exitStarted, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
    }
}

/// How tracking went, as the agent saw it: enough for the command to tell "nothing happened"
/// from "nothing could be seen".
package struct TrackingStatus: Codable, Sendable, Equatable {
    /// Objects recorded since tracking started (freed ones included).
    package var recordedObjects: Int
    /// The program is Swift: it links libswiftCore.so or carries its own runtime.
    package var isSwiftProgram: Bool
    /// Where the hooked runtime lives (`libswiftCore.so`, or the program itself when it was
    /// built with `--static-swift-stdlib`).
    package var runtime: String

    package init(recordedObjects: Int, isSwiftProgram: Bool, runtime: String) {
        self.recordedObjects = recordedObjects
        self.isSwiftProgram = isSwiftProgram
        self.runtime = runtime
    }

    package func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("recordedObjects", recordedObjects)
        w.field("isSwiftProgram", isSwiftProgram)
        w.field("runtime", runtime)
        w.endObject()
    }
}

/// The agent's periodic census: live counts by type, and every type name by registry index so
/// the raw counters a crash handler dumps can be named afterwards.
package struct Census: Codable, Sendable, Equatable {
    package var elapsedSeconds: Double
    /// Short type names by registry index.
    package var typeNames: [String]
    package var types: [TypeCount]
    package var tracking: TrackingStatus?

    package init(elapsedSeconds: Double, typeNames: [String], types: [TypeCount], tracking: TrackingStatus?) {
        self.elapsedSeconds = elapsedSeconds
        self.typeNames = typeNames
        self.types = types
        self.tracking = tracking
    }

    /// The census as JSON, written without Foundation; `Codable` reads it back.
    package var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("elapsedSeconds", elapsedSeconds)
        w.key("typeNames"); w.beginArray()
        for name in typeNames { w.value(name) }
        w.endArray()
        w.key("types"); w.beginArray()
        for row in types { row.write(to: &w) }
        w.endArray()
        w.key("tracking")
        if let tracking { tracking.write(to: &w) } else { w.null() }
        w.endObject()
        return w.text + "\n"
    }
}

/// What the agent's crash handler writes (layout: `ogr_crash_header` in CObjGraphRuntime, then
/// `type_count` x (int64 count, int64 bytes), `type_count` x uint64 metadata, then the text of
/// `/proc/self/maps`, so types the agent never named can be named from the mapped files'
/// symbols).
package struct CrashCounters: Sendable {
    /// Where the fatal signal struck (`ogr_crash_site`).
    package enum Site: Int32, Sendable {
        case program = 0
        /// In the agent's exit handler (the final snapshot and report).
        case agentExitHandler = 1
        /// On the agent's own thread (growth tables, census).
        case agentThread = 2
        /// In the program, while the agent's exit handler had started (a signal from outside).
        case programDuringExitHandler = 3
    }

    package var signal: Int32
    package var site: Site
    package var counts: [(count: Int64, bytes: Int64)]
    package var metadata: [UInt64]
    package var maps: String

    package init?(_ bytes: [UInt8]) {
        let header = MemoryLayout<ogr_crash_header>.size
        guard bytes.count >= header else { return nil }
        func int64(_ at: Int) -> Int64 { bytes[at..<at + 8].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } }
        let raw = bytes.withUnsafeBytes { $0.loadUnaligned(as: ogr_crash_header.self) }
        signal = raw.signal
        site = Site(rawValue: raw.site) ?? .program
        let n = Int(raw.type_count)
        guard n >= 0, n <= 1 << 20, bytes.count >= header + n * 16 else { return nil }
        counts = (0..<n).map { (int64(header + $0 * 16), int64(header + 8 + $0 * 16)) }
        let metadataStart = header + n * 16
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
    package func rows(names: [String]) -> [TypeCount] {
        var offline = OfflineTypeNames(maps: maps)
        var byName: [String: TypeCount] = [:]
        for (index, (count, bytes)) in counts.enumerated() where count > 0 {
            var name = index < names.count ? names[index] : "type #\(index)"
            if index >= names.count, index < metadata.count, let found = offline.name(ofMetadata: metadata[index]) {
                name = found.shortName
            }
            byName[name, default: TypeCount(name: name, count: 0, bytes: 0)].count += Int(count)
            byName[name]!.bytes += Int(bytes)
        }
        return Array(byName.values)
    }
}
