import XCTest
import LeakyScenarios
@testable import ObjGraphCore

final class TrackingTests: XCTestCase {
    override func setUpWithError() throws {
        try ObjGraph.startTracking()
    }

    func testLeakedPairsGrowByExactlyTwoPerPair() {
        let before = ObjGraph.count("Pair")
        makeLeakedPairs(150)
        XCTAssertEqual(ObjGraph.count("Pair") - before, 300)
        makeLeakedPairs(1)
        XCTAssertEqual(ObjGraph.count("Pair") - before, 302)
    }

    func testFixedVersionsGrowByZero() {
        let tracker = GrowthTracker()
        tracker.setBaseline()
        makeWeakPairs(100)
        makeUnownedFamilies(100)
        makeWeakClosures(100)
        makeWeakDelegates(100)
        let grown = tracker.growth(limit: nil).filter {
            ["WeakPair", "Parent", "Child", "Screen", "Controller", "View", "WeakView"].contains($0.name)
        }
        XCTAssertEqual(grown, [])
    }
}
