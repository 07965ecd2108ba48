/// CRC-32 tables (IEEE 802.3, reflected polynomial 0xEDB88320) for slicing-by-8. Entries are
/// `UInt` so the loop needs no generic integer conversions (which are slow in debug builds).
private let crcTables: [UInt] = {
    var table = [UInt](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
        var c = UInt(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[i] = c
    }
    for k in 1..<8 {
        for i in 0..<256 {
            let previous = table[(k - 1) * 256 + i]
            table[k * 256 + i] = (previous >> 8) ^ table[Int(bitPattern: previous & 0xff)]
        }
    }
    return table
}()

/// CRC-32 as computed by zlib's `crc32` and Python's `zlib.crc32` (IEEE, reflected, initial and
/// final xor 0xFFFFFFFF). Slicing-by-8 over 64-bit little-endian words.
func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let p = bytes.baseAddress else { return 0 }
    return crcTables.withUnsafeBufferPointer { tables in
        let t = tables.baseAddress!, n = bytes.count
        var crc: UInt = 0xFFFF_FFFF, i = 0
        while i + 8 <= n {
            let w = UInt(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))) ^ crc
            crc =
                t[1792 + Int(bitPattern: w & 0xff)] ^ t[1536 + Int(bitPattern: (w &>> 8) & 0xff)]
                ^ t[1280 + Int(bitPattern: (w &>> 16) & 0xff)] ^ t[1024 + Int(bitPattern: (w &>> 24) & 0xff)]
                ^ t[768 + Int(bitPattern: (w &>> 32) & 0xff)] ^ t[512 + Int(bitPattern: (w &>> 40) & 0xff)]
                ^ t[256 + Int(bitPattern: (w &>> 48) & 0xff)] ^ t[Int(bitPattern: w &>> 56)]
            i &+= 8
        }
        while i < n {
            crc = t[Int(bitPattern: (crc ^ UInt(p.load(fromByteOffset: i, as: UInt8.self))) & 0xff)] ^ (crc >> 8)
            i += 1
        }
        return UInt32(truncatingIfNeeded: ~crc)
    }
}
