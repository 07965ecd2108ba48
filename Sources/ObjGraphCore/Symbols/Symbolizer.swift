import CObjGraphRuntime
import Glibc

/// Names addresses in this process: functions (closure bodies, methods) and globals.
///
/// Reads the ELF symbol tables (`.symtab`, else `.dynsym`) of every image that
/// `dl_iterate_phdr` reports, from the files on disk, each the first time an address inside it
/// is asked about. Swift names are demangled with the runtime's `swift_demangle`.
///
/// ```swift
/// let symbols = Symbolizer()
/// symbols.symbol(containing: address)?.demangled  // "static Fixtures.Session.registry : [Fixtures.Session]"
/// symbols.globalName(containing: address)         // "static Fixtures.Session.registry"
/// symbols.functionName(containing: fnPointer)     // "closure #1 in Fixtures.Screen.bind()"
/// ```
///
/// Thread-safe. Never crashes on stripped or unreadable images: their addresses give `nil`.
public final class Symbolizer: @unchecked Sendable {
    private let lock = SymbolLock()
    private var images: [SymbolImage] = []
    private var imageAdds: UInt64 = 0
    private var functionNames: [UInt: String?] = [:]
    private var shortFunctionNames: [UInt: String?] = [:]

    /// Lists the loaded images; their symbol tables are read lazily.
    public init() {
        (images, imageAdds) = SymbolImage.all()
    }

    /// The symbol whose storage or code holds `address`.
    ///
    /// - Returns: the raw symbol `name`, its `demangled` form (the same text for non-Swift
    ///   names), and its run-time `start` and `size`; nil when no symbol covers the address.
    public func symbol(containing address: UInt) -> (name: String, demangled: String, start: UInt, size: UInt)? {
        guard let (name, start, size) = lock.withLock({ rawSymbol(containing: address) }) else { return nil }
        return (name, Self.demangle(name), start, size)
    }

    /// Readable name of the function holding `address`, signatures dropped:
    /// `closure #1 in Fixtures.Screen.bind()`, `Fixtures.Screen.handle(_:)`-style text as the
    /// demangler prints it. With `shortNames`, module prefixes are dropped too
    /// (`closure #1 in Screen.bind()`). Nil for thunks and unknown addresses. Cached.
    public func functionName(containing address: UInt, shortNames: Bool = false) -> String? {
        if let cached = lock.withLock({ shortNames ? shortFunctionNames[address] : functionNames[address] }) {
            return cached
        }
        var name: String? = nil
        if let symbol = symbol(containing: address) {
            name = Self.simplifiedFunctionName(symbol.demangled)
            if shortNames { name = name.map(TypeNames.shortName) }
        }
        lock.withLock {
            if shortNames { shortFunctionNames[address] = name } else { functionNames[address] = name }
        }
        return name
    }

    /// The file name of the image holding `address` and the address's offset from the image's
    /// load address, for naming what no symbol covers (a stripped binary):
    /// `("leaky-zoo", 0x3c5d18, true)`; `isStrippedMainProgram` when the image is the main
    /// program and it has no `.symtab`. Nil for addresses outside every image.
    public func imageOffset(of address: UInt) -> (image: String, offset: UInt, isStrippedMainProgram: Bool)? {
        lock.withLock {
            guard let image = images.first(where: { $0.contains(address) }) else { return nil }
            let table = image.loadedTable()
            var path = image.path
            let isMainProgram = path == "/proc/self/exe"
            if isMainProgram {
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                if readlink(path, &buffer, buffer.count - 1) > 0 { path = String(cBuffer: buffer) }
            }
            let stripped = isMainProgram && (table?.isStripped ?? true)
            return (String(path.split(separator: "/").last ?? Substring(path)), address &- image.bias, stripped)
        }
    }

    /// Looks up many addresses in one pass over each image's symbol table, so that the
    /// ``symbol(containing:)`` calls that follow for them are answered from memory: what a
    /// snapshot does for its globals before naming them one by one.
    public func prefetch(_ addresses: [UInt]) {
        lock.withLock {
            var byImage: [ObjectIdentifier: (image: SymbolImage, addresses: [UInt])] = [:]
            for address in addresses {
                guard let image = images.first(where: { $0.contains(address) }) else { continue }
                byImage[ObjectIdentifier(image), default: (image, [])].addresses.append(address &- image.bias)
            }
            for (image, linkAddresses) in byImage.values {
                guard let table = image.loadedTable(), !table.isSorted else { continue }
                let missing = linkAddresses.filter { image.known[$0] == nil }
                guard missing.count > 1 else { continue }
                let found = table.indices(containing: missing)
                for address in missing { image.known[address] = found[address] ?? -1 }
            }
        }
    }

    /// The main program's file name when one of `addresses` lies in it and it has no `.symtab`
    /// (it was stripped): its globals can be named only by offset.
    public func strippedMainProgram(among addresses: [UInt]) -> String? {
        guard let main = lock.withLock({ images.first { $0.path == "/proc/self/exe" } }),
            addresses.contains(where: main.contains),
            let offset = imageOffset(of: addresses.first(where: main.contains)!),
            offset.isStrippedMainProgram
        else { return nil }
        return offset.image
    }

    /// Root name of the global whose storage holds `address`: `static Fixtures.Session.registry`.
    public func globalName(containing address: UInt) -> String? {
        symbol(containing: address).map { Self.rootName(fromDemangled: $0.demangled) }
    }

    /// Demangles a Swift symbol (`$s…`, `_T…`) with the runtime; other names come back unchanged.
    public static func demangle(_ symbol: String) -> String {
        guard symbol.hasPrefix("$s") || symbol.hasPrefix("_$s") || symbol.hasPrefix("$e") || symbol.hasPrefix("_T")
        else { return symbol }
        guard let out = symbol.withCString({ ogr_demangle($0, strlen($0)) }) else { return symbol }
        defer { free(out) }
        return String(cString: out)
    }

    /// A global's root name from its demangled storage symbol: the type annotation is cut,
    /// `static Fixtures.Session.registry : [Fixtures.Session]` → `static Fixtures.Session.registry`,
    /// `Fixtures.registry : [Fixtures.Session]` → `Fixtures.registry`, and a private global's
    /// discriminator dropped as in type names, `static M.T.(cache in _5E3B…)` → `static M.T.cache`.
    public static func rootName(fromDemangled demangled: String) -> String {
        guard let cut = DemangledText.topLevelRange(of: " : ", in: demangled) else { return TypeNames.clean(demangled) }
        return TypeNames.clean(String(demangled[..<cut.lowerBound]))
    }

    /// Drops what a reader does not need from a demangled function name: `partial apply for`,
    /// closure and function signatures, `-> T` results and effects.
    /// `partial apply for closure #1 () -> () in Fixtures.Screen.bind() -> ()` →
    /// `closure #1 in Fixtures.Screen.bind()`. Nil for reabstraction thunks.
    public static func simplifiedFunctionName(_ demangled: String) -> String? {
        DemangledText.simplify(demangled)
    }

    // MARK: Internals

    private func rawSymbol(containing address: UInt) -> (String, UInt, UInt)? {
        var image = images.first { $0.contains(address) }
        if image == nil {
            // Something may have been dlopen'ed since: rescan only when glibc counted new loads.
            let (fresh, adds) = SymbolImage.all()
            if adds != imageAdds {
                imageAdds = adds
                images = fresh.map { new in images.first { $0.path == new.path && $0.bias == new.bias } ?? new }
                image = images.first { $0.contains(address) }
            }
        }
        guard let image else { return nil }
        guard let table = image.loadedTable() else { return nil }
        let link = address &- image.bias
        let i: Int?
        if let known = image.known[link] { i = known >= 0 ? known : nil } else { i = table.index(containing: link) }
        guard let i else { return nil }
        return (table.name(at: i), table.value(at: i) &+ image.bias, table.size(at: i))
    }
}

/// A pthread mutex for the type catalog and symbolizer caches.
final class SymbolLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
