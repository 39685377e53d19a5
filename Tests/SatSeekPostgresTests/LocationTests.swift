import Testing
@testable import SatSeekPostgres

@Suite struct LocationTests {
    @Test func parsesLoopbackURLs() throws {
        let plain = try PostgresLocation(url: "postgres://alice@127.0.0.1:5433/images")
        #expect(plain.host == "127.0.0.1" && plain.port == 5433 && plain.user == "alice" && plain.database == "images")
        #expect(plain.password == nil && plain.schema == nil)
        let full = try PostgresLocation(url: "postgresql://bob:s3cret@localhost/db?schema=effnet")
        #expect(full.port == 5432 && full.password == "s3cret" && full.schema == "effnet")
        #expect(!full.description.contains("s3cret"))
        let v6 = try PostgresLocation(url: "postgres://u@[::1]:6000/db")
        #expect(v6.host == "::1" && v6.description == "postgres://u@[::1]:6000/db")
    }

    @Test func refusesNonLoopbackHosts() {
        for url in [
            "postgres://u@10.0.0.5:5432/db", "postgres://u:pw@db.example.com/db", "postgres://u@192.168.1.2/db",
            "postgres://u@127.0.0.1.example.com/db", "postgres://u@0.0.0.0/db"
        ] {
            do {
                _ = try PostgresLocation(url: url)
                Issue.record("accepted \(url)")
            } catch let error as PostgresStoreError {
                guard case .notLoopback = error else { Issue.record("wrong error for \(url): \(error)"); continue }
                #expect(error.description.contains("loopback"))
                #expect(!error.description.contains(":pw@"), "the password must not be printed")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func refusesMalformedURLs() {
        for url in [
            "mysql://u@127.0.0.1/db", "postgres://127.0.0.1/db", "postgres://u@127.0.0.1:5432/",
            "postgres://u@127.0.0.1/db?schema=Bad-Name", "not a url"
        ] {
            #expect(throws: PostgresStoreError.self, "\(url)") { try PostgresLocation(url: url) }
        }
    }
}
