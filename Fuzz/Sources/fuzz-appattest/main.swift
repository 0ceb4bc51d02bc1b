import CFuzzDriver
import Foundation
import LatchkeyFuzzTargets

// libFuzzer runs FuzzTargets.appAttest on every input it makes; its options (-runs, -max_total_time, corpus folders) are
// this program's arguments. `--write-seeds DIR` writes fresh synthetic seeds (made under a test root) and exits.
if FuzzTargets.writeSeedsIfAsked("appattest") { exit(0) }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        FuzzTargets.appAttest(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    })
