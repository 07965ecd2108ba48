import Dispatch
import XCTest
@testable import ObjGraphCore

/// Types whose layout the tests check. Nested in an enum so their names cannot clash with
/// other test files: `ObjGraphCoreTests.TCFixtures.Node`.
enum TCFixtures {
    final class Cache { var hits = 0 }
    final class Owner {}
    struct State { var count = 0; var cache = Cache() }
    struct Pair { var a: Cache; var i = 0; var b: Cache? }
    final class Key: Hashable {
        let id: Int
        init(_ id: Int) { self.id = id }
        static func == (l: Key, r: Key) -> Bool { l.id == r.id }
        func hash(into h: inout Hasher) { h.combine(id) }
    }
    class Base { var baseRef: Cache? }
    final class Node: Base {
        var next: Node?
        weak var parent: Node?
        unowned let owner: Owner
        unowned(unsafe) var rawOwner: Owner
        var state = State()
        var onTap: (() -> Void)?
        var delegate: AnyObject?
        init(owner: Owner, rawOwner: Owner) {
            self.owner = owner
            self.rawOwner = rawOwner
        }
        func bind() {
            let cache = state.cache
            onTap = { withExtendedLifetime((self, cache)) {} }
        }
    }
    final class Holder { var action: () -> Void = {} }
    struct Failure: Error, @unchecked Sendable { var cache = Cache(); var code = 7 }

    static func genericCounter<T>(_ value: T) -> () -> Void {
        var copy = value
        return {
            withExtendedLifetime(copy) {}; copy = value
        }
    }
}

/// Address of an object, without retaining it.
private func tcAddress(_ object: AnyObject) -> UInt { UInt(bitPattern: Unmanaged.passUnretained(object).toOpaque()) }
/// Word `i` of the memory at `address` (test objects are alive while read).
private func tcWord(_ address: UInt, _ i: Int) -> UInt { UnsafePointer<UInt>(bitPattern: address)![i] }
/// Byte offsets of the words of `object` (first `count` words) that equal `value`.
private func tcOffsets(of value: UInt, in object: UInt, words count: Int) -> [Int] {
    (2..<count).filter { tcWord(object, $0) == value }.map { $0 * 8 }
}
/// Instance size of a class object from its metadata (Linux class metadata word 3, low 32 bits).
private func tcInstanceWords(_ object: UInt) -> Int {
    Int(UInt32(truncatingIfNeeded: tcWord(tcWord(object, 0), 3))) / 8
}

final class TypeCatalogTests: XCTestCase {
    let catalog = TypeCatalog(symbolizer: Symbolizer())

    private func describe(_ object: UInt) -> TypeDescription { catalog.describe(metadata: tcWord(object, 0)) }

    private func label(_ type: TypeDescription, _ object: UInt, _ offset: Int) -> (String, HeapSnapshot.EdgeKind) {
        let header = type.wantsHeaderWords ? (2..<8).map { UInt64(tcWord(object, $0)) } : []
        let result = type.label(offset: offset, previousWord: UInt64(tcWord(object, offset / 8 - 1)), header: header)
        return (result.label, result.kind)
    }

    private func assertLabel(
        _ type: TypeDescription, _ object: UInt, _ offset: Int?, _ text: String,
        _ kind: HeapSnapshot.EdgeKind, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let offset else { return XCTFail("offset of \(text) not found", file: file, line: line) }
        let (got, gotKind) = label(type, object, offset)
        XCTAssertEqual(got, text, file: file, line: line)
        XCTAssertEqual(gotKind, kind, "kind of \(text)", file: file, line: line)
    }

    func testClassNameKindAndFieldLabels() {
        let owner = TCFixtures.Owner(), rawOwner = TCFixtures.Owner()
        let node = TCFixtures.Node(owner: owner, rawOwner: rawOwner)
        let next = TCFixtures.Node(owner: owner, rawOwner: rawOwner)
        let base = TCFixtures.Cache(), delegate = TCFixtures.Cache()
        withExtendedLifetime((owner, rawOwner, node, next, base, delegate)) {
            let object = tcAddress(node)
            let count = tcInstanceWords(object)
            let type = describe(object)
            XCTAssertEqual(type.kind, .classInstance)
            XCTAssertEqual(type.name, "ObjGraphCoreTests.TCFixtures.Node")
            XCTAssertEqual(type.shortName, "TCFixtures.Node")
            XCTAssertFalse(type.wantsHeaderWords)
            XCTAssertTrue(type.labelsUsePreviousWord, "onTap is a closure")
            XCTAssertFalse(describe(tcAddress(owner)).labelsUsePreviousWord)

            node.baseRef = base
            node.next = next
            node.delegate = delegate
            assertLabel(
                type, object, tcOffsets(of: tcAddress(base), in: object, words: count).first, "baseRef", .strong)
            assertLabel(type, object, tcOffsets(of: tcAddress(next), in: object, words: count).first, "next", .strong)
            assertLabel(
                type, object, tcOffsets(of: tcAddress(owner), in: object, words: count).first, "owner", .unowned)
            assertLabel(
                type, object, tcOffsets(of: tcAddress(rawOwner), in: object, words: count).first,
                "rawOwner", .unownedUnsafe)
            assertLabel(
                type, object, tcOffsets(of: tcAddress(node.state.cache), in: object, words: count).first,
                "state.cache", .strong)
            assertLabel(
                type, object, tcOffsets(of: tcAddress(delegate), in: object, words: count).first,
                "delegate", .strong)
            XCTAssertTrue(label(type, object, 8) == ("+8", .conservative), "header word is unknown")
        }
    }

    func testWeakFieldIsNeverStrong() {
        let owner = TCFixtures.Owner()
        let node = TCFixtures.Node(owner: owner, rawOwner: owner)
        let parent = TCFixtures.Node(owner: owner, rawOwner: owner)
        withExtendedLifetime((owner, node, parent)) {
            let object = tcAddress(node)
            let count = tcInstanceWords(object)
            let before = (0..<count).map { tcWord(object, $0) }
            node.parent = parent
            let changed = (2..<count).filter { tcWord(object, $0) != before[$0] }
            XCTAssertEqual(changed.count, 1, "setting a weak var changes one word")
            guard let offset = changed.first.map({ $0 * 8 }) else { return }
            XCTAssertNotEqual(tcWord(object, offset / 8), tcAddress(parent), "weak storage holds a side table")
            let (text, kind) = label(describe(object), object, offset)
            XCTAssertEqual(text, "parent (weak)")
            XCTAssertFalse(kind.isStrong)
        }
    }

    func testClosureFieldIsNamedAfterItsFunction() {
        let owner = TCFixtures.Owner()
        let node = TCFixtures.Node(owner: owner, rawOwner: owner)
        withExtendedLifetime((owner, node)) {
            let object = tcAddress(node)
            let count = tcInstanceWords(object)
            let before = (0..<count).map { tcWord(object, $0) }
            node.bind()
            let changed = (2..<count).filter { tcWord(object, $0) != before[$0] }
            XCTAssertEqual(changed.count, 2, "function pointer and context")
            guard changed.count == 2 else { return }
            let type = describe(object)
            assertLabel(type, object, changed[1] * 8, "onTap (closure #1 in TCFixtures.Node.bind())", .strong)
            assertLabel(type, object, changed[0] * 8, "onTap", .strong)

            // The context: self and `cache` captured, never "<<< invalid type >>>".
            let context = tcWord(object, changed[1])
            let contextType = describe(context)
            XCTAssertEqual(contextType.kind, .closureContext)
            XCTAssertEqual(contextType.name, "closure context (2 captures)")
            let selfOffset = tcOffsets(of: object, in: context, words: 4).first
            let cacheOffset = tcOffsets(of: tcAddress(node.state.cache), in: context, words: 4).first
            assertLabel(contextType, context, selfOffset, "capture #1", .strong)
            assertLabel(contextType, context, cacheOffset, "capture #2", .strong)
        }
    }

    func testArrayStorageOfClassesAndStructs() {
        let owner = TCFixtures.Owner()
        let nodes = (0..<3).map { _ in TCFixtures.Node(owner: owner, rawOwner: owner) }
        let pairs = [TCFixtures.Pair(a: .init()), TCFixtures.Pair(a: .init(), b: .init())]
        withExtendedLifetime((owner, nodes, pairs)) {
            let storage = tcAddress(unsafeBitCast(nodes, to: AnyObject.self))
            let type = describe(storage)
            XCTAssertEqual(type.kind, .classInstance)
            XCTAssertEqual(type.name, "Array<Swift.AnyObject> storage", "class arrays share AnyObject storage")
            XCTAssertTrue(type.isAnyObjectArrayStorage)
            XCTAssertTrue(type.arrayElements.map { $0 == (32, 8) } ?? false)
            let renamed = type.withElementType(describe(tcAddress(nodes[0])))
            XCTAssertEqual(renamed.name, "Array<ObjGraphCoreTests.TCFixtures.Node> storage")
            XCTAssertEqual(renamed.shortName, "Array<TCFixtures.Node> storage")
            assertLabel(
                type, storage, tcOffsets(of: tcAddress(nodes[0]), in: storage, words: 8).first, "[0]", .conservative)
            assertLabel(
                type, storage, tcOffsets(of: tcAddress(nodes[2]), in: storage, words: 8).first, "[2]", .conservative)
            XCTAssertEqual(tcOffsets(of: tcAddress(nodes[2]), in: storage, words: 8), [48], "elements start at 32")

            let pairStorage = tcAddress(unsafeBitCast(pairs, to: AnyObject.self))
            let pairType = describe(pairStorage)
            XCTAssertEqual(pairType.name, "Array<ObjGraphCoreTests.TCFixtures.Pair> storage")
            XCTAssertEqual(pairType.shortName, "Array<TCFixtures.Pair> storage")
            XCTAssertFalse(pairType.isAnyObjectArrayStorage)
            XCTAssertTrue(pairType.arrayElements.map { $0 == (32, 24) } ?? false)
            assertLabel(
                pairType, pairStorage, tcOffsets(of: tcAddress(pairs[0].a), in: pairStorage, words: 12).first,
                "[0].a", .conservative)
            assertLabel(
                pairType, pairStorage, tcOffsets(of: tcAddress(pairs[1].b!), in: pairStorage, words: 12).first,
                "[1].b", .conservative)
        }
    }

    func testDictionaryAndSetStorage() {
        let owner = TCFixtures.Owner()
        let nodes = (0..<5).map { _ in TCFixtures.Node(owner: owner, rawOwner: owner) }
        let byName = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ("node\($0.offset)", $0.element) })
        let keys = (0..<4).map(TCFixtures.Key.init)
        let byKey = Dictionary(uniqueKeysWithValues: keys.map { ($0, $0.id) })
        let keySet = Set(keys)
        withExtendedLifetime((owner, nodes, byName, keys, byKey, keySet)) {
            let storage = tcAddress(unsafeBitCast(byName, to: AnyObject.self))
            let type = describe(storage)
            XCTAssertEqual(type.name, "Dictionary<Swift.String, ObjGraphCoreTests.TCFixtures.Node> storage")
            XCTAssertEqual(type.shortName, "Dictionary<String, TCFixtures.Node> storage")
            XCTAssertTrue(type.wantsHeaderWords)
            // Independent of the catalog: rawValues (word 7) points at value bucket 0.
            let valuesStart = Int(tcWord(storage, 7) - storage)
            let buckets = 1 << Int(tcWord(storage, 4) & 0xFF)  // word 4, low byte: scale
            for node in nodes {
                let offsets = tcOffsets(of: tcAddress(node), in: storage, words: valuesStart / 8 + buckets)
                XCTAssertEqual(offsets.count, 1)
                guard let offset = offsets.first else { continue }
                assertLabel(type, storage, offset, "value[\((offset - valuesStart) / 8)]", .conservative)
            }

            let keyed = tcAddress(unsafeBitCast(byKey, to: AnyObject.self))
            let keyedType = describe(keyed)
            XCTAssertEqual(keyedType.shortName, "Dictionary<TCFixtures.Key, Int> storage")
            let keysStart = Int(tcWord(keyed, 6) - keyed)
            for key in keys {
                let offset = tcOffsets(of: tcAddress(key), in: keyed, words: 64).first
                assertLabel(keyedType, keyed, offset, "key[\(((offset ?? 0) - keysStart) / 8)]", .conservative)
            }

            let set = tcAddress(unsafeBitCast(keySet, to: AnyObject.self))
            let setType = describe(set)
            XCTAssertEqual(setType.shortName, "Set<TCFixtures.Key> storage")
            let elementsStart = Int(tcWord(set, 6) - set)
            for key in keys {
                let offset = tcOffsets(of: tcAddress(key), in: set, words: 64).first
                assertLabel(setType, set, offset, "element[\(((offset ?? 0) - elementsStart) / 8)]", .conservative)
            }
            XCTAssertTrue(
                setType.label(offset: 64, previousWord: 0, header: []) == ("+64", .conservative),
                "without header words the layout is unknown")
        }
    }

    func testBoxes() {
        let holder = TCFixtures.Holder()
        holder.action = TCFixtures.genericCounter(42)
        let object = tcAddress(holder)
        // Holder: action's function pointer at 16, context at 24.
        let context = tcWord(object, 3)
        let contextType = describe(context)
        XCTAssertEqual(contextType.kind, .closureContext)
        XCTAssertFalse(contextType.name.contains("invalid"))
        // The generic `var` lives in a swift_allocBox box (kind 0x500) captured by the context.
        let boxWord = (2..<5).first { i in
            let candidate = tcWord(context, i), metadata = candidate > 0x10000 ? tcWord(candidate, 0) : 0
            return metadata > 0x10000 && tcWord(metadata, 0) == 0x500
        }
        XCTAssertNotNil(boxWord)
        guard let boxWord else { return }
        assertLabel(contextType, context, boxWord * 8, "capture #1", .strong)
        let box = tcWord(context, boxWord)
        let boxType = describe(box)
        XCTAssertEqual(boxType.kind, .box)
        XCTAssertEqual(boxType.name, "Box<Swift.Int>")
        XCTAssertEqual(boxType.shortName, "Box<Int>")
        XCTAssertEqual(tcWord(box, 2), 42)
        assertLabel(boxType, box, 16, "value", .strong)

        // A non-generic captured `var` gets a compiler-made box (kind 0x400) that is the context itself.
        var counter = TCFixtures.Cache()
        holder.action = { counter = TCFixtures.Cache() }
        let fixedBox = tcWord(object, 3)
        XCTAssertEqual(tcWord(tcWord(fixedBox, 0), 0), 0x400)
        let fixedType = describe(fixedBox)
        XCTAssertEqual(fixedType.kind, .box)
        XCTAssertEqual(fixedType.name, "Box<ObjGraphCoreTests.TCFixtures.Cache>")
        assertLabel(
            fixedType, fixedBox, tcOffsets(of: tcAddress(counter), in: fixedBox, words: 3).first, "value", .strong)
        withExtendedLifetime(holder) {}
    }

    func testTaskStringAndOtherKinds() {
        let task = Task { 1 }
        let taskObject = unsafeBitCast(task, to: UInt.self)
        XCTAssertEqual(tcWord(tcWord(taskObject, 0), 0), 0x502)
        let taskType = describe(taskObject)
        XCTAssertEqual(taskType.kind, .task)
        XCTAssertEqual(taskType.name, "Task")
        XCTAssertTrue(taskType.label(offset: 40) == ("+40", .conservative))
        withExtendedLifetime(task) {}

        let text = String(repeating: "x", count: 40)
        let bits = unsafeBitCast(text, to: (UInt, UInt).self).1 & 0x00FF_FFFF_FFFF_FFFF
        let stringType = describe(bits)
        XCTAssertEqual(stringType.name, "String storage")
        XCTAssertEqual(stringType.kind, .classInstance)
        withExtendedLifetime(text) {}

        let error: any Error = TCFixtures.Failure()
        let errorObject = unsafeBitCast(error as any Error, to: UInt.self)  // `as any Error`: do not open it
        XCTAssertEqual(tcWord(tcWord(errorObject, 0), 0), 0x501)
        let errorType = describe(errorObject)
        XCTAssertEqual(errorType.kind, .other)
        XCTAssertEqual(errorType.name, "Error box")
        assertLabel(
            errorType, errorObject,
            tcOffsets(
                of: tcAddress((error as! TCFixtures.Failure).cache),
                in: errorObject, words: 5
            ).first, "error value", .conservative)

        XCTAssertEqual(catalog.describe(metadata: 0).kind, .other)
        let plain = TypeDescription(kind: .other, name: "(other types)", shortName: "(other types)")
        XCTAssertTrue(plain.label(offset: 24) == ("+24", .conservative))
        XCTAssertNil(plain.arrayElements)
    }

    func testDescriptionsAreCachedAndThreadSafe() {
        let owner = TCFixtures.Owner()
        let metadata = tcWord(tcAddress(owner), 0)
        struct Slots: @unchecked Sendable { let names: UnsafeMutableBufferPointer<String> }
        let slots = Slots(names: .allocate(capacity: 8))
        slots.names.initialize(repeating: "")
        let catalog = self.catalog
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            slots.names[i] =
                TypeCatalog(symbolizer: catalog.symbolizer).describe(metadata: metadata).name
                + catalog.describe(metadata: metadata).name
        }
        XCTAssertEqual(Set(slots.names), ["ObjGraphCoreTests.TCFixtures.OwnerObjGraphCoreTests.TCFixtures.Owner"])
        slots.names.deinitialize()
        slots.names.deallocate()
        withExtendedLifetime(owner) {}
    }

    func testShortNamesAndCleaning() {
        XCTAssertEqual(
            TypeCatalog.shortName("Swift.Dictionary<Swift.String, Fixtures.Node>.Index"),
            "Dictionary<String, Node>.Index")
        XCTAssertEqual(TypeCatalog.shortName("Fixtures.Outer.Inner"), "Outer.Inner")
        XCTAssertEqual(TypeCatalog.shortName("(Swift.Int, label: Fixtures.Node) -> ()"), "(Int, label: Node) -> ()")
        XCTAssertEqual(TypeCatalog.shortName("closure #1 in Fixtures.Screen.bind()"), "closure #1 in Screen.bind()")
        XCTAssertEqual(TypeCatalog.shortName("Box<Swift.Int>"), "Box<Int>")
        XCTAssertEqual(TypeNames.clean("Fixtures.(unknown context at $55d1c3a0e4c8).Local"), "Fixtures.Local")
        XCTAssertEqual(TypeNames.clean("Fixtures.(Secret in _1A2B3C4D)"), "Fixtures.Secret")
        XCTAssertEqual(TypeNames.clean("Swift.Array<Fixtures.(Secret in _1A2B3C4D)>"), "Swift.Array<Fixtures.Secret>")
    }
}
