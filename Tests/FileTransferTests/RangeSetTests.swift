import XCTest

@testable import FileTransfer

final class RangeSetTests: XCTestCase {
    func testInsertMergesOverlappingAndAdjacentRanges() {
        var set = RangeSet()
        set.insert(10..<20)
        set.insert(30..<40)
        XCTAssertEqual(set.ranges, [10..<20, 30..<40])
        set.insert(20..<25)  // adjacent to the first
        XCTAssertEqual(set.ranges, [10..<25, 30..<40])
        set.insert(0..<5)  // before everything
        XCTAssertEqual(set.ranges, [0..<5, 10..<25, 30..<40])
        set.insert(24..<31)  // bridges two
        XCTAssertEqual(set.ranges, [0..<5, 10..<40])
        set.insert(12..<13)  // inside
        XCTAssertEqual(set.ranges, [0..<5, 10..<40])
        set.insert(7..<7)  // empty: ignored
        XCTAssertEqual(set.ranges, [0..<5, 10..<40])
        set.insert(0..<100)  // swallows all
        XCTAssertEqual(set.ranges, [0..<100])
    }

    func testOutOfOrderInsertionOfChunksGivesOneRange() {
        var set = RangeSet()
        let chunks = (0..<64).map { Int64($0) * 1000 }
        for start in chunks.reversed() where start % 2000 == 0 { set.insert(start..<start + 1000) }
        XCTAssertEqual(set.ranges.count, 32)
        for start in chunks where start % 2000 != 0 { set.insert(start..<start + 1000) }
        XCTAssertEqual(set.ranges, [0..<64_000])
        XCTAssertEqual(set.coveredBytes, 64_000)
        XCTAssertTrue(set.isComplete(size: 64_000))
        XCTAssertFalse(set.isComplete(size: 64_001))
    }

    func testFlattenedRoundTripAndValidation() {
        let set = RangeSet([5..<10, 0..<2, 20..<30])
        XCTAssertEqual(set.flattened, [0, 2, 5, 10, 20, 30])
        XCTAssertEqual(RangeSet(flattened: set.flattened), set)
        XCTAssertEqual(RangeSet(flattened: [20, 30, 0, 10, 5, 12]), RangeSet([0..<12, 20..<30]))
        XCTAssertNil(RangeSet(flattened: [1, 2, 3]))
        XCTAssertNil(RangeSet(flattened: [5, 4]))
        XCTAssertEqual(RangeSet(flattened: []), RangeSet())
        XCTAssertEqual(RangeSet().flattened, [])
    }

    func testContains() {
        let set = RangeSet([0..<10, 20..<30])
        XCTAssertTrue(set.contains(0))
        XCTAssertTrue(set.contains(9))
        XCTAssertFalse(set.contains(10))
        XCTAssertFalse(set.contains(15))
        XCTAssertTrue(set.contains(20))
        XCTAssertFalse(set.contains(30))
        XCTAssertFalse(set.contains(-1))
        XCTAssertFalse(set.contains(Int64.max))
        XCTAssertTrue(set.contains(2..<8))
        XCTAssertTrue(set.contains(0..<10))
        XCTAssertFalse(set.contains(5..<21))
        XCTAssertFalse(set.contains(9..<11))
        XCTAssertTrue(set.contains(15..<15))
        XCTAssertTrue(RangeSet([0..<5]).isSubset(of: set))
        XCTAssertFalse(RangeSet([0..<5, 8..<12]).isSubset(of: set))
        XCTAssertTrue(RangeSet().isSubset(of: RangeSet()))
    }

    func testMissingAndFirstMissing() {
        let set = RangeSet([10..<20, 30..<40])
        XCTAssertEqual(set.missing(in: 0..<50), [0..<10, 20..<30, 40..<50])
        XCTAssertEqual(set.firstMissing(in: 0..<50), 0..<10)
        XCTAssertEqual(set.missing(in: 10..<40), [20..<30])
        XCTAssertEqual(set.firstMissing(in: 10..<40), 20..<30)
        XCTAssertEqual(set.missing(in: 12..<18), [])
        XCTAssertNil(set.firstMissing(in: 12..<18))
        XCTAssertEqual(set.missing(in: 15..<35), [20..<30])
        XCTAssertEqual(set.missing(in: 0..<0), [])
        XCTAssertNil(set.firstMissing(in: 5..<5))
        XCTAssertEqual(RangeSet().missing(in: 0..<7), [0..<7])
        XCTAssertEqual(RangeSet([0..<7]).missing(in: 0..<7), [])
    }

    func testLargeOffsets() {
        var set = RangeSet()
        let base: Int64 = 1 << 40
        set.insert(base..<base + 10)
        set.insert(Int64.max - 10..<Int64.max)
        XCTAssertEqual(set.flattened, [base, base + 10, Int64.max - 10, Int64.max])
        XCTAssertTrue(set.contains(Int64.max - 1))
        XCTAssertEqual(set.coveredBytes, 20)
        XCTAssertEqual(set.firstMissing(in: 0..<Int64.max), 0..<base)
    }
}
