import Foundation
import LatchkeyTestSupport
import Testing

/// RFC 9421 request signatures over real sockets, signed by an independent Python implementation.
@Suite struct SignatureTests {
    let server = sharedServer

    func transferBody(_ device: OutsideDevice) throws -> String {
        let accounts =
            try JSONSerialization.jsonObject(with: Data(try device.call(server, "GET", "/v1/accounts").body.utf8))
            as? [[String: Any]] ?? []
        let from = accounts.first?["id"] as? String ?? ""
        return "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"1.00\",\"currency\":\"EUR\"}"
    }

    @Test func aSignedTransferIsAcceptedAndLeavesVerifiableEvidence() throws {
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let accepted = try device.signedCall(server, "POST", "/v1/transfers", body: try transferBody(device))
        #expect(accepted.status == 201, "\(accepted.body)")
        #expect(accepted.json?["transfer_id"] as? String != nil)
        let verified = try server.latchkey(["audit", "verify"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("request signature"), "\(verified.stdout)")
    }

    @Test func eachRefusalHasItsCode() throws {
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let other = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let body = try transferBody(device)

        let unsigned = try device.call(
            server, "POST", "/v1/transfers", json: try JSONSerialization.jsonObject(with: Data(body.utf8)))
        #expect(unsigned.errorCode == "signature_missing")

        let foreignKey = try device.signedCall(server, "POST", "/v1/transfers", body: body, signingKey: other.keyPath)
        #expect(foreignKey.errorCode == "signature_invalid")

        let nonce = try device.nonce(server)
        #expect(try device.signedCall(server, "POST", "/v1/transfers", body: body, nonce: nonce).status == 201)
        #expect(
            try device.signedCall(server, "POST", "/v1/transfers", body: body, nonce: nonce).errorCode == "nonce_reused"
        )

        #expect(
            try device.signedCall(server, "POST", "/v1/transfers", body: body, nonce: "made-up").errorCode
                == "nonce_invalid")

        let old = try device.signedCall(server, "POST", "/v1/transfers", body: body, createdOffset: -301)
        #expect(old.errorCode == "signature_invalid")
        let future = try device.signedCall(server, "POST", "/v1/transfers", body: body, createdOffset: 120)
        #expect(future.errorCode == "signature_invalid")

        let changedBody = try device.signedCall(
            server, "POST", "/v1/transfers", body: body,
            sentBody: body.replacingOccurrences(of: "\"1.00\"", with: "\"900.00\""))
        #expect(changedBody.errorCode == "digest_mismatch")

        let changedPath = try device.signedCall(
            server, "DELETE", "/v1/devices/\(device.deviceID)", signedTarget: "/v1/devices/other")
        #expect(changedPath.errorCode == "signature_invalid")
        let changedMethod = try device.signedCall(
            server, "DELETE", "/v1/devices/\(device.deviceID)", signedMethod: "GET")
        #expect(changedMethod.errorCode == "signature_invalid")

        let othersNonce = try other.nonce(server)
        let stolen = try device.signedCall(server, "POST", "/v1/transfers", body: body, nonce: othersNonce)
        #expect(stolen.errorCode == "nonce_invalid")

        let wrongKeyID = try device.signedCall(server, "POST", "/v1/transfers", body: body, keyID: other.deviceID)
        #expect(wrongKeyID.errorCode == "signature_invalid")
        // None of the refused requests moved money: one accepted transfer of 1.00.
        let balance =
            try JSONSerialization.jsonObject(with: Data(try device.call(server, "GET", "/v1/accounts").body.utf8))
            as? [[String: Any]]
        #expect(balance?.first?["balance"] as? String == "999.00")
    }


    func transferBodyOn(_ server: ServerProcess, _ device: OutsideDevice) throws -> String {
        let accounts =
            try JSONSerialization.jsonObject(with: Data(try device.call(server, "GET", "/v1/accounts").body.utf8))
            as? [[String: Any]] ?? []
        return
            "{\"from\":\"\(accounts.first?["id"] as? String ?? "")\",\"to\":\"DE89370400440532013000\",\"amount\":\"1.00\",\"currency\":\"EUR\"}"
    }

    @Test func aTamperedAuditRowIsReportedWithItsSequence() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        #expect(
            try device.signedCall(server, "POST", "/v1/transfers", body: try transferBodyOn(server, device)).status
                == 201)
        #expect(try server.latchkey(["audit", "verify"]).status == 0)
        let database = server.dataDirectory + "/latchkey.sqlite"
        let sequence = try Shell.run([
            "sqlite3", database, "SELECT sequence FROM audit_events WHERE action = 'transfer.created'",
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try TestDatabases.execute(
            "UPDATE audit_events SET details = replace(details, '\"amount_cents\":100,', '\"amount_cents\":900,') WHERE sequence = \(sequence)",
            on: "sqlite:" + database)
        let broken = try server.latchkey(["audit", "verify"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("sequence \(sequence)"))
    }
}
