/// A failed check: the whole message the test framework shows, and the drawing written for it.
struct CheckFailure: Sendable, Equatable, CustomStringConvertible {
    var message: String
    /// Path of the SVG drawing written into a fresh temporary directory, when one was written.
    var drawingPath: String?

    var description: String { message }
}
