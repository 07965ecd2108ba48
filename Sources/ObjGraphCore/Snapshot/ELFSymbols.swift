import Glibc

/// The defined function and data symbols of one ELF64 file, sorted by address.
///
/// Read with `pread` from the file on disk: `.symtab` when present (it has local symbols such
/// as closures and `static var` storage), else `.dynsym`. Names stay in the string table until
/// asked for.
struct ELFSymbolTable: Sendable {
    /// Link-time addresses (`st_value`), ascending.
    private(set) var values: [UInt] = []
    private(set) var sizes: [UInt] = []
    private var nameOffsets: [UInt32] = []
    private var strings: [UInt8] = []

    var count: Int { values.count }

    /// Parses the file at `path`; nil when it is unreadable, not ELF64 little-endian, or stripped
    /// of both symbol tables.
    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let fileSize = Int(st.st_size)
        guard let ehdr = Self.read(fd, offset: 0, count: 64, fileSize: fileSize),
              ehdr[0] == 0x7F, ehdr[1] == 0x45, ehdr[2] == 0x4C, ehdr[3] == 0x46, // "\x7fELF"
              ehdr[4] == 2, ehdr[5] == 1 // ELFCLASS64, little-endian
        else { return nil }
        let shoff = Int(Self.u64(ehdr, 0x28))
        let shentsize = Int(Self.u16(ehdr, 0x3A))
        let shnum = Int(Self.u16(ehdr, 0x3C))
        guard shentsize >= 64, shnum > 0,
              let shdrs = Self.read(fd, offset: shoff, count: shnum * shentsize, fileSize: fileSize)
        else { return nil }
        func section(_ i: Int) -> (type: UInt32, offset: Int, size: Int, link: Int, entsize: Int) {
            let b = i * shentsize
            return (Self.u32(shdrs, b + 4), Int(Self.u64(shdrs, b + 24)), Int(Self.u64(shdrs, b + 32)),
                    Int(Self.u32(shdrs, b + 40)), Int(Self.u64(shdrs, b + 56)))
        }
        let sections = (0..<shnum).map(section)
        // SHT_SYMTAB = 2, SHT_DYNSYM = 11.
        guard let symIndex = sections.firstIndex(where: { $0.type == 2 && $0.size > 0 })
                ?? sections.firstIndex(where: { $0.type == 11 && $0.size > 0 })
        else { return nil }
        let sym = sections[symIndex]
        guard sym.link < shnum, sym.entsize >= 24,
              let symbols = Self.read(fd, offset: sym.offset, count: sym.size, fileSize: fileSize),
              let strings = Self.read(fd, offset: sections[sym.link].offset, count: sections[sym.link].size,
                                      fileSize: fileSize)
        else { return nil }

        var rows: [(value: UInt, size: UInt, name: UInt32)] = []
        rows.reserveCapacity(symbols.count / sym.entsize)
        var b = 0
        while b + 24 <= symbols.count {
            let type = symbols[b + 4] & 0xF // STT_OBJECT = 1, STT_FUNC = 2
            let shndx = Self.u16(symbols, b + 6)
            let value = UInt(Self.u64(symbols, b + 8))
            if (type == 1 || type == 2), shndx != 0, shndx < 0xFF00, value != 0 {
                rows.append((value, UInt(Self.u64(symbols, b + 16)), Self.u32(symbols, b)))
            }
            b += sym.entsize
        }
        rows.sort { $0.value != $1.value ? $0.value < $1.value : $0.size > $1.size }
        values = rows.map(\.value)
        sizes = rows.map(\.size)
        nameOffsets = rows.map(\.name)
        self.strings = strings
    }

    /// Index of the symbol whose `[value, value + size)` holds `address` (a link-time address);
    /// a zero-size symbol matches only its own address.
    func index(containing address: UInt) -> Int? {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0, lo - i <= 16 {
            if address < values[i] + max(sizes[i], 1) { return i }
            i -= 1
        }
        return nil
    }

    func name(at index: Int) -> String {
        let start = Int(nameOffsets[index])
        guard start < strings.count else { return "" }
        var end = start
        while end < strings.count, strings[end] != 0 { end += 1 }
        return String(decoding: strings[start..<end], as: UTF8.self)
    }

    private static func read(_ fd: Int32, offset: Int, count: Int, fileSize: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset + count <= fileSize, count <= 1 << 30 else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        let ok = buffer.withUnsafeMutableBytes { raw -> Bool in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        return ok ? buffer : nil
    }

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(u16(b, o)) | UInt32(u16(b, o + 2)) << 16 }
    private static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(u32(b, o)) | UInt64(u32(b, o + 4)) << 32 }
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
    var table: ELFSymbolTable?
    var tableLoaded = false

    init(path: String, bias: UInt, segments: [Range<UInt>]) {
        self.path = path
        self.bias = bias
        self.segments = segments
    }

    func contains(_ address: UInt) -> Bool { segments.contains { $0.contains(address) } }

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
        _ = iterate({ info, size, data in
            guard let info, let data else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
            // struct dl_phdr_info: dlpi_addr, dlpi_name, dlpi_phdr, dlpi_phnum (u16), dlpi_adds, dlpi_subs.
            let bias = info.load(as: UInt.self)
            let name = info.load(fromByteOffset: 8, as: UnsafePointer<CChar>?.self).map { String(cString: $0) } ?? ""
            let phdr = info.load(fromByteOffset: 16, as: UnsafeRawPointer?.self)
            let phnum = Int(info.load(fromByteOffset: 24, as: UInt16.self))
            if size >= 40 { collector.adds = info.load(fromByteOffset: 32, as: UInt64.self) }
            var segments: [Range<UInt>] = []
            if let phdr {
                for i in 0..<phnum {
                    let p = phdr + 56 * i // Elf64_Phdr: p_type, p_flags, p_offset, p_vaddr, ..., p_memsz at 40
                    guard p.load(as: UInt32.self) == 1 else { continue } // PT_LOAD
                    let start = bias &+ p.load(fromByteOffset: 16, as: UInt.self)
                    segments.append(start..<(start &+ p.load(fromByteOffset: 40, as: UInt.self)))
                }
            }
            collector.images.append(SymbolImage(path: name.isEmpty ? "/proc/self/exe" : name, bias: bias,
                                                segments: segments))
            return 0
        }, context.toOpaque())
        return (collector.images, collector.adds)
    }
}
