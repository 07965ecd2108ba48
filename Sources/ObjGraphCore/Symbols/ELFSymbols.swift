import Glibc

/// The defined function and data symbols of one ELF64 file.
///
/// The file is mapped read-only (its pages come from the page cache: nothing is copied) and
/// `.symtab` is used when present (it has local symbols such as closures and `static var`
/// storage), else `.dynsym`. A snapshot usually names a handful of roots per library, so the
/// first lookups scan the table directly; only a table asked often is sorted by address
/// (libswiftCore has ~50,000 symbols: sorting them costs more than a few scans).
///
/// Lookups mutate the lazily built index: callers serialize them (``Symbolizer`` holds its
/// lock, ``OfflineTypeNames`` is not shared).
struct ELFSymbolTable: @unchecked Sendable {
    private let storage: Storage

    /// Number of defined function and data symbols (one pass over the table).
    var count: Int { storage.definedCount() }

    /// True when the file has no `.symtab` (it was stripped) and only its exported symbols
    /// (`.dynsym`) are known.
    var isStripped: Bool { storage.isStripped }

    /// Maps the file at `path`; nil when it is unreadable, not ELF64 little-endian, or stripped
    /// of both symbol tables.
    init?(path: String) {
        guard let storage = Storage(path: path) else { return nil }
        self.storage = storage
    }

    /// Index of the symbol whose `[value, value + size)` holds `address` (a link-time address);
    /// a zero-size symbol matches only its own address. Among overlapping symbols, the one that
    /// starts last wins (then the smallest).
    func index(containing address: UInt) -> Int? { storage.index(containing: address) }

    /// ``index(containing:)`` for many addresses at once, in one pass over the table (no sort):
    /// the keys are the addresses some symbol covers. A program's globals are many lookups in
    /// one big table (swift-package's has 450,000 symbols): one pass costs a few milliseconds
    /// where sorting the table costs tens.
    func indices(containing addresses: [UInt]) -> [UInt: Int] { storage.indices(containing: addresses) }

    /// Whether lookups already go through the sorted index (then batches gain nothing).
    var isSorted: Bool { storage.isSorted }

    /// Link-time address and size of symbol `index`.
    func value(at index: Int) -> UInt { storage.value(at: index) }
    func size(at index: Int) -> UInt { storage.size(at: index) }

    func name(at index: Int) -> String { storage.name(at: index) }

    private final class Storage {
        let base: UnsafeRawPointer
        let length: Int
        /// Byte ranges of the symbol table and its string table inside the file.
        let symbols: Range<Int>
        let strings: Range<Int>
        let entsize: Int
        let isStripped: Bool
        /// Symbol indices of the defined symbols sorted by (value, size descending), built on
        /// the `sortAfter`-th lookup.
        private var sorted: [Int32]?
        private var lookups = 0
        private static let sortAfter = 8

        init?(path: String) {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= 64 else { return nil }
            let length = Int(st.st_size)
            guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
                return nil
            }
            base = UnsafeRawPointer(mapped)
            self.length = length
            func fail() -> Bool { munmap(mapped, length); return false }
            let b = base
            guard b.load(as: UInt32.self) == 0x464C_457F, b.load(fromByteOffset: 4, as: UInt8.self) == 2,
                b.load(fromByteOffset: 5, as: UInt8.self) == 1  // "\x7fELF", ELFCLASS64, little-endian
            else { _ = fail(); return nil }
            let shoff = Int(b.loadUnaligned(fromByteOffset: 0x28, as: UInt64.self))
            let shentsize = Int(b.loadUnaligned(fromByteOffset: 0x3A, as: UInt16.self))
            let shnum = Int(b.loadUnaligned(fromByteOffset: 0x3C, as: UInt16.self))
            guard shentsize >= 64, shnum > 0, shoff >= 0, shoff <= length, shnum * shentsize <= length - shoff
            else { _ = fail(); return nil }
            func section(_ i: Int) -> (type: UInt32, offset: Int, size: Int, link: Int, entsize: Int) {
                let h = shoff + i * shentsize
                return (
                    b.loadUnaligned(fromByteOffset: h + 4, as: UInt32.self),
                    Int(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: h + 24, as: UInt64.self)),
                    Int(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: h + 32, as: UInt64.self)),
                    Int(b.loadUnaligned(fromByteOffset: h + 40, as: UInt32.self)),
                    Int(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: h + 56, as: UInt64.self))
                )
            }
            func inFile(_ offset: Int, _ size: Int) -> Bool {
                offset >= 0 && size >= 0 && offset <= length && size <= length - offset
            }
            let sections = (0..<shnum).map(section)
            // SHT_SYMTAB = 2, SHT_DYNSYM = 11.
            guard
                let symIndex = sections.firstIndex(where: { $0.type == 2 && $0.size > 0 })
                    ?? sections.firstIndex(where: { $0.type == 11 && $0.size > 0 })
            else { _ = fail(); return nil }
            let sym = sections[symIndex]
            isStripped = sym.type != 2
            guard sym.link < shnum, sym.entsize >= 24, inFile(sym.offset, sym.size),
                inFile(sections[sym.link].offset, sections[sym.link].size)
            else { _ = fail(); return nil }
            symbols = sym.offset..<(sym.offset + sym.size)
            strings = sections[sym.link].offset..<(sections[sym.link].offset + sections[sym.link].size)
            entsize = sym.entsize
        }

        deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

        /// A function or data symbol with a section and an address (STT_OBJECT = 1, STT_FUNC = 2).
        private static func isDefined(_ b: UnsafeRawPointer, _ at: Int) -> Bool {
            let type = b.load(fromByteOffset: at + 4, as: UInt8.self) & 0xF
            let shndx = b.loadUnaligned(fromByteOffset: at + 6, as: UInt16.self)
            return (type == 1 || type == 2) && shndx != 0 && shndx < 0xFF00
                && b.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self) != 0
        }

        private func entry(_ index: Int) -> Int { symbols.lowerBound + index * entsize }

        func definedCount() -> Int {
            (0..<(symbols.count / entsize)).reduce(0) { $0 + (Storage.isDefined(base, entry($1)) ? 1 : 0) }
        }
        func value(at index: Int) -> UInt {
            UInt(base.loadUnaligned(fromByteOffset: entry(index) + 8, as: UInt64.self))
        }
        func size(at index: Int) -> UInt {
            UInt(base.loadUnaligned(fromByteOffset: entry(index) + 16, as: UInt64.self))
        }

        func name(at index: Int) -> String {
            let start = strings.lowerBound + Int(base.loadUnaligned(fromByteOffset: entry(index), as: UInt32.self))
            guard start < strings.upperBound else { return "" }
            var end = start
            while end < strings.upperBound, base.load(fromByteOffset: end, as: UInt8.self) != 0 { end += 1 }
            return String(decoding: UnsafeRawBufferPointer(start: base + start, count: end - start), as: UTF8.self)
        }

        func index(containing address: UInt) -> Int? {
            lookups += 1
            if sorted == nil && lookups >= Storage.sortAfter { sorted = sortedIndices() }
            guard let sorted else { return indices(containing: [address])[address] }
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if value(at: Int(sorted[mid])) <= address { lo = mid + 1 } else { hi = mid }
            }
            var i = lo - 1
            while i >= 0, lo - i <= 16 {
                let s = Int(sorted[i])
                if address < value(at: s) + max(size(at: s), 1) { return s }
                i -= 1
            }
            return nil
        }

        var isSorted: Bool { sorted != nil }

        /// One pass over the table: for each address, the containing symbol that starts last,
        /// then the smallest.
        func indices(containing addresses: [UInt]) -> [UInt: Int] {
            let queries = Array(Set(addresses)).sorted()
            guard let lowest = queries.first, let highest = queries.last else { return [:] }
            var best = [Int](repeating: -1, count: queries.count)
            var bestValue = [UInt](repeating: 0, count: queries.count)
            var bestSize = [UInt](repeating: 0, count: queries.count)
            let count = symbols.count / entsize
            // Most symbols lie outside [lowest, highest] and cost two loads and two comparisons
            // (Elf64_Sym: value at +8, size at +16) before the full check.
            queries.withUnsafeBufferPointer { queries in
                for i in 0..<count {
                    let at = entry(i)
                    let value = UInt(base.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
                    guard value <= highest else { continue }
                    let size = UInt(base.loadUnaligned(fromByteOffset: at + 16, as: UInt64.self))
                    let end = value &+ max(size, 1)
                    guard end > lowest, end > value, Storage.isDefined(base, at) else { continue }
                    // The first query at or above the symbol's start, then every query it covers.
                    var lo = 0, hi = queries.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if queries[mid] < value { lo = mid + 1 } else { hi = mid }
                    }
                    var q = lo
                    while q < queries.count, queries[q] < end {
                        if best[q] < 0 || value > bestValue[q] || (value == bestValue[q] && size < bestSize[q]) {
                            best[q] = i
                            bestValue[q] = value
                            bestSize[q] = size
                        }
                        q += 1
                    }
                }
            }
            var found: [UInt: Int] = [:]
            for (q, address) in queries.enumerated() where best[q] >= 0 { found[address] = best[q] }
            return found
        }

        private func sortedIndices() -> [Int32] {
            var rows: [(value: UInt, size: UInt, index: Int32)] = []
            for i in 0..<(symbols.count / entsize) where Storage.isDefined(base, entry(i)) {
                rows.append((value(at: i), size(at: i), Int32(i)))
            }
            rows.sort { $0.value != $1.value ? $0.value < $1.value : $0.size > $1.size }
            return rows.map(\.index)
        }
    }
}

/// An ELF image mapped into this process, as `dl_iterate_phdr` reports it.
final class SymbolImage: @unchecked Sendable {
    /// File on disk (`/proc/self/exe` for the main executable).
    let path: String
    /// Load bias: run-time address = bias + link-time address.
    let bias: UInt
    /// Run-time address ranges of the PT_LOAD segments.
    let segments: [Range<UInt>]
    /// Symbols, read on first use (guarded by the owning Symbolizer's lock).
    private var table: ELFSymbolTable?
    private var tableLoaded = false
    /// Symbol indices found by ``Symbolizer/prefetch(_:)``, by link-time address (-1: none).
    var known: [UInt: Int] = [:]
    /// Run-time range of the image's `PT_GNU_RELRO` header, if it has one.
    var relro: Range<UInt>?

    init(path: String, bias: UInt, segments: [Range<UInt>]) {
        self.path = path
        self.bias = bias
        self.segments = segments
    }

    func contains(_ address: UInt) -> Bool { segments.contains { $0.contains(address) } }

    /// The image's symbol table, mapped on the first call (nil when it has none).
    func loadedTable() -> ELFSymbolTable? {
        if !tableLoaded {
            table = ELFSymbolTable(path: path)
            tableLoaded = true
        }
        return table
    }

    private typealias Callback = @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32
    private typealias Iterate = @convention(c) (Callback, UnsafeMutableRawPointer?) -> Int32

    /// `dl_iterate_phdr`, looked up with `dlsym` because the Glibc module does not import `<link.h>`.
    private static let iterate: Iterate? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dl_iterate_phdr") else { return nil }
        return unsafeBitCast(sym, to: Iterate.self)
    }()

    private final class Collector {
        var images: [SymbolImage] = []
        var adds: UInt64 = 0
    }

    /// Every image loaded now, and glibc's count of loads so far (`dlpi_adds`).
    static func all() -> (images: [SymbolImage], adds: UInt64) {
        guard let iterate else { return ([], 0) }
        let collector = Collector()
        let context = Unmanaged.passRetained(collector)
        defer { context.release() }
        _ = iterate(
            { info, size, data in
                guard let info, let data else { return 0 }
                let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
                // struct dl_phdr_info: dlpi_addr, dlpi_name, dlpi_phdr, dlpi_phnum (u16), dlpi_adds, dlpi_subs.
                let bias = info.load(as: UInt.self)
                let name =
                    info.load(fromByteOffset: 8, as: UnsafePointer<CChar>?.self).map { String(cString: $0) } ?? ""
                let phdr = info.load(fromByteOffset: 16, as: UnsafeRawPointer?.self)
                let phnum = Int(info.load(fromByteOffset: 24, as: UInt16.self))
                if size >= 40 { collector.adds = info.load(fromByteOffset: 32, as: UInt64.self) }
                var segments: [Range<UInt>] = []
                var relro: Range<UInt>? = nil
                if let phdr {
                    for i in 0..<phnum {
                        let p = phdr + 56 * i  // Elf64_Phdr: p_type, p_flags, p_offset, p_vaddr, ..., p_memsz at 40
                        let type = p.load(as: UInt32.self)
                        let start = bias &+ p.load(fromByteOffset: 16, as: UInt.self)
                        let range = start..<(start &+ p.load(fromByteOffset: 40, as: UInt.self))
                        if type == 1 { segments.append(range) }  // PT_LOAD
                        if type == 0x6474_e552 { relro = range }  // PT_GNU_RELRO
                    }
                }
                let image = SymbolImage(path: name.isEmpty ? "/proc/self/exe" : name, bias: bias, segments: segments)
                image.relro = relro
                collector.images.append(image)
                return 0
            }, context.toOpaque())
        return (collector.images, collector.adds)
    }
}
