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
        /// The cycle's objects, at most ``RunReport/maxCycleObjects`` of them unless the report is full.
        package var objects: [CycleObject]
        /// Objects of the cycle left out of `objects` (nil in reports of older agents).
        package var objectsOmitted: Int?
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
    /// The most objects of one cycle the JSON lists unless the report is full (a leaked ring of
    /// 100,000 nodes is one cycle).
    package static let maxCycleObjects = 1000

    /// Builds the report from a final snapshot. `growth` is the growth since the program started;
    /// `top` bounds the number of chains and cycles listed.
    package init(
        graph: ObjectGraph, growth allGrowth: [GrowthRow], top: Int = AgentSettings.defaultTop,
        maxCycles: Int = AgentSettings.defaultMaxCycles, full: Bool = false, program: String, duration: Double,
        tracking: TrackingStatus? = nil, memory: MemoryBreakdown? = nil,
        rootNames: (([HeapSnapshot.Root]) -> [String])? = nil
    ) {
        let snapshot = graph.snapshot
        // The counters name a closure context by its captures; the snapshot by its closure:
        // the growth table takes the snapshot's name where all the type's objects got one.
        var growth: [GrowthRow] = []
        var rowOf: [String: Int] = [:]
        for var row in allGrowth {
            if let name = snapshot.renamedTypes[row.name] { row.name = name }
            if let r = rowOf[row.name] {
                growth[r].count += row.count; growth[r].delta += row.delta
                growth[r].bytes += row.bytes; growth[r].bytesDelta += row.bytesDelta
            } else {
                rowOf[row.name] = growth.count
                growth.append(row)
            }
        }
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
            let all = forest.tops(of: g)
            let members = (full ? all[...] : all.prefix(RunReport.maxCycleObjects)).map(Int.init)
            let index = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1, $0) })
            cycles.append(
                Cycle(
                    objects: members.map {
                        CycleObject(
                            type: snapshot.type(of: $0).shortName,
                            address: "0x" + String(snapshot.objects[$0].address, radix: 16))
                    },
                    objectsOmitted: all.count - members.count,
                    edges: graph.cycleEdges(members).map {
                        CycleEdge(from: index[Int($0.from)]!, to: index[Int($0.to)]!, label: snapshot.label(of: $0))
                    },
                    leakedObjects: forest.members(of: g).count, leakedBytes: forest.bytes[g]))
        }
        let omitted = cycleGroups - cycles.count
        ExitPhases.mark("cycle list")

        // Who holds each of the fastest-growing types: a chain for one reachable instance (the
        // last in address order), unless the growth is in the leaks. An unrelated instance held
        // by a static must not stand for growth that sits in leaked cycles.
        // The C heap blocks' row counts malloc blocks, not a type with instances to explain.
        let rows = Array(growth.lazy.filter { $0.name != ObjGraph.nativeBlocksRowName }.prefix(top))
        var chains: [Chain] = []
        if !rows.isEmpty {
            let reachable = graph.reachableFromRoots()
            let instances = graph.lastReachableInstances(ofTypes: rows.map(\.name), reachable: reachable)
            let inLeaks = RunReport.leakedInstances(of: rows.map(\.name), in: graph, forest: forest)
            var search = ObjectGraph.BackrefSearch(count: graph.count)
            var found = instances.map { $0.flatMap { graph.findBackrefChain(to: $0, using: &search) } }
            // Roots captured without names (the agent names only those its chains show), all at once.
            let unnamed = found.indices.filter { found[$0]?.root?.name.isEmpty == true }
            if let rootNames, !unnamed.isEmpty {
                for (i, name) in zip(unnamed, rootNames(unnamed.map { found[$0]!.root! })) {
                    found[i]!.root!.name = name
                }
            }
            for (r, row) in rows.enumerated() {
                let leaked = inLeaks.counts[r], live = inLeaks.live[r]
                let held = live - leaked
                let place = inLeaks.allInCycles[r] ? "in leaked cycles" : "leaked"
                let chain = found[r]
                if leaked > 0 && (chain == nil || held <= max(0, row.count - row.delta)) {
                    // Every new instance can be a leaked one: the reachable ones (if any) are
                    // no more than there were at the start.
                    let new = min(row.delta, leaked)
                    chains.append(
                        Chain(
                            type: row.name, chain: "none reachable: all \(new) new instances are \(place) (see Leaks)"))
                } else if let chain {
                    var text = ChainText.line(chain, in: snapshot)
                    if leaked >= held {
                        text =
                            "\(leaked) of the \(live) instances are \(place) (see Leaks); "
                            + "\(held) reachable, e.g. \(text)"
                    } else if leaked > 0 {
                        text += " (and \(leaked) more \(place), see Leaks)"
                    }
                    chains.append(Chain(type: row.name, chain: text))
                }
            }
        }

        ExitPhases.mark("chains")
        let leaksText = LeaksReport(
            graph: graph, forest: forest, shortNames: true, lineLimit: full ? nil : LeaksReport.defaultLineLimit
        ).text
        ExitPhases.mark("leak text")
        self.init(
            program: program, durationSeconds: duration, types: types,
            growth: growth, leaks: leaks, cycles: cycles, cyclesOmitted: omitted, chains: chains,
            leaksText: leaksText, exit: nil, notes: snapshot.notes, tracking: tracking, memory: memory)
    }

    /// How many objects of each of the types `names` (full or short names) are live, how many
    /// are in the leak forest's groups, and whether all those groups are cycles. One pass over
    /// the objects and one over the forest's members, through a flat type -> row table.
    static func leakedInstances(
        of names: [String], in graph: ObjectGraph, forest: LeakForest
    ) -> (live: [Int], counts: [Int], allInCycles: [Bool]) {
        let snapshot = graph.snapshot
        // Flat (first row per type): a type answers to one row of a growth table.
        let rowOf = snapshot.rowsByType(names).map { Int32($0.first ?? -1) }
        var live = [Int](repeating: 0, count: names.count)
        var counts = [Int](repeating: 0, count: names.count)
        var allInCycles = [Bool](repeating: true, count: names.count)
        snapshot.objects.withUnsafeBufferPointer { objects in
            for object in objects where !object.isZombie {
                let r = rowOf[Int(object.typeIndex)]
                if r >= 0 { live[Int(r)] += 1 }
            }
            for id in forest.members {
                let r = rowOf[Int(objects[Int(id)].typeIndex)]
                guard r >= 0 else { continue }
                counts[Int(r)] += 1
                if !forest.isCycle[Int(forest.groupOf[Int(id)])] { allInCycles[Int(r)] = false }
            }
        }
        return (live, counts, allInCycles)
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
            if let omitted = c.objectsOmitted { w.field("objectsOmitted", omitted) }
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

    /// The human-readable report `objgraph run` prints, type names cut at
    /// ``TextTable/nameWidth`` in its tables.
    package var text: String { text(nameWidth: TextTable.nameWidth) }

    /// The report with table names cut at `nameWidth` characters (nil: whole, `--wide`).
    package func text(nameWidth: Int?) -> String {
        var out = "objgraph: \(program)"
        if let exit { out += " \(exit.description)" }
        out += " after \(TextTable.fixed(durationSeconds, 2)) s\n"
        let liveCount = types.reduce(0) { $0 + $1.count }, liveBytes = types.reduce(0) { $0 + $1.bytes }
        out += "\nLive objects: \(liveCount) in \(types.count) types (\(TextTable.bytes(liveBytes)))\n"
        out += TextTable.census(Array(types.prefix(15)), nameWidth: nameWidth)
        if types.count > 15 { out += "   ... \(types.count - 15) more types\n" }
        if let memory { out += "\n" + memory.text }
        out += "\nGrowth since start:\n"
        out += growth.isEmpty ? "   (none)\n" : TextTable.growth(Array(growth.prefix(15)), nameWidth: nameWidth)
        out += "\nLeaks:\n" + (leaksText.isEmpty ? "   (not analysed)\n" : leaksText)
        if !cycles.isEmpty && cyclesOmitted > 0 {
            out += "   (\(cyclesOmitted) more cycles omitted from the JSON report)\n"
        }
        if !chains.isEmpty {
            out += "\nWho holds the fastest-growing types:\n"
            for c in chains { out += "   \(TextTable.name(c.type, width: nameWidth)): \(c.chain)\n" }
        }
        for note in notes { out += "\nnote: \(note)\n" }
        return out
    }
}
