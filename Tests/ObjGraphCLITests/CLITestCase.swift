import Foundation
import XCTest

/// Base for tests that run the built command: checks it is built, gives each test a scratch
/// directory and removes it afterwards.
class CLITestCase: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        try CLI.requireBuilt()
        dir = try CLI.temporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }
}
