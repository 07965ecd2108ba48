import Glibc
import XCTest
@testable import ObjGraphCore

/// The six lines that aborted swift-build and Hummingbird under the agent: a generic closure
/// capturing a value of a dependent member type (`C.Initial?`).
protocol CFMContainer { associatedtype Initial }
struct CFMBox: CFMContainer { typealias Initial = String }
final class CFMHolder { var action: () -> String? = { nil } }
final class CFMCounter { var action: () -> Int = { 0 } }

@inline(never)
func cfmMakeDefault<C: CFMContainer>(_: C.Type, _ initial: C.Initial?) -> () -> C.Initial? { { initial } }
@inline(never)
func cfmPack<each T>(_ values: repeat each T) -> () -> Int {
    {
        var n = 0; for _ in repeat each values { n += 1 }; return n
    }
}

/// Every capture descriptor of every image loaded in this process (`swift5_capture` sections,
/// found through the runtime's own list of metadata sections).
private func allCaptureTypeNames() -> [(name: UnsafeRawPointer, generic: Bool)] {
    typealias Body = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Bool
    typealias Enumerate = @convention(c) (Body, UnsafeMutableRawPointer?) -> Void
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "swift_enumerateAllMetadataSections") else {
        return []
    }
    final class Sink { var names: [(UnsafeRawPointer, Bool)] = [] }
    let sink = Sink()
    let body: Body = { sections, context in
        guard let sections, let context else { return true }
        let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
        // MetadataSections: version, base, 2 unused words, then (start, length) ranges;
        // swift5_capture is range 10.
        let start = sections.load(fromByteOffset: 32 + 10 * 16, as: UInt.self)
        let length = sections.load(fromByteOffset: 32 + 10 * 16 + 8, as: Int.self)
        guard let base = UnsafeRawPointer(bitPattern: start) else { return true }
        var offset = 0
        while offset + 12 <= length {
            let descriptor = base + offset
            let types = Int(descriptor.load(as: UInt32.self))
            let sources = Int(descriptor.load(fromByteOffset: 4, as: UInt32.self))
            let bindings = Int(descriptor.load(fromByteOffset: 8, as: UInt32.self))
            guard types < 4096, sources < 4096 else { break }
            for k in 0..<types {
                if let name = MetadataReader.relative(descriptor, 12 + 4 * k) {
                    sink.names.append((name, sources + bindings > 0))
                }
            }
            offset += 12 + 4 * types + 8 * sources
        }
        return true
    }
    let enumerate = unsafeBitCast(symbol, to: Enumerate.self)
    enumerate(body, Unmanaged.passUnretained(sink).toOpaque())
    return withExtendedLifetime(sink) { sink.names }
}

final class ContextFreeManglingTests: XCTestCase {
    private func accepts(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { ContextFreeMangling.isResolvable($0.baseAddress!, length: $0.count) }
    }

    func testConcreteManglingsAreAcceptedAndGenericOnesRefused() {
        for concrete in [
            "Si", "SS", "SiSg", "SaySiG", "SDySSSiG", "Si_SSt", "yXl", "SiXw", "SbSdtSg", "Bo", "Bi64_",
            "SiSScKYaYb", "ScA_pXl", "SiXmT", "8Fixtures4NodeC", "A_", "SiAAG",
        ] {
            XCTAssertTrue(accepts(concrete), concrete)
        }
        for dependent in [
            "x", "xSg", "q_", "qd__", "7Initial11Fixtures9ContainerPQzSg", "SiQp", "xxQp", "Qr",
            "SiIegd_", "SiSgIegg_", "Sil", "0A4NodeC", "x7InitialQa", "SaySiG$n3", "", "Si\u{9}1234",
            "Su\u{18}12345678",
        ] {
            XCTAssertFalse(accepts(dependent), dependent)
        }
    }

    /// The reproduction, described the way the agent's census describes it: the
    /// closure's context holds `Optional<C.Initial>`, which the runtime cannot resolve without
    /// the closure's generic bindings. Before the fix this test process aborted with
    /// "Expected a metadata pack but got metadata".
    func testGenericClosureContextsAreDescribedWithoutAskingTheRuntime() {
        let holder = CFMHolder()
        holder.action = cfmMakeDefault(CFMBox.self, "x")
        let counter = CFMCounter()
        counter.action = cfmPack(1, "two", 3.0)
        let catalog = TypeCatalog(symbolizer: Symbolizer())
        for object in [holder, counter] as [AnyObject] {
            // The stored closure's context is word 3 (function pointer at 16, context at 24).
            let address = UInt(bitPattern: Unmanaged.passUnretained(object).toOpaque())
            let context = UnsafePointer<UInt>(bitPattern: address)![3]
            let description = catalog.describe(metadata: UnsafePointer<UInt>(bitPattern: context)![0])
            XCTAssertEqual(description.kind, .closureContext)
            XCTAssertTrue(description.name.hasPrefix("closure context"), description.name)
        }
        XCTAssertEqual(holder.action(), "x")
        XCTAssertEqual(counter.action(), 3)
    }

    /// Every capture type of every loaded image (the Swift runtime, Foundation, Dispatch, XCTest,
    /// Swift Testing and these tests: thousands of names, generic ones among them) goes through
    /// the check, and every name it accepts is resolved by the runtime in this process. A name
    /// the check wrongly accepts and the runtime aborts on kills the test run.
    func testEveryAcceptedCaptureNameOfEveryLoadedImageResolvesWithoutAborting() {
        let names = allCaptureTypeNames()
        XCTAssertGreaterThan(names.count, 1000, "capture sections of the loaded images")
        var accepted = 0, refused = 0, refusedGeneric = 0, resolved = 0
        for (name, generic) in names {
            let (full, _) = MetadataReader.scanMangled(name)
            let length = MetadataReader.ownership(ofMangled: name).length
            XCTAssertLessThanOrEqual(length, full)
            if ContextFreeMangling.isResolvable(name, length: length) {
                accepted += 1
                if MetadataReader.resolve(mangled: name, length: length) != nil { resolved += 1 }
            } else {
                refused += 1
                if generic { refusedGeneric += 1 }
            }
        }
        XCTAssertGreaterThan(accepted, 500)
        XCTAssertGreaterThan(refusedGeneric, 50, "generic closures' captures are refused")
        XCTAssertGreaterThan(resolved * 10, accepted * 9, "most accepted names resolve: \(resolved) of \(accepted)")
        print("capture names: \(names.count), accepted \(accepted) (resolved \(resolved)), refused \(refused)")
    }
}
