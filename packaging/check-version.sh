#!/bin/sh
# Fails, naming the file to fix, unless the release carries one version everywhere it is stated:
# Sources/batchgate/Version.swift (the one place it is set), CHANGELOG.md's newest released entry,
# the Debian changelog made from CHANGELOG.md (as dpkg-parsechangelog reads it) and, when given,
# what a built binary's --version prints and a built package's Version and changelog.
# Usage: packaging/check-version.sh [BINARY [DEB]]
# CHANGELOG_MD and VERSION_SWIFT name other files to check (the checks of this script use them).
set -eu
cd "$(dirname "$0")/.."
version_swift=${VERSION_SWIFT:-Sources/batchgate/Version.swift}
changelog_md=${CHANGELOG_MD:-CHANGELOG.md}
binary=${1:-}
package=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

disagree() {
	echo "check-version: $1 says $2, but $version_swift says $version: make them agree" >&2
	failed=1
}

version=$(sed -n 's/^let batchgateVersion = "\([^"]*\)"$/\1/p' "$version_swift")
if ! printf '%s\n' "$version" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+'; then
	echo "check-version: $version_swift must hold one line 'let batchgateVersion = \"X.Y.Z\"' (found '$version')" >&2
	exit 1
fi

newest=$(sed -n 's/^## \[\([0-9][^]]*\)\] - .*/\1/p' "$changelog_md" | head -n 1)
[ "$newest" = "$version" ] || disagree "the newest entry of $changelog_md (## [X.Y.Z] - YYYY-MM-DD)" "'$newest'"

packaging/deb/changelog.sh "$changelog_md" 'check-version <check-version@localhost>' > "$work/changelog"
debian=$(dpkg-parsechangelog -l "$work/changelog" -S Version)
[ "$debian" = "$version" ] || disagree "the Debian changelog made from $changelog_md" "'$debian'"

# The man pages' headers name the version too: a page still naming the last release was not
# brought up to date with this one (ManualPageTests holds each page to the options and keys).
for page in docs/batchgate.1 docs/batchgate.yaml.5; do
	grep -q "^\.TH .*\"batchgate $version\"" "$page" || disagree "the .TH line of $page" "'$(grep -m1 '^\.TH' "$page")'"
done

if [ -n "$binary" ]; then
	printed=$(env -i "$binary" --version)
	[ "$printed" = "$version" ] || disagree "$binary --version" "'$printed'"
fi

if [ -n "$package" ]; then
	field=$(dpkg-deb --field "$package" Version)
	[ "$field" = "$version" ] || disagree "the Version of $package" "'$field'"
	dpkg-deb --fsys-tarfile "$package" | tar -xOf - ./usr/share/doc/batchgate/changelog.gz | gzip -dc > "$work/packaged"
	packaged=$(dpkg-parsechangelog -l "$work/packaged" -S Version)
	[ "$packaged" = "$version" ] || disagree "the changelog in $package" "'$packaged'"
fi

[ "$failed" -eq 0 ] || exit 1
echo "check-version: $version everywhere${binary:+ (and $binary)}${package:+ (and $package)}"
