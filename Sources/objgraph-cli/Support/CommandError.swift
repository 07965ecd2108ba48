import ArgumentParser
import ObjGraphCore

/// A failure the command reports as one line on stderr (`objgraph: ...`), exiting non-zero.
struct CommandError: Error, CustomStringConvertible {
    /// A bad option or argument.
    static let usageStatus: Int32 = 2
    /// objgraph could not observe the program (nothing to report, or the agent could not attach).
    static let notObservedStatus: Int32 = 125

    let description: String
    var exitCode: Int32 = 1

    init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }

    static func usage(_ description: String) -> CommandError { CommandError(description, exitCode: usageStatus) }
}

/// Runs a command body, printing a `CommandError` as one line and exiting with its status.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CommandError {
        printError("objgraph: \(error.description)")
        throw ExitCode(error.exitCode)
    }
}

func printError(_ text: String) {
    var err = StandardError()
    err.write(text.hasSuffix("\n") ? text : text + "\n")
}
