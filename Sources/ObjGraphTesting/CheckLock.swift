import Synchronization

/// The process-wide lock that serialises checks among themselves, so that one check's body
/// never runs inside another check's measuring window. A check started from inside another
/// check's body (nested checks) runs without taking it again.
enum CheckLock {
    @TaskLocal static var insideCheck = false
    private static let lock = Mutex<Void>(())

    static func serialised<T: Sendable>(_ body: () -> T) -> T {
        if insideCheck { return body() }
        return lock.withLock { _ in $insideCheck.withValue(true) { body() } }
    }
}
