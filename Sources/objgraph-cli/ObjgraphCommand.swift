import ArgumentParser

/// `objgraph`: run Swift programs under heap tracking, and read the snapshots they leave.
///
/// Every command names itself in its configuration: ArgumentParser would otherwise derive the
/// name from the type's name, a demangling that costs ~1.5 ms at every start.
@main
struct ObjgraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objgraph",
        abstract: "Find what grows and what leaks in Swift programs, with no change to their code.",
        discussion: """
            Examples:
              objgraph run -- .build/debug/my-server --port 8080
              objgraph run --interval 5 --json report.json --snapshot end.ogs -- ./my-tool
              objgraph stats end.ogs
              objgraph diff start.ogs end.ogs
              objgraph leaks end.ogs
              objgraph render end.ogs --type Session -o sessions.svg
            """,
        subcommands: [Run.self, Stats.self, Diff.self, Leaks.self, Render.self]
    )
}
