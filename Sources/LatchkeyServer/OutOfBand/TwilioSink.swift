import Foundation

/// Sends SMS through the Twilio Messages REST API.
///
/// Wire format (Twilio's): `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth
/// `AccountSid:AuthToken`, `application/x-www-form-urlencoded` body `To=...&From=...&Body=...`; 201 means queued.
/// Settings from the environment: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_FROM`, and optionally
/// `TWILIO_BASE_URL` (default `https://api.twilio.com`).
public struct TwilioSink: OutOfBandSink {
    let accountSID: String
    let authToken: String
    let from: String
    let baseURL: String
    let client: OutOfBandHTTPClient
    public let channel = "sms"

    public init(environment: [String: String], client: OutOfBandHTTPClient) throws {
        guard let sid = environment["TWILIO_ACCOUNT_SID"], !sid.isEmpty,
            let token = environment["TWILIO_AUTH_TOKEN"], !token.isEmpty,
            let from = environment["TWILIO_FROM"], !from.isEmpty
        else {
            throw OutOfBandError(
                "the twilio sink needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM in the environment")
        }
        self.accountSID = sid
        self.authToken = token
        self.from = from
        self.baseURL = (environment["TWILIO_BASE_URL"] ?? "https://api.twilio.com").trimmingCharacters(
            in: CharacterSet(charactersIn: "/"))
        self.client = client
    }

    static func formEncode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    public func deliver(_ message: OutOfBandMessage) async throws {
        let url = "\(baseURL)/2010-04-01/Accounts/\(accountSID)/Messages.json"
        let body = Self.formEncode([("To", message.to), ("From", from), ("Body", message.body)])
        let credentials = Data("\(accountSID):\(authToken)".utf8).base64EncodedString()
        let response: (status: Int, body: String)
        do {
            response = try await client.post(
                url: url,
                headers: [
                    ("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Basic \(credentials)"),
                ],
                body: Data(body.utf8))
        } catch {
            throw OutOfBandError("the SMS provider could not be reached")
        }
        guard (200..<300).contains(response.status) else {
            throw OutOfBandError("the SMS provider refused the message with HTTP \(response.status)")
        }
    }
}
