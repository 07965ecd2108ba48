/// A set of object ids that scans an array while small: leak groups and cycles are usually a
/// handful of objects, and hashing each of 100,000 of them dominated the exit report.
struct SmallIDSet {
    private var small: [Int] = []
    private var large: Set<Int>?

    init<S: Sequence>(_ ids: S) where S.Element == Int {
        for id in ids { insert(id) }
    }

    func contains(_ id: Int) -> Bool {
        if let large { return large.contains(id) }
        return small.contains(id)
    }

    mutating func insert(_ id: Int) {
        if large != nil { large!.insert(id); return }
        if small.contains(id) { return }
        small.append(id)
        if small.count > 16 { large = Set(small) }
    }
}
