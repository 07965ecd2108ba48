import CObjGraphRuntime
import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

/// Called by the C constructor (agent_init.c) when the dynamic loader maps the agent.
@_cdecl("objgraph_agent_start")
public func objgraphAgentStart() {
    // This runs on the program's main thread before `main`: the agent's own objects are left
    // out of the counts, and counting the program's starts when this returns.
    ogr_suppress_begin()
    defer { ogr_suppress_end() }
    let settings = AgentSettings.fromProcessEnvironment()
    // Programs the observed one starts do not load the agent or take its settings.
    AgentSettings.clearProcessEnvironment()
    removeAgentFromPreload()
    do {
        try ObjGraph.startTracking()
    } catch {
        let reason = (error as? TrackingError)?.description ?? String(describing: error)
        if let directory = settings.directory {
            // The `objgraph` command says it, in one line.
            try? AtomicFile.write("\(reason)\n", to: AgentFiles(directory: directory).error, durable: false)
        } else {
            var err = StandardError()
            err.write("objgraph: tracking disabled: \(reason)\n")
        }
        return
    }
    let agent = Agent(settings: settings)
    Agent.current = agent
    agent.start()
}

/// Drops this library from LD_PRELOAD, keeping anything else the user preloads.
private func removeAgentFromPreload() {
    guard let raw = getenv("LD_PRELOAD") else { return }
    let kept = String(cString: raw).split(whereSeparator: { $0 == ":" || $0 == " " })
        .filter { !$0.contains("libObjGraphAgent") }
    if kept.isEmpty { unsetenv("LD_PRELOAD") } else { setenv("LD_PRELOAD", kept.joined(separator: ":"), 1) }
}
