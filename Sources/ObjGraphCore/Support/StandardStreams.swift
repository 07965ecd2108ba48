#if canImport(Glibc)
import Glibc
#endif

/// Standard output as a `TextOutputStream` (Swift's `print`, no Foundation).
package struct StandardOutput: TextOutputStream {
    package init() {}
    package mutating func write(_ string: String) {
        print(string, terminator: "")
    }
}

/// Standard error as a `TextOutputStream`, unbuffered.
package struct StandardError: TextOutputStream {
    package init() {}
    package mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
