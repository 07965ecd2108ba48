/// The regions of a process's address space, read from the text of `/proc/PID/maps`.
package struct MemoryMap: Sendable {
    package struct Region: Sendable, Equatable {
        package var start: UInt64
        package var end: UInt64
        /// `rw-p`, `r-xp`...
        package var permissions: String
        /// Offset of the mapping in its file.
        package var offset: UInt64
        /// The mapped file, `[stack]`, `[heap]`, or "" for anonymous memory.
        package var path: String

        package var isReadable: Bool { permissions.hasPrefix("r") }
        package var isWritable: Bool { permissions.dropFirst().hasPrefix("w") }
        package func contains(_ address: UInt64) -> Bool { address >= start && address < end }
    }

    package var regions: [Region]

    /// Parses `text` (lines `start-end perms offset dev inode path`); malformed lines are skipped.
    package init(text: String) {
        regions = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                let offset = UInt64(fields[2], radix: 16)
            else { return nil }
            let path = fields.count == 6 ? String(fields[5].drop { $0 == " " }) : ""
            return Region(start: start, end: end, permissions: String(fields[1]), offset: offset, path: path)
        }
    }

    /// The calling process's map, or nil when `/proc` cannot be read.
    package static func current() -> MemoryMap? {
        guard let bytes = try? FileBytes.read("/proc/self/maps") else { return nil }
        return MemoryMap(text: String(decoding: bytes, as: UTF8.self))
    }

    /// The region holding `address`.
    package func region(containing address: UInt64) -> Region? { regions.first { $0.contains(address) } }
}
