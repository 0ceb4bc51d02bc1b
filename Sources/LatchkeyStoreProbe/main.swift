import Crypto
import Foundation
import LatchkeyStore

// A test tool, not part of Latchkey: completes one enrollment in the store at the URL given as the only argument,
// prints "completed DEVICE_ID SERIAL" once the store returned, then waits to be killed. The durability test kills
// it with SIGKILL at that moment and checks, after reopening, that the device and certificate are there.

guard CommandLine.arguments.count == 2, let url = try? DatabaseURL(CommandLine.arguments[1]) else {
    FileHandle.standardError.write(Data("usage: latchkey-store-probe DATABASE_URL\n".utf8))
    exit(2)
}
// The audit key of this test tool is fixed, so the test can verify the chain it wrote.
let store = try await SQLStore.open(
    url, auditKey: SymmetricKey(data: SHA256.hash(data: Data("latchkey-store-probe".utf8))))
let suffix = UUID().uuidString.lowercased()
let now = Date()
let user = UserRecord(
    id: "u-" + suffix, username: "probe-" + suffix, passwordHash: "x", phone: "+15555550100", email: nil,
    createdAt: now)
try await store.createUser(
    user, accounts: [], audit: AuditEntry(time: now, actor: "probe", action: "user.created", subject: user.id))
let enrollment = EnrollmentRecord(
    id: "e-" + suffix, userID: user.id, deviceName: "probe", channel: "outbox", destination: user.phone,
    codeHash: "x", expiresAt: now.addingTimeInterval(600), clientAddress: nil, createdAt: now)
try await store.createEnrollment(
    enrollment, audit: AuditEntry(time: now, actor: "probe", action: "enrollment.started", subject: enrollment.id))
let device = DeviceRecord(id: "d-" + suffix, userID: user.id, name: "probe", enrolledAt: now)
let certificate = CertificateRecord(
    serial: "s" + suffix.replacingOccurrences(of: "-", with: ""), deviceID: device.id, notBefore: now,
    notAfter: now.addingTimeInterval(3600), spkiSHA256: suffix, derBase64: "AA==")
try await store.completeEnrollment(
    id: enrollment.id, device: device, certificate: certificate,
    audit: AuditEntry(time: now, actor: "probe", action: "enrollment.completed", subject: device.id), now: now)
FileHandle.standardOutput.write(Data("completed \(device.id) \(certificate.serial)\n".utf8))
while true { sleep(60) }
