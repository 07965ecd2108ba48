import ArgumentParser
import ObjGraph

extension ObjGraphCommand {
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Draw what holds objects of a type (or one object) in a snapshot: objgraph's show_backrefs.",
            discussion: """
                Examples:
                  objgraph render end.ogs --type Session -o sessions.svg
                  objgraph render end.ogs --address 0x5581c2a0 --refs -o refs.png
                """)

        @Argument(help: ArgumentHelp("A snapshot file.", valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("Objects of this type (short or qualified name).", valueName: "type"))
        var type: String?

        @Option(help: ArgumentHelp("The object at this address (hex).", valueName: "address"))
        var address: HexAddress?

        @Option(name: .shortAndLong, help: ArgumentHelp("Output file: .svg, .png or .dot.", valueName: "file"))
        var output: String

        @Option(help: ArgumentHelp("How many references deep to draw.", valueName: "n"))
        var depth: Int = 4

        @Option(help: ArgumentHelp("Draw at most N objects of the type.", valueName: "n"))
        var limit: Int = 5

        @Option(help: ArgumentHelp("Collapse a node's referrers beyond N into one node.", valueName: "n"))
        var tooMany: Int = 10

        @Flag(help: "Draw what the objects refer to instead of what refers to them.")
        var refs = false

        func validate() throws {
            guard (type == nil) != (address == nil) else {
                throw ValidationError("give exactly one of --type or --address")
            }
            guard depth > 0, limit > 0, tooMany > 0 else {
                throw ValidationError("--depth, --limit and --too-many must be positive")
            }
            do { _ = try drawingFormat(of: output) } catch let error as CommandError {
                throw ValidationError(error.description)
            }
        }

        mutating func run() throws {
            try reportingErrors {
                let graph = ObjectGraph(try loadSnapshot(file))
                var ids: [Int]
                if let type {
                    ids = graph.objects(ofType: type)
                    guard !ids.isEmpty else {
                        let known = Set(graph.snapshot.types.map(\.shortName)).sorted().prefix(8).joined(
                            separator: ", ")
                        throw CommandError("no objects of type \(type) in \(file) (types include: \(known))")
                    }
                    ids = Array(ids.prefix(limit))
                } else {
                    guard let address, let id = graph.snapshot.object(at: address.value) else {
                        throw CommandError("no object at address \(address?.description ?? "") in \(file)")
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
                let what = type ?? "address \(address!)"
                print("wrote \(output) (\(ids.count) object\(ids.count == 1 ? "" : "s") of \(what))")
            }
        }
    }
}
