/// The entry points of swift-objgraph, named after Python's objgraph.
///
/// ```swift
/// try ObjGraph.startTracking()
/// ObjGraph.showGrowth()          // baseline
/// runScenario()
/// ObjGraph.showGrowth()
/// // Pair      200     +200
/// ```
///
/// Tracking is process-wide: once started, every Swift heap object allocated by any thread
/// (class instances, array/dictionary/set/string storage, closure contexts, boxes) is counted
/// per type until it is freed. Objects allocated before `startTracking()` are not counted.
public enum ObjGraph {}
