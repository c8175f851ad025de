import XCTest
@testable import Records

final class PostgresURLTests: XCTestCase {
    func testFullURL() throws {
        let url = try PostgresURL("postgres://tieline:s3cret@db.example:6543/records?sslmode=disable")
        XCTAssertEqual(url.user, "tieline")
        XCTAssertEqual(url.password, "s3cret")
        XCTAssertEqual(url.host, "db.example")
        XCTAssertEqual(url.port, 6543)
        XCTAssertEqual(url.database, "records")
        XCTAssertEqual(url.sslMode, .disable)
    }

    func testDefaults() throws {
        let url = try PostgresURL("postgresql://gw@localhost")
        XCTAssertNil(url.password)
        XCTAssertEqual(url.port, 5432)
        XCTAssertEqual(url.database, "gw", "libpq's default database is the user's name")
        XCTAssertEqual(url.sslMode, .prefer)
    }

    func testIPv6AndEscapes() throws {
        let url = try PostgresURL("postgres://us%40er:p%2Fa%3Ass@[::1]:5433/calls?sslmode=verify-full")
        XCTAssertEqual(url.user, "us@er")
        XCTAssertEqual(url.password, "p/a:ss")
        XCTAssertEqual(url.host, "::1")
        XCTAssertEqual(url.port, 5433)
        XCTAssertEqual(url.sslMode, .verifyFull)
        XCTAssertEqual(url.description, "postgres://us@er:***@[::1]:5433/calls?sslmode=verify-full")
    }

    func testUnescapedSpecialCharactersInThePassword() throws {
        let url = try PostgresURL("postgres://gw:a@b/c?d%zz@host/db")
        XCTAssertEqual(url.password, "a@b/c?d%zz")
        XCTAssertEqual(url.host, "host")
        XCTAssertEqual(url.database, "db")
    }

    func testPasswordNeverShown() throws {
        let url = try PostgresURL("postgres://gw:TopSecret99@host/db")
        XCTAssertFalse(url.description.contains("TopSecret99"))
        XCTAssertFalse(String(reflecting: url).contains("TopSecret99"))
        var dumped = ""
        dump(url, to: &dumped)
        XCTAssertFalse(dumped.contains("TopSecret99"), dumped)
    }

    func testBadURLsAreTypedErrorsWithoutThePassword() {
        let cases: [(String, String)] = [
            ("mysql://gw:TopSecret99@host/db", "postgres://"),
            ("postgres://host/db", "no user"),
            ("postgres://:TopSecret99@host/db", "user is empty"),
            ("postgres://gw:TopSecret99@/db", "host is empty"),
            ("postgres://gw:TopSecret99@host:99999/db", "port"),
            ("postgres://gw:TopSecret99@host:abc/db", "port"),
            ("postgres://gw:TopSecret99@[::1/db", "]"),
            ("postgres://gw:TopSecret99@host/db?sslmode=sometimes", "sslmode"),
            ("postgres://gw:TopSecret99@host/db?sslmod=disable", "unknown parameter sslmod"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try PostgresURL(text), text) { error in
                guard let error = error as? RecordStoreError, case .invalidURL(let shown, let reason) = error else {
                    return XCTFail("\(text): wrong error \(error)")
                }
                XCTAssertTrue(reason.contains(expected), "\(text): \(reason)")
                XCTAssertFalse(shown.contains("TopSecret99"), shown)
                XCTAssertFalse("\(error)".contains("TopSecret99"), "\(error)")
            }
        }
    }

    func testStoreRejectsABadURLAtInit() {
        XCTAssertThrowsError(try PostgresRecordStore(url: "postgres://gw:TopSecret99@host:0/db")) { error in
            XCTAssertFalse("\(error)".contains("TopSecret99"))
        }
    }
}
