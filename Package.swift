// swift-tools-version:6.0
//
// swift-objgraph: objgraph for Swift. The pipeline reads top to bottom:
//   CObjGraphRuntime (C hooks, registry, heap walk)
//     -> ObjGraphCore (capture, snapshot, analyse, text reports)
//       -> ObjGraphRender (Graphviz drawings through libgvc)
//         -> ObjGraph (umbrella), ObjGraphTesting, ObjGraphAgent, objgraph CLI
// Nothing imports anything above itself.
import PackageDescription

let fixtureNames = [
    "leaky-pairs", "leaky-closures", "leaky-registry", "leaky-threads", "leaky-zoo", "growing-cache",
    "fixed-zoo", "crashy", "generic-closure", "whole-heap", "report-shapes",
]

let package = Package(
    name: "swift-objgraph",
    products: [
        .library(name: "ObjGraph", targets: ["ObjGraph"]),
        .library(name: "ObjGraphTesting", targets: ["ObjGraphTesting"]),
        .library(name: "ObjGraphAgent", type: .dynamic, targets: ["ObjGraphAgent"]),
        .executable(name: "objgraph", targets: ["objgraph"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // Runtime hooks: allocation hook, `free` interposer, live-object shadow map, heap walk.
        .target(
            name: "CObjGraphRuntime",
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        // Graphviz's headers (libgraphviz-dev); its libraries are loaded with dlopen on first
        // use, so only drawing needs them at run time.
        .target(name: "CGraphviz", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "ObjGraphCore", dependencies: ["CObjGraphRuntime"]),
        .target(name: "ObjGraphRender", dependencies: ["ObjGraphCore", "CGraphviz"]),
        .target(name: "ObjGraph", dependencies: ["ObjGraphCore", "ObjGraphRender"]),
        .target(name: "ObjGraphTesting", dependencies: ["ObjGraph"]),
        // The preloaded agent: a C constructor and signal handlers, the rest in Swift.
        .target(name: "CObjGraphAgentInit", dependencies: ["CObjGraphRuntime"]),
        // Core only: the program under `objgraph run` gets no Graphviz (the command draws).
        .target(name: "ObjGraphAgent", dependencies: ["ObjGraphCore", "CObjGraphRuntime", "CObjGraphAgentInit"]),
        .executableTarget(
            name: "objgraph",
            dependencies: ["ObjGraph", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/objgraph-cli"
        ),

        // Small leaky programs used by tests, demos and benchmarks. They know nothing of ObjGraph.
        .target(name: "LeakyScenarios", path: "fixtures/LeakyScenarios"),
        // One of every kind of heap object real code makes (generic closures, packs, actors...).
        .target(name: "TypeZoo", path: "fixtures/TypeZoo"),
    ]
        + fixtureNames.map { name in
            .executableTarget(name: name, dependencies: ["LeakyScenarios"], path: "fixtures/\(name)")
        } + [
            .executableTarget(name: "type-zoo", dependencies: ["TypeZoo"], path: "fixtures/type-zoo"),
            .executableTarget(
                name: "objgraph-example", dependencies: ["ObjGraph", "LeakyScenarios"],
                path: "Examples/objgraph-example"),
            .executableTarget(
                name: "objgraph-bench", dependencies: ["ObjGraph", "LeakyScenarios"], path: "Benchmarks/objgraph-bench"),

            .testTarget(name: "ObjGraphCoreTests", dependencies: ["ObjGraphCore", "LeakyScenarios"]),
            .testTarget(name: "ObjGraphRenderTests", dependencies: ["ObjGraph", "LeakyScenarios", "TypeZoo"]),
            .testTarget(name: "ObjGraphTestingTests", dependencies: ["ObjGraphTesting", "LeakyScenarios"]),
            .testTarget(
                name: "ObjGraphCLITests",
                // Not the agent: test targets link into one executable, and the agent's load-time
                // constructor must never run there. scripts/test builds the agent library first.
                dependencies: [.target(name: "objgraph"), "ObjGraph", "type-zoo"]
                    + fixtureNames.map { .target(name: $0) }
            ),
        ]
)
