/// Names types of a process that is gone, from the metadata addresses it recorded and its
/// `/proc/PID/maps`: the metadata of a non-generic type is a symbol in the mapped file
/// (`full type metadata for LeakyScenarios.Pair`). Used by `objgraph run` when a program
/// crashed before the agent could name every type.
package struct OfflineTypeNames {
    private struct Mapping { var start: UInt64; var end: UInt64; var path: String }
    private let mappings: [Mapping]
    private var biases: [String: UInt64] = [:]
    private var tables: [String: ELFSymbolTable?] = [:]

    /// `maps` is the text of `/proc/PID/maps`.
    package init(maps: String) {
        var biases: [String: UInt64] = [:]
        let regions = MemoryMap(text: maps).regions.filter { $0.path.hasPrefix("/") }
        // The mapping of file offset 0 gives the load bias (first PT_LOAD at vaddr 0).
        for region in regions where region.offset == 0 && biases[region.path] == nil {
            biases[region.path] = region.start
        }
        self.mappings = regions.map { Mapping(start: $0.start, end: $0.end, path: $0.path) }
        self.biases = biases
    }

    /// `(qualified, short)` name of the type whose metadata was at `metadata`, or nil.
    package mutating func name(ofMetadata metadata: UInt64) -> (name: String, shortName: String)? {
        guard let mapping = mappings.first(where: { metadata >= $0.start && metadata < $0.end }),
            let bias = biases[mapping.path]
        else { return nil }
        if tables[mapping.path] == nil { tables[mapping.path] = ELFSymbolTable(path: mapping.path) }
        guard let table = tables[mapping.path] ?? nil,
            let index = table.index(containing: UInt(metadata - bias))
        else { return nil }
        let demangled = Symbolizer.demangle(table.name(at: index))
        for prefix in ["full type metadata for ", "type metadata for "] where demangled.hasPrefix(prefix) {
            let name = TypeNames.readable(TypeNames.clean(String(demangled.dropFirst(prefix.count))))
            return (name, TypeNames.shortName(name))
        }
        return nil
    }
}
