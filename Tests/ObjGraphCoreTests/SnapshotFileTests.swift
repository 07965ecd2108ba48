import XCTest
@testable import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

final class SnapshotFileTests: XCTestCase {
    typealias S = HeapSnapshot

    // MARK: Fixtures

    /// Every enum case, extreme integers, a negative (array element) label, unicode, empty strings, notes.
    static func sample() -> S {
        S(
            types: [
                S.TypeInfo(name: "App.Sessión", shortName: "Sessión", kind: .classInstance),
                S.TypeInfo(
                    name: "closure context of closure #1 in App.Screen.bind()", shortName: "closure #1",
                    kind: .closureContext),
                S.TypeInfo(name: "Box<Swift.Int>", shortName: "Box<Int>", kind: .box),
                S.TypeInfo(name: "Task 🧵", shortName: "", kind: .task),
                S.TypeInfo(name: "日本語.型", shortName: "型", kind: .other),
            ],
            objects: [
                S.Object(
                    address: 0x10, typeIndex: 0, size: 48, strongCount: 1, unownedCount: 0, weakCount: 0,
                    isZombie: false),
                S.Object(
                    address: 0x40, typeIndex: 1, size: 32, strongCount: 2, unownedCount: 1, weakCount: 3, isZombie: true
                ),
                S.Object(
                    address: 0x7fff_0000_0000, typeIndex: 2, size: .max, strongCount: .max, unownedCount: .max,
                    weakCount: .max, isZombie: false),
                S.Object(
                    address: .max - 1, typeIndex: 3, size: 0, strongCount: 0, unownedCount: 0, weakCount: 0,
                    isZombie: false),
                S.Object(
                    address: .max, typeIndex: 4, size: 16, strongCount: 1, unownedCount: 0, weakCount: 0, isZombie: true
                ),
            ],
            edges: [
                S.Edge(from: 0, to: 1, offset: 16, label: 0, kind: .strong),
                S.Edge(from: 0, to: 2, offset: 24, label: -1, kind: .conservative),
                S.Edge(from: 1, to: 0, offset: .max, label: 1, kind: .unowned),
                S.Edge(from: 4, to: 4, offset: 8, label: .min, kind: .unownedUnsafe),
            ],
            labels: ["items", "délégué ☂︎", ""],
            roots: [
                S.Root(kind: .global, name: "static App.Session.registry", slotAddress: 0x5555_0000, target: 0),
                S.Root(kind: .stack, name: "thread 2 stack", slotAddress: .max, target: 4),
                S.Root(kind: .register, name: "", slotAddress: 0, target: 1),
                S.Root(kind: .other, name: "TLS ✓", slotAddress: 1, target: 3),
            ],
            timestamp: 1_717_171_717.123456, notes: ["process exited with status 3", "", "thread 4 did not answer — ⚠︎"])
    }

    /// One of everything, with a layout simple enough to patch by offset (see `testEnumAndUTF8...`).
    static func tiny() -> S {
        S(
            types: [S.TypeInfo(name: "T", shortName: "T", kind: .classInstance)],
            objects: [
                S.Object(
                    address: 8, typeIndex: 0, size: 16, strongCount: 1, unownedCount: 0, weakCount: 0, isZombie: false)
            ],
            edges: [S.Edge(from: 0, to: 0, offset: 8, label: 0, kind: .strong)],
            labels: ["ab"], roots: [S.Root(kind: .global, name: "r", slotAddress: 0, target: 0)])
    }

    static func large(_ n: Int) -> S {
        let types = (0..<100).map { S.TypeInfo(name: "M.T\($0)", shortName: "T\($0)", kind: .classInstance) }
        let objects = (0..<n).map { (i: Int) -> S.Object in
            S.Object(
                address: UInt64(i) * 32 + 0x1000, typeIndex: Int32(i % 100), size: 32,
                strongCount: 1, unownedCount: 0, weakCount: 0, isZombie: i % 7 == 0)
        }
        let edges = (0..<n).map { (i: Int) -> S.Edge in
            let label: Int32 = i % 2 == 0 ? Int32(i % 10) : -Int32(i % 50 + 1)
            return S.Edge(from: Int32(i), to: Int32((i * 7919) % n), offset: 16, label: label, kind: .strong)
        }
        return S(
            types: types, objects: objects, edges: edges, labels: (0..<10).map { "f\($0)" },
            roots: [S.Root(kind: .global, name: "g", slotAddress: 8, target: 0)], timestamp: 1, notes: ["large"])
    }

    func decodeError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> SnapshotFileError? {
        do {
            _ = try S(decoding: bytes)
            return nil
        } catch let error as SnapshotFileError {
            return error
        } catch {
            XCTFail("not a SnapshotFileError: \(error)", file: file, line: line)
            return nil
        }
    }

    /// Rewrites the trailing CRC so that the structural checks, not the checksum, judge `bytes`.
    func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let crc = bytes.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[0..<bytes.count - 4])) }
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        return bytes
    }

    func setU32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    func setU64(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    var directory = ""

    override func setUpWithError() throws {
        directory = try TemporaryDirectory.make(prefix: "objgraph-file-tests")
    }

    override func tearDown() {
        chmod(directory, 0o755)
        TemporaryDirectory.remove(directory)
    }

    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    // MARK: Round trips and layout

    func testCRC32MatchesZlibCheckValue() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { crc32($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { crc32($0) }, 0)
    }

    func testSampleRoundTripsThroughBytesAndFile() throws {
        let snapshot = Self.sample()
        let bytes = snapshot.encoded()
        XCTAssertEqual(try S(decoding: bytes), snapshot)
        let path = directory + "/sample.ogs"
        try snapshot.write(to: path)
        let loaded = try S(contentsOf: path)
        XCTAssertEqual(loaded, snapshot)
        XCTAssertEqual(loaded.edges[1].label, -1)
        XCTAssertEqual(loaded.edges[3].label, Int32.min)
        XCTAssertEqual(loaded.types[3].name, "Task 🧵")
        XCTAssertEqual(loaded.timestamp, 1_717_171_717.123456)
        XCTAssertEqual(loaded.notes, snapshot.notes)
        XCTAssertEqual(try S(contentsOf: path).encoded(), bytes, "encoding is deterministic")
    }

    func testEmptySnapshotIsHeaderAndChecksumOnly() throws {
        let empty = S(types: [], objects: [], edges: [], labels: [], roots: [])
        let bytes = empty.encoded()
        XCTAssertEqual(bytes.count, 68)
        XCTAssertEqual(Array(bytes[0..<12]), Array("OBJGRAPH".utf8) + [2, 0, 0, 0])
        XCTAssertEqual(try S(decoding: bytes), empty)
    }

    func testTinyLayoutMatchesSnapshotFormatMd() {
        let bytes = Self.tiny().encoded()
        // header 64, type 1+5+5, label 4+2, object 32, edge 20, root 16+5, checksum 4
        XCTAssertEqual(bytes.count, 158)
        XCTAssertEqual(Array(bytes[16..<24]), [90, 0, 0, 0, 0, 0, 0, 0], "body length")
        XCTAssertEqual(Array(bytes[32..<56]), [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(bytes[75..<81]), [2, 0, 0, 0, 0x61, 0x62], "label \"ab\"")
        XCTAssertEqual(Array(bytes[81..<89]), [8, 0, 0, 0, 0, 0, 0, 0], "object address")
        XCTAssertEqual(bytes[133], 0, "root kind")
    }

    func testNegativeLabelIsStoredAsIs() {
        var snapshot = Self.tiny()
        snapshot.edges[0].label = -3
        let bytes = snapshot.encoded()
        XCTAssertEqual(Array(bytes[125..<129]), [0xfd, 0xff, 0xff, 0xff])
        XCTAssertEqual(try S(decoding: bytes).edges[0].label, -3)
    }

    func testHundredThousandObjectsRoundTrip() throws {
        let snapshot = Self.large(100_000)
        let path = directory + "/large.ogs"
        try snapshot.write(to: path)
        XCTAssertEqual(try S(contentsOf: path), snapshot)
        XCTAssertEqual(snapshot.encoded().count, 68 + (10 * 15 + 90 * 17) + 10 * 6 + 100_000 * 52 + 21 + 9)
    }

    // MARK: Atomic writes

    func testWriteLeavesNoTemporaryFileAndReplacesExistingFile() throws {
        let path = directory + "/snap.ogs"
        try Self.tiny().write(to: path)
        try Self.sample().write(to: path)
        XCTAssertEqual(Self.entries(directory), ["snap.ogs"])
        XCTAssertEqual(try S(contentsOf: path), Self.sample())
    }

    func testWriteIntoMissingDirectoryThrowsAndCreatesNothing() {
        let path = directory + "/missing/snap.ogs"
        XCTAssertThrowsError(try Self.tiny().write(to: path)) { error in
            let error = error as? SnapshotFileError
            XCTAssertEqual(error?.path, path)
            XCTAssertEqual(
                error?.description,
                "\(path): cannot create a temporary file next to it: No such file or directory")
        }
        XCTAssertEqual(Self.entries(directory), [])
    }

    func testFailedRenameRemovesTemporaryFile() throws {
        // The target is a non-empty directory: the temporary file is written, the rename fails.
        let path = directory + "/snap.ogs"
        XCTAssertEqual(mkdir(path, 0o755), 0)
        let fd = creat(path + "/keep", 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        XCTAssertThrowsError(try Self.tiny().write(to: path)) { error in
            guard case .system(let operation, _)? = (error as? SnapshotFileError)?.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(operation.hasPrefix("cannot rename"), operation)
        }
        XCTAssertEqual(Self.entries(directory), ["snap.ogs"])
        XCTAssertEqual(Self.entries(path), ["keep"])
    }

    func testFailedWriteLeavesExistingFileUntouched() throws {
        // A 250-byte name is legal but its temporary name (".NAME.tmp.PID") is too long: open fails.
        let path = directory + "/" + String(repeating: "s", count: 250)
        let fd = creat(path, 0o644)
        let bytes = Self.tiny().encoded()
        XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, bytes.count)
        close(fd)
        XCTAssertThrowsError(try Self.sample().write(to: path)) { error in
            guard case .system(_, let code)? = (error as? SnapshotFileError)?.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(code, ENAMETOOLONG)
        }
        XCTAssertEqual(try S(contentsOf: path), Self.tiny())
        XCTAssertEqual(Self.entries(directory).count, 1)
    }

    func testReadOnlyLocationsAreRefused() throws {
        // /proc refuses new files even to root.
        XCTAssertThrowsError(try Self.tiny().write(to: "/proc/objgraph-test.ogs")) {
            XCTAssertTrue($0 is SnapshotFileError)
        }
        guard geteuid() != 0 else { return }  // root ignores directory permissions
        let path = directory + "/snap.ogs"
        try Self.tiny().write(to: path)
        XCTAssertEqual(chmod(directory, 0o555), 0)
        XCTAssertThrowsError(try Self.sample().write(to: path)) { error in
            guard case .system(_, let code)? = (error as? SnapshotFileError)?.reason else { return XCTFail("\(error)") }
            XCTAssertEqual(code, EACCES)
        }
        XCTAssertEqual(try S(contentsOf: path), Self.tiny())
        XCTAssertEqual(Self.entries(directory), ["snap.ogs"])
    }

    func testInvalidSnapshotIsNotWritten() throws {
        let path = directory + "/snap.ogs"
        try Self.tiny().write(to: path)
        var bad = Self.tiny()
        bad.edges[0].to = 9
        XCTAssertThrowsError(try bad.write(to: path)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(path): invalid snapshot (refusing to write: edge 0 from object 0 to object 9 but there are 1 objects)"
            )
        }
        XCTAssertEqual(try S(contentsOf: path), Self.tiny())
        XCTAssertEqual(Self.entries(directory), ["snap.ogs"])
    }

    // MARK: Read errors

    func testReadErrorsNameTheFile() throws {
        let missing = directory + "/nope.ogs"
        XCTAssertThrowsError(try S(contentsOf: missing)) {
            XCTAssertEqual("\($0)", "\(missing): cannot open: No such file or directory")
        }
        XCTAssertThrowsError(try S(contentsOf: directory)) {
            XCTAssertEqual("\($0)", "\(directory): cannot read: Is a directory")
        }
        let path = directory + "/snapshot.ogs"
        let write = { (bytes: [UInt8]) in
            let fd = creat(path, 0o644)
            XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, bytes.count)
            close(fd)
        }
        write(Array("#!/bin/sh\necho hi\n".utf8))
        XCTAssertThrowsError(try S(contentsOf: path)) {
            XCTAssertEqual("\($0)", "\(path): not an objgraph snapshot (bad magic)")
        }
        write([])
        XCTAssertThrowsError(try S(contentsOf: path)) {
            XCTAssertEqual("\($0)", "\(path): empty file (not an objgraph snapshot)")
        }

        // The edges section of a snapshot without roots and notes ends right before the checksum.
        var snapshot = Self.tiny()
        snapshot.roots = []
        snapshot.edges = Array(repeating: snapshot.edges[0], count: 3)
        let bytes = snapshot.encoded()
        let edgesStart = bytes.count - 4 - 60
        write(Array(bytes[0..<edgesStart + 17]))
        XCTAssertThrowsError(try S(contentsOf: path)) {
            XCTAssertEqual("\($0)", "\(path): truncated (expected 60 bytes of edges, found 17)")
        }
        write(Array(bytes.dropLast(2)))
        XCTAssertThrowsError(try S(contentsOf: path)) {
            XCTAssertEqual(
                "\($0)", "\(path): truncated (expected \(bytes.count) bytes of checksum, found \(bytes.count - 2))")
        }
        var flipped = bytes
        flipped[edgesStart] ^= 0x01
        write(flipped)
        let stored = bytes.suffix(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
        let computed = resealed(flipped).suffix(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
        XCTAssertThrowsError(try S(contentsOf: path)) {
            XCTAssertEqual(
                "\($0)",
                "\(path): checksum mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))"
            )
        }
        XCTAssertEqual(decodeError(bytes + [0])?.reason, .trailingBytes(1))
    }

    func testVersionChecks() {
        var bytes = Self.tiny().encoded()
        setU32(&bytes, 8, 3)
        XCTAssertEqual(
            decodeError(bytes)?.description, "snapshot format version 3 is newer than this objgraph supports (2)")
        XCTAssertEqual(
            decodeError(Array(bytes[0..<12]))?.reason, .newerVersion(found: 3, supported: 2),
            "a newer version is recognised from the first 12 bytes alone")
        setU32(&bytes, 8, 0)
        XCTAssertEqual(decodeError(resealed(bytes))?.description, "unsupported snapshot format version 0")
    }

    // MARK: Structural validation (checksum resealed, so these checks decide)

    func testIndicesOutOfRangeAreRejected() {
        func message(_ change: (inout S) -> Void) -> String? {
            var snapshot = Self.tiny()
            change(&snapshot)
            return decodeError(snapshot.encoded())?.description  // encoded() does not validate
        }
        XCTAssertEqual(
            message { $0.objects[0].typeIndex = 1 },
            "invalid snapshot (object 0 has type index 1 but there are 1 types)")
        XCTAssertEqual(
            message { $0.objects[0].typeIndex = -1 },
            "invalid snapshot (object 0 has type index -1 but there are 1 types)")
        XCTAssertEqual(
            message { $0.edges[0].from = 1 },
            "invalid snapshot (edge 0 from object 1 to object 0 but there are 1 objects)")
        XCTAssertEqual(
            message { $0.edges[0].to = -5 },
            "invalid snapshot (edge 0 from object 0 to object -5 but there are 1 objects)")
        XCTAssertEqual(
            message { $0.edges[0].label = 1 }, "invalid snapshot (edge 0 has label 1 but there are 1 labels)")
        XCTAssertEqual(
            message { $0.roots[0].target = 1 }, "invalid snapshot (root 0 refers to object 1 but there are 1 objects)")
        XCTAssertEqual(
            message { $0.objects.append($0.objects[0]) }, "invalid snapshot (objects not sorted by address at object 1)"
        )
        XCTAssertEqual(
            message {
                $0.objects.append(
                    S.Object(
                        address: 64, typeIndex: 0, size: 16, strongCount: 1, unownedCount: 0, weakCount: 0,
                        isZombie: false))
                $0.edges = [
                    S.Edge(from: 1, to: 0, offset: 8, label: 0, kind: .strong),
                    S.Edge(from: 0, to: 1, offset: 8, label: 0, kind: .strong),
                ]
            }, "invalid snapshot (edges not sorted by source at edge 1)")
        XCTAssertNil(message { $0.edges[0].label = -1_000_000 }, "negative labels are array elements, always valid")
    }

    /// Version 1 files (written before C heap blocks and thread-local roots existed) still
    /// read, and the kinds version 2 added are invalid in them.
    func testVersionOneFilesStillRead() throws {
        var bytes = Self.tiny().encoded()
        setU32(&bytes, 8, 1)
        XCTAssertEqual(try S(decoding: resealed(bytes)), Self.tiny())
        func reason(_ offset: Int, _ value: UInt8) -> SnapshotFileError.Reason? {
            var patched = bytes
            patched[offset] = value
            return decodeError(resealed(patched))?.reason
        }
        XCTAssertEqual(reason(64, 5), .invalid("type 0 has unknown kind 5"))
        XCTAssertEqual(reason(133, 4), .invalid("root 0 has an unknown kind or nonzero reserved bytes"))
        var current = Self.tiny().encoded()
        current[64] = 5
        current[133] = 4
        let decoded = try S(decoding: resealed(current))
        XCTAssertEqual(decoded.types[0].kind, .nativeBlock)
        XCTAssertEqual(decoded.roots[0].kind, .threadLocal)
    }

    func testEnumValuesReservedBytesAndUTF8AreChecked() {
        let bytes = Self.tiny().encoded()
        func reason(_ offset: Int, _ value: UInt8) -> SnapshotFileError.Reason? {
            var patched = bytes
            patched[offset] = value
            return decodeError(resealed(patched))?.reason
        }
        XCTAssertEqual(reason(64, 6), .invalid("type 0 has unknown kind 6"))
        XCTAssertEqual(reason(109, 2), .invalid("object 0 has unknown flags or nonzero reserved bytes"))
        XCTAssertEqual(reason(111, 1), .invalid("object 0 has unknown flags or nonzero reserved bytes"))
        XCTAssertEqual(reason(129, 4), .invalid("edge 0 has an unknown kind or nonzero reserved bytes"))
        XCTAssertEqual(reason(130, 1), .invalid("edge 0 has an unknown kind or nonzero reserved bytes"))
        XCTAssertEqual(reason(133, 5), .invalid("root 0 has an unknown kind or nonzero reserved bytes"))
        XCTAssertEqual(reason(79, 0xC3), .invalid("invalid UTF-8 in labels at byte 79"))
        XCTAssertEqual(reason(12, 1), .invalid("unknown flags 0x1"))
        XCTAssertEqual(reason(60, 1), .invalid("reserved header bytes are not zero"))
    }

    func testHugeCountsAreRejectedBeforeAllocating() {
        let bytes = Self.sample().encoded()
        let sections = ["types", "labels", "objects", "edges", "roots", "notes"]
        for (index, section) in sections.enumerated() {
            var patched = bytes
            setU32(&patched, 32 + 4 * index, .max)
            guard case let .truncated(what, expected, _, atLeast)? = decodeError(resealed(patched))?.reason else {
                XCTFail("\(section): not truncated")
                continue
            }
            XCTAssertEqual(what, section)
            XCTAssertGreaterThanOrEqual(expected, Int(UInt32.max) * 4)
            XCTAssertEqual(atLeast, !["objects", "edges"].contains(section))
        }
        var patched = bytes
        setU64(&patched, 16, .max)
        XCTAssertEqual(
            decodeError(resealed(patched))?.reason,
            .truncated(what: nil, expected: .max, found: bytes.count, atLeast: false))
        setU64(&patched, 16, 1 << 40)
        XCTAssertEqual(
            decodeError(resealed(patched))?.reason,
            .truncated(what: nil, expected: 64 + (1 << 40) + 4, found: bytes.count, atLeast: false))
        setU64(&patched, 16, UInt64(bytes.count - 68 - 1))
        XCTAssertEqual(decodeError(resealed(patched))?.reason, .trailingBytes(1))
    }

    // MARK: Fuzzing

    func testEveryTruncationThrows() {
        let bytes = Self.sample().encoded()
        for length in 0..<bytes.count {
            let reason = decodeError(Array(bytes[0..<length]))?.reason
            if length == 0 {
                XCTAssertEqual(reason, .empty)
            } else if case .truncated? = reason {
            } else {
                XCTFail("length \(length): \(String(describing: reason))")
            }
        }
        let large = Self.large(20_000).encoded()
        var rng = SplitMix64(seed: 7)
        let lengths =
            stride(from: 0, to: large.count, by: large.count / 150).map { $0 }
            + (0..<50).map { _ in Int.random(in: 0..<large.count, using: &rng) } + [large.count - 1]
        for length in lengths {
            guard case .truncated? = decodeError(Array(large[0..<length]))?.reason, length > 0 else {
                if length > 0 { XCTFail("large, length \(length)") }
                continue
            }
        }
    }

    func testRandomByteFlipsAreDetected() {
        let bytes = Self.sample().encoded()
        var rng = SplitMix64(seed: 42)
        for trial in 0..<1000 {
            var mutated = bytes
            let flips = trial < 500 ? 1 : Int.random(in: 2...8, using: &rng)
            var body = true
            for _ in 0..<flips {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                mutated[at] ^= UInt8.random(in: 1...255, using: &rng)
                if at < 64 { body = false }
            }
            guard let error = decodeError(mutated) else {
                XCTFail("trial \(trial): corruption not detected")
                continue
            }
            if body {
                XCTAssertEqual(
                    error.reason,
                    .checksumMismatch(
                        stored: mutated.suffix(4).reversed().reduce(0) { $0 << 8 | UInt32($1) },
                        computed: mutated.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0.dropLast(4))) }),
                    "trial \(trial)")
            }
        }
    }

    func testResealedFlipsEitherThrowOrDecodeToAValidSnapshot() {
        let bytes = Self.sample().encoded()
        var rng = SplitMix64(seed: 1234)
        var accepted = 0
        for _ in 0..<1000 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                mutated[Int.random(in: 12..<bytes.count - 4, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            mutated = resealed(mutated)
            if let decoded = try? S(decoding: mutated) {
                accepted += 1
                XCTAssertNil(decoded.validationProblem())
                XCTAssertTrue(decoded.encoded() == mutated, "a decodable file re-encodes to itself")
            } else {
                XCTAssertNotNil(decodeError(mutated))
            }
        }
        XCTAssertGreaterThan(accepted, 0, "some flips (addresses, sizes, text) keep the file valid")
    }

    func testRandomGarbageThrows() {
        var rng = SplitMix64(seed: 99)
        for trial in 0..<3000 {
            var garbage = (0..<Int.random(in: 0..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if trial >= 1000 && garbage.count >= 68 {
                // A plausible header: magic, version 1, no flags, right body length, small random counts.
                garbage.replaceSubrange(0..<12, with: Array("OBJGRAPH".utf8) + [2, 0, 0, 0])
                setU32(&garbage, 12, 0)
                setU64(&garbage, 16, UInt64(garbage.count - 68))
                for field in 0..<6 {
                    setU32(&garbage, 32 + 4 * field, UInt32.random(in: 0..<(trial % 3 == 0 ? 4 : 1 << 20), using: &rng))
                }
                setU64(&garbage, 56, 0)
                if trial >= 2000 { garbage = resealed(garbage) }
            }
            if let decoded = try? S(decoding: garbage) {
                XCTAssertNil(decoded.validationProblem(), "trial \(trial)")
                XCTAssertTrue(decoded.encoded() == garbage, "trial \(trial): re-encodes to itself")
            } else {
                XCTAssertNotNil(decodeError(garbage), "trial \(trial)")
            }
        }
    }
}

/// A seeded generator (SplitMix64), so every fuzz case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
