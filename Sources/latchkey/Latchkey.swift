import ArgumentParser
import Foundation
import LatchkeyCommandLine

/// The `latchkey` command: operate a Latchkey server's data directory, and act as a device.
struct Latchkey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "Device-bound client certificates for mobile APIs: a private CA, out-of-band enrollment, mutual TLS.",
        discussion: "Exit status: 0 success, 1 a refused or failed operation, 2 bad usage.",
        subcommands: [
            ServeCommand.self, CACommand.self, UserCommand.self, DeviceCommand.self, AuditCommand.self,
            AttestCommand.self, ClientCommand.self, DemoCommand.self,
        ]
    )
}

/// `latchkey`: the product's command line (benchmarks live in `latchkey-bench`).
@main
enum Entry {
    static func main() async {
        await CommandEntry.run(Latchkey.self)
    }
}
