import Foundation
import Testing
@testable import BatchgateSystem

/// Who holds a folder's `flock`, read from the kernel's table of locks without taking the lock.
@Suite("Lock holder")
struct LockHolderTests {
    @Test func findsTheLockHolderInProcLocks() {
        // st_dev 0xfe00 is major 0xfe, minor 0: listed as `fe:00`.
        let table = """
            1: FLOCK  ADVISORY  WRITE 30435 fe:00:16392304 0 EOF
            2: -> FLOCK  ADVISORY  WRITE 999 fe:00:777 0 EOF
            3: POSIX  ADVISORY  WRITE 24950 fe:00:777 1073741824 1073742335
            4: FLOCK  ADVISORY  WRITE 4242 00:2d:777 0 EOF
            """
        #expect(System.lockHolder(inTable: table, device: 0xfe00, inode: 16_392_304, namedPID: nil) == LockHolder(held: true, pid: 30435))
        // A waiter and a POSIX lock on the inode are not the flock, and another device's inode 777
        // is another folder…
        #expect(System.lockHolder(inTable: table, device: 0xfe00, inode: 777, namedPID: nil) == LockHolder(held: false, pid: nil))
        // …unless its holder is the pid the lock file names (btrfs and overlay report another device).
        #expect(System.lockHolder(inTable: table, device: 0xfe00, inode: 777, namedPID: 4242) == LockHolder(held: true, pid: 4242))
        #expect(System.lockHolder(inTable: "", device: 0xfe00, inode: 777, namedPID: 4242) == LockHolder(held: false, pid: 4242))
    }

    @Test func aLockHeldByThisProcessIsFoundWithoutTakingIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent(".batchgate.lock").path
        try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let probe = open(folder.path, O_RDONLY | O_DIRECTORY)
        defer { close(probe) }
        #expect(try System.lockHolder(of: probe, describing: folder.path, pidFile: pidFile) == LockHolder(held: false, pid: getpid()),
                "a pid file alone is no running daemon")

        let holder = open(folder.path, O_RDONLY | O_DIRECTORY)
        defer { close(holder) }
        try #require(flock(holder, LOCK_EX | LOCK_NB) == 0)
        #expect(try System.lockHolder(of: probe, describing: folder.path, pidFile: pidFile) == LockHolder(held: true, pid: getpid()))
        // Looking took nothing: the holder still has it alone (a second exclusive lock is refused).
        let other = open(folder.path, O_RDONLY | O_DIRECTORY)
        defer { close(other) }
        #expect(flock(other, LOCK_EX | LOCK_NB) == -1)

        // Without /proc (a table that cannot be read), the trial lock still tells.
        #expect(try System.lockHolder(of: probe, describing: folder.path, pidFile: pidFile, procRoot: "/nonexistent").held)
        try FileManager.default.removeItem(atPath: pidFile)
        #expect(try System.lockHolder(of: probe, describing: folder.path, pidFile: pidFile).held, "the kernel's table needs no pid file")
    }
}
