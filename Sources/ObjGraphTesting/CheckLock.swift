#if canImport(Glibc)
import Glibc
#endif

/// The process-wide lock that serialises checks among themselves, so that one check's body
/// never runs inside another check's measuring window. A check started from inside another
/// check's body (nested checks) runs without taking it again.
enum CheckLock {
    @TaskLocal static var insideCheck = false
    private static let mutex = CheckMutex()

    static func serialised<T: Sendable>(_ body: () -> T) -> T {
        if insideCheck { return body() }
        mutex.lock()
        defer { mutex.unlock() }
        return $insideCheck.withValue(true) { body() }
    }

    /// ``serialised(_:)`` for a body that may throw.
    static func serialised(_ body: () throws -> Void) rethrows {
        if insideCheck { return try body() }
        mutex.lock()
        defer { mutex.unlock() }
        try $insideCheck.withValue(true) { try body() }
    }
}

/// A pthread mutex that can be held across a throwing call.
private final class CheckMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
