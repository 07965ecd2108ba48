import Foundation
import XCTest

/// Runs the built `objgraph` command and fixtures, as a user would.
enum CLI {
    /// The build directory holding `objgraph`, the agent library and the fixtures.
    static let binDirectory: String = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }()

    static func path(_ name: String) -> String { binDirectory + "/" + name }
    /// The machine name in Debian's library directories (`/usr/lib/x86_64-linux-gnu`).
    #if arch(x86_64)
    static let machine = "x86_64"
    #else
    static let machine = "aarch64"
    #endif

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var terminatedBySignal: Bool
    }

    /// Runs `objgraph` with `arguments`; fixture names in `arguments` after `--` are not resolved
    /// here, pass `CLI.path(...)`.
    @discardableResult
    static func objgraph(
        _ arguments: [String], environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> Result {
        try run(path("objgraph"), arguments, environment: environment)
    }

    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        onStart: ((Process) -> Void)? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        onStart?(process)
        // Read both pipes fully before waiting, so a chatty child never blocks on a full pipe.
        final class Collected: @unchecked Sendable { var data = Data() }
        let collected = Collected()
        let group = DispatchGroup()
        group.enter()
        let reader = out.fileHandleForReading
        DispatchQueue.global().async {
            collected.data = reader.readDataToEndOfFile()
            group.leave()
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = collected.data
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self),
            terminatedBySignal: process.terminationReason == .uncaughtSignal)
    }

    static func requireBuilt(file: StaticString = #filePath, line: UInt = #line) throws {
        for name in ["objgraph", "libObjGraphAgent.so", "leaky-pairs"]
        where !FileManager.default.fileExists(atPath: path(name)) {
            struct NotBuilt: Error, CustomStringConvertible { var description: String }
            throw NotBuilt(description: "missing \(path(name)): run `swift build` first (scripts/test does)")
        }
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "objgraph-cli-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// The JSON report `objgraph run --json` writes, decoded loosely for assertions.
struct Report: Decodable {
    struct TypeRow: Decodable { var name: String; var count: Int; var bytes: Int }
    struct GrowthRow: Decodable { var name: String; var count: Int; var delta: Int }
    struct Leak: Decodable { var type: String; var count: Int; var bytes: Int }
    struct Object: Decodable { var type: String; var address: String }
    struct Edge: Decodable { var from: Int; var to: Int; var label: String }
    struct Cycle: Decodable {
        var objects: [Object]
        var objectsOmitted: Int?
        var edges: [Edge]
        var leakedObjects: Int
    }
    struct Chain: Decodable { var type: String; var chain: String }
    struct Exit: Decodable { var status: Int?; var signal: Int?; var description: String }
    struct Memory: Decodable {
        var residentBytes: Int
        var swiftObjects: Int
        var swiftBytes: Int
        var nativeBlocks: Int
        var nativeBytes: Int
        var allocatorFreeBytes: Int?
    }
    var types: [TypeRow]
    var growth: [GrowthRow]
    var leaks: [Leak]
    var cycles: [Cycle]
    var chains: [Chain]
    var exit: Exit?
    var memory: Memory?
    var notes: [String]
    var leaksText: String

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        self = try JSONDecoder().decode(Report.self, from: data)
    }

    func leaked(_ type: String) -> Int { leaks.first { $0.type == type }?.count ?? 0 }
    func live(_ type: String) -> Int { types.first { $0.name == type }?.count ?? 0 }
    /// The live count in the growth table, which comes from the registry's counters (the
    /// `types` table comes from the exit snapshot).
    func counted(_ type: String) -> Int { growth.first { $0.name == type }?.count ?? 0 }

    /// Cycles of exactly these member types (in order), with these edge labels.
    func cycles(types: [String], labels: [String]) -> [Cycle] {
        cycles.filter { $0.objects.map(\.type) == types && $0.edges.map(\.label) == labels }
    }
}
