import Testing
import ObjGraph
import LeakyScenarios

final class AsyncHeld { var x = 1 }
final class AsyncHeld2 { var x = 1 }

@Suite struct Experiment {
    @Test func asyncFrames() async throws {
        try ObjGraph.startTracking()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let held = (0..<5).map { _ in AsyncHeld() }
                var more: [AsyncHeld2] = []
                for _ in 0..<3 { more.append(AsyncHeld2()) }
                try? await Task.sleep(nanoseconds: 500_000_000)
                withExtendedLifetime(held) {}
                withExtendedLifetime(more) {}
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: 200_000_000)
                let snap = try! ObjGraph.snapshot(includeOwnStack: false)
                let graph = ObjectGraph(snap)
                let groups = graph.leakingObjects()
                for g in groups {
                    let names = g.members.map { snap.type(of: $0).shortName }
                    if names.contains(where: { $0.contains("AsyncHeld") }) {
                        print("LEAKGROUP", names, g.tops.map { snap.objects[$0].strongCount }, g.tops.map { graph.incomingCount($0) })
                    }
                }
                for id in graph.objects(ofType: "AsyncHeld") + graph.objects(ofType: "AsyncHeld2") {
                    if let c = graph.findBackrefChain(to: id) { print("CHAIN", ChainText.line(c, in: snap)) } else { print("NOCHAIN", snap.type(of: id).shortName, snap.objects[id].strongCount, graph.incomingCount(id)) }
                }
            }
        }
    }
}
