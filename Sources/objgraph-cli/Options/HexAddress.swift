import ArgumentParser

/// An object address given in hex, `0x5581c2a0` or `5581c2a0`.
struct HexAddress: ExpressibleByArgument, CustomStringConvertible {
    var value: UInt64

    init?(argument: String) {
        let digits = argument.lowercased().hasPrefix("0x") ? String(argument.dropFirst(2)) : argument
        guard !digits.isEmpty, let value = UInt64(digits, radix: 16) else { return nil }
        self.value = value
    }

    var description: String { "0x" + String(value, radix: 16) }
}
