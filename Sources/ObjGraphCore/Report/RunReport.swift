/// What `objgraph run` learns about a program: the live types at the end, their growth, the
/// leaked objects and cycles, and back-reference chains for the types that grew most.
///
/// The agent inside the program builds it at exit
/// (``RunReport/init(graph:growth:top:maxCycles:program:duration:)``) and writes it as JSON; the
/// `objgraph` command reads it back (it is `Codable`), adds how the program ended, and prints
/// ``text``. Part of the agent's hand-off (AgentHandoff.swift).
package struct RunReport: Codable, Sendable, Equatable {
    package struct LeakRow: Codable, Sendable, Equatable {
        package var type: String
        package var count: Int
        package var bytes: Int
    }

    package struct CycleObject: Codable, Sendable, Equatable {
        package var type: String
        package var address: String
    }

    package struct CycleEdge: Codable, Sendable, Equatable {
        /// Index into `objects`.
        package var from: Int
        package var to: Int
        package var label: String
    }

    package struct Cycle: Codable, Sendable, Equatable {
        package var objects: [CycleObject]
        package var edges: [CycleEdge]
        /// Leaked objects held by the cycle, the cycle's members included.
        package var leakedObjects: Int
        package var leakedBytes: Int
    }

    package struct Chain: Codable, Sendable, Equatable {
        package var type: String
        /// `static Session.registry --> Array<Session> storage --[3]--> Session 0x...`
        package var chain: String
    }

    package struct Exit: Codable, Sendable, Equatable {
        /// Exit status when the program exited.
        package var status: Int?
        /// Signal number when a signal ended it.
        package var signal: Int?
        package var description: String
        package init(status: Int?, signal: Int?, description: String) {
            self.status = status
            self.signal = signal
            self.description = description
        }
    }

    package var program: String
    package var durationSeconds: Double
    package var types: [TypeCount]
    package var growth: [GrowthRow]
    package var leaks: [LeakRow]
    package var cycles: [Cycle]
    /// Cycles not listed in `cycles` because there were too many.
    package var cyclesOmitted: Int
    package var chains: [Chain]
    /// The `leaks`-style text of the leak groups.
    package var leaksText: String
    package var exit: Exit?
    package var notes: [String]
    /// How tracking went (nil in reports of older agents).
    package var tracking: TrackingStatus?
    /// Where the memory goes (nil when the program ended before the agent's exit handler).
    package var memory: MemoryBreakdown?

    package init(
        program: String, durationSeconds: Double, types: [TypeCount], growth: [GrowthRow], leaks: [LeakRow],
        cycles: [Cycle], cyclesOmitted: Int, chains: [Chain], leaksText: String, exit: Exit?, notes: [String],
        tracking: TrackingStatus? = nil, memory: MemoryBreakdown? = nil
    ) {
        self.program = program
        self.durationSeconds = durationSeconds
        self.types = types
        self.growth = growth
        self.leaks = leaks
        self.cycles = cycles
        self.cyclesOmitted = cyclesOmitted
        self.chains = chains
        self.leaksText = leaksText
        self.exit = exit
        self.notes = notes
        self.tracking = tracking
        self.memory = memory
    }
}

extension RunReport {
    /// Builds the report from a final snapshot. `growth` is the growth since the program started;
    /// `top` bounds the number of chains and cycles listed.
    package init(
        graph: ObjectGraph, growth: [GrowthRow], top: Int = AgentSettings.defaultTop,
        maxCycles: Int = AgentSettings.defaultMaxCycles, program: String, duration: Double,
        tracking: TrackingStatus? = nil, memory: MemoryBreakdown? = nil
    ) {
        let snapshot = graph.snapshot
        // Tallies by type index first (no string work per object), then merged by short name.
        func tally<IDs: Sequence>(_ ids: IDs) -> [(name: String, count: Int, bytes: Int)]
        where IDs.Element: BinaryInteger {
            var counts = [Int](repeating: 0, count: snapshot.types.count)
            var bytes = [Int](repeating: 0, count: snapshot.types.count)
            for id in ids {
                let object = snapshot.objects[Int(id)]
                counts[Int(object.typeIndex)] += 1
                bytes[Int(object.typeIndex)] += Int(object.size)
            }
            var byName: [String: (count: Int, bytes: Int)] = [:]
            for type in snapshot.types.indices where counts[type] > 0 {
                let name = snapshot.types[type].shortName
                byName[name, default: (0, 0)].count += counts[type]
                byName[name]!.bytes += bytes[type]
            }
            return byName.map { (name: $0.key, count: $0.value.count, bytes: $0.value.bytes) }
                .sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
        }
        // Swift objects only: the C heap's blocks are in the memory section.
        let native = snapshot.types.map { $0.kind == .nativeBlock }
        let types = tally(
            snapshot.objects.indices.lazy.filter {
                !snapshot.objects[$0].isZombie && !native[Int(snapshot.objects[$0].typeIndex)]
            }
        )
        .map { TypeCount(name: $0.name, count: $0.count, bytes: $0.bytes) }

        ExitPhases.mark("census")
        let forest = graph.leakForest()
        ExitPhases.mark("leak forest")
        let leaks = tally(forest.members).map { LeakRow(type: $0.name, count: $0.count, bytes: $0.bytes) }

        var cycles: [Cycle] = []
        var cycleGroups = 0
        for g in 0..<forest.count where forest.isCycle[g] {
            cycleGroups += 1
            guard cycles.count < maxCycles else { continue }
            let members = forest.tops(of: g).map(Int.init)
            let index = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1, $0) })
            cycles.append(
                Cycle(
                    objects: members.map {
                        CycleObject(
                            type: snapshot.type(of: $0).shortName,
                            address: "0x" + String(snapshot.objects[$0].address, radix: 16))
                    },
                    edges: graph.cycleEdges(members).map {
                        CycleEdge(from: index[Int($0.from)]!, to: index[Int($0.to)]!, label: snapshot.label(of: $0))
                    },
                    leakedObjects: forest.members(of: g).count, leakedBytes: forest.bytes[g]))
        }
        let omitted = cycleGroups - cycles.count
        ExitPhases.mark("cycle list")

        // A chain for one surviving, reachable instance (the last in address order) of each of
        // the fastest-growing types.
        let rows = Array(growth.prefix(top))
        var chains: [Chain] = []
        if !rows.isEmpty {
            let found = graph.lastReachableInstances(ofTypes: rows.map(\.name), reachable: graph.reachableFromRoots())
            var search = ObjectGraph.BackrefSearch(count: graph.count)
            for (r, row) in rows.enumerated() {
                guard let id = found[r], let chain = graph.findBackrefChain(to: id, using: &search) else { continue }
                chains.append(Chain(type: row.name, chain: ChainText.line(chain, in: snapshot)))
            }
        }

        ExitPhases.mark("chains")
        let leaksText = LeaksReport(graph: graph, forest: forest, shortNames: true).text
        ExitPhases.mark("leak text")
        self.init(
            program: program, durationSeconds: duration, types: types,
            growth: growth, leaks: leaks, cycles: cycles, cyclesOmitted: omitted, chains: chains,
            leaksText: leaksText, exit: nil, notes: snapshot.notes, tracking: tracking, memory: memory)
    }

    /// The report as JSON, written without Foundation.
    package var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("program", program)
        w.field("durationSeconds", durationSeconds)
        w.key("types"); w.beginArray()
        for t in types { t.write(to: &w) }
        w.endArray()
        w.key("growth"); w.beginArray()
        for g in growth { g.write(to: &w) }
        w.endArray()
        w.key("leaks"); w.beginArray()
        for l in leaks {
            w.beginObject(); w.field("type", l.type); w.field("count", l.count); w.field("bytes", l.bytes);
            w.endObject()
        }
        w.endArray()
        w.key("cycles"); w.beginArray()
        for c in cycles {
            w.beginObject()
            w.key("objects"); w.beginArray()
            for o in c.objects {
                w.beginObject(); w.field("type", o.type); w.field("address", o.address); w.endObject()
            }
            w.endArray()
            w.key("edges"); w.beginArray()
            for e in c.edges {
                w.beginObject(); w.field("from", e.from); w.field("to", e.to); w.field("label", e.label); w.endObject()
            }
            w.endArray()
            w.field("leakedObjects", c.leakedObjects)
            w.field("leakedBytes", c.leakedBytes)
            w.endObject()
        }
        w.endArray()
        w.field("cyclesOmitted", cyclesOmitted)
        w.key("chains"); w.beginArray()
        for c in chains { w.beginObject(); w.field("type", c.type); w.field("chain", c.chain); w.endObject() }
        w.endArray()
        w.field("leaksText", leaksText)
        w.key("exit")
        if let exit {
            w.beginObject()
            w.key("status"); if let s = exit.status { w.value(s) } else { w.null() }
            w.key("signal"); if let s = exit.signal { w.value(s) } else { w.null() }
            w.field("description", exit.description)
            w.endObject()
        } else {
            w.null()
        }
        w.key("notes"); w.beginArray()
        for n in notes { w.value(n) }
        w.endArray()
        w.key("tracking")
        if let tracking { tracking.write(to: &w) } else { w.null() }
        w.key("memory")
        if let memory { memory.write(to: &w) } else { w.null() }
        w.endObject()
        return w.text + "\n"
    }

    /// The human-readable report `objgraph run` prints.
    package var text: String {
        var out = "objgraph: \(program)"
        if let exit { out += " \(exit.description)" }
        out += " after \(TextTable.fixed(durationSeconds, 2)) s\n"
        let liveCount = types.reduce(0) { $0 + $1.count }, liveBytes = types.reduce(0) { $0 + $1.bytes }
        out += "\nLive objects: \(liveCount) in \(types.count) types (\(TextTable.bytes(liveBytes)))\n"
        out += TextTable.census(Array(types.prefix(15)))
        if types.count > 15 { out += "   ... \(types.count - 15) more types\n" }
        if let memory { out += "\n" + memory.text }
        out += "\nGrowth since start:\n"
        out += growth.isEmpty ? "   (none)\n" : TextTable.growth(Array(growth.prefix(15)))
        out += "\nLeaks:\n" + (leaksText.isEmpty ? "   (not analysed)\n" : leaksText)
        if !cycles.isEmpty && cyclesOmitted > 0 {
            out += "   (\(cyclesOmitted) more cycles omitted from the JSON report)\n"
        }
        if !chains.isEmpty {
            out += "\nWho holds the fastest-growing types:\n"
            for c in chains { out += "   \(c.type): \(c.chain)\n" }
        }
        for note in notes { out += "\nnote: \(note)\n" }
        return out
    }
}
