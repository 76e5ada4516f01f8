#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import BatchgateConfig
import BatchgateSystem

extension ConfigCommand {
    /// `batchgate config credentials`: whether the service still runs with the credentials its
    /// `LoadCredential=` folder holds. systemd copies them into the service's
    /// `$CREDENTIALS_DIRECTORY` when it starts it and never again, so a reload cannot give the
    /// daemon a rotated secret; run from the unit's `ExecReload=`, this fails the reload instead
    /// of letting it report a success that changed nothing.
    struct Credentials: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credentials",
            abstract: "Tell whether the service runs with the credentials its LoadCredential= folder holds now.",
            discussion: """
                systemd copies a service's credentials into $CREDENTIALS_DIRECTORY when it starts \
                the service, and never again: a secret changed in the folder reaches the daemon \
                only by a restart. Run from the unit's ExecReload= (as root: "+"), this compares the \
                credentials the service was started with to those systemd would load from the \
                folder now, byte for byte, and names each one changed, added or removed, never its \
                content.

                Exit status: 0 the same (or none loaded and none in the folder), 1 some differ \
                (systemctl restart loads them), 78 a bad --source, a folder or file that cannot be \
                read, CREDENTIALS_DIRECTORY unset while the folder holds credentials, or a folder \
                systemd would refuse to load.
                """
        )

        @Option(help: ArgumentHelp("The unit's LoadCredential= value: the credential ID, a colon, the folder.",
                                   valueName: "id:dir"))
        var source: String

        @Option(help: ArgumentHelp("""
            The service's main process ($MAINPID in the unit): its credentials are read through \
            /proc/PID/root, since systemd mounts them in the service's own namespace, which a "+" \
            command does not share.
            """, valueName: "pid"))
        var pid: Int32?

        func run() throws {
            let credentialSource: CredentialSource
            do {
                credentialSource = try CredentialSource(parsing: source)
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            let folder = credentialSource.folder
            let directory = ProcessEnvironment.current["CREDENTIALS_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 }
            let current: CredentialFiles
            do {
                current = try credentialSource.read()
            } catch where directory == nil && error.isMissing(folder: folder) {
                current = CredentialFiles()
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            var output = FileOutput.standardOutput
            guard let directory else {
                guard current.isEmpty else {
                    ProcessEnvironment.writeError("""
                        batchgate: CREDENTIALS_DIRECTORY is not set, so there is nothing to compare the \
                        \(Self.counted(current.contents.count)) in \(folder) with: run this from the unit's \
                        ExecReload=, where systemd sets it to the folder of the service's credentials
                        """)
                    throw ExitCode(78)
                }
                output.write("\(folder): no credentials, and none loaded (CREDENTIALS_DIRECTORY is not set)\n")
                output.flush()
                return
            }
            // Seen from the service's namespace when its PID is given. systemd mounts the folder
            // only when it holds a credential: absent there, none were loaded; but only if the
            // process is the service's (in this command's cgroup, which is the unit's under
            // ExecReload=) and alive from before the read to after it, since the folder of a
            // process gone or a pid reused says nothing of the service.
            let seen = pid.map { "/proc/\($0)/root" + directory } ?? directory
            let service = try pid.map { pid throws(ExitCode) in try Self.service(pid) }
            let loaded: CredentialFiles
            do {
                loaded = try CredentialFiles.loaded(in: seen, id: credentialSource.id)
            } catch where pid != nil && error.isMissing(folder: seen) {
                loaded = CredentialFiles()
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            if let pid, let service, System.identity(of: pid) != service {
                ProcessEnvironment.writeError("batchgate: --pid \(pid): the process ended while its credentials were read; try the reload again")
                throw ExitCode(78)
            }
            let changes = CredentialChanges(loaded: loaded.contents, source: current.contents, id: credentialSource.id)
            guard !changes.isEmpty else {
                output.write("\(folder): the \(Self.counted(current.contents.count)) the service was started with, unchanged\n")
                output.flush()
                return
            }
            let unit = Self.unit(ofCredentialsFolder: directory)
            var lines = ["batchgate: the credentials in \(folder) are not those \(unit) was started with (\(directory)):"]
            for name in changes.changed { lines.append("  changed: \(name) (\(current.paths[name] ?? folder))") }
            for name in changes.added { lines.append("  added: \(name) (\(current.paths[name] ?? folder)), in the folder but not loaded") }
            for name in changes.removed { lines.append("  removed: \(name), loaded but no longer in the folder") }
            lines.append("batchgate: the daemon keeps the secrets it was started with, and a reload cannot give it others: "
                + "run `systemctl restart \(unit)` to load them")
            ProcessEnvironment.writeError(lines.joined(separator: "\n"))
            throw ExitCode(1)
        }

        /// The identity of the service's main process `pid`, refusing (78) a process that is gone,
        /// a zombie, or in another cgroup than this command (not the unit's main process).
        static func service(_ pid: Int32) throws(ExitCode) -> ProcessIdentity {
            let hint = "give the service's main process ($MAINPID) from the unit's ExecReload=, as root"
            guard let identity = System.identity(of: pid) else {
                ProcessEnvironment.writeError("batchgate: --pid \(pid): no such process running; \(hint)")
                throw ExitCode(78)
            }
            guard let own = System.identity(of: getpid()), own.cgroup == identity.cgroup else {
                ProcessEnvironment.writeError("batchgate: --pid \(pid): not a process of this command's unit (another cgroup); \(hint)")
                throw ExitCode(78)
            }
            return identity
        }

        /// `1 credential`, `3 credentials`.
        static func counted(_ count: Int) -> String {
            count == 1 ? "1 credential" : "\(count) credentials"
        }

        /// The unit whose credentials `path` holds: systemd names the folder after it
        /// (`/run/credentials/batchgate.service`); `batchgate` when the name says nothing.
        static func unit(ofCredentialsFolder path: String) -> String {
            let last = path.split(separator: "/").last.map(String.init) ?? ""
            return last.hasSuffix(".service") && last.count > 8 ? String(last.dropLast(8)) : "batchgate"
        }
    }
}
