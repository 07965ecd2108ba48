import CGraphviz
import ObjGraphCore

/// Renders ``GraphDrawing``s with Graphviz's C library (libgvc + libcgraph), in process.
///
/// Layout always goes through `gvLayout(gvc, g, "dot")` and output through `gvRenderData`; the
/// `dot` program is never run. Graphviz is not thread-safe, so every call here is serialised
/// behind one process-wide lock.
///
/// Each render gets a fresh `gvContext`, freed afterwards. Sharing one would save about 0.4 ms
/// per render, but Graphviz reports some warnings (an unknown colour) only once per context,
/// so a shared context would let the second bad drawing through silently.
///
/// ```swift
/// let svg = try Graphviz.render(drawing, format: .svg)      // [UInt8] of SVG text
/// try Graphviz.write(drawing, to: "/tmp/backrefs.png")      // format from the extension
/// ```
public enum Graphviz {
    /// Renders `drawing` in `format`, returning the bytes.
    ///
    /// ``OutputFormat/dot`` returns ``GraphDrawing/dotSource`` without calling Graphviz. Every
    /// other format builds the graph with libcgraph, lays it out with `gvLayout(gvc, g, "dot")`
    /// and renders it with `gvRenderData`. PNGs are drawn at ``DrawingStyle/pngDPI`` unless the
    /// drawing sets `dpi`.
    ///
    /// - Parameters:
    ///   - drawing: what to draw.
    ///   - format: ``OutputFormat/svg``, ``OutputFormat/png``, ``OutputFormat/dot``, or another
    ///     Graphviz format name (`"pdf"`, `"json"`, `"xdot"`).
    ///   - warningsAreErrors: when true (the default), a Graphviz warning (an unknown colour or
    ///     shape) fails the render instead of being ignored.
    /// - Throws: ``GraphvizError`` with Graphviz's messages when building, layout or rendering
    ///   fails or reports a problem.
    public static func render(
        _ drawing: GraphDrawing, format: OutputFormat,
        warningsAreErrors: Bool = true
    ) throws -> [UInt8] {
        if format == .dot { return Array(drawing.dotSource.utf8) }
        return try GraphvizLock.shared.run { session in
            try withContext(&session) { context, session in
                let operation = "build graph \"\(drawing.name)\""
                guard let graph = GraphvizGraph(directedNamed: drawing.name) else {
                    try session.check(-1, operation, warningsAreErrors: true)
                    throw GraphvizError(operation: operation, code: -1, messages: [])
                }
                defer { objgraph_agclose(graph.handle) }
                var drawing = drawing
                if format == .png && drawing.attributes["dpi"] == nil {
                    drawing.attributes["dpi"] = .text(DrawingStyle.pngDPI)
                }
                graph.build(drawing)
                try session.check(0, operation, warningsAreErrors: warningsAreErrors)
                return try layOutAndRender(graph.handle, in: context, format: format, &session, warningsAreErrors)
            }
        }
    }

    /// Parses DOT source with `agmemread`, lays it out with `dot` and renders it in `format`
    /// (passed to Graphviz as is, so ``OutputFormat/dot`` here means Graphviz's laid-out DOT).
    ///
    /// ```swift
    /// let png = try Graphviz.render(dotSource: "digraph { a -> b }", format: .png)
    /// ```
    ///
    /// - Throws: ``GraphvizError`` with Graphviz's syntax error (`Error: syntax error in line 1
    ///   near '}'`) or layout and render messages.
    public static func render(
        dotSource: String, format: OutputFormat,
        warningsAreErrors: Bool = true
    ) throws -> [UInt8] {
        try GraphvizLock.shared.run { session in
            try withContext(&session) { context, session in
                guard let graph = objgraph_agmemread(dotSource) else {
                    try session.check(-1, "read DOT source", warningsAreErrors: true)
                    throw GraphvizError(operation: "read DOT source", code: -1, messages: [])
                }
                defer { objgraph_agclose(graph) }
                try session.check(0, "read DOT source", warningsAreErrors: warningsAreErrors)
                return try layOutAndRender(graph, in: context, format: format, &session, warningsAreErrors)
            }
        }
    }

    /// Renders `drawing` in the format named by `path`'s extension (`.svg`, `.png`, `.dot`,
    /// `.gv`) and writes it there atomically: the bytes go to a temporary file in the same
    /// directory, which is then renamed over `path`. On any failure nothing is left behind and
    /// an existing file at `path` is untouched.
    ///
    /// - Throws: ``DrawingFileError/unknownExtension(_:path:)`` for another extension,
    ///   ``GraphvizError`` when Graphviz fails, ``SystemCallError``
    ///   when the file cannot be written.
    public static func write(_ drawing: GraphDrawing, to path: String) throws {
        let ext = AtomicFile.fileExtension(of: path)
        guard let format = OutputFormat(fileExtension: ext) else {
            throw DrawingFileError.unknownExtension(ext, path: path)
        }
        let bytes = try render(drawing, format: format)
        try AtomicFile.write(bytes, to: path)
    }

    /// The Graphviz library version, as Graphviz reports it (`2.43.0` for Debian's 2.42 package).
    public static var version: String {
        (try? GraphvizLock.shared.run { session -> String in
            try withContext(&session) { context, _ in
                objgraph_gvcVersion(context).map { String(cString: $0) } ?? "unknown"
            }
        }) ?? "unknown"
    }

    /// Runs `body` with a new `gvContext`, freed with `gvFreeContext` afterwards. The context
    /// comes first: creating it declares the node label default (`\N`) that graphs rely on.
    /// ``GraphvizLock`` must be held (the `session` proves it).
    private static func withContext<T>(
        _ session: inout GraphvizSession,
        _ body: (OpaquePointer, inout GraphvizSession) throws -> T
    ) throws -> T {
        guard let context = objgraph_gvContext() else {
            throw GraphvizError(operation: "create a context", code: -1, messages: session.takeMessages().messages)
        }
        defer { objgraph_gvFreeContext(context) }
        return try body(context, &session)
    }

    /// `gvLayout` with `dot`, `gvRenderData`, then `gvFreeRenderData` and `gvFreeLayout`.
    private static func layOutAndRender(
        _ graph: UnsafeMutablePointer<Agraph_t>, in context: OpaquePointer,
        format: OutputFormat, _ session: inout GraphvizSession,
        _ warningsAreErrors: Bool
    ) throws -> [UInt8] {
        let name = objgraph_agnameof(UnsafeMutableRawPointer(graph)).map { String(cString: $0) } ?? ""
        let laidOut = objgraph_gvLayout(context, graph, "dot")
        defer { objgraph_gvFreeLayout(context, graph) }  // safe after a failed layout too
        try session.check(laidOut, "lay out graph \"\(name)\" with dot", warningsAreErrors: warningsAreErrors)

        var buffer: UnsafeMutablePointer<CChar>?
        var length: UInt32 = 0  // `unsigned int` in Graphviz 2.42
        let rendered = objgraph_gvRenderData(context, graph, format.rawValue, &buffer, &length)
        defer { if let buffer { objgraph_gvFreeRenderData(buffer) } }
        try session.check(rendered, "render as \"\(format.rawValue)\"", warningsAreErrors: warningsAreErrors)
        guard let buffer else { return [] }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }
}
