extension String {
    /// The text of a NUL-terminated C character buffer (a fixed-size `char[]` field or an
    /// array filled by a C call): the bytes before the first NUL, decoded as UTF-8 with
    /// invalid sequences repaired.
    package init(cBuffer: some Sequence<CChar>) {
        var bytes: [UInt8] = []
        for c in cBuffer {
            if c == 0 { break }
            bytes.append(UInt8(bitPattern: c))
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
