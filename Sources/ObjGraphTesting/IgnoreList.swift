import ObjGraph

/// Type names to leave out of growth checks: short (`Pair`) or qualified (`LeakyScenarios.Pair`).
struct IgnoreList: Sendable {
    private let names: Set<String>
    private var shortNames: Set<String>

    init(_ names: [String]) {
        self.names = Set(names)
        self.shortNames = Set(names)
    }

    /// Adds the short names of the types whose qualified name is listed.
    mutating func resolveQualifiedNames(in snapshot: HeapSnapshot) {
        for type in snapshot.types where names.contains(type.name) { shortNames.insert(type.shortName) }
    }

    func contains(shortName: String) -> Bool { shortNames.contains(shortName) }
    func contains(_ type: HeapSnapshot.TypeInfo) -> Bool {
        names.contains(type.name) || shortNames.contains(type.shortName)
    }
}
