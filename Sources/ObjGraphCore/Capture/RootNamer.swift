import CObjGraphRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Names roots: globals by their demangled symbol, stack slots by thread.
struct RootNamer {
    let symbolizer: Symbolizer
    let selfThread: Int32
    private var cache: [UInt64: String] = [:]
    /// The main program, when no symbol named one of its globals (it was stripped).
    private(set) var imagesWithoutSymbols: Set<String> = []

    init(symbolizer: Symbolizer, selfThread: Int32) {
        self.symbolizer = symbolizer
        self.selfThread = selfThread
    }

    /// The name of the global whose storage holds `slot`: its symbol, else its image and offset.
    mutating func globalName(_ slot: UInt64) -> String {
        if let known = cache[slot] { return known }
        var name = symbolizer.symbol(containing: UInt(slot)).map { Symbolizer.rootName(fromDemangled: $0.demangled) }
        if name == nil, let (image, offset, stripped) = symbolizer.imageOffset(of: UInt(slot)) {
            if stripped { imagesWithoutSymbols.insert(image) }
            name = "global in \(image)+0x\(String(offset, radix: 16))"
        }
        let found = name ?? "global 0x\(String(slot, radix: 16))"
        cache[slot] = found
        return found
    }

    mutating func name(_ root: ogr_root) -> String {
        switch Int(root.kind) {
        case Int(OGR_ROOT_GLOBAL.rawValue):
            return globalName(root.slot)
        case Int(OGR_ROOT_OTHER.rawValue):
            return "heap memory allocated before tracking"
        default:
            let thread = root.thread
            let who = thread == getpid() ? "main thread" : thread < 0 ? "running thread" : "thread \(thread)"
            switch Int(root.kind) {
            case Int(OGR_ROOT_REGISTER.rawValue): return "\(who) registers"
            case Int(OGR_ROOT_TLS.rawValue): return "\(who) thread-local storage"
            default: return "\(who) stack"
            }
        }
    }
}
