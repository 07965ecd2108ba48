import ArgumentParser
import ObjGraphCore

/// `objgraph`: run Swift programs under heap tracking, and read the snapshots they leave.
///
/// Every command names itself in its configuration: ArgumentParser would otherwise derive the
/// name from the type's name, a demangling that costs ~1.5 ms at every start.
///
/// Errors follow one convention (``CommandError``): one line on stderr, `objgraph: ...`, and
/// exit status 2 for a usage error (a bad option or argument, ArgumentParser's own included),
/// 1 for a failure (an unreadable file), 125 when objgraph could not observe the program, 126
/// and 127 when the program cannot be run or found; otherwise `run` exits with the program's
/// status.
@main
struct ObjGraphCommand: ParsableCommand {
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

            Errors are one line on stderr. Exit status: 2 for a usage error, 1 for a failure, \
            125 when objgraph could not observe the program, 126/127 when the program cannot be \
            run or found; otherwise `objgraph run` exits with the program's own status.
            """,
        version: ObjGraphVersion.current,
        subcommands: [Run.self, Stats.self, Diff.self, Leaks.self, Render.self]
    )

    /// ArgumentParser's entry point, with its usage errors (an unknown option, a missing
    /// argument, a failed `validate()`) printed as one line, exit status 2, like every other
    /// error of this command.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code.rawValue == ExitCode.validationFailure.rawValue else { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            printError("objgraph: \(message) (see 'objgraph help')")
            Self.exit(withError: ExitCode(CommandError.usageStatus))
        }
    }
}
