/// The version of batchgate, in one place: `batchgate --version` prints it, and the Makefile reads
/// this line (keep it on one line, as it is) to name the Debian package and fill its control file.
/// CHANGELOG.md's newest entry (from which packaging/deb/changelog.sh makes the Debian changelog)
/// and the man pages' headers must carry the same version: `make version-check` fails when they do
/// not.
let batchgateVersion = "1.2.0"
