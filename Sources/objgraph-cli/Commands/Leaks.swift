import ArgumentParser
import ObjGraph

extension ObjGraphCommand {
    struct Leaks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leaks",
            abstract: "Leaked objects in a snapshot, grouped by retain cycle, in the style of Apple's `leaks`.",
            discussion: "Example:\n  objgraph leaks end.ogs")

        @Argument(help: ArgumentHelp("A snapshot file.", valueName: "file"))
        var file: String

        @OptionGroup var names: NameOptions

        @Flag(
            help: ArgumentHelp(
                "Print every structure whole (default: \(LeaksReport.defaultLineLimit) lines each, "
                    + "the objects left out counted by type)."))
        var full = false

        mutating func run() throws {
            try reportingErrors {
                let graph = ObjectGraph(try loadSnapshot(file))
                let report = LeaksReport(
                    graph: graph, shortNames: names.shortNames, lineLimit: full ? nil : LeaksReport.defaultLineLimit)
                print(report.text, terminator: "")
            }
        }
    }
}
