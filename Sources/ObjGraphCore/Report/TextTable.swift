#if canImport(Glibc)
import Glibc
#endif

/// Plain-text tables in the formats objgraph and Apple's `heap` print.
package enum TextTable {
    /// objgraph's `show_growth`: `'%-*s%9d %+9d'` per row.
    package static func growth(_ rows: [GrowthRow]) -> String {
        guard let width = rows.map(\.name.count).max() else { return "" }
        var text = ""
        for row in rows {
            text +=
                pad(row.name, width) + leftPad(String(row.count), 9) + " "
                + leftPad((row.delta >= 0 ? "+" : "") + String(row.delta), 9) + "\n"
        }
        return text
    }

    /// objgraph's `show_most_common_types`: `'%-*s %i'` per row.
    package static func mostCommonTypes(_ rows: [TypeCount]) -> String {
        guard let width = rows.map(\.name.count).max() else { return "" }
        return rows.map { pad($0.name, width) + " " + String($0.count) + "\n" }.joined()
    }

    /// A census like Apple's `heap`: `COUNT BYTES AVG CLASS_NAME`, largest bytes first.
    package static func census(_ rows: [TypeCount]) -> String {
        let sorted = rows.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        var text = "   COUNT      BYTES       AVG   CLASS_NAME\n"
        for row in sorted {
            let average = row.count > 0 ? Double(row.bytes) / Double(row.count) : 0
            text +=
                leftPad(String(row.count), 8) + leftPad(String(row.bytes), 11)
                + leftPad(fixed(average, 1), 10) + "   " + row.name + "\n"
        }
        let count = rows.reduce(0) { $0 + $1.count }, bytes = rows.reduce(0) { $0 + $1.bytes }
        text += leftPad(String(count), 8) + leftPad(String(bytes), 11) + "             TOTAL\n"
        return text
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// `value` with `digits` decimals, without Foundation.
    package static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int(scaled / scale)
        let frac = Int(abs(scaled) - abs(Double(whole)) * scale)
        if digits == 0 { return String(whole) }
        let fracText = String(frac)
        return "\(whole).\(String(repeating: "0", count: max(0, digits - fracText.count)))\(fracText)"
    }

    /// `1.5 KiB`, `12 B`, `3.2 MiB`.
    package static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(n), unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : "\(fixed(value, 1)) \(units[unit])"
    }
}
