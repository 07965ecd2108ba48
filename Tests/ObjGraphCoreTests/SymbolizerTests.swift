import Glibc
import XCTest
@testable import ObjGraphCore

enum SymFixtures {
    nonisolated(unsafe) static var registry: [Int] = [1, 2, 3]
    final class Holder {
        var action: () -> Void = {}
        func setUp() { action = { [unowned self] in withExtendedLifetime(self) {} } }
    }
}

final class SymbolizerTests: XCTestCase {
    let symbols = Symbolizer()

    func testFindsStaticVariableByAddress() throws {
        let address = withUnsafeMutablePointer(to: &SymFixtures.registry) { UInt(bitPattern: $0) }
        let symbol = try XCTUnwrap(symbols.symbol(containing: address))
        XCTAssertEqual(symbol.start, address)
        XCTAssertEqual(symbol.size, 8)
        XCTAssertTrue(symbol.name.hasPrefix("$s"), symbol.name)
        XCTAssertEqual(symbol.demangled, "static ObjGraphCoreTests.SymFixtures.registry : Swift.Array<Swift.Int>")
        XCTAssertEqual(symbols.symbol(containing: address + 7)?.start, address)
        XCTAssertEqual(symbols.globalName(containing: address), "static ObjGraphCoreTests.SymFixtures.registry")
        XCTAssertEqual(
            Symbolizer.rootName(fromDemangled: "Fixtures.registry : [Fixtures.Session]"), "Fixtures.registry")
        XCTAssertEqual(Symbolizer.rootName(fromDemangled: "errno"), "errno")
        // A private global, as swift-build's FoundationEssentials has them.
        XCTAssertEqual(
            Symbolizer.rootName(
                fromDemangled:
                    "static FoundationEssentials._ProcessInfo.(cpuSetURL in _5E3BF990DD92C0080D372AA0CF8A3C95) : Foundation.URL"
            ), "static FoundationEssentials._ProcessInfo.cpuSetURL")
    }

    func testFindsClosureFunctionByAddress() throws {
        let holder = SymFixtures.Holder()
        holder.setUp()
        let object = UInt(bitPattern: Unmanaged.passUnretained(holder).toOpaque())
        let function = UnsafePointer<UInt>(bitPattern: object)![2]  // action: function pointer, context
        let symbol = try XCTUnwrap(symbols.symbol(containing: function))
        XCTAssertTrue(symbol.demangled.contains("closure #1"), symbol.demangled)
        XCTAssertLessThanOrEqual(symbol.start, function)
        XCTAssertEqual(
            symbols.functionName(containing: function),
            "closure #1 in ObjGraphCoreTests.SymFixtures.Holder.setUp()")
        XCTAssertEqual(
            symbols.functionName(containing: function, shortNames: true),
            "closure #1 in SymFixtures.Holder.setUp()")
        withExtendedLifetime(holder) {}
    }

    func testFindsFunctionInSharedLibrary() throws {
        let retain = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "swift_retain"))
        let address = UInt(bitPattern: retain)
        let symbol = try XCTUnwrap(symbols.symbol(containing: address))
        XCTAssertEqual(symbol.name, "swift_retain")
        XCTAssertEqual(symbol.demangled, "swift_retain")
        XCTAssertEqual(symbol.start, address)
        XCTAssertGreaterThan(symbol.size, 0)
    }

    /// A table answers its first lookups by scanning and later ones from an address-sorted
    /// index: both must name the same symbol for every address (function starts, interiors,
    /// data, gaps).
    func testScanAndSortedIndexAgree() throws {
        let retain = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "swift_retain"))
        let image = try XCTUnwrap(SymbolImage.all().images.first { $0.contains(UInt(bitPattern: retain)) })
        let path = image.path, bias = image.bias
        let names = [
            "swift_retain", "swift_release", "swift_allocObject", "swift_demangle", "swift_retainCount",
            "swift_unownedRetainCount", "swift_weakRetainCount", "swift_isDeallocating",
            "_swift_allocObject", "_swift_retain",
        ]
        var addresses: [UInt] = []
        for name in names {
            let start =
                UInt(bitPattern: try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), name), name)) - bias
            addresses += [start, start + 1, start + 7, start - 1]
        }
        let sorted = try XCTUnwrap(ELFSymbolTable(path: path))
        for _ in 0..<16 { _ = sorted.index(containing: 0) }  // past the scanning lookups
        for address in addresses {
            let scanned = try XCTUnwrap(ELFSymbolTable(path: path)).index(containing: address)  // a first lookup
            let indexed = sorted.index(containing: address)
            XCTAssertEqual(
                scanned.map(sorted.name(at:)), indexed.map(sorted.name(at:)), "address 0x\(String(address, radix: 16))")
        }
        let first = try XCTUnwrap(sorted.index(containing: addresses[0]))
        XCTAssertEqual(sorted.name(at: first), "swift_retain")
        XCTAssertEqual(sorted.value(at: first), UInt(bitPattern: retain) - bias)
    }

    func testUnknownAddressesGiveNil() {
        let heap = malloc(64)!
        defer { free(heap) }
        XCTAssertNil(symbols.symbol(containing: UInt(bitPattern: heap)))
        XCTAssertNil(symbols.symbol(containing: 16))
        XCTAssertNil(symbols.functionName(containing: 16))
    }

    func testUnreadableOrSymbollessFilesGiveNil() throws {
        XCTAssertNil(ELFSymbolTable(path: "/nonexistent/libnothing.so"))
        XCTAssertNil(ELFSymbolTable(path: "/proc/self/status"))
        var template = Array("/tmp/objgraph-elf-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(path) }
        var header = [UInt8](repeating: 0, count: 64)
        header[0...5] = [0x7F, 0x45, 0x4C, 0x46, 2, 1]  // ELF64 little-endian, no section headers
        _ = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        XCTAssertNil(ELFSymbolTable(path: path))
        let table = try XCTUnwrap(ELFSymbolTable(path: "/proc/self/exe"))
        XCTAssertGreaterThan(table.count, 100)
    }

    func testDemangleAndSimplify() {
        XCTAssertEqual(Symbolizer.demangle("$sSi"), "Swift.Int")
        XCTAssertEqual(Symbolizer.demangle("malloc"), "malloc")
        let cases: [(String, String?)] = [
            (
                "partial apply for closure #1 () -> () in Fixtures.Screen.bind() -> ()",
                "closure #1 in Fixtures.Screen.bind()"
            ),
            (
                "closure #2 (Swift.Int) -> Swift.Bool in closure #1 () -> () in Fixtures.Screen.bind() -> ()",
                "closure #2 in closure #1 in Fixtures.Screen.bind()"
            ),
            (
                "closure #1 @Sendable () async -> () in static Fixtures.App.main() async throws -> ()",
                "closure #1 in static Fixtures.App.main()"
            ),
            (
                "Fixtures.Screen.handle(event: (Swift.Int) -> ()) -> Swift.Bool",
                "Fixtures.Screen.handle(event: (Swift.Int) -> ())"
            ),
            ("implicit closure #1 () -> Swift.String in Fixtures.log() -> ()", "implicit closure #1 in Fixtures.log()"),
            (
                "reabstraction thunk helper from @escaping @callee_guaranteed () -> () to @escaping @callee_guaranteed () -> (@out ())",
                nil
            ),
            ("Fixtures.load() throws(Fixtures.LoadError) -> ()", "Fixtures.load()"),
            ("malloc", "malloc"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(Symbolizer.simplifiedFunctionName(input), expected, input)
        }
    }
}
