/// A small JSON writer, so that code loaded into other programs (the agent) needs no
/// Foundation. Values are written in the order given; strings are escaped per RFC 8259.
public struct JSONWriter {
    public private(set) var text = ""
    private var needsComma: [Bool] = [false]

    public init() {}

    public mutating func beginObject() { separator(); text += "{"; needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); text += "}" }
    public mutating func beginArray() { separator(); text += "["; needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); text += "]" }

    /// Writes `"name":` inside an object; follow it with a value.
    public mutating func key(_ name: String) {
        separator()
        text += JSONWriter.quoted(name) + ":"
        needsComma[needsComma.count - 1] = false
    }

    public mutating func value(_ s: String) { separator(); text += JSONWriter.quoted(s) }
    public mutating func value(_ n: Int) { separator(); text += String(n) }
    public mutating func value(_ n: UInt64) { separator(); text += String(n) }
    public mutating func value(_ b: Bool) { separator(); text += b ? "true" : "false" }
    public mutating func value(_ d: Double) {
        separator()
        text += d.isFinite ? "\(d)" : "null"
    }
    public mutating func null() { separator(); text += "null" }

    public mutating func field(_ name: String, _ s: String) { key(name); value(s) }
    public mutating func field(_ name: String, _ n: Int) { key(name); value(n) }
    public mutating func field(_ name: String, _ d: Double) { key(name); value(d) }
    public mutating func field(_ name: String, _ b: Bool) { key(name); value(b) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
