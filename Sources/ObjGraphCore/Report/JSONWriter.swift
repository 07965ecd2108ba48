/// A small JSON writer, so that code loaded into other programs (the agent) needs no
/// Foundation. Values are written in the order given; strings are escaped per RFC 8259.
package struct JSONWriter {
    package private(set) var text = ""
    private var needsComma: [Bool] = [false]

    package init() {}

    package mutating func beginObject() { separator(); text += "{"; needsComma.append(false) }
    package mutating func endObject() { needsComma.removeLast(); text += "}" }
    package mutating func beginArray() { separator(); text += "["; needsComma.append(false) }
    package mutating func endArray() { needsComma.removeLast(); text += "]" }

    /// Writes `"name":` inside an object; follow it with a value.
    package mutating func key(_ name: String) {
        separator()
        text += JSONWriter.quoted(name) + ":"
        needsComma[needsComma.count - 1] = false
    }

    package mutating func value(_ s: String) { separator(); text += JSONWriter.quoted(s) }
    package mutating func value(_ n: Int) { separator(); text += String(n) }
    package mutating func value(_ n: UInt64) { separator(); text += String(n) }
    package mutating func value(_ b: Bool) { separator(); text += b ? "true" : "false" }
    package mutating func value(_ d: Double) {
        separator()
        text += d.isFinite ? "\(d)" : "null"
    }
    package mutating func null() { separator(); text += "null" }

    package mutating func field(_ name: String, _ s: String) { key(name); value(s) }
    package mutating func field(_ name: String, _ n: Int) { key(name); value(n) }
    package mutating func field(_ name: String, _ d: Double) { key(name); value(d) }
    package mutating func field(_ name: String, _ b: Bool) { key(name); value(b) }

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
