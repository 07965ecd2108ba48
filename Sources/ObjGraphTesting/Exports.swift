// `import ObjGraphTesting` brings the whole ObjGraph API (startTracking, snapshots, drawings)
// into a test file.
@_exported import ObjGraph
