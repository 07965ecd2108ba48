extension GraphDrawing {
    /// The drawing rendered in `format`: SVG or DOT text as UTF-8, or a PNG's bytes.
    ///
    /// The same as ``Graphviz/render(_:format:warningsAreErrors:)``: ``OutputFormat/dot`` is
    /// ``dotSource`` and needs no Graphviz; every other format is laid out by `dot` in process.
    ///
    /// ```swift
    /// let svg = try GraphDrawing.backrefs(of: [session], in: graph).rendered(as: .svg)
    /// print(String(decoding: svg, as: UTF8.self))
    /// ```
    ///
    /// - Parameters:
    ///   - format: ``OutputFormat/svg``, ``OutputFormat/png``, ``OutputFormat/dot``, or another
    ///     Graphviz format name (`"pdf"`, `"json"`).
    ///   - warningsAreErrors: when true (the default), a Graphviz warning (an unknown colour or
    ///     shape) fails the render instead of being ignored.
    /// - Throws: ``GraphvizError`` with Graphviz's messages.
    public func rendered(as format: OutputFormat, warningsAreErrors: Bool = true) throws -> [UInt8] {
        try Graphviz.render(self, format: format, warningsAreErrors: warningsAreErrors)
    }

    /// Renders the drawing in the format named by `path`'s extension (`.svg`, `.png`, `.dot`,
    /// `.gv`) and writes it there atomically, as ``Graphviz/write(_:to:)`` does: on any failure
    /// nothing is left behind and an existing file at `path` is untouched.
    ///
    /// ```swift
    /// try GraphDrawing.cycles(groups, in: graph).write(to: "/tmp/cycles.png")
    /// ```
    ///
    /// - Throws: ``DrawingFileError/unknownExtension(_:path:)`` for another extension,
    ///   ``GraphvizError`` when Graphviz fails, ``SystemCallError``
    ///   when the file cannot be written.
    public func write(to path: String) throws {
        try Graphviz.write(self, to: path)
    }
}
