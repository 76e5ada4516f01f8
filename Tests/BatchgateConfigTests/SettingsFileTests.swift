import Glibc  // <sys/socket.h>: SOCK_STREAM, which Foundation alone does not show here
import Dispatch
import Foundation
import Testing
@testable import BatchgateConfig

/// Catalog and secret files that are not regular files (a FIFO, a device, a folder, a socket) or
/// are too large are refused at once, naming the file and what it is.
@Suite("Catalog and secret files on disk")
struct SettingsFileTests {
    /// A fresh folder under the temporary directory, removed by the caller.
    private func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A FIFO at `path`, with no writer.
    private func makeFIFO(_ path: String) {
        #expect(mkfifo(path, 0o600) == 0, "mkfifo \(path): \(String(cString: strerror(errno)))")
    }

    /// The message of the error `body` throws, or nil (and a failed expectation) if it returns.
    /// If `body` has not returned after 5 s, `fifo` is opened for writing and closed, so that a
    /// reader blocked in open(2) on it is let go: a reader that blocks on a FIFO fails this test
    /// instead of hanging it. The elapsed time is checked too: a refusal must be at once.
    private func refusal(
        unblocking fifo: String? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) -> String? {
        let done = DispatchSemaphore(value: 0)
        let unblocker = DispatchGroup()
        if let fifo {
            DispatchQueue.global().async(group: unblocker) {
                guard done.wait(timeout: .now() + 5) == .timedOut else { return }
                let fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                if fd >= 0 { close(fd) }
            }
        }
        let started = Date()
        defer {
            done.signal()
            unblocker.wait()
        }
        do {
            try body()
        } catch {
            #expect(Date().timeIntervalSince(started) < 2, "refused at once", sourceLocation: sourceLocation)
            return "\(error)"
        }
        Issue.record("read without an error after \(Date().timeIntervalSince(started)) s", sourceLocation: sourceLocation)
        return nil
    }

    /// A Unix socket bound at `path`; the caller closes the descriptor.
    private func bindSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0, "bind \(path): \(String(cString: strerror(errno)))")
        return fd
    }

    // MARK: Catalog files

    @Test func aCatalogThatIsAFIFOIsRefusedAtOnce() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let items = folder.appendingPathComponent("items.csv").path
        makeFIFO(items)
        let message = refusal(unblocking: items) { _ = try DaemonConfig.CatalogSources(items: items, packages: nil).load() }
        #expect(message == "the catalog file \(items) is a named pipe (FIFO), not a regular file")
    }

    @Test func aCatalogThatIsAFolderOrASocketIsRefused() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let message = refusal { _ = try DaemonConfig.CatalogSources(items: nil, packages: folder.path).load() }
        #expect(message == "the catalog file \(folder.path) is a folder, not a regular file")

        let socketPath = folder.appendingPathComponent("items.sock").path
        let fd = try bindSocket(at: socketPath)
        defer { close(fd) }
        let socketMessage = refusal { _ = try DaemonConfig.CatalogSources(items: socketPath, packages: nil).load() }
        #expect(socketMessage == "the catalog file \(socketPath) is a socket, not a regular file")
    }

    /// Sparse, so the test writes nothing: the size alone refuses it, before a byte is read.
    @Test func aCatalogLargerThanTheLimitIsRefusedUnread() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let items = folder.appendingPathComponent("items.json").path
        #expect(FileManager.default.createFile(atPath: items, contents: nil))
        #expect(truncate(items, off_t(256 << 20) + 1) == 0)
        let message = refusal { _ = try DaemonConfig.CatalogSources(items: items, packages: nil).load() }
        #expect(message == "the catalog file \(items) is larger than 256 MiB; is this the right file?")
    }

    @Test func aMissingCatalogIsNamedWithTheReason() throws {
        let message = refusal { _ = try DaemonConfig.CatalogSources(items: "/nonexistent/items.json", packages: nil).load() }
        #expect(message == "cannot open the catalog file /nonexistent/items.json: No such file or directory (errno 2)")
    }

    // MARK: Secret files

    @Test func aSecretFileThatIsAFIFOIsRefusedAtOnce() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("webhook").path
        makeFIFO(path)
        let message = refusal(unblocking: path) { _ = try SystemSecretFileReader().read(path: path) }
        #expect(message == "\(path) is a named pipe (FIFO), not a regular file")
    }

    @Test func aCredentialThatIsADeviceIsRefusedAndNamed() throws {
        let resolver = SecretResolver(files: SystemSecretFileReader(), environment: ["CREDENTIALS_DIRECTORY": "/dev"])
        let message = refusal { _ = try resolver.resolve(.credential(name: "zero")) }
        #expect(message == "secret from credential zero: /dev/zero is a character device, not a regular file")
    }
}
