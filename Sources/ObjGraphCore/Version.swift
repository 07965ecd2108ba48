/// The version of swift-objgraph, as `objgraph --version` prints it. Bumped with each tag.
package enum ObjGraphVersion {
    package static let current = "0.2.0"
}
