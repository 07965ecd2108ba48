import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

/// Passes the signals that ask the command to stop on to the program it runs.
///
/// A supervisor stops `objgraph run` the way it stops anything: SIGTERM (`timeout`, systemd,
/// `docker stop`), SIGINT, SIGHUP. The program is what must stop, and the command must stay
/// to report how it ended, so the command forwards such a signal to the program and goes on
/// waiting (``ProgramRunner/stopGrace`` at most). A signal the terminal sends (Ctrl-C,
/// Ctrl-\, a hang-up) already reaches the whole foreground process group, the program
/// included: only signals sent by a process (`si_code` SI_USER, SI_QUEUE, SI_TKILL) are
/// forwarded, so the program never gets one twice.
enum SignalForwarder {
    static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    /// The program's pid, read by the handler (0: none yet).
    nonisolated(unsafe) static var child: pid_t = 0
    /// When the first stop signal arrived (monotonic seconds), for the bounded wait.
    nonisolated(unsafe) static var firstForwardedAt: Double?
    nonisolated(unsafe) private static var previous: [sigaction] = []

    static func install() {
        child = 0
        firstForwardedAt = nil
        previous = signals.map { signal in
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in
                // Async-signal-safe only: kill and clock_gettime.
                let code = info?.pointee.si_code ?? 0
                let fromProcess = code == SI_USER || code == SI_QUEUE || code == SI_TKILL
                if SignalForwarder.child > 0 {
                    if SignalForwarder.firstForwardedAt == nil {
                        SignalForwarder.firstForwardedAt = MonotonicClock.now()
                    }
                    if fromProcess { kill(SignalForwarder.child, signal) }
                }
            }
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(signal, &action, &old)
            return old
        }
    }

    static func uninstall() {
        for (signal, var old) in zip(signals, previous) { sigaction(signal, &old, nil) }
        previous = []
        child = 0
    }
}
