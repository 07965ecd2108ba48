extension SnapshotBuilder {
    /// Every array of class references is stored as `Array<AnyObject> storage`: the arrays
    /// whose elements all have one class, with that class's registry type, to be named after
    /// it (`Array<Session> storage`). `objects` still carry registry type indices; so do the
    /// results' `array` and `element`.
    func classArrayRenames(
        objects: [HeapSnapshot.Object], edges: [HeapSnapshot.Edge],
        descriptions: [TypeDescription]
    ) -> [(object: Int, array: Int, element: Int)] {
        let isAnyObjectArray = descriptions.map(\.isAnyObjectArrayStorage)
        guard isAnyObjectArray.contains(true) else { return [] }
        var renames: [(object: Int, array: Int, element: Int)] = []
        var index = 0
        while index < edges.count {
            let from = Int(edges[index].from)
            var end = index
            while end < edges.count && Int(edges[end].from) == from { end += 1 }
            defer { index = end }
            let type = Int(objects[from].typeIndex)
            guard type >= 0, type < descriptions.count, isAnyObjectArray[type] else { continue }
            let element = objects[Int(edges[index].to)].typeIndex
            guard element >= 0, Int(element) < descriptions.count, descriptions[Int(element)].kind == .classInstance,
                edges[index..<end].allSatisfy({ objects[Int($0.to)].typeIndex == element })
            else { continue }
            renames.append((from, type, Int(element)))
        }
        return renames
    }
}

extension SnapshotBuilder {
    /// Gives each array found by ``classArrayRenames(objects:edges:descriptions:)`` the type
    /// `Array<Element> storage` (``TypeDescription/withElementType(_:)``), once the snapshot's
    /// types are numbered.
    func renameArrays(_ renames: [(object: Int, array: Int, element: Int)], in work: inout Work) {
        var renamed = TypeRenamer()
        for (object, array, element) in renames {
            let type = work.descriptions[array].withElementType(work.descriptions[element]).typeInfo
            work.objects[object].typeIndex = renamed.index(of: type, in: &work.types)
        }
    }

    /// Closure context metadata has no symbol, but the function pointer stored beside a
    /// reference to a context names its closure: call the context after it,
    /// `closure context of closure #1 in Screen.bind()`. `candidates` are the (context,
    /// word before the reference) pairs of every reference to a context, in edge order.
    func nameClosureContexts(
        objects: inout [HeapSnapshot.Object], types: inout [HeapSnapshot.TypeInfo],
        candidates: [(target: Int32, function: UInt64)]
    ) {
        guard !candidates.isEmpty else { return }
        registry.symbolizer.prefetch(Array(Set(candidates.map { UInt($0.function) })))
        var functionNames: [UInt64: String?] = [:]
        var renamed = TypeRenamer()
        var done = Set<Int32>()
        for (target, function) in candidates where !done.contains(target) {
            let name: String?
            if let known = functionNames[function] {
                name = known
            } else {
                name = registry.symbolizer.functionName(containing: UInt(function))
                functionNames[function] = name
            }
            guard let name else { continue }
            done.insert(target)
            objects[Int(target)].typeIndex = renamed.index(
                of: HeapSnapshot.TypeInfo(
                    name: "closure context of \(name)",
                    shortName: "closure context of \(TypeCatalog.shortName(name))", kind: .closureContext),
                in: &types)
        }
    }
}

/// Types a snapshot adds for objects it can name better than their metadata does.
struct TypeRenamer {
    private var added: [String: Int32] = [:]

    /// The index of `type` in `types`, appending it the first time.
    mutating func index(of type: HeapSnapshot.TypeInfo, in types: inout [HeapSnapshot.TypeInfo]) -> Int32 {
        if let known = added[type.name] { return known }
        let index = Int32(types.count)
        types.append(type)
        added[type.name] = index
        return index
    }
}
