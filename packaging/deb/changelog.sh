#!/bin/sh
# Writes the Debian changelog (the format of deb-changelog(5), read by dpkg-parsechangelog) from
# CHANGELOG.md, so that the package's changelog and the project's say the same without being kept
# twice. Every released entry, "## [X.Y.Z] - YYYY-MM-DD", becomes one Debian entry of that version
# and date (an "Unreleased" entry is left out; releases of one day are a minute apart, the newest
# at 23:59); its opening paragraph and each list item become a "*" line, prefixed with the section
# it is under ("Added: ..."), wrapped at 78 columns, with Markdown links, emphasis and code marks
# taken off.
# Usage: packaging/deb/changelog.sh CHANGELOG.md "Name <address>"
set -eu
[ $# -eq 2 ] || { echo "usage: $0 CHANGELOG.md 'Name <address>'" >&2; exit 64; }
markdown=$1
maintainer=$2
[ -r "$markdown" ] || { echo "$0: cannot read $markdown" >&2; exit 66; }

LC_ALL=C awk -v maintainer="$maintainer" '
function plain(text) {
    # [text](target) and [text] become text; **, __ and ` go.
    while (match(text, /\[[^]]*\]\([^)]*\)/)) {
        link = substr(text, RSTART, RLENGTH)
        sub(/\]\(.*$/, "", link)
        text = substr(text, 1, RSTART - 1) substr(link, 2) substr(text, RSTART + RLENGTH)
    }
    gsub(/\[|\]|\*\*|__|`/, "", text)
    return text
}
function wrap(text,    words, count, i, line, out) {
    # "  * " then lines of at most 78 columns, continued under the first word.
    count = split(text, words, /[ \t]+/)
    line = "  *"
    out = ""
    for (i = 1; i <= count; i++) {
        if (words[i] == "") continue
        if (length(line) + 1 + length(words[i]) > 78 && line != "  *" && line != "   ") {
            out = out line "\n"
            line = "   "
        }
        line = line " " words[i]
    }
    return out line "\n"
}
function flush() {
    if (item != "") body = body wrap((section != "" ? section ": " : "") plain(item))
    item = ""
}
function finish(    command, stamp, minute) {
    flush()
    if (version == "") return
    # Releases made on one day must still be dated in order (dpkg and lintian compare the times):
    # the newest of a day is 23:59, each older one a minute earlier.
    minute = 59 - sameDay[date]++
    command = "date -u -d " date " \"+%a, %d %b %Y 23:" sprintf("%02d", minute) ":00 +0000\""
    if ((command | getline stamp) <= 0) { print "changelog.sh: bad date " date " for " version > "/dev/stderr"; exit 65 }
    close(command)
    printf "%sbatchgate (%s) unstable; urgency=medium\n\n%s\n -- %s  %s\n", (printed++ ? "\n" : ""), version, body, maintainer, stamp
    version = ""
}
/^## / {
    finish()
    section = ""
    released = ($0 ~ /^## \[[0-9][^]]*\] - [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ \t]*$/)
    if (released) {
        version = $0; sub(/^## \[/, "", version); sub(/\].*$/, "", version)
        date = $0; sub(/^.*\] - /, "", date); sub(/[ \t]*$/, "", date)
        body = ""
    } else if ($0 !~ /^## \[Unreleased\]/) {
        print "changelog.sh: " FILENAME ", line " FNR ": an entry heading must read ## [X.Y.Z] - YYYY-MM-DD or ## [Unreleased]: " $0 > "/dev/stderr"
        exit 65
    }
    next
}
!released { next }
/^### / { flush(); section = substr($0, 5); sub(/[ \t]+$/, "", section); next }
/^[-*] / { flush(); item = substr($0, 3); next }
/^[ \t]*$/ { flush(); next }
/^\[[^]]*\]: / { next }
{ line = $0; sub(/^[ \t]+/, "", line); item = (item == "" ? line : item " " line) }
END { finish(); if (!printed) { print "changelog.sh: " FILENAME " has no released entry (## [X.Y.Z] - YYYY-MM-DD)" > "/dev/stderr"; exit 65 } }
' "$markdown"
