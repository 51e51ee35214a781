import ReviewService
import ServiceKit

#if canImport(Glibc)
import Glibc
#endif

// `review` runs the whole service; `review worker` runs only check workers (scale by starting
// more). Workers listen on any free ports unless ONESTOP_RPC_PORT / ONESTOP_ADMIN_PORT say otherwise.
if CommandLine.arguments.dropFirst().first == "worker" {
    setenv("ONESTOP_RPC_PORT", "0", 0)
    setenv("ONESTOP_ADMIN_PORT", "0", 0)
    await ServiceMain.run(ReviewService.workerDefinition)
} else {
    await ServiceMain.run(ReviewService.definition)
}
