#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import BatchgateSystem

/// `System.identity(of:)`: what tells `config credentials --pid` that the pid is still the
/// service's main process, alive.
@Suite("Process identity")
struct ProcessIdentityTests {
    @Test func theStartTimeIsCountedAfterTheLastParenthesis() {
        // A command name may hold spaces and parentheses: `(a) (b)` here.
        let line = "4242 (a) (b) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 3 0 987654 1000 200\n"
        #expect(System.startTime(inStat: Array(line.utf8)) == 987654)
    }

    @Test func aZombieOrDeadProcessHasNone() {
        for state in ["Z", "X"] {
            let line = "4242 (batchgate) \(state) 1 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 3 0 987654 1000 200\n"
            #expect(System.startTime(inStat: Array(line.utf8)) == nil, "state \(state)")
        }
        #expect(System.startTime(inStat: Array("4242 (truncated".utf8)) == nil)
    }

    @Test func thisProcessIsItselfAndAnExitedChildIsNot() throws {
        let own = try #require(System.identity(of: getpid()))
        #expect(System.identity(of: getpid()) == own)

        // A child that has exited and is not yet reaped: a zombie, whose files are gone.
        var pid: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { arguments.forEach { free($0) } }
        try #require(posix_spawn(&pid, "/bin/true", nil, nil, arguments, environ) == 0)
        var zombie = false
        for _ in 0..<500 where !zombie {
            if let stat = try? RegularFile.read("/proc/\(pid)/stat", limit: 4096),
               String(decoding: stat, as: UTF8.self).contains(") Z ") {
                zombie = true
            } else {
                usleep(10_000)
            }
        }
        #expect(zombie, "the child never showed as a zombie")
        #expect(System.identity(of: pid) == nil)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        #expect(System.identity(of: pid) == nil)
    }
}
