import CGraphviz
import Glibc

/// The single lock behind which every Graphviz call in this process runs.
///
/// Graphviz keeps global state (the error channel, the string dictionary of the root
/// prototype graph, plugin state in the context), so it is not thread-safe. All access goes
/// through ``GraphvizLock/run(_:)``, which also captures Graphviz's error messages for the
/// duration of the call.
final class GraphvizLock: @unchecked Sendable {
    static let shared = GraphvizLock()

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    private init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// Runs `body` with the lock held and Graphviz's messages routed into a ``GraphvizSession``.
    /// The previous error function is restored afterwards, so other Graphviz users in the
    /// process are left as they were.
    ///
    /// The first call loads Graphviz's libraries (``GraphvizError`` with the reason when they
    /// cannot be loaded).
    func run<T>(_ body: (inout GraphvizSession) throws -> T) throws -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var reason = [CChar](repeating: 0, count: 512)
        guard objgraph_gv_load(&reason, reason.count) == 0 else {
            let message = String(cBuffer: reason)
            throw GraphvizError(operation: "load its libraries", code: -1, messages: [message])
        }
        capturedText = ""
        _ = objgraph_agreseterrors()
        let previous = objgraph_agseterrf(captureGraphvizMessage)
        defer {
            _ = objgraph_agseterrf(previous)
            capturedText = ""
        }
        var session = GraphvizSession()
        return try body(&session)
    }
}

/// Text Graphviz reported since the last ``GraphvizSession/takeMessages()``.
/// Only touched with ``GraphvizLock`` held.
nonisolated(unsafe) private var capturedText = ""

/// The `agseterrf` callback. Graphviz 2.42 calls it in pieces (`"Error"`, `": "`, then the
/// formatted message with its newline), so the pieces are concatenated here and split into
/// lines later.
private let captureGraphvizMessage: @convention(c) (UnsafeMutablePointer<CChar>?) -> Int32 = { text in
    if let text { capturedText += String(cString: text) }
    return 0
}

/// Proof that ``GraphvizLock`` is held, with access to the messages collected so far.
struct GraphvizSession: ~Copyable {
    fileprivate init() {}

    /// Returns and clears the messages Graphviz reported (one per line: `Error: ...`,
    /// `Warning: ...` and continuation lines), and whether any was at error level.
    mutating func takeMessages() -> (messages: [String], hadError: Bool) {
        let messages = capturedText.split(separator: "\n").map(trimmed).filter { !$0.isEmpty }
        capturedText = ""
        // agreseterrors returns the highest level seen (AGWARN = 0, AGERR = 1) and resets it.
        let level = objgraph_agreseterrors()
        return (messages, level >= Int32(AGERR.rawValue))
    }

    /// Throws a ``GraphvizError`` for `operation` when `code` is non-zero, when Graphviz reported
    /// an error, or when it reported a warning and `warningsAreErrors` is set.
    mutating func check(_ code: Int32, _ operation: @autoclosure () -> String, warningsAreErrors: Bool) throws {
        let (messages, hadError) = takeMessages()
        if code != 0 || hadError || (warningsAreErrors && !messages.isEmpty) {
            throw GraphvizError(operation: operation(), code: code, messages: messages)
        }
    }
}

/// `line` without leading and trailing spaces and tabs.
private func trimmed(_ line: Substring) -> String {
    let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let first = line.firstIndex(where: { !isBlank($0) }),
        let last = line.lastIndex(where: { !isBlank($0) })
    else { return "" }
    return String(line[first...last])
}
