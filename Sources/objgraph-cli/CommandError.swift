/// A failure the command reports as one line on stderr, exiting non-zero.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    var exitCode: Int32 = 1
    init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}
