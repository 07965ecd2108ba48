import Foundation
import LeakyScenarios
import ObjGraphTesting
import Testing

/// The failures the README shows for ObjGraphTesting, made by the real checks on the fixtures.
/// Each check must fail (a known issue); with OBJGRAPH_README_OUTPUT set, their messages are
/// appended to that file, which scripts/readme-assets pastes into the README.
@Suite(.serialized) struct ReadmeExampleTests {
    private static func record(_ issue: Issue) -> Bool {
        let text = issue.comments.map(\.rawValue).joined(separator: "\n")
        if let path = ProcessInfo.processInfo.environment["OBJGRAPH_README_OUTPUT"],
            let handle = FileHandle(forWritingAtPath: path)
                ?? {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                    return FileHandle(forWritingAtPath: path)
                }()
        {
            handle.seekToEndOfFile()
            handle.write(Data((text + "\n\n").utf8))
            handle.closeFile()
        }
        return !text.isEmpty
    }

    @Test func screensLeakTheirClosures() {
        withKnownIssue {
            expectNoLeaks { makeClosureCycles(2) }
        } matching: {
            Self.record($0) && String(describing: $0).contains("ROOT CYCLE: <Screen")
        }
    }

    @Test func controllerOutlivesItsScope() {
        withKnownIssue {
            withDeallocationCheck { tracker in
                let controller = tracker.expect(Controller())
                controller.view.delegate = controller
            }
        } matching: {
            Self.record($0) && String(describing: $0).contains("Controller")
        }
    }
}
