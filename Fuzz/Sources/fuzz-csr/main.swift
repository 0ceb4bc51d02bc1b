import CFuzzDriver
import Foundation
import LatchkeyFuzzTargets

// libFuzzer runs FuzzTargets.csrIntake on every input it makes; its options (-runs, -max_total_time, corpus
// folders) are this program's arguments. Build with `Fuzz/run.sh`.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        FuzzTargets.csrIntake(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    })
