import ObjGraph
import Synchronization

/// Objects a test expects to be gone by the end of a scope.
///
/// You get one from `withDeallocationCheck` (XCTest or Swift Testing). Register objects with
/// ``expect(_:fileID:line:)``; the tracker holds them weakly, so registering never keeps anything
/// alive. When the scope ends, every registered object must have been deallocated; each survivor
/// is reported with its type, where it was registered and what keeps it alive.
///
/// ```swift
/// withDeallocationCheck { tracker in
///     let screen = tracker.expect(Screen(title: "home"))
///     screen.bind()          // onTap captures self strongly: a cycle
/// }
/// // Failure:
/// // withDeallocationCheck: 1 object expected to be deallocated is still alive:
/// //
/// // Screen (registered at MyTests/ScreenTests.swift:12)
/// //     unreachable: part of a leaked cycle
/// //         2 (96 bytes) ROOT CYCLE: <Screen 0x...> [64]
/// //            ...
/// ```
public final class DeallocationTracker: Sendable {
    /// One registered object, held weakly.
    final class Entry: @unchecked Sendable {
        weak var object: AnyObject?
        let typeName: String
        let site: String

        init(_ object: AnyObject, site: String) {
            self.object = object
            self.typeName = _typeName(type(of: object), qualified: false)
            self.site = site
        }

        var isAlive: Bool { object != nil }
    }

    private let storage = Mutex<[Entry]>([])

    init() {}

    /// Registers `object`: it must be deallocated by the end of the scope. Returns `object`, so
    /// creation and registration can be one expression.
    ///
    /// ```swift
    /// let controller = tracker.expect(Controller())
    /// ```
    ///
    /// - Parameters:
    ///   - object: the object that must be gone when the scope ends; held weakly.
    ///   - fileID: the file named in a failure; the caller's by default.
    ///   - line: the line named in a failure; the caller's by default.
    /// - Returns: `object`.
    @discardableResult
    public func expect<T: AnyObject>(_ object: T, fileID: String = #fileID, line: Int = #line) -> T {
        register(object, site: "\(fileID):\(line)")
        return object
    }

    func register(_ object: AnyObject, site: String) {
        // The entry is made with tracking suppressed: it never shows up in counts or snapshots.
        ObjGraph.untracked {
            let entry = Entry(object, site: site)
            storage.withLock { $0.append(entry) }
        }
    }

    /// How many registered objects are still alive right now.
    public var aliveCount: Int { entries.reduce(0) { $0 + ($1.isAlive ? 1 : 0) } }

    var entries: [Entry] { ObjGraph.untracked { storage.withLock { $0 } } }
}
