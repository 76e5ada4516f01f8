import Foundation
import Testing
@testable import BatchgateSystem

/// Who holds a folder's `flock`, read from the kernel's table of locks without taking the lock.
@Suite("Lock holder")
struct LockHolderTests {
    @Test func readsTheFlockHoldersOfAnInodeFromTheKernelsTable() {
        let table = """
            1: POSIX  ADVISORY  WRITE 24950 fe:00:5580162 1073741824 1073742335
            2: FLOCK  ADVISORY  WRITE 2412 fe:00:253853 0 EOF
            3: -> FLOCK  ADVISORY  WRITE 3000 fe:00:253853 0 EOF
            4: FLOCK  ADVISORY  READ 2413 08:01:253853 0 EOF
            5: FLOCK  ADVISORY  WRITE 777 fe:00:2538530 0 EOF
            """
        #expect(System.flockHolders(in: table, inode: 253_853) == [2412, 2413], "waiters and other inodes left out")
        #expect(System.flockHolders(in: table, inode: 1).isEmpty)
    }

    @Test func theProcessHoldingTheLockAndNamedInThePidFileIsFound() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pidFile = folder.appendingPathComponent(".batchgate.lock").path
        try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        #expect(try System.lockHolder(of: folder.path, pidFile: pidFile) == nil, "a pid file alone is no running daemon")

        let fd = open(folder.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        #expect(try System.lockHolder(of: folder.path, pidFile: pidFile) == getpid())

        // A pid file naming another process (a daemon long gone, its pid reused) is not believed.
        try "1\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        #expect(try System.lockHolder(of: folder.path, pidFile: pidFile) == nil)
        try FileManager.default.removeItem(atPath: pidFile)
        #expect(try System.lockHolder(of: folder.path, pidFile: pidFile) == nil)
    }
}
