// A heap of N live objects with the shapes real programs have, and the timings taken on it:
// growth tables, snapshot, back-reference chain, cycles, leaks, memory per tracked object.
//
// Shape (N objects in all):
//   * chains of 10 `HeapNode`s, each node holding one `HeapLeaf`, rooted in the global array
//     `worldRoots`: 98% of the objects, reachable;
//   * every 10th chain closed into a ring (last.back = head): reachable retain cycles;
//   * N/100 leaked `Pair` pairs (LeakyScenarios.makeLeakedPairs): 2% of the objects, leaked.
// The chain target is the leaf of the last node of the middle chain: 11 references from the
// global (worldRoots -> array storage -> 10 nodes -> leaf).
import CObjGraphRuntime
import LeakyScenarios
import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

final class HeapNode {
    var next: HeapNode?
    var leaf: HeapLeaf?
    var back: HeapNode?
    let id: Int
    init(id: Int) { self.id = id }
}

final class HeapLeaf {
    let value: Int
    init(_ value: Int) { self.value = value }
}

nonisolated(unsafe) var worldRoots: [HeapNode] = []
nonisolated(unsafe) var extraLeaves: [HeapLeaf] = []

let chainLength = 10

struct World {
    var chains: Int
    var leakedPairs: Int
    var objects: Int { chains * chainLength * 2 + leakedPairs * 2 + 1 }
}

@inline(never)
func buildWorld(objects n: Int) -> World {
    let pairs = n / 100
    let chains = max(1, (n - 2 * pairs) / (2 * chainLength))
    var roots: [HeapNode] = []
    roots.reserveCapacity(chains)
    for c in 0..<chains {
        let head = HeapNode(id: c * chainLength)
        head.leaf = HeapLeaf(c)
        var tail = head
        for k in 1..<chainLength {
            let node = HeapNode(id: c * chainLength + k)
            node.leaf = HeapLeaf(k)
            tail.next = node
            tail = node
        }
        if c % 10 == 0 { tail.back = head }
        roots.append(head)
    }
    worldRoots = roots
    makeLeakedPairs(pairs)
    return World(chains: chains, leakedPairs: pairs)
}

/// The address of the chain target (never kept in a variable that outlives this call).
@inline(never)
func targetAddress(_ world: World) -> UInt64 {
    var node = worldRoots[world.chains / 2]
    while let next = node.next { node = next }
    return ObjGraph.address(of: node.leaf!)
}

@inline(never)
func targetObject(_ world: World) -> HeapLeaf {
    var node = worldRoots[world.chains / 2]
    while let next = node.next { node = next }
    return node.leaf!
}

/// 2^(depth+1) - 1 distinct generic class instantiations (TypeSeed<L<R<...>>>), one object each:
/// growth tables cost O(types), so measure them with many types too.
final class TypeSeed<T> {}
struct L<T> {}
struct R<T> {}
nonisolated(unsafe) var typeSeeds: [AnyObject] = []

@inline(never)
func spawnTypes<T>(_: T.Type, depth: Int) {
    typeSeeds.append(TypeSeed<T>())
    if depth == 0 { return }
    spawnTypes(L<T>.self, depth: depth - 1)
    spawnTypes(R<T>.self, depth: depth - 1)
}

@inline(never)
func growAFew(_ k: Int) {
    for i in 0..<k { extraLeaves.append(HeapLeaf(i)) }
}

/// N C heap blocks of 32 bytes, reachable: a malloc'd table of their pointers a global holds
/// (what a C library keeps). Returns the table.
nonisolated(unsafe) var cBlockTable: UnsafeMutablePointer<UnsafeMutableRawPointer?>? = nil

@inline(never)
func buildCBlocks(_ n: Int) {
    let table = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: n)
    for i in 0..<n {
        let block = malloc(32)!
        block.storeBytes(of: i, as: Int.self)
        table[i] = block
    }
    cBlockTable = table
}

/// `objgraph-bench heap N`: tracked; builds the world, times the queries, prints `@` lines.
func runHeap(_ arguments: [String]) -> Int32 {
    guard let n = arguments.first.flatMap({ Int($0) }) else { print("usage: heap N"); return 2 }
    do { try ObjGraph.startTracking() } catch {
        report("error", "startTracking failed: \(error)")
        return 1
    }
    let (buildSeconds, world) = timed { buildWorld(objects: n) }
    report("objects", world.objects)
    report("build", buildSeconds)
    let small = n <= 100_000

    // Growth tables: O(types x threads), never O(heap).
    let (firstGrowth, firstRows) = timed { ObjGraph.growth(limit: 10) }
    report("growth_first", firstGrowth)
    report("growth_first_rows", firstRows.count)
    var growthTimes: [Double] = [], showTimes: [Double] = [], statsTimes: [Double] = []
    var lastText = ""
    for _ in 0..<31 {
        growAFew(5)
        growthTimes.append(timed { ObjGraph.growth(limit: 10) }.0)
        growAFew(5)
        showTimes.append(
            timed { () -> Int in
                var text = ""
                ObjGraph.showGrowth(limit: 10, to: &text)
                lastText = text
                return text.count
            }.0)
        statsTimes.append(timed { ObjGraph.typeStats().count }.0)
    }
    report("growth", median(growthTimes))
    report("show_growth", median(showTimes))
    report("type_stats", median(statsTimes))
    report("show_growth_sample", lastText.split(separator: "\n").first.map(String.init) ?? "(empty)")
    report("types", ObjGraph.registryTypeNames().count)

    // The same with about a thousand more types.
    spawnTypes(Int.self, depth: 9)
    _ = ObjGraph.growth(limit: 10)  // names the new types once
    var manyTimes: [Double] = []
    for _ in 0..<31 {
        growAFew(5)
        manyTimes.append(
            timed { () -> Int in
                var text = ""
                ObjGraph.showGrowth(limit: 10, to: &text)
                return text.count
            }.0)
    }
    report("show_growth_many_types", median(manyTimes))
    report("types_many", ObjGraph.registryTypeNames().count)

    // The C capture alone (heap walk, reference scan, roots), then the full Swift snapshot.
    let captureTime = medianTime(reps: small ? 5 : 3) {
        var capture = ogr_capture_result()
        ogr_capture(&capture, OGR_CAPTURE_SKIP_OWN_STACK)
        ogr_capture_free(&capture)
    }
    report("capture_c", captureTime)
    var snapshot: HeapSnapshot? = nil
    let snapshotTime = medianTime(reps: small ? 5 : 3) {
        snapshot = nil
        snapshot = try! ObjGraph.snapshot(includeOwnStack: false)
    }
    report("snapshot", snapshotTime)
    report("snapshot_objects", snapshot!.objects.count)
    report("snapshot_edges", snapshot!.edges.count)
    report("snapshot_roots", snapshot!.roots.count)
    var graph: ObjectGraph? = nil
    let indexTime = medianTime(reps: 3) { graph = ObjectGraph(snapshot!) }
    report("index", indexTime)
    let g = graph!

    // Back-reference chain: the search alone, then end to end (snapshot + index + search).
    if let target = g.snapshot.object(at: targetAddress(world)) {
        var chain: ReferenceChain? = nil
        report("chain_search", medianTime(reps: 5) { chain = g.findBackrefChain(to: target) })
        report("chain_length", chain.map { $0.edges.count } ?? -1)
        report("chain_root", chain?.root?.name ?? "none")
    } else {
        report("chain_search", Double.nan)
        report("chain_length", -1)
    }
    let endToEnd = medianTime(reps: small ? 3 : 1, warmup: 0) {
        let object = targetObject(world)
        _ = try! ObjGraph.findBackrefChain(to: object)
    }
    report("chain_end_to_end", endToEnd)

    var cycles: [RetainCycle] = []
    report("cycles", medianTime(reps: 3) { cycles = g.cycles() })
    report("cycles_found", cycles.count)
    report("cycles_expected", world.leakedPairs + (world.chains + 9) / 10)
    var leaks: [LeakGroup] = []
    report("leaks", medianTime(reps: 3) { leaks = g.leakingObjects() })
    report("leak_groups", leaks.count)
    report("leaked_objects", leaks.reduce(0) { $0 + $1.members.count })
    report("leaked_expected", 2 * world.leakedPairs)
    // Leaked objects that are not the planted Pairs: objects held only from memory the capture
    // does not scan (runtime-internal C++ structures), reported as leaks.
    var others: [String: Int] = [:]
    for group in leaks {
        for id in group.members where g.snapshot.type(of: id).shortName != "Pair" {
            others[g.snapshot.type(of: id).shortName, default: 0] += 1
        }
    }
    report(
        "leaked_other_types",
        others.isEmpty
            ? "none" : others.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
    report("rss", residentBytes())
    withExtendedLifetime(snapshot) {}
    snapshot = nil
    graph = nil

    // As many C heap blocks again (a C library's table of them): the whole heap in the snapshot.
    buildCBlocks(n)
    var withBlocks: HeapSnapshot? = nil
    let blocksTime = medianTime(reps: small ? 5 : 3) {
        withBlocks = nil
        withBlocks = try! ObjGraph.snapshot(includeOwnStack: false)
    }
    report("snapshot_with_blocks", blocksTime)
    report("snapshot_with_blocks_nodes", withBlocks!.objects.count)
    let blockGraph = ObjectGraph(withBlocks!)
    let blockLeaks = blockGraph.leakingObjects()
    var leakedTypes: [String: Int] = [:]
    for group in blockLeaks {
        for id in group.members { leakedTypes[blockGraph.snapshot.type(of: id).shortName, default: 0] += 1 }
    }
    // The planted Pairs, and any C block (none: the table holds them all). Arrays the benchmark
    // itself holds in local variables are left out, as above.
    report("leaked_with_blocks", (leakedTypes["Pair"] ?? 0) + (leakedTypes["malloc block"] ?? 0))
    report(
        "leaked_with_blocks_types",
        leakedTypes.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
    return 0
}

/// `objgraph-bench mem N [--tracked]`: RSS growth while building the world.
func runMemory(_ arguments: [String]) -> Int32 {
    guard let n = arguments.first.flatMap({ Int($0) }) else { print("usage: mem N [--tracked]"); return 2 }
    let tracked = arguments.contains("--tracked")
    if tracked {
        do { try ObjGraph.startTracking() } catch {
            report("error", "startTracking failed: \(error)")
            return 1
        }
    }
    // Warm up allocator and metadata with a small world first, so both variants start alike.
    _ = buildWorld(objects: 1000)
    worldRoots = []
    let before = residentBytes()
    let world = buildWorld(objects: n)
    let after = residentBytes()
    report("objects", world.objects)
    report("rss_delta", after - before)
    if arguments.contains("--smaps"), let smaps = readFile("/proc/self/smaps") {
        // Mappings with more than 64 KiB resident: where the memory went.
        var header = ""
        for line in smaps.split(separator: "\n") {
            if line.first?.isHexDigit == true && line.contains("-") { header = String(line) }
            if line.hasPrefix("Rss:"), let kb = Int(line.split(separator: " ")[1]), kb > 64 {
                print("\(kb) kB  \(header)")
            }
        }
    }
    if arguments.contains("--blocks") {
        // The same number of C heap blocks on top: memory per tracked block.
        let beforeBlocks = residentBytes()
        buildCBlocks(n)
        report("rss_delta_blocks", residentBytes() - beforeBlocks)
        report("blocks", n)
    }
    if tracked {
        let rows = ObjGraph.census(shortNames: true)
        let objects = rows.reduce(0) { $0 + $1.count }
        let bytes = rows.reduce(0) { $0 + $1.bytes }
        report("tracked_objects", objects)
        report("tracked_bytes", bytes)
    }
    return 0
}
