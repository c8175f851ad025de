import Foundation
import XCTest
@testable import Records

final class RecordsOutputTests: XCTestCase {
    private let utc = TimeZone(identifier: "UTC")!

    private func endedCall() -> CallRecord {
        let started = Date(timeIntervalSince1970: 1_740_837_729.25)  // 2025-03-01 14:02:09.250 UTC
        return CallRecord(recordID: UUID(uuidString: "6F1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9")!, callID: "c1",
                          sipCallID: "a84b4c76e66710@gw", direction: .browserToTrunk, from: "alice",
                          to: "+15551234567", user: "alice", trunk: "main", startedAt: started,
                          answeredAt: started.addingTimeInterval(2), endedAt: started.addingTimeInterval(5),
                          durationSeconds: 3, status: 200, reason: "caller hung up", state: .ended,
                          codecs: Fixtures.codecs, stats: Fixtures.stats, instance: "gw1")
    }

    private func activeCall() -> CallRecord {
        CallRecord(recordID: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, callID: "in-7",
                   direction: .trunkToBrowser, from: "+15557654321", to: "bob", user: "bob", trunk: "main",
                   startedAt: Date(timeIntervalSince1970: 1_740_837_800), instance: "gw1")
    }

    func testJSONHasEveryKeyWithTheRightValues() throws {
        let json = RecordsOutput.json([endedCall(), activeCall()])
        let objects = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        XCTAssertEqual(objects.count, 2)
        let keys: Set<String> = ["recordId", "callId", "sipCallId", "instance", "direction", "from", "to", "user",
                                 "trunk", "startedAt", "answeredAt", "endedAt", "durationSeconds", "status",
                                 "reason", "state", "codecs", "stats"]
        for object in objects { XCTAssertEqual(Set(object.keys), keys, "every record has every key") }

        let ended = objects[0]
        XCTAssertEqual(ended["recordId"] as? String, "6f1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9")
        XCTAssertEqual(ended["direction"] as? String, "browser-to-trunk")
        XCTAssertEqual(ended["startedAt"] as? String, "2025-03-01T14:02:09.250Z")
        XCTAssertEqual(ended["endedAt"] as? String, "2025-03-01T14:02:14.250Z")
        XCTAssertEqual(ended["durationSeconds"] as? Double, 3)
        XCTAssertEqual(ended["status"] as? Int, 200)
        XCTAssertEqual(ended["state"] as? String, "ended")
        XCTAssertEqual((ended["codecs"] as? [String: Any])?["phone"] as? String, "PCMU/8000")
        let phone = (ended["stats"] as? [String: Any])?["phone"] as? [String: Any]
        XCTAssertEqual(phone?["packetsReceived"] as? Int, 150)
        XCTAssertEqual(phone?["jitterMs"] as? Double, 0.75)

        let active = objects[1]
        XCTAssertTrue(active["endedAt"] is NSNull)
        XCTAssertTrue(active["durationSeconds"] is NSNull)
        XCTAssertTrue(active["status"] is NSNull)
        XCTAssertEqual(active["state"] as? String, "active")
        XCTAssertTrue((active["stats"] as? [String: Any])?["browser"] is NSNull)
    }

    func testJSONReadsBack() throws {
        let records = [endedCall(), activeCall()]
        XCTAssertEqual(try RecordsOutput.decodeJSON(RecordsOutput.json(records)), records)
        XCTAssertEqual(RecordsOutput.json([]), "[]")
    }

    func testTableIsAlignedWithTheRightValues() {
        var restarted = activeCall()
        restarted.state = .endedByRestart
        let table = RecordsOutput.table([endedCall(), restarted], timeZone: utc)
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0].split(separator: " ", omittingEmptySubsequences: true),
                       ["START", "DIRECTION", "FROM", "TO", "USER", "TRUNK", "DURATION", "STATUS", "REASON", "STATE"])
        XCTAssertEqual(lines[1].split(separator: " ", omittingEmptySubsequences: true),
                       ["2025-03-01", "14:02:09", "browser-to-trunk", "alice", "+15551234567", "alice", "main",
                        "3.0s", "200", "caller", "hung", "up", "ended"])
        XCTAssertEqual(lines[2].split(separator: " ", omittingEmptySubsequences: true),
                       ["2025-03-01", "14:03:20", "trunk-to-browser", "+15557654321", "bob", "bob", "main",
                        "-", "-", "-", "ended-by-restart"])
        // Every column starts at the same place on every line.
        for header in ["DIRECTION", "FROM", "DURATION", "STATE"] {
            let column = lines[0].range(of: header)!.lowerBound.utf16Offset(in: lines[0])
            for line in lines.dropFirst() {
                let index = line.index(line.startIndex, offsetBy: column)
                XCTAssertNotEqual(line[index], " ", "\(header) column in: \(line)")
                XCTAssertEqual(line[line.index(before: index)], " ", "\(header) column in: \(line)")
            }
        }
    }

    func testDurations() {
        XCTAssertEqual(RecordsOutput.duration(nil), "-")
        XCTAssertEqual(RecordsOutput.duration(0), "0.0s")
        XCTAssertEqual(RecordsOutput.duration(3.04), "3.0s")
        XCTAssertEqual(RecordsOutput.duration(125), "2m05s")
        XCTAssertEqual(RecordsOutput.duration(3723), "1h02m03s")
    }

    func testHostileCellsCannotBreakTheTable() {
        var call = endedCall()
        call.reason = "line one\nline two\r\u{1b}[31m" + String(repeating: "x", count: 100)
        let table = RecordsOutput.table([call], timeZone: utc)
        XCTAssertEqual(table.split(separator: "\n").count, 2)
        XCTAssertFalse(table.contains("\u{1b}"))
        XCTAssertTrue(table.contains("…"))
    }
}
