import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

/// Starts a program with extra environment variables and waits for it. While it runs, the
/// signals a supervisor sends to stop the command (SIGTERM from `timeout`, systemd or
/// `docker stop`, SIGINT, SIGHUP) are passed on to the program (see ``SignalForwarder``), and
/// the command keeps waiting, a bounded time, to report how it ended.
enum ProgramRunner {
    /// How long the program may take to stop after a forwarded signal before it gets SIGKILL.
    static let stopGrace: Double = 20

    /// The absolute path of `program`: as given when it contains a slash, else found on PATH.
    static func resolve(_ program: String) throws -> String {
        func executable(_ path: String) -> Bool { access(path, X_OK) == 0 && !isDirectory(path) }
        if program.contains("/") {
            guard access(program, F_OK) == 0 else { throw CommandError("no such program: \(program)", exitCode: 127) }
            guard executable(program) else {
                throw CommandError("not an executable program: \(program)", exitCode: 126)
            }
            return absolute(program)
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if executable(candidate) { return absolute(candidate) }
        }
        throw CommandError("no such program: \(program) (not found on PATH)", exitCode: 127)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `path` made absolute against the working directory, with `.` components dropped
    /// (`./.build/release/server` -> `/dir/.build/release/server`).
    static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else { return path }
            full = String(cBuffer: buffer) + "/" + path
        }
        let parts = full.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// Runs `path` with `arguments` (argv[1...]) and the current environment plus `extra`.
    /// `onStart` gets the child's pid once it runs.
    static func run(
        _ path: String, arguments: [String], extra: [String: String], timeout: Double?,
        onStart: (pid_t) -> Void = { _ in }
    ) throws -> Termination {
        var environment: [String: String] = [:]
        var raw = environ
        while let entry = raw.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            raw += 1
        }
        for (key, value) in extra { environment[key] = value }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default handlers for the signals the command handles itself.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in SignalForwarder.signals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        SignalForwarder.install()
        defer { SignalForwarder.uninstall() }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, nil, &attributes, argv, envp)
        guard rc == 0 else {
            throw CommandError("cannot start \(path): \(String(cString: strerror(rc)))", exitCode: 126)
        }
        SignalForwarder.child = pid
        onStart(pid)
        return wait(for: pid, timeout: timeout)
    }

    private static func wait(for pid: pid_t, timeout: Double?) -> Termination {
        var status: Int32 = 0
        let start = MonotonicClock.now()
        var termSent: Double?
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return .exited(-1) }
            let now = MonotonicClock.now()
            if let forwarded = SignalForwarder.firstForwardedAt, now - forwarded > stopGrace {
                kill(pid, SIGKILL)
            }
            if let timeout {
                if let sent = termSent, now - sent > 5 {
                    kill(pid, SIGKILL)
                } else if termSent == nil, now - start > timeout {
                    kill(pid, SIGTERM)
                    termSent = now
                }
            }
            usleep(5_000)
        }
        // WIFEXITED / WIFSIGNALED, spelled out: Glibc's macros are not imported into Swift.
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }
}
