import Foundation
import XCTest

/// Programs nobody here wrote, as they are built and deployed: the toolchain's own Swift
/// programs and a Hummingbird 2 server (fixtures/ThirdParty, built by scripts/test into
/// .build-thirdparty), under `objgraph run` and under a supervisor's signals.
final class RealProgramTests: CLITestCase {
    /// swift-build and swift-package (the package manager: ArgumentParser, Foundation, generic
    /// closures over associated types) run to their end with their output and status intact.
    func testTheToolchainsPackageManager() throws {
        for tool in ["swift-build", "swift-package"] {
            let result = try CLI.objgraph(["run", "--", tool, "--version"])
            XCTAssertEqual(result.status, 0, "\(tool): \(result.stderr)")
            XCTAssertTrue(result.stdout.hasPrefix("Swift Package Manager - Swift 6"), "\(tool): \(result.stdout)")
            XCTAssertTrue(result.stderr.contains("/\(tool) exited with status 0 after"), result.stderr)
            XCTAssertTrue(result.stderr.contains("Live objects: "), result.stderr)
            // ArgumentParser's --version path exits from a frame that still holds its error box
            // and command list: alive, not leaked.
            XCTAssertTrue(
                result.stderr.contains("\nLeaks:\n0 leaked objects for 0 total leaked bytes.\n"), result.stderr)
            XCTAssertFalse(result.stderr.contains("signal"), result.stderr)
            XCTAssertFalse(result.stderr.contains("type #"), result.stderr)
            // Private globals are named without their discriminators (`(cpuSetURL in _5E3B...)`).
            XCTAssertNil(
                result.stderr.range(of: #"\(\w+ in _[0-9A-F]{16,}\)"#, options: .regularExpression), result.stderr)
        }
    }

    /// `timeout -s TERM` stops objgraph the way systemd and `docker stop` do: the server gets
    /// the signal, stops gracefully, and objgraph prints and writes the report and exits with
    /// the server's status. Requests were served over loopback meanwhile; nothing is left
    /// behind (no server, no temporary directory).
    func testHummingbirdUnderASupervisorsSIGTERM() throws {
        let server = try Server.path()
        let port = try Loopback.freePort()
        let json = dir + "/server.json"
        let tmp = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let started = Date()
        var served = 0
        let result = try CLI.run(
            "/usr/bin/timeout",
            [
                "--preserve-status", "-s", "TERM", "5", CLI.path("objgraph"), "run", "--json", json,
                "--", server, String(port),
            ],
            environment: ["TMPDIR": tmp]
        ) { _ in
            XCTAssertTrue(Loopback.waitUntilListening(port: port, seconds: 6), "the server never listened")
            for _ in 0..<20 where (try? Loopback.get("/hello", port: port)) == "Hello" { served += 1 }
        }
        XCTAssertEqual(served, 20, "requests served under objgraph")
        XCTAssertEqual(result.status, 0, "the server's own status after a graceful stop: \(result.stderr)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        XCTAssertTrue(result.stdout.contains("listening on \(port)"), result.stdout)
        XCTAssertTrue(result.stderr.contains("hello-server exited with status 0 after"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Live objects: "), result.stderr)
        let report = try Report(path: json)
        XCTAssertGreaterThan(report.types.count, 10, "a plausible report of a NIO server")
        XCTAssertTrue(
            report.types.contains { $0.name.contains("EventLoop") || $0.name.contains("NIO") },
            "\(report.types.map(\.name))")
        XCTAssertFalse(Server.isRunning(port: port), "the server was stopped")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "no temporary directory left")
    }

    /// objgraph killed outright (SIGKILL, nothing it can catch): the agent notices its parent
    /// is gone, saves the report where it says, and stops the server; nothing is left behind.
    func testKilledCommandLeavesNoOrphanAndKeepsTheReport() throws {
        let server = try Server.path()
        let port = try Loopback.freePort()
        let tmp = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.path("objgraph"))
        process.arguments = ["run", "--", server, String(port)]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmp
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        XCTAssertTrue(Loopback.waitUntilListening(port: port, seconds: 6), "the server never listened")
        XCTAssertEqual(try Loopback.get("/hello", port: port), "Hello")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(15)
        while Server.isRunning(port: port) && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(Server.isRunning(port: port), "the server did not outlive objgraph")
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("is gone: stopping"), text)
        let reports = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            $0.hasPrefix("objgraph-report-")
        }
        XCTAssertEqual(reports.count, 1, "\(reports)")
        let report = try String(contentsOfFile: dir + "/" + (reports.first ?? ""), encoding: .utf8)
        XCTAssertTrue(report.contains("Live objects: "), report)
        XCTAssertTrue(text.contains(reports.first ?? "?"), "stderr names the report: \(text)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "no temporary directory left")
    }
}

/// The Hummingbird fixture server.
enum Server {
    /// A fixture of fixtures/ThirdParty, built by scripts/test into .build-thirdparty.
    static func path(_ product: String = "hello-server") throws -> String {
        let build = (CLI.binDirectory as NSString).deletingLastPathComponent  // .build/<triple>
        let root = ((build as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        let path = root + "/.build-thirdparty/debug/" + product
        guard FileManager.default.isExecutableFile(atPath: path) else {
            struct Missing: Error, CustomStringConvertible { var description: String }
            throw Missing(
                description: "missing \(path): scripts/test builds fixtures/ThirdParty into .build-thirdparty")
        }
        return path
    }

    /// A hello-server process started with `port` is alive (read from /proc).
    static func isRunning(port: Int) -> Bool {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil } ?? []
        return pids.contains { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard args.first?.hasSuffix("hello-server") == true, args.dropFirst().first == String(port) else {
                return false
            }
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ")
                .dropFirst(2).first
            return state != "Z"
        }
    }
}

/// Plain HTTP/1.1 over loopback with Glibc sockets.
enum Loopback {
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: 0,
            sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(
            sin_family: sa_family_t(AF_INET), sin_port: UInt16(port).bigEndian,
            sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if ok { return fd }
        close(fd)
        return nil
    }

    static func waitUntilListening(port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let fd = connect(port: port) { close(fd); return true }
            usleep(50_000)
        }
        return false
    }

    /// The body of `GET path`.
    static func get(_ path: String, port: Int) throws -> String {
        guard let fd = connect(port: port) else { throw POSIXError(.ECONNREFUSED) }
        defer { close(fd) }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        return text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }
}
