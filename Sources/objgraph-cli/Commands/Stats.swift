import ArgumentParser
import ObjGraph

extension ObjGraphCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Census of a snapshot: count, bytes and average size per type (like Apple's `heap`).",
            discussion: "Example:\n  objgraph stats end.ogs --limit 20")

        @Argument(help: ArgumentHelp("A snapshot file (objgraph run --snapshot).", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Show only the N types with the most bytes.", valueName: "n"))
        var limit: Int?

        @OptionGroup var names: NameOptions

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be a positive number") }
        }

        mutating func run() throws {
            try reportingErrors {
                let snapshot = try loadSnapshot(file)
                var rows = SnapshotDiff.census(of: snapshot, shortNames: names.shortNames)
                rows.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
                if let limit { rows = Array(rows.prefix(limit)) }
                print(TextTable.census(rows, nameWidth: names.nameWidth), terminator: "")
            }
        }
    }
}
