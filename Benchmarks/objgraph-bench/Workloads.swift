// The workloads timed with and without tracking. Each runs in a fresh process
// (`objgraph-bench workload NAME [--tracked]`) because tracking, once installed, stays
// installed: the untracked variant must never have seen `startTracking()`.
//
// Results reach global sinks or a printed checksum so the optimizer can neither drop the
// allocations nor promote the objects to the stack.
import CObjGraphRuntime
import Foundation
import ObjGraph
#if canImport(Glibc)
import Glibc
#endif

struct Workload: Sendable {
    var name: String
    var what: String
    var run: @Sendable () -> Int  // returns a checksum
}

let workloads: [Workload] = [
    Workload(name: "alloc-list", what: "build a 1M-node linked list, drop it; x3", run: allocList),
    Workload(name: "alloc-churn", what: "3M short-lived objects + 3M small arrays", run: allocChurn),
    Workload(name: "retain-field", what: "30M stores of class refs into a field", run: retainField),
    Workload(name: "retain-array", what: "20k copies of a 1024-ref array (20M retain+release)", run: retainArray),
    Workload(name: "mixed", what: "150k requests: dict, strings, arrays, closure, LRU", run: mixed),
    Workload(name: "c-alloc", what: "40k JSONEncoder encodes to Data + 2M malloc'd buffers", run: cAlloc),
]

// MARK: - Allocation-heavy

final class ListNode {
    let next: ListNode?
    let a: Int
    let b: Int
    init(next: ListNode?, a: Int, b: Int) {
        self.next = next
        self.a = a
        self.b = b
    }
}

@inline(never)
func buildList(_ n: Int) -> ListNode? {
    var head: ListNode? = nil
    for i in 0..<n { head = ListNode(next: head, a: i, b: i &* 3) }
    return head
}

/// Frees the list front to back without recursion (a 1M-deep deinit chain would overflow).
@inline(never)
func dropList(_ list: inout ListNode?) -> Int {
    var sum = 0
    while let node = list {
        sum &+= node.a
        list = node.next
    }
    return sum
}

func allocList() -> Int {
    var sum = 0
    for _ in 0..<3 {
        var list = buildList(1_000_000)
        sum &+= dropList(&list)
    }
    return sum
}

final class Small {
    let value: Int
    init(_ value: Int) { self.value = value }
}

nonisolated(unsafe) var smallSink: Small? = nil
nonisolated(unsafe) var intArraySink: [Int] = []

func allocChurn() -> Int {
    var sum = 0
    for i in 0..<3_000_000 {
        smallSink = Small(i)
        intArraySink = [i, i &+ 1, i &+ 2]
        sum &+= smallSink!.value &+ intArraySink[1]
    }
    smallSink = nil
    intArraySink = []
    return sum
}

// MARK: - Retain-heavy

final class Payload {
    var value: Int
    init(_ value: Int) { self.value = value }
}

final class Holder {
    var ref: Payload?
}

@inline(never)
func store(_ holder: Holder, _ payload: Payload) { holder.ref = payload }

@inline(never)
func makePayloads() -> [Payload] { (0..<1024).map { Payload($0) } }

func retainField() -> Int {
    let payloads = makePayloads()
    let holder = Holder()
    var sum = 0
    for i in 0..<30_000_000 {
        store(holder, payloads[i & 1023])
        sum &+= holder.ref!.value
    }
    return sum
}

nonisolated(unsafe) var payloadArraySink: [Payload] = []

@inline(never)
func copyAndTouch(_ array: [Payload], _ index: Int, _ replacement: Payload) -> [Payload] {
    var copy = array  // copy-on-write: a new buffer and one retain per element
    copy[index] = replacement
    return copy
}

func retainArray() -> Int {
    let payloads = makePayloads()
    var sum = 0
    for i in 0..<20_000 {
        payloadArraySink = copyAndTouch(payloads, i & 1023, payloads[0])  // old copy: 1024 releases
        sum &+= payloadArraySink[i & 1023].value
    }
    payloadArraySink = []
    return sum
}

// MARK: - Mixed

final class Request {
    let id: Int
    var headers: [String: String]
    var body: [UInt8]
    var onDone: (() -> Int)?
    init(id: Int, headers: [String: String], body: [UInt8]) {
        self.id = id
        self.headers = headers
        self.body = body
    }
}

final class Response {
    let status: Int
    let text: String
    let bytes: Int
    init(status: Int, text: String, bytes: Int) {
        self.status = status
        self.text = text
        self.bytes = bytes
    }
}

final class LRU {
    var entries: [Int: Response] = [:]
    var order: [Int] = []
    let capacity: Int
    init(capacity: Int) { self.capacity = capacity }

    func put(_ key: Int, _ value: Response) {
        if entries.updateValue(value, forKey: key) == nil {
            order.append(key)
            if order.count > capacity { entries[order.removeFirst()] = nil }
        }
    }
}

@inline(never)
func handle(_ request: Request) -> Response {
    var checksum = 0
    for byte in request.body { checksum = (checksum &* 31) &+ Int(byte) }
    for (key, value) in request.headers { checksum &+= key.utf8.count &* value.utf8.count }
    let extra = request.onDone?() ?? 0
    return Response(status: 200, text: "ok \(request.id) \(checksum)", bytes: request.body.count + extra)
}

func mixed() -> Int {
    let cache = LRU(capacity: 1000)
    var sum = 0
    for i in 0..<150_000 {
        let request = Request(
            id: i,
            headers: ["host": "example.com", "path": "/items/\(i % 977)", "accept": "*/*"],
            body: [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 64 + i % 64))
        let size = request.body.count
        request.onDone = { size & 7 }
        let response = handle(request)
        cache.put(i % 4096, response)
        sum &+= response.bytes &+ response.text.utf8.count
    }
    return sum
}

// MARK: - C-allocation-heavy

/// What a server encodes per request.
struct Item: Codable {
    var id: Int
    var name: String
    var tags: [String]
    var price: Double
}

/// Mostly C heap traffic: Foundation's encoder and Data buffers, and raw buffers of varied
/// sizes (a C library's or a parser's scratch memory), every one a tracked block.
func cAlloc() -> Int {
    let encoder = JSONEncoder()
    var sum = 0
    let items = (0..<8).map { Item(id: $0, name: "item \($0)", tags: ["a", "b\($0)"], price: Double($0) * 1.5) }
    for i in 0..<40_000 {
        var batch = items
        batch[i % 8].id = i
        if let data = try? encoder.encode(batch) { sum &+= data.count &+ Int(data[data.count / 2]) }
    }
    for i in 0..<2_000_000 {
        let size = 16 + (i % 61) * 8
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        buffer.storeBytes(of: i, as: Int.self)
        sum &+= buffer.load(as: Int.self) &+ size
        buffer.deallocate()
    }
    return sum
}

// MARK: - Entry point

/// `objgraph-bench workload NAME [--tracked]`: prints `@ seconds`, `@ checksum`, `@ recorded`.
func runWorkload(_ arguments: [String]) -> Int32 {
    guard let name = arguments.first, let workload = workloads.first(where: { $0.name == name }) else {
        print("unknown workload; one of: \(workloads.map(\.name).joined(separator: ", "))")
        return 2
    }
    let tracked = arguments.contains("--tracked")
    if tracked {
        do { try ObjGraph.startTracking() } catch {
            report("error", "startTracking failed: \(error)")
            return 1
        }
    }
    let cpuStart = cpuTime()
    let (seconds, checksum) = timed { workload.run() }
    let cpu = cpuTime() - cpuStart
    var stats = ogr_stats()
    ogr_get_stats(&stats)
    report("seconds", seconds)
    report("cpu", cpu)
    report("checksum", checksum)
    report("recorded", Int(stats.recorded))
    report("tracking", tracked ? (ObjGraph.isTracking ? "on" : "FAILED") : "off")
    return 0
}
