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

/// Loads a snapshot file, turning any failure into a one-line error.
func loadSnapshot(_ path: String) throws -> HeapSnapshot {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandError("no such snapshot file: \(path)") }
    do {
        return try HeapSnapshot(contentsOf: path)
    } catch {
        throw CommandError("\(error)")
    }
}

/// Runs a file command body, printing `CommandError`s as one line and exiting non-zero.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CommandError {
        printError("objgraph: \(error.description)")
        throw ExitCode(error.exitCode)
    }
}

extension ObjgraphCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Census of a snapshot: count, bytes and average size per type (like Apple's `heap`).",
            discussion: "Example:\n  objgraph stats end.ogs --limit 20")

        @Argument(help: "A snapshot file (objgraph run --snapshot).")
        var file: String

        @Option(help: "Show only the N types with the most bytes.")
        var limit: Int?

        @Flag(help: "Fully qualified type names.")
        var qualified = false

        mutating func run() throws {
            try reportingErrors {
                let snapshot = try loadSnapshot(file)
                var rows = SnapshotDiff.census(of: snapshot, shortNames: !qualified)
                rows.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
                if let limit { rows = Array(rows.prefix(max(0, limit))) }
                print(TextTable.census(rows), terminator: "")
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Compare two snapshots type by type: new, deleted, delta and size delta (like Chrome's Comparison view).",
            discussion: "Example:\n  objgraph diff start.ogs end.ogs --limit 10")

        @Argument(help: "The earlier snapshot.")
        var old: String

        @Argument(help: "The later snapshot.")
        var new: String

        @Option(help: "Show only the N rows with the largest changes.")
        var limit: Int?

        @Flag(help: "Fully qualified type names.")
        var qualified = false

        mutating func run() throws {
            try reportingErrors {
                let before = try loadSnapshot(old), after = try loadSnapshot(new)
                var rows = SnapshotDiff.compare(old: before, new: after, shortNames: !qualified)
                if let limit { rows = Array(rows.prefix(max(0, limit))) }
                print(SnapshotDiff.table(rows), terminator: "")
            }
        }
    }

    struct Leaks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leaks",
            abstract: "Leaked objects in a snapshot, grouped by retain cycle, in the style of Apple's `leaks`.",
            discussion: "Example:\n  objgraph leaks end.ogs")

        @Argument(help: "A snapshot file.")
        var file: String

        @Flag(help: "Fully qualified type names.")
        var qualified = false

        mutating func run() throws {
            try reportingErrors {
                let graph = ObjectGraph(try loadSnapshot(file))
                print(LeaksReport(graph: graph, shortNames: !qualified).text, terminator: "")
            }
        }
    }

    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Draw what holds objects of a type (or one object) in a snapshot: objgraph's show_backrefs.",
            discussion: """
                Examples:
                  objgraph render end.ogs --type Session -o sessions.svg
                  objgraph render end.ogs --address 0x5581c2a0 --refs -o refs.png
                """)

        @Argument(help: "A snapshot file.")
        var file: String

        @Option(help: "Objects of this type (short or qualified name).")
        var type: String?

        @Option(help: "The object at this address (hex).")
        var address: String?

        @Option(name: .shortAndLong, help: "Output file: .svg, .png or .dot.")
        var output: String

        @Option(help: "How many references deep to draw.")
        var depth: Int = 4

        @Option(help: "Draw at most N objects of the type.")
        var limit: Int = 5

        @Option(help: "Collapse a node's referrers beyond N into one node.")
        var tooMany: Int = 10

        @Flag(help: "Draw what the objects refer to instead of what refers to them.")
        var refs = false

        mutating func run() throws {
            try reportingErrors {
                guard (type == nil) != (address == nil) else {
                    throw CommandError("give exactly one of --type or --address", exitCode: 2)
                }
                guard OutputFormat(fileExtension: AtomicFile.fileExtension(of: output)) != nil else {
                    throw CommandError("\(output): unknown extension (use .svg, .png or .dot)", exitCode: 2)
                }
                guard depth > 0, limit > 0, tooMany > 0 else {
                    throw CommandError("--depth, --limit and --too-many must be positive", exitCode: 2)
                }
                let graph = ObjectGraph(try loadSnapshot(file))
                var ids: [Int]
                if let type {
                    ids = graph.objects(ofType: type)
                    guard !ids.isEmpty else {
                        let known = Set(graph.snapshot.types.map(\.shortName)).sorted().prefix(8).joined(separator: ", ")
                        throw CommandError("no objects of type \(type) in \(file) (types include: \(known))")
                    }
                    ids = Array(ids.prefix(limit))
                } else {
                    let text = address!.lowercased().hasPrefix("0x") ? String(address!.dropFirst(2)) : address!
                    guard let value = UInt64(text, radix: 16) else { throw CommandError("not a hex address: \(address!)", exitCode: 2) }
                    guard let id = graph.snapshot.object(at: value) else {
                        throw CommandError("no object at address \(address!) in \(file)")
                    }
                    ids = [id]
                }
                do {
                    if refs {
                        try graph.showRefs(ids, maxDepth: depth, tooMany: tooMany, to: output)
                    } else {
                        try graph.showBackrefs(ids, maxDepth: depth, tooMany: tooMany, to: output)
                    }
                } catch {
                    throw CommandError("cannot draw \(output): \(error)")
                }
                print("wrote \(output) (\(ids.count) object\(ids.count == 1 ? "" : "s") of \(type ?? "address \(address!)"))")
            }
        }
    }
}
