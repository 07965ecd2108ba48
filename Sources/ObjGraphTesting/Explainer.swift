import ObjGraph

/// Explains in text why one object is alive.
struct Explainer {
    let facts: GraphFacts
    var ownStack: [Bool]?

    init(
        graph: ObjectGraph, isNew: [Bool]?, checkerRetains: Set<ObjectGraph.ObjectID> = [],
        ownStack: [Bool]? = nil
    ) {
        facts = GraphFacts(graph: graph, isNew: isNew, checkerRetains: checkerRetains)
        self.ownStack = ownStack
    }

    init(facts: GraphFacts, ownStack: [Bool]?) {
        self.facts = facts
        self.ownStack = ownStack
    }

    /// Indented lines: the back-reference chain from a root, or the leaked cycle `leaks`-style,
    /// or what is known when nothing the snapshot sees holds the object.
    mutating func explain(_ id: ObjectGraph.ObjectID) -> String {
        let graph = facts.graph
        let snapshot = graph.snapshot
        // A global's chain explains more than a stack's (a stale word in another thread's frame
        // can be nearer): when a global holds the object, show that chain.
        if facts.fromGlobals[id], let chain = globalChain(to: id) {
            return "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        if facts.fromRoots[id], let chain = graph.findBackrefChain(to: id) {
            return "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        if let ownStack, ownStack[id] {
            // The chain from the object the test's frame holds directly (nothing else it holds
            // refers to it): `Bag --items--> Array<Item> storage --[2]--> Item`.
            let held = "    held by the test itself (a variable of the test method that the body assigned to)"
            let chain = graph.findBackrefChain(
                to: id,
                where: { v in
                    ownStack[v]
                        && !graph.incoming(v).contains {
                            $0.kind.isStrong && ownStack[Int($0.from)] && Int($0.from) != v
                        }
                })
            guard let chain, chain.objects.count > 1 else { return held + "\n" }
            return held + ":\n    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        let groupIndex = facts.groupOf[id]
        guard groupIndex >= 0 else {
            let object = snapshot.objects[id]
            return object.isZombie
                ? "    deinitialized, its memory kept by unowned references\n"
                : "    no chain found (strong count \(facts.strongCount(id)))\n"
        }
        let group = facts.groups[groupIndex]
        if group.cycle != nil {
            let member = group.cycle!.members.contains(id)
            var text =
                member ? "    unreachable: part of a leaked cycle\n" : "    unreachable: kept alive by a leaked cycle\n"
            let tree = LeaksReport(graph: graph, groups: [group]).entries.first?.tree ?? ""
            text += indent(tree, by: "    ")
            if !facts.isProvenCycle(group) {
                text +=
                    "    (the cycle's retain counts are higher than the references found: something outside the heap holds it too)\n"
            }
            return text
        }
        let top = group.tops[0]
        let strong = facts.strongCount(top)
        let outside =
            "held by a reference the snapshot cannot see (strong count \(strong)): "
            + "an Unmanaged reference, memory not allocated with malloc (mmap, a custom allocator) or a disguised pointer"
        if top == id { return "    " + outside + "\n" }
        var text = "    kept alive by \(describe(top)), \(outside)\n"
        if let chain = graph.findBackrefChain(to: id, where: { $0 == top }) {
            text += "    " + ChainText.line(chain, in: snapshot) + "\n"
        }
        return text
    }

    /// The shortest chain to `id` that starts at a global (or static) variable.
    func globalChain(to id: ObjectGraph.ObjectID) -> ReferenceChain? {
        let graph = facts.graph
        func globalRoot(_ v: ObjectGraph.ObjectID) -> HeapSnapshot.Root? {
            graph.roots(of: v).filter { $0.kind == .global }.min { $0.name < $1.name }
        }
        if let root = globalRoot(id) { return ReferenceChain(root: root, objects: [id], edges: []) }
        guard var chain = graph.findBackrefChain(to: id, where: { globalRoot($0) != nil }) else { return nil }
        chain.root = globalRoot(chain.objects[0])
        return chain
    }

    func describe(_ id: ObjectGraph.ObjectID) -> String {
        let snapshot = facts.graph.snapshot
        let age = facts.isNew.map { $0[id] ? "new " : "pre-existing " } ?? ""
        return "\(age)\(snapshot.type(of: id).shortName) 0x\(String(snapshot.objects[id].address, radix: 16))"
    }
}

/// `text` with `prefix` before each non-empty line.
private func indent(_ text: String, by prefix: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : prefix + $0 }
        .joined(separator: "\n")
}
