#if canImport(Glibc)
import Glibc
#endif

/// Plain-text tables in the formats objgraph and Apple's `heap` print.
///
/// Every table names types through ``name(_:width:)``: a long generic name is cut in its
/// middle at `nameWidth` characters (the command's `--wide` and JSON keep it whole), so one
/// name does not pad a whole column to hundreds of characters.
package enum TextTable {
    /// The widest a type name is printed in a table by default.
    package static let nameWidth = 64

    /// `name` cut in its middle to at most `width` characters (nil: whole):
    /// `Envelope<VeryLongGeneric…String, Int>>>`.
    package static func name(_ name: String, width: Int?) -> String {
        guard let width, width >= 8, name.count > width else { return name }
        let head = (width - 1) / 2, tail = width - 1 - head
        return String(name.prefix(head)) + "…" + String(name.suffix(tail))
    }

    /// objgraph's `show_growth`: `'%-*s%9d %+9d'` per row.
    package static func growth(_ rows: [GrowthRow], nameWidth: Int? = nil) -> String {
        let names = rows.map { name($0.name, width: nameWidth) }
        guard let width = names.map(\.count).max() else { return "" }
        var text = ""
        for (row, name) in zip(rows, names) {
            text +=
                pad(name, width) + leftPad(String(row.count), 9) + " "
                + leftPad((row.delta >= 0 ? "+" : "") + String(row.delta), 9) + "\n"
        }
        return text
    }

    /// objgraph's `show_most_common_types`: `'%-*s %i'` per row.
    package static func mostCommonTypes(_ rows: [TypeCount], nameWidth: Int? = nil) -> String {
        let names = rows.map { name($0.name, width: nameWidth) }
        guard let width = names.map(\.count).max() else { return "" }
        return zip(rows, names).map { pad($1, width) + " " + String($0.count) + "\n" }.joined()
    }

    /// A census like Apple's `heap`: `COUNT BYTES AVG CLASS_NAME`, largest bytes first. The
    /// number columns widen to their largest value (a 10 MB object never runs into its
    /// neighbour).
    package static func census(_ rows: [TypeCount], nameWidth: Int? = nil) -> String {
        let sorted = rows.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        let count = rows.reduce(0) { $0 + $1.count }, bytes = rows.reduce(0) { $0 + $1.bytes }
        let cells = sorted.map { row -> [String] in
            let average = row.count > 0 ? Double(row.bytes) / Double(row.count) : 0
            return [String(row.count), String(row.bytes), fixed(average, 1), name(row.name, width: nameWidth)]
        }
        let total = [String(count), String(bytes), "", "TOTAL"]
        var widths = [8, 10, 9]
        for line in cells + [total] {
            for c in 0..<3 { widths[c] = max(widths[c], line[c].count) }
        }
        func line(_ cells: [String]) -> String {
            leftPad(cells[0], widths[0]) + " " + leftPad(cells[1], widths[1]) + " " + leftPad(cells[2], widths[2])
                + "   " + cells[3] + "\n"
        }
        return line(["COUNT", "BYTES", "AVG", "CLASS_NAME"]) + cells.map(line).joined() + line(total)
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
