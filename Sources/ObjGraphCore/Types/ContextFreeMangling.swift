import CObjGraphRuntime

/// Decides whether a mangled type name (as stored in a closure's capture descriptor) may be
/// handed to `swift_getTypeByMangledNameInContext` with no generic context.
///
/// The runtime does not fail gracefully on every name it is given without a context: a
/// dependent member type whose base is a generic parameter (`T.Initial`, mangled `...Qz`) makes
/// it call `fatalError` ("Expected a metadata pack but got metadata"), which aborts the observed
/// program (swift-build and Hummingbird did). So a name is resolved only when every token in it
/// is on a whitelist of concrete type manglings (`docs/ABI/Mangling.rst`): nominal types by
/// symbolic reference to a non-generic class, struct or enum descriptor (or a generic one
/// followed by its arguments), protocols, standard substitutions, bound generics, tuples,
/// optionals, existentials, metatypes, plain function types, builtin types and ownership
/// suffixes. Anything else (generic parameters `x`/`q`, associated types `Q*`, packs, opaque
/// types, generic signatures, accessor-function or absolute symbolic references, identifiers
/// with word substitutions, lowered `I..._` function types) is refused; the capture is then
/// described conservatively (its words scanned, labelled `+offset`). Refusing costs a label,
/// never a crash. See the Runtime facts article, "Never ask the runtime what it may abort on".
enum ContextFreeMangling {
    /// True when the `length` bytes at `name` are a concrete type mangling the runtime resolves
    /// (or rejects with nil) without a generic context.
    static func isResolvable(_ name: UnsafeRawPointer, length: Int) -> Bool {
        guard length > 0, length < 4096 else { return false }
        var scanner = Scanner(base: name, length: length)
        return scanner.acceptsWholeName()
    }

    private struct Scanner {
        let base: UnsafeRawPointer
        let length: Int
        var i = 0

        func byte(_ at: Int) -> UInt8? { at < length ? base.load(fromByteOffset: at, as: UInt8.self) : nil }

        mutating func acceptsWholeName() -> Bool {
            while i < length {
                guard let b = byte(i), step(b) else { return false }
            }
            return i == length
        }

        /// Consumes one token starting with `b`; false when it is not whitelisted.
        mutating func step(_ b: UInt8) -> Bool {
            switch b {
            case 0x01, 0x02:
                return symbolicReference(indirect: b == 0x02)
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                return identifier()
            case UInt8(ascii: "S"):
                return standardSubstitution()
            case UInt8(ascii: "A"):
                return substitution()
            case UInt8(ascii: "B"):
                return builtin()
            case UInt8(ascii: "X"):
                return extended()
            case UInt8(ascii: "Y"):
                return functionAttribute()
            // List and structure operators: list start, bound generic end, list separator,
            // tuple, existential, protocol, class/struct/enum, function, throws, inout,
            // variadic, shared, owned, metatype, autoclosure/noescape function kinds.
            case UInt8(ascii: "y"), UInt8(ascii: "G"), UInt8(ascii: "_"), UInt8(ascii: "t"), UInt8(ascii: "p"),
                UInt8(ascii: "P"), UInt8(ascii: "C"), UInt8(ascii: "V"), UInt8(ascii: "O"), UInt8(ascii: "c"),
                UInt8(ascii: "K"), UInt8(ascii: "z"), UInt8(ascii: "d"), UInt8(ascii: "h"), UInt8(ascii: "n"),
                UInt8(ascii: "m"):
                i += 1
                return true
            default:
                // Generic parameters (x, q), associated, opaque and pack types (Q), generic
                // signatures (l, r, R, u), lowered functions (I), conformances (H), typealiases
                // (a), other symbolic references, integer types ($), word substitutions (0).
                return false
            }
        }

        /// A relative reference to a context descriptor: direct (0x01) or through a pointer
        /// (0x02). Accepted for classes, structs, enums and protocols; a generic type only when
        /// its argument list follows (`y ... G`), since an unbound generic would need a context.
        mutating func symbolicReference(indirect: Bool) -> Bool {
            guard i + 5 <= length else { return false }
            let field = base + i + 1
            let target = field + Int(field.loadUnaligned(as: Int32.self))
            var descriptor = target
            if indirect {
                guard ogr_readable(target, 8) != 0,
                    let pointed = UnsafeRawPointer(bitPattern: target.loadUnaligned(as: UInt.self))
                else { return false }
                descriptor = pointed
            }
            guard ogr_readable(descriptor, 4) != 0 else { return false }
            let flags = descriptor.loadUnaligned(as: UInt32.self)
            let kind = flags & 0x1F
            let isGeneric = flags & 0x80 != 0
            i += 5
            switch kind {
            case 3: return true  // protocol
            case 16, 17, 18:  // class, struct, enum
                return !isGeneric || byte(i) == UInt8(ascii: "y")
            default: return false  // module, extension, anonymous, opaque type
            }
        }

        /// `NATURAL chars`: a plain identifier (module or type name).
        mutating func identifier() -> Bool {
            guard let n = natural(), n > 0, i + n <= length else { return false }
            i += n
            return true
        }

        /// `S` + optional repeat count + known-type letter, `Sc` + letter (concurrency types).
        mutating func standardSubstitution() -> Bool {
            i += 1
            _ = natural()
            guard let letter = byte(i), letter.isASCIILetter else { return false }
            i += 1
            if letter == UInt8(ascii: "c") {
                guard let second = byte(i), second.isASCIILetter else { return false }
                i += 1
            }
            return true
        }

        /// `A INDEX` or `A` lowercase* uppercase: a reference to an earlier, already accepted node.
        mutating func substitution() -> Bool {
            i += 1
            if byte(i) == UInt8(ascii: "_") { i += 1; return true }
            if let b = byte(i), b.isASCIIDigit {
                _ = natural()
                guard byte(i) == UInt8(ascii: "_") else { return false }
                i += 1
                return true
            }
            while let b = byte(i), b >= UInt8(ascii: "a"), b <= UInt8(ascii: "z") { i += 1 }
            guard let b = byte(i), b >= UInt8(ascii: "A"), b <= UInt8(ascii: "Z") else { return false }
            i += 1
            return true
        }

        /// `B` + kind: native object, bridge object, raw pointer, word, integers and floats.
        mutating func builtin() -> Bool {
            i += 1
            guard let kind = byte(i) else { return false }
            i += 1
            switch kind {
            case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "o"), UInt8(ascii: "O"), UInt8(ascii: "p"),
                UInt8(ascii: "w"), UInt8(ascii: "D"), UInt8(ascii: "e"), UInt8(ascii: "j"), UInt8(ascii: "t"):
                return true
            case UInt8(ascii: "i"), UInt8(ascii: "f"):
                guard natural() != nil, byte(i) == UInt8(ascii: "_") else { return false }
                i += 1
                return true
            default:
                return false
            }
        }

        /// `X` + kind: ownership (w, o, u), AnyObject and class-bound existentials (l, c),
        /// existential metatype (p), metatypes with a representation (m, M + t/T/o), function
        /// kinds (E noescape, f thin, B block, C c function, K/A autoclosure), dynamic Self (D).
        mutating func extended() -> Bool {
            i += 1
            guard let kind = byte(i) else { return false }
            i += 1
            switch kind {
            case UInt8(ascii: "w"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "c"),
                UInt8(ascii: "p"), UInt8(ascii: "E"), UInt8(ascii: "f"), UInt8(ascii: "B"), UInt8(ascii: "C"),
                UInt8(ascii: "K"), UInt8(ascii: "A"), UInt8(ascii: "D"):
                return true
            case UInt8(ascii: "m"), UInt8(ascii: "M"):
                guard let repr = byte(i),
                    repr == UInt8(ascii: "t") || repr == UInt8(ascii: "T")
                        || repr == UInt8(ascii: "o")
                else { return false }
                i += 1
                return true
            default:
                return false
            }
        }

        /// `Y` + function-type attribute: async, Sendable, global actor, typed throws,
        /// @isolated(any), sending result, nonisolated(nonsending), isolated and sending params.
        mutating func functionAttribute() -> Bool {
            i += 1
            guard let kind = byte(i) else { return false }
            i += 1
            switch kind {
            case UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c"), UInt8(ascii: "K"), UInt8(ascii: "A"),
                UInt8(ascii: "T"), UInt8(ascii: "C"), UInt8(ascii: "i"), UInt8(ascii: "t"), UInt8(ascii: "k"):
                return true
            default:
                return false
            }
        }

        mutating func natural() -> Int? {
            var value = 0, digits = 0
            while let b = byte(i), b.isASCIIDigit, digits < 6 {
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                digits += 1
                i += 1
            }
            return digits == 0 ? nil : value
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    fileprivate var isASCIILetter: Bool {
        (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z"))
            || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z"))
    }
}
