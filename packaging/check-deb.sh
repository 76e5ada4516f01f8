#!/usr/bin/env bash
# Checks the Debian package on this machine as a sysadmin would meet it, as root: lintian, then
# `apt-get install ./batchgate_*.deb`, the binary (no Swift library, its version, `config check` as
# root and as the service's user), the folders and modes the postinst made, the unit
# (`systemd-analyze`), the logrotate file (two forced rotations), the daemon started and stopped,
# and two purges: one that must leave nothing the package or the daemon made, and one that must
# keep /var/lib/batchgate because a manifest is in it. CI runs it (.ci/run); so can a person.
#
# It refuses to run where batchgate is installed or its state root holds files. Folders left by
# `make install` (/etc/batchgate, an empty /var/lib/batchgate) are set aside under a hidden name
# beside them and put back at the end; whatever the check made is removed, pass or fail.
#
# Usage: packaging/check-deb.sh ./batchgate_X.Y.Z_amd64.deb
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

repository=$(cd "$(dirname "$0")/.." && pwd)
state_root=/var/lib/batchgate
config_folder=/etc/batchgate
step() { echo "check-deb: $*"; }
fail() { echo "check-deb: FAILED: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 ./batchgate_X.Y.Z_ARCH.deb" >&2; exit 64; }
[ "$(id -u)" -eq 0 ] || fail "run it as root: it installs and purges a package"
deb=$(realpath "$1")
[ -f "$deb" ] || fail "no package at $1"
version=$(dpkg-deb --field "$deb" Version)

if dpkg-query -W -f='${db:Status-Status}' batchgate 2>/dev/null | grep -qv '^not-installed$'; then
	fail "batchgate is installed (dpkg -s batchgate): the check installs and purges it, so run it where it is not"
fi
for path in /usr/local/bin/batchgate /usr/local/lib/systemd/system/batchgate.service /etc/logrotate.d/batchgate; do
	[ ! -e "$path" ] || fail "$path exists (make install?): remove it first (make uninstall), it would stand in for the package's"
done
if [ -d "$state_root" ] && [ -n "$(find "$state_root" ! -type d -print -quit)" ]; then
	fail "$state_root holds files (manifests, reports, an audit trail?): this check purges the package, so run it on a machine without them"
fi

for path in "$config_folder" "$state_root"; do
	saved="$(dirname "$path")/.$(basename "$path").check-deb-saved"
	[ ! -e "$saved" ] || fail "$saved exists: a check stopped by kill -9 left it; put it back at $path by hand"
done

work=$(mktemp -d)
set_aside=()
# Puts the machine back as it was: the package purged, what the check made removed (the state root
# held no file when it began, so all in it is the check's), what was set aside returned.
clean_up() {
	status=$?
	set +e
	if dpkg-query -W -f='${db:Status-Status}' batchgate 2>/dev/null | grep -qv '^not-installed$'; then
		apt-get purge -y -qq batchgate >/dev/null 2>&1 || dpkg --purge batchgate >/dev/null 2>&1
	fi
	rm -rf "$state_root" "$work"
	for path in "${set_aside[@]}"; do
		rm -rf "$path"
		mv "$(dirname "$path")/.$(basename "$path").check-deb-saved" "$path"
	done
	[ "$status" -eq 0 ] && step "passed" || echo "check-deb: cleaned up after the failure above" >&2
	exit "$status"
}
trap clean_up EXIT
for path in "$config_folder" "$state_root"; do
	if [ -e "$path" ]; then
		saved="$(dirname "$path")/.$(basename "$path").check-deb-saved"
		mv "$path" "$saved"
		set_aside+=("$path")
		step "set $path aside until the end as $saved"
	fi
done

missing=()
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v logrotate >/dev/null 2>&1 || missing+=(logrotate)
command -v man >/dev/null 2>&1 || missing+=(man-db)
if [ ${#missing[@]} -gt 0 ]; then
	step "installing ${missing[*]} (apt-get)"
	apt-get install -y -qq "${missing[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# Owner, group and mode of a path, as "user:group 0750", against what it must be.
expect_mode() {
	local found
	found=$(stat -c '%U:%G %04a' "$1")
	[ "$found" = "$2" ] || fail "$1 is $found, not $2"
}
# Shows what the maintainer scripts said in the output in $work/$1.
show_postrm() {
	sed -n '/^batchgate: \|^  /s/^/  postrm: /p' "$work/$1"
}
# Fails unless the output in $work/$1 has a line with the text $2.
expect_said() {
	grep -qF -- "$2" "$work/$1" || { cat "$work/$1" >&2; fail "$1 did not say: $2"; }
}

step "lintian $(basename "$deb")"
# lintian warns that it runs as root; the tags are what count.
lintian --fail-on error,warning --info "$deb" > "$work/lintian" 2>&1 || { cat "$work/lintian" >&2; fail "lintian found errors or warnings"; }
grep -v 'running with root privileges' "$work/lintian" || true

step "apt-get install $deb"
apt-get install -y -qq "$deb" > "$work/install" 2>&1 || { cat "$work/install" >&2; fail "apt-get install"; }
expect_said install "batchgate: installed, not started"
dpkg-query -L batchgate | LC_ALL=C sort > "$work/files"
packaged_files=()
while IFS= read -r path; do
	[ -d "$path" ] || packaged_files+=("$path")
done < "$work/files"
step "dpkg -L lists ${#packaged_files[@]} files"
conffiles=$(dpkg-query -W -f='${Conffiles}' batchgate | awk 'NF { print $1 }' | LC_ALL=C sort | tr '\n' ' ')
[ "$conffiles" = "/etc/batchgate/batchgate.yaml /etc/logrotate.d/batchgate " ] || fail "the conffiles are '$conffiles'"

step "the binary: no Swift library, version $version, config check as root and as batchgate"
if ldd /usr/bin/batchgate | grep -i swift; then fail "/usr/bin/batchgate links a Swift library"; fi
printed=$(env -i /usr/bin/batchgate --version)
[ "$printed" = "$version" ] || fail "batchgate --version prints '$printed', the package is $version"
env -i /usr/bin/batchgate config check --config /etc/batchgate/batchgate.yaml > "$work/check-root" ||
	{ cat "$work/check-root" >&2; fail "config check as root"; }
runuser -u batchgate -- env -i /usr/bin/batchgate config check --config /etc/batchgate/batchgate.yaml > "$work/check-user" ||
	{ cat "$work/check-user" >&2; fail "config check as the user batchgate"; }
# The check the postinst tells the admin to run, as it prints it.
expect_said install "batchgate config check --config /etc/batchgate/batchgate.yaml --credentials secrets:/etc/batchgate/credentials"
env -i /usr/bin/batchgate config check --config /etc/batchgate/batchgate.yaml --credentials secrets:/etc/batchgate/credentials > "$work/check-credentials" 2>&1 ||
	{ cat "$work/check-credentials" >&2; fail "config check --credentials as root"; }
man -w batchgate > /dev/null || fail "man batchgate finds no page"

step "the user, folders and modes made by sysusers and tmpfiles"
getent passwd batchgate > /dev/null || fail "no user batchgate"
expect_mode /etc/batchgate "root:batchgate 0750"
expect_mode /etc/batchgate/batchgate.yaml "root:batchgate 0640"
expect_mode /etc/batchgate/credentials "root:root 0700"
expect_mode "$state_root" "batchgate:batchgate 0750"
expect_mode "$state_root/inbox" "batchgate:batchgate 2770"

step "the unit: systemd-analyze verify and security; known to deb-systemd-helper, not enabled"
unit=/usr/lib/systemd/system/batchgate.service
systemd-analyze verify "$unit"
systemd-analyze security --offline=true --threshold=15 "$unit" > "$work/security" || { cat "$work/security" >&2; fail "exposure above 1.5"; }
grep -q '^ExecStart=/usr/bin/batchgate run --config /etc/batchgate/batchgate.yaml$' "$unit" || fail "$unit does not run /usr/bin/batchgate"
# update-state records the unit in a state file that purge must remove.
[ -f /var/lib/systemd/deb-systemd-helper-enabled/batchgate.service.dsh-also ] || fail "deb-systemd-helper has no state for batchgate.service"
[ ! -e /etc/systemd/system/multi-user.target.wants/batchgate.service ] || fail "the package enabled the unit"

step "logrotate: two forced rotations of a non-empty audit.jsonl"
audit="$state_root/audit.jsonl"
runuser -u batchgate -- sh -c "umask 027; echo '{\"check\":\"first\"}' >> $audit"
logrotate --force --state "$work/logrotate.state" /etc/logrotate.d/batchgate
[ "$(cat "$audit.1")" = '{"check":"first"}' ] || fail "$audit.1 does not hold the rotated line"
[ -f "$audit" ] && [ ! -s "$audit" ] || fail "no new empty $audit after the rotation"
expect_mode "$audit" "batchgate:batchgate 0640"
runuser -u batchgate -- sh -c "echo '{\"check\":\"second\"}' >> $audit"
logrotate --force --state "$work/logrotate.state" /etc/logrotate.d/batchgate
[ "$(cat "$audit.1")" = '{"check":"second"}' ] || fail "$audit.1 is not the newest rotation, uncompressed"
[ "$(gzip -dc "$audit.2.gz")" = '{"check":"first"}' ] || fail "$audit.2.gz is not the older rotation, compressed"
rm -f "$audit" "$audit.1" "$audit.2.gz"

step "the daemon as the service runs it: started as batchgate, stopped by SIGTERM"
# setpriv execs the daemon in its own process (runuser would stand between it and the signal).
setpriv --reuid=batchgate --regid=batchgate --init-groups env -i LANG=C.UTF-8 \
	/usr/bin/batchgate run --config /etc/batchgate/batchgate.yaml > "$work/daemon" 2>&1 &
daemon=$!
for _ in $(seq 1 600); do
	grep -q 'watching ' "$work/daemon" && break
	kill -0 "$daemon" 2>/dev/null || { cat "$work/daemon" >&2; fail "the daemon exited at start"; }
	sleep 0.1
done
expect_said daemon "watching $state_root/inbox"
kill -TERM "$daemon"
for _ in $(seq 1 600); do
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$daemon" 2>/dev/null; then
	kill -KILL "$daemon"
	fail "the daemon was still running 60 s after SIGTERM"
fi
wait "$daemon" || { cat "$work/daemon" >&2; fail "the daemon did not exit 0 on SIGTERM"; }
[ -d "$state_root/accepted" ] && [ -f "$state_root/.batchgate.lock" ] || fail "the daemon made no state folders"

step "purge with a credential and the daemon's empty state: nothing may be left"
printf 'not-a-real-secret\n' > /etc/batchgate/credentials/check-deb-secret
chmod 0600 /etc/batchgate/credentials/check-deb-secret
apt-get purge -y -qq batchgate > "$work/purge" 2>&1 || { cat "$work/purge" >&2; fail "apt-get purge"; }
show_postrm purge
expect_said purge "batchgate: purge removes /etc/batchgate/credentials/check-deb-secret"
for path in "${packaged_files[@]}"; do
	[ ! -e "$path" ] || fail "$path is left after the purge"
done
for path in /etc/batchgate /etc/logrotate.d/batchgate /usr/share/doc/batchgate "$state_root" \
	/etc/systemd/system/batchgate.service /etc/systemd/system/multi-user.target.wants/batchgate.service; do
	[ ! -e "$path" ] || fail "$path is left after the purge"
done
left=$(find /var/lib/systemd -path '*deb-systemd-*' -name '*batchgate*' -print 2>/dev/null || true)
[ -z "$left" ] || fail "deb-systemd-helper's state is left: $left"
if dpkg-query -W -f='${db:Status-Status}' batchgate 2>/dev/null | grep -qv '^not-installed$'; then
	fail "dpkg still knows batchgate after the purge"
fi
getent passwd batchgate > /dev/null || fail "the purge removed the user batchgate (it must stay)"

step "purge with a manifest in accepted/: $state_root and the manifest stay"
apt-get install -y -qq "$deb" > "$work/install" 2>&1 || { cat "$work/install" >&2; fail "apt-get install, again"; }
echo "# check-deb: a line added by the operator" >> /etc/batchgate/batchgate.yaml
apt-get install -y -qq --reinstall "$deb" > "$work/reinstall" 2>&1 || { cat "$work/reinstall" >&2; fail "apt-get install --reinstall"; }
grep -q '^# check-deb: a line added by the operator$' /etc/batchgate/batchgate.yaml || fail "a reinstall replaced the edited config"
expect_mode /etc/batchgate/batchgate.yaml "root:batchgate 0640"
manifest="$state_root/accepted/concentrate-run.json"
runuser -u batchgate -- install -D -m 0640 "$repository/config/examples/concentrate-run.json" "$manifest"
apt-get purge -y -qq batchgate > "$work/purge" 2>&1 || { cat "$work/purge" >&2; fail "apt-get purge, again"; }
show_postrm purge
expect_said purge "batchgate: kept $state_root"
expect_said purge "  $manifest"
cmp -s "$repository/config/examples/concentrate-run.json" "$manifest" || fail "the purge changed or removed $manifest"
[ ! -e /etc/batchgate ] || fail "/etc/batchgate is left after the second purge"
