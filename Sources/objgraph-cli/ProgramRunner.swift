#if canImport(Glibc)
import Glibc
#endif

/// How the child ended.
enum Termination: Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// The status to exit with, passing the child's through (128 + signal, as shells do).
    var exitCode: Int32 {
        switch self {
        case .exited(let status): return status
        case .signaled(let signal): return 128 + signal
        }
    }

    var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .signaled(let signal): return "was killed by signal \(signal) (\(signalName(signal)))"
        }
    }
}

func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
        SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2",
    ]
    return names[signal] ?? "signal \(signal)"
}

/// Starts a program with extra environment variables and waits for it, optionally with a
/// time limit after which it gets SIGTERM, then SIGKILL.
enum ProgramRunner {
    /// The absolute path of `program`: as given when it contains a slash, else found on PATH.
    static func resolve(_ program: String) throws -> String {
        func executable(_ path: String) -> Bool { access(path, X_OK) == 0 && !isDirectory(path) }
        if program.contains("/") {
            guard access(program, F_OK) == 0 else { throw CommandError("no such program: \(program)", exitCode: 127) }
            guard executable(program) else { throw CommandError("not an executable program: \(program)", exitCode: 126) }
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

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + path
    }

    /// Runs `path` with `arguments` (argv[1...]) and the current environment plus `extra`.
    static func run(_ path: String, arguments: [String], extra: [String: String], timeout: Double?) throws -> Termination {
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
        // Like system(3): while the child runs, Ctrl-C and Ctrl-\ are for it, not for us; we
        // stay to report how it ended.
        let oldInt = signal(SIGINT, SIG_IGN), oldQuit = signal(SIGQUIT, SIG_IGN)
        defer {
            signal(SIGINT, oldInt)
            signal(SIGQUIT, oldQuit)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGQUIT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        var pid = pid_t()
        let rc = posix_spawn(&pid, path, nil, &attributes, argv, envp)
        guard rc == 0 else {
            throw CommandError("cannot start \(path): \(String(cString: strerror(rc)))", exitCode: 126)
        }
        return wait(for: pid, timeout: timeout)
    }

    private static func wait(for pid: pid_t, timeout: Double?) -> Termination {
        var status: Int32 = 0
        let start = now()
        var termSent = false
        while true {
            let r = waitpid(pid, &status, timeout == nil ? 0 : WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return .exited(-1) }
            if let timeout, r == 0 {
                let elapsed = now() - start
                if elapsed > timeout + 5 {
                    kill(pid, SIGKILL)
                } else if elapsed > timeout && !termSent {
                    kill(pid, SIGTERM)
                    termSent = true
                }
                usleep(10_000)
            }
        }
        // WIFEXITED / WIFSIGNALED, spelled out: Glibc's macros are not imported into Swift.
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(low)
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
