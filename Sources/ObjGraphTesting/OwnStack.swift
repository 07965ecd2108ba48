import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

/// Objects held by the test itself: variables of the test method that the body assigned to
/// (`var kept: Item?; assertNoLeaks { kept = Item() }`).
///
/// Snapshots leave the checking thread's stack out, because stale words in its older frames can
/// equal a new object's address. This second look reads only a bounded window of that stack,
/// from the frame where the check was entered (its `anchor`) up to ``window`` bytes toward
/// older frames: the test method's frame, not the runner's frames above it, and none of the
/// check's own frames below it. It is used only to *excuse* an object that would otherwise be
/// blamed for being held by something the snapshot cannot see, or (with concurrent tests) to
/// count growth the test itself holds.
enum OwnStack {
    /// Bytes of stack above the anchor that are read.
    static let window: UInt = 16 * 1024

    /// The address of a slot in the caller's frame: the lower end of the window. Call it first
    /// thing in a check's entry point.
    @inline(never)
    static func anchor() -> UInt {
        var slot: UInt = 0
        return withUnsafeMutablePointer(to: &slot) { UInt(bitPattern: $0) }
    }

    /// Objects of `graph` whose address is a word in the window above `anchor`, and everything
    /// they reach over strong references.
    static func held(above anchor: UInt, in graph: ObjectGraph) -> [Bool] {
        var held = [Bool](repeating: false, count: graph.count)
        guard anchor != 0, let end = stackEnd(containing: anchor) else { return held }
        let snapshot = graph.snapshot
        var stack: [Int32] = []
        var word = (anchor + 7) & ~7
        let limit = min(end, anchor + window)
        while word + 8 <= limit {
            let value = UnsafePointer<UInt64>(bitPattern: word)!.pointee
            if value != 0, let id = snapshot.object(at: value), !held[id] {
                held[id] = true
                stack.append(Int32(id))
            }
            word += 8
        }
        while let next = stack.popLast() {
            for edge in graph.outgoing(Int(next)) where edge.kind.isStrong && !held[Int(edge.to)] {
                held[Int(edge.to)] = true
                stack.append(edge.to)
            }
        }
        return held
    }

    /// The end (highest address) of the mapping that holds `address`, from /proc/self/maps.
    static func stackEnd(containing address: UInt) -> UInt? {
        MemoryMap.current()?.region(containing: UInt64(address)).map { UInt($0.end) }
    }
}
