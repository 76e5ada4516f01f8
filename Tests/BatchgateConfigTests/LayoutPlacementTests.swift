import Foundation
import Testing
@testable import BatchgateSystem
@testable import BatchgateConfig

/// A file system for ``LayoutPlacement``: each existing path and where it leads (itself unless a
/// link is on the way). Anything not listed does not exist.
private struct FakeFileSystem {
    var existing: [String: String]

    init(_ existing: [String: String] = [:]) {
        self.existing = ["/": "/", ".": "/home/op"].merging(existing) { $1 }
    }

    func canonical(_ path: String) -> String? { existing[path] }
}

private let noLinks = FakeFileSystem(["/srv": "/srv", "/srv/bg": "/srv/bg"])

private func problem(stateRoot: String, inbox: String? = nil, in files: FakeFileSystem = noLinks) -> LayoutPlacement.Problem? {
    LayoutPlacement.problem(stateRoot: stateRoot, inbox: inbox, canonical: files.canonical)
}

@Suite("Layout placement: the state root")
struct StateRootPlacementTests {
    @Test(arguments: [
        "/", "/etc", "/home", "/tmp", "/var", "/var/lib", "/var/tmp", "/usr", "/opt", "/srv", "/run", "/root", "/mnt",
        "/media", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/boot", "/dev", "/proc", "/sys",
        "//", "/etc/", "/./etc", "/var//lib/", "/srv/bg/../..", "/var/lib/../tmp",
    ])
    func isNeverASystemFolder(stateRoot: String) throws {
        let found = try #require(problem(stateRoot: stateRoot))
        #expect(found.setting == .stateRoot)
        #expect(found.reason.contains("the root folder") || found.reason.contains("a system folder"), "\(found)")
        #expect(found.reason.hasSuffix("give a folder of its own, such as /var/lib/batchgate or /srv/batchgate/state"))
    }

    @Test(arguments: [
        ("/usr/local/batchgate", "/usr"), ("/proc/self", "/proc"), ("/sys/fs/x", "/sys"), ("/dev/shm/bg", "/dev"),
        ("/boot/efi/bg", "/boot"), ("/bin/x", "/bin"), ("/sbin/x", "/sbin"), ("/lib/x", "/lib"),
        ("/lib64/x", "/lib64"), ("/libexec/bg", "/libexec"),
    ])
    func isNeverUnderASystemTree(stateRoot: String, tree: String) throws {
        let found = try #require(problem(stateRoot: stateRoot))
        #expect(found.reason.hasPrefix("the state root cannot be under \(tree): \(stateRoot) is in a folder"), "\(found)")
    }

    @Test(arguments: [
        "/var/lib/batchgate", "/srv/bg", "/srv/bg/state", "/tmp/batchgate-test", "/home/op/var", "/var/tmp/bg",
        "/opt/batchgate/var", "/library", "/usrdata/bg", "/devices/bg", "var", "./var",
    ])
    func mayBeAFolderOfItsOwn(stateRoot: String) {
        #expect(problem(stateRoot: stateRoot) == nil)
    }

    @Test func aLinkToASystemFolderIsSeenThrough() throws {
        let files = FakeFileSystem(["/srv": "/srv", "/srv/state": "/", "/srv/data": "/usr/share"])
        let atRoot = try #require(problem(stateRoot: "/srv/state", in: files))
        #expect(atRoot.reason.hasPrefix("the state root /srv/state (which leads to /) is the root folder"), "\(atRoot)")
        let underUsr = try #require(problem(stateRoot: "/srv/data/bg", in: files))
        #expect(underUsr.reason.hasPrefix("the state root cannot be under /usr: /srv/data/bg (which leads to /usr/share/bg)"))
    }

    /// Written as a system folder is refused even where that folder is itself a link elsewhere.
    @Test func aSystemFolderThatIsALinkIsStillRefused() throws {
        let files = FakeFileSystem(["/home": "/data/home"])
        #expect(try #require(problem(stateRoot: "/home", in: files)).setting == .stateRoot)
    }

    @Test func aRelativeStateRootIsResolvedFromTheWorkingFolder() throws {
        // The working folder is / : ./var is /var.
        let files = FakeFileSystem([".": "/"])
        #expect(try #require(problem(stateRoot: "./var", in: files)).reason.contains("a system folder"))
        #expect(problem(stateRoot: "./var/bg", in: files) == nil)
    }
}

@Suite("Layout placement: the inbox")
struct InboxPlacementTests {
    @Test(arguments: [
        ("/srv/bg/processing", "is the daemon's own processing/ folder", "a manifest while it reads it"),
        ("/srv/bg/accepted", "is the daemon's own accepted/ folder", "route them again and again"),
        ("/srv/bg/needs-batch/", "is the daemon's own needs-batch/ folder", "route them again and again"),
        ("/srv/bg//rejected/.", "is the daemon's own rejected/ folder", "route them again and again"),
        ("/srv/bg/outbox", "is the daemon's own outbox/ folder", "alerts not yet delivered"),
        ("/srv/bg/outbox/dead", "is the daemon's own outbox/dead/ folder", "alerts it gave up on"),
        ("/srv/bg/accepted/2024", "is inside the daemon's own accepted/ folder", "route them again and again"),
        ("/srv/bg/inbox/../accepted", "is the daemon's own accepted/ folder", "route them again and again"),
        ("/srv/bg/outbox/x/../dead/y", "is inside the daemon's own outbox/dead/ folder", "alerts it gave up on"),
    ])
    func isNeverOneOfTheDaemonsOwnFolders(inbox: String, relation: String, why: String) throws {
        let found = try #require(problem(stateRoot: "/srv/bg", inbox: inbox))
        #expect(found.setting == .inbox)
        #expect(found.reason.contains(" \(relation) under the state root /srv/bg, where it keeps "), "\(found)")
        #expect(found.reason.contains(why), "\(found)")
        #expect(found.reason.hasSuffix("; leave inbox: out (for /srv/bg/inbox) or name a folder outside processing/, "
            + "accepted/, needs-batch/, rejected/ and outbox/"))
    }

    @Test(arguments: ["/srv/bg", "/srv/bg/", "/srv//bg/.", "/srv/bg/inbox/..", "/srv/x/../bg"])
    func isNeverTheStateRootItself(inbox: String) throws {
        let found = try #require(problem(stateRoot: "/srv/bg", inbox: inbox))
        #expect(found.setting == .inbox)
        #expect(found.reason.contains("is the state root itself, where the daemon keeps audit.jsonl"), "\(found)")
    }

    @Test(arguments: [
        "/srv/bg/inbox", "/srv/bg/drop", "/srv/bg/accepted-old", "/srv/bg/acceptedx/in", "/srv/bg/outboxes",
        "/srv/drop", "/srv/bg2", "/mnt/share/bg/accepted", "/dev/shm/drop",
    ])
    func mayBeAnyOtherFolder(inbox: String) {
        #expect(problem(stateRoot: "/srv/bg", inbox: inbox) == nil)
    }

    @Test(arguments: ["/", "/etc", "/tmp", "/home"])
    func isNeverASystemFolder(inbox: String) throws {
        let found = try #require(problem(stateRoot: "/srv/bg", inbox: inbox))
        #expect(found.reason.contains("is a system folder: the daemon would move the system's files"), "\(found)")
    }

    @Test func linksAreSeenThroughOnEitherSide() throws {
        let files = FakeFileSystem([
            "/srv": "/srv", "/srv/bg": "/data/bg", "/data": "/data", "/data/bg": "/data/bg",
            "/data/bg/accepted": "/data/bg/accepted", "/srv/drop": "/data/bg/accepted", "/srv/here": "/data/bg",
        ])
        // A link to accepted/.
        let drop = try #require(problem(stateRoot: "/srv/bg", inbox: "/srv/drop", in: files))
        #expect(drop.reason.hasPrefix("the inbox /srv/drop (which leads to /data/bg/accepted) is the daemon's own accepted/ folder"))
        // The state root through a link, the inbox by its real path.
        #expect(problem(stateRoot: "/srv/bg", inbox: "/data/bg/rejected/new", in: files)?.setting == .inbox)
        // A link to the state root.
        #expect(try #require(problem(stateRoot: "/srv/bg", inbox: "/srv/here", in: files)).reason.contains("state root itself"))
        // `..` after a link goes up from where the link leads, not from the link: /srv/drop/.. is /data/bg.
        #expect(try #require(problem(stateRoot: "/srv/bg", inbox: "/srv/drop/..", in: files)).reason.contains("state root itself"))
    }

    /// `accepted/` may itself be a link elsewhere: where it leads is the daemon's folder.
    @Test func anOwnFolderThatIsALinkIsFollowed() throws {
        let files = FakeFileSystem(["/srv": "/srv", "/srv/bg": "/srv/bg", "/srv/bg/accepted": "/archive/accepted"])
        let found = try #require(problem(stateRoot: "/srv/bg", inbox: "/archive/accepted", in: files))
        #expect(found.reason.contains("is the daemon's own accepted/ folder"))
    }

    @Test func theDefaultInboxIsAlwaysFine() {
        #expect(problem(stateRoot: "/srv/bg", inbox: nil) == nil)
        #expect(problem(stateRoot: "/srv/bg", inbox: "/srv/bg/inbox") == nil)
    }
}

@Suite("Layout placement: resolving paths")
struct PathResolutionTests {
    @Test(arguments: [
        ("/srv/bg/accepted", "/srv/bg/accepted"),
        ("/srv//bg/./accepted/", "/srv/bg/accepted"),
        ("/srv/bg/new/../accepted", "/srv/bg/accepted"),
        ("/srv/link/x", "/data/x"),
        ("/srv/link/../y", "/y"),
        ("/srv/missing/../y", "/srv/y"),
        ("/../../srv", "/srv"),
        ("var/bg", "/home/op/var/bg"),
        ("../x", "/home/x"),
        (".", "/home/op"),
    ])
    func resolvesLinksWhereThePathExistsAndTheRestAsText(path: String, resolved: String) {
        let files = FakeFileSystem(["/srv": "/srv", "/srv/bg": "/srv/bg", "/srv/link": "/data", "/data": "/data", "/y": "/y"])
        #expect(LayoutPlacement.resolved(path, canonical: files.canonical) == resolved)
    }

    /// The same through `realpath(3)` on a real folder with a link in it.
    @Test func resolvesThroughRealLinks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-placement-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("state/accepted"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("drop").path, withDestinationPath: "state/accepted")
        let real = try #require(System.canonicalPath(folder.path))
        #expect(LayoutPlacement.resolved(folder.path + "/drop/new/../x", canonical: System.canonicalPath) == real + "/state/accepted/x")
        #expect(LayoutPlacement.resolved(folder.path + "/drop/..", canonical: System.canonicalPath) == real + "/state")
        let found = LayoutPlacement.problem(stateRoot: folder.path + "/state", inbox: folder.path + "/drop", canonical: System.canonicalPath)
        #expect(found?.setting == .inbox)
    }
}

@Suite("Config placement errors")
struct ConfigPlacementErrorTests {
    private func placementError(_ yaml: String, files: FakeFileSystem = noLinks) throws -> ConfigError? {
        let config = try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/srv/conf")
        do {
            try ConfigLoader.checkPlacement(of: config, yaml: yaml, fileName: "batchgate.yaml", canonical: files.canonical)
            return nil
        } catch {
            return error
        }
    }

    /// A metrics file in the inbox would be taken for a manifest, rejected and alerted on at every
    /// interval; in one of the daemon's folders it would be routed or sent again.
    @Test func aMetricsFileInTheInboxOrTheDaemonsFoldersIsRefusedWithItsLine() throws {
        let inInbox = try #require(try placementError("stateRoot: /srv/bg\nmetrics:\n  interval: 15s\n  textfile: /srv/bg/inbox/batchgate.prom\n"))
        #expect(inInbox.line == 4)
        #expect(inInbox.key == "metrics.textfile")
        #expect(inInbox.description.contains("is in the inbox /srv/bg/inbox"), "\(inInbox.description)")
        let elsewhereInbox = try #require(try placementError("stateRoot: /srv/bg\ninbox: /srv/scans\nmetrics: {textfile: /srv/scans/x/m.prom}\n"))
        #expect(elsewhereInbox.key == "metrics.textfile")
        let inOutbox = try #require(try placementError("stateRoot: /srv/bg\nmetrics: {textfile: /srv/bg/outbox/m.prom}\n"))
        #expect(inOutbox.description.contains("own outbox/ folder"), "\(inOutbox.description)")
        #expect(try placementError("stateRoot: /srv/bg\nmetrics: {textfile: /srv/bg/metrics.prom}\n") == nil)
        #expect(try placementError("stateRoot: /srv/bg\nmetrics: {textfile: /var/lib/prometheus/node-exporter/batchgate.prom}\n") == nil)
    }

    @Test func anInboxInAcceptedNamesTheFileLineAndKey() throws {
        let error = try #require(try placementError("fsync: true\nstateRoot: /srv/bg\n\ninbox: ../bg/accepted\n"))
        #expect(error.file == "batchgate.yaml")
        #expect(error.line == 4)
        #expect(error.key == "inbox")
        #expect(error.description.hasPrefix(
            "batchgate.yaml, line 4, inbox: the inbox /srv/conf/../bg/accepted (which leads to /srv/bg/accepted) is the daemon's own accepted/ folder"))
    }

    @Test func aStateRootAtTheRootFolderNamesItsLine() throws {
        let error = try #require(try placementError("# state\nstateRoot: /\n"))
        #expect(error.line == 2)
        #expect(error.key == "stateRoot")
        #expect(error.reason.hasPrefix("the state root / is the root folder"))
    }

    @Test func theDefaultStateRootInASystemFolderSaysToSetOne() throws {
        // A config file kept in / puts the default ./var at /var.
        let config = try ConfigLoader.load(yaml: "fsync: true\n", fileName: "/batchgate.yaml", baseDirectory: "/")
        #expect(throws: ConfigError(
            file: "/batchgate.yaml", line: nil, key: "stateRoot",
            reason: "the state root /var is a system folder: the daemon would create its folders, lock and audit log among "
                + "the system's; give a folder of its own, such as /var/lib/batchgate or /srv/batchgate/state "
                + "(this is the default, ./var beside the config file: set stateRoot:)")) {
            try ConfigLoader.checkPlacement(of: config, yaml: "fsync: true\n", fileName: "/batchgate.yaml", canonical: noLinks.canonical)
        }
    }

    @Test func aGoodPlacementPasses() throws {
        #expect(try placementError("stateRoot: /srv/bg\ninbox: /srv/drop\n") == nil)
        #expect(try placementError("") == nil)
    }
}
