// The ObjGraph library from code: the README's library section is this program's output.
import LeakyScenarios
import ObjGraph

try ObjGraph.startTracking()
ObjGraph.showGrowth()  // baseline: prints what is alive already
print("--- showGrowth() after leaking 3 pairs and opening 2 sessions:")
makeLeakedPairs(3)
for id in 0..<2 { Session.open(id: id) }
ObjGraph.showGrowth()

print("--- showMostCommonTypes(limit: 3):")
ObjGraph.showMostCommonTypes(limit: 3)

print("--- count(\"Pair\"), bytes(\"Pair\"):", ObjGraph.count("Pair"), ObjGraph.bytes("Pair"))

print("--- whyAlive(Session.registry[1]):")
print(try ObjGraph.whyAlive(Session.registry[1]))

print("--- leaks, leaks-style (objects made on a fresh thread, this thread's older frames left out):")
ObjGraph.runOnFreshThread { makeClosureCycles(1) }
let graph = ObjectGraph(try ObjGraph.snapshot(includeOwnStack: false))
let screens = graph.leakingObjects().filter { group in
    group.members.contains { graph.snapshot.type(of: $0).shortName == "Screen" }
}
print(LeaksReport(graph: graph, groups: screens).text, terminator: "")

print("--- retained sizes (dominator tree), top 3 Swift types:")
let retained = graph.retainedSizes()
let top = graph.snapshot.types.indices.filter { graph.snapshot.types[$0].kind != .nativeBlock }
    .sorted { retained.perType[$0] > retained.perType[$1] }.prefix(3)
for index in top { print("  \(graph.snapshot.types[index].shortName): \(retained.perType[index]) bytes") }

try ObjGraph.showBackrefs([Session.registry[1]], to: "/tmp/objgraph-example-session.svg")
print("--- showBackrefs([Session.registry[1]], to: \"/tmp/objgraph-example-session.svg\") wrote the drawing")
