/// Text forms of reference chains.
package enum ChainText {
    /// `root --> Type --label--> Type ...` on one line.
    package static func line(_ chain: ReferenceChain, in snapshot: HeapSnapshot, shortNames: Bool = true) -> String {
        func name(_ id: Int) -> String {
            let type = snapshot.type(of: id)
            return shortNames ? type.shortName : type.name
        }
        var text = chain.root.map { "\($0.name) --> " } ?? ""
        text += name(chain.objects[0])
        for (index, edge) in chain.edges.enumerated() {
            text += " --\(snapshot.label(of: edge))--> " + name(chain.objects[index + 1])
        }
        let last = snapshot.objects[chain.objects.last!]
        return text + " 0x" + String(last.address, radix: 16)
    }
}
