#!/bin/sh
# Prints the Depends a binary needs (such as "libc6 (>= 2.34), libcurl4 (>= 7.62.0)"), as
# dpkg-shlibdeps works it out from the libraries it links and their packages' symbols files.
# dpkg-shlibdeps reads a source package's debian/control; batchgate has none (the .deb is built
# from a staged tree), so it is given a minimal one in a temporary folder.
# Usage: packaging/deb/shlibdeps.sh BINARY
set -eu
binary=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
printf 'Source: batchgate\n\nPackage: batchgate\nArchitecture: any\n' > "$work/debian/control"
cd "$work"
# -O prints "shlibs:Depends=..." instead of writing debian/substvars.
dpkg-shlibdeps -O "$binary" | sed -n 's/^shlibs:Depends=//p'
