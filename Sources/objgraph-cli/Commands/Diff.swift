import ArgumentParser
import ObjGraph

extension ObjGraphCommand {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract:
                "Compare two snapshots type by type: new, deleted, delta and size delta (like Chrome's Comparison view).",
            discussion: "Example:\n  objgraph diff start.ogs end.ogs --limit 10")

        @Argument(help: ArgumentHelp("The earlier snapshot.", valueName: "old"))
        var old: String

        @Argument(help: ArgumentHelp("The later snapshot.", valueName: "new"))
        var new: String

        @Option(help: ArgumentHelp("Show only the N rows with the largest changes.", valueName: "n"))
        var limit: Int?

        @OptionGroup var names: NameOptions

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be a positive number") }
        }

        mutating func run() throws {
            try reportingErrors {
                let before = try loadSnapshot(old), after = try loadSnapshot(new)
                var rows = SnapshotDiff.compare(old: before, new: after, shortNames: names.shortNames)
                if let limit { rows = Array(rows.prefix(limit)) }
                print(SnapshotDiff.table(rows, nameWidth: names.nameWidth), terminator: "")
            }
        }
    }
}
