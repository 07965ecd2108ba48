// Replaced by the ObjGraphTesting tests.
import XCTest
