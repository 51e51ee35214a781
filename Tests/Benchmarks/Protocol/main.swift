import NIOCore
import NIOPosix

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Swift Concurrency's global executor on NIO's event loops: tasks resume on the loop that
// completed their I/O instead of hopping to the cooperative pool and back. Must happen on the
// main thread before any task starts; ONESTOP_CONCURRENCY_EXECUTOR=default keeps Swift's pool.
if ProcessInfo.processInfo.environment["ONESTOP_CONCURRENCY_EXECUTOR"] != "default" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await Bench.main()
