/// Marks between the phases of the agent's exit analysis (capture, snapshot, index, leak
/// forest, ...), so `OBJGRAPH_PROFILE=1` and `objgraph-bench` can say where the time goes.
/// A mark costs one load and a branch when nobody listens.
package enum ExitPhases {
    /// Called with the name of each phase as it ends. Set by the agent's exit handler on the
    /// one thread that runs the analysis, and cleared before it returns.
    nonisolated(unsafe) package static var sink: ((String) -> Void)?

    @inline(__always)
    package static func mark(_ phase: @autoclosure () -> String) {
        if let sink { sink(phase()) }
    }
}
