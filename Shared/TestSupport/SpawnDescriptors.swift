#if canImport(Glibc)
import Glibc

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), which the Glibc module does not
/// import (it is behind `_GNU_SOURCE`): looked up once at run time.
private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
private let addCloseFrom: AddCloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    .map { unsafeBitCast($0, to: AddCloseFrom.self) }

/// Makes the spawned child close every descriptor from 3 on, so nothing of the spawning process
/// leaks into it: a test's sockets (a proxy's connections, clients' connections) inherited by a
/// service or by Postgres would outlive their close in the test, and the peer would never see the
/// connection end (NIO does not open its sockets close-on-exec).
func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    _ = addCloseFrom?(&actions, 3)
}
#endif
