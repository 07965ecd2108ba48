import Glibc

/// What `objgraph run` needs to know about a program file before it starts it: whether the
/// dynamic loader will load the agent into it at all, and whether the agent will find the
/// Swift runtime it allocates with.
package struct ExecutableFile: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        /// An ELF64 executable (or shared object).
        case elf
        /// A script (`#!`): the interpreter is the process that runs.
        case script(interpreter: String)
        /// Something else (another ELF class, a truncated file).
        case other
    }

    package var kind: Kind
    /// It has a PT_INTERP program header: the dynamic loader starts it (and honours LD_PRELOAD).
    package var hasDynamicLoader = false
    /// DT_NEEDED libraries.
    package var neededLibraries: [String] = []
    /// It has `.symtab` (not stripped).
    package var hasSymbolTable = false
    /// It has Swift metadata sections (`swift5_*`).
    package var hasSwiftMetadata = false
    /// Set-user-ID or set-group-ID: the loader ignores LD_PRELOAD for it.
    package var isSetID = false

    /// A Swift program that links libswiftCore.so.
    package var linksSwiftRuntime: Bool { neededLibraries.contains { $0.hasPrefix("libswiftCore.so") } }
    /// A Swift program built with `--static-swift-stdlib`: its runtime is inside it.
    package var carriesSwiftRuntime: Bool { hasSwiftMetadata && !linksSwiftRuntime }

    /// Reads the file at `path`; throws ``SystemCallError`` when it cannot be read.
    package init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", path: path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(call: "stat", path: path) }
        let length = Int(st.st_size)
        var result = ExecutableFile(kind: .other)
        if length >= 64, let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED {
            result = ExecutableFile(bytes: UnsafeRawBufferPointer(start: mapped, count: length))
            munmap(mapped, length)
        }
        result.isSetID = st.st_mode & (S_ISUID | S_ISGID) != 0
        self = result
    }

    private init(kind: Kind) { self.kind = kind }

    /// Reads a file's bytes (every offset is checked against the buffer).
    package init(bytes b: UnsafeRawBufferPointer) {
        func u8(_ at: Int) -> UInt8? { at >= 0 && at < b.count ? b[at] : nil }
        func u16(_ at: Int) -> Int? {
            at >= 0 && at + 2 <= b.count ? Int(b.loadUnaligned(fromByteOffset: at, as: UInt16.self)) : nil
        }
        func u32(_ at: Int) -> Int? {
            at >= 0 && at + 4 <= b.count ? Int(b.loadUnaligned(fromByteOffset: at, as: UInt32.self)) : nil
        }
        func u64(_ at: Int) -> Int? {
            guard at >= 0, at + 8 <= b.count else { return nil }
            return Int(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        func string(_ at: Int, limit: Int) -> String {
            var end = at
            while end < min(b.count, limit), b[end] != 0 { end += 1 }
            return at < end ? String(decoding: UnsafeRawBufferPointer(rebasing: b[at..<end]), as: UTF8.self) : ""
        }
        if b.count >= 2, b[0] == UInt8(ascii: "#"), b[1] == UInt8(ascii: "!") {
            let line = string(2, limit: min(b.count, 256)).split(separator: "\n").first.map(String.init) ?? ""
            kind = .script(interpreter: line.trimmingSpaces())
            return
        }
        guard b.count >= 64, u32(0) == 0x464C_457F, u8(4) == 2, u8(5) == 1 else {
            kind = .other
            return
        }
        kind = .elf
        // Program headers: PT_INTERP = 3.
        if let phoff = u64(0x20), let phentsize = u16(0x36), let phnum = u16(0x38), phentsize >= 56 {
            hasDynamicLoader = (0..<phnum).contains { u32(phoff + $0 * phentsize) == 3 }
        }
        // Section headers, named through the section header string table.
        guard let shoff = u64(0x28), let shentsize = u16(0x3A), let shnum = u16(0x3C), let shstrndx = u16(0x3E),
            shentsize >= 64, shnum > 0, shstrndx < shnum
        else { return }
        struct Section { var name: Int; var type: Int; var offset: Int; var size: Int; var link: Int }
        let sections: [Section] = (0..<shnum).compactMap { i in
            let h = shoff + i * shentsize
            guard let name = u32(h), let type = u32(h + 4), let offset = u64(h + 24), let size = u64(h + 32),
                let link = u32(h + 40)
            else { return nil }
            return Section(name: name, type: type, offset: offset, size: size, link: link)
        }
        guard sections.count == shnum else { return }
        let names = sections[shstrndx]
        for section in sections {
            let name = string(names.offset + section.name, limit: names.offset + names.size)
            if name.hasPrefix("swift5_") { hasSwiftMetadata = true }
            if section.type == 2 { hasSymbolTable = true }  // SHT_SYMTAB
            // SHT_DYNAMIC = 6: Elf64_Dyn entries; DT_NEEDED = 1, names in the linked string table.
            if section.type == 6, section.link < sections.count {
                let strings = sections[section.link]
                var at = section.offset
                while at + 16 <= section.offset + section.size, let tag = u64(at), tag != 0 {
                    if tag == 1, let value = u64(at + 8) {
                        neededLibraries.append(string(strings.offset + value, limit: strings.offset + strings.size))
                    }
                    at += 16
                }
            }
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
