import Dispatch
import Glibc
import Synchronization
@testable import ObjGraphTesting

/// Objects made only by these tests (the fixtures' types are used everywhere else).
final class Item {
    var payload = 0
    init() {}
}

/// A container that tests hold in a local variable.
final class Bag {
    var items: [Item] = []
    init() {}
}

/// A class instance allocated once, lazily, the first time `touchOnce()` runs.
final class OneTime {
    nonisolated(unsafe) static var instance: OneTime?
    static func touchOnce() { if instance == nil { instance = OneTime() } }
}

/// Objects held by a detached task across an `await`: they live in the task's async frame
/// (task allocator memory), like another test's in-flight async code.
final class AsyncHeld {
    init() {}
}

/// Two objects that hold each other, made inside a task and dropped before its `await`.
final class AsyncCycle {
    var other: AsyncCycle?
    init() {}
}

/// Starts a task that keeps `count` `AsyncHeld` objects across a sleep of `milliseconds`. With
/// `leakingCycles`, the task also leaks that many `AsyncCycle` pairs before it sleeps, and the
/// call returns once they exist (it blocks: never from a task, whose pool it could exhaust).
func holdAcrossAwait(count: Int, milliseconds: Int, leakingCycles: Int = 0) {
    let made = DispatchSemaphore(value: 0)
    Task.detached {
        let held = (0..<count).map { _ in AsyncHeld() }
        for _ in 0..<leakingCycles {
            let a = AsyncCycle(), b = AsyncCycle()
            a.other = b
            b.other = a
        }
        made.signal()
        try? await Task.sleep(for: .milliseconds(milliseconds))
        withExtendedLifetime(held) {}
    }
    if leakingCycles > 0 { made.wait() }
}

struct TestError: Error, CustomStringConvertible {
    var description: String { "TestError.boom" }
}

/// One row of an objgraph growth table: `name count +delta`.
struct GrowthTableRow: Equatable {
    var name: String
    var count: Int
    var delta: Int
}

/// The growth table rows at the top of a growth failure message (names may contain spaces).
func growthRows(in message: String) -> [GrowthTableRow] {
    var rows: [GrowthTableRow] = []
    for line in message.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2) {
        if line.isEmpty { break }
        let words = line.split(separator: " ")
        guard words.count >= 3, let count = Int(words[words.count - 2]), words.last!.hasPrefix("+"),
            let delta = Int(words.last!.dropFirst())
        else { break }
        rows.append(GrowthTableRow(name: words.dropLast(2).joined(separator: " "), count: count, delta: delta))
    }
    return rows
}

/// The delta of `name` in the growth table of `message`.
func growthDelta(of name: String, in message: String) -> Int? {
    growthRows(in: message).first { $0.name == name }?.delta
}

/// The path after `Drawing: ` in a failure message.
func drawingPath(in message: String) -> String? {
    message.split(separator: "\n").first { $0.hasPrefix("Drawing: ") }.map { String($0.dropFirst("Drawing: ".count)) }
}

/// True when `path` is an existing SVG file.
func isSVGFile(_ path: String?) -> Bool {
    guard let path, path.hasSuffix(".svg"), let file = fopen(path, "rb") else { return false }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = fread(&buffer, 1, buffer.count, file)
    return String(decoding: buffer.prefix(n), as: UTF8.self).contains("<svg")
}

/// The number of times `needle` occurs in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    text.ranges(of: needle).count
}

/// The `  Name  xN  B bytes` summary rows of a leak failure: name to count.
func leakSummary(in message: String) -> [String: Int] {
    var result: [String: Int] = [:]
    for line in message.split(separator: "\n") where line.hasPrefix("    ") && line.contains(" bytes") {
        let words = line.split(separator: " ")
        guard words.count >= 4, let x = words.firstIndex(where: { $0.hasPrefix("x") && Int($0.dropFirst()) != nil })
        else { continue }
        result[words[..<x].joined(separator: " ")] = Int(words[x].dropFirst())
    }
    return result
}

/// A stop signal shared between tasks.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func stop() { value.store(true, ordering: .relaxed) }
    var isStopped: Bool { value.load(ordering: .relaxed) }
}

/// Removes a drawing written by a failed check, and its temporary directory.
func removeDrawing(_ path: String?) {
    guard let path, path.hasPrefix("/tmp/objgraph-check-") else { return }
    unlink(path)
    if let slash = path.lastIndex(of: "/") { rmdir(String(path[..<slash])) }
}

/// Drawings of failures seen by XCTest tests, removed in `tearDown` (XCTest runs one test at a time).
enum DrawingJanitor {
    private static let paths = Mutex<[String]>([])

    static func keep(_ failure: CheckFailure?) -> CheckFailure? {
        if let path = failure?.drawingPath { paths.withLock { $0.append(path) } }
        return failure
    }

    static func removeAll() {
        for path in paths.withLock({ list in
            defer { list = [] }; return list
        }) { removeDrawing(path) }
    }
}
