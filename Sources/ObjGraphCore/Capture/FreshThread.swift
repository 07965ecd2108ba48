#if canImport(Glibc)
import Glibc
#endif

private final class FreshThreadJob: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

extension ObjGraph {
    /// Runs `body` to completion on a new thread and waits for it. The thread's stack starts
    /// clean and is gone afterwards, so nothing `body` left on it can be mistaken for a
    /// reference by a later snapshot (see ``snapshot(includeOwnStack:)``).
    public static func runOnFreshThread(_ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(FreshThreadJob(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 8 << 20)
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { raw in
                Unmanaged<FreshThreadJob>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, job)
        pthread_attr_destroy(&attributes)
        if rc != 0 {
            Unmanaged<FreshThreadJob>.fromOpaque(job).release()
            body()
            return
        }
        pthread_join(thread, nil)
    }
}
