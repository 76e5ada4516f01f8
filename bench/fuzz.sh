#!/usr/bin/env bash
# libFuzzer over the pure core: the JSON and CSV manifest readers, the catalog readers, the
# evaluator and the report writers (Fuzz/FuzzCheck.swift, built with -sanitize=fuzzer,address).
#
#     bench/fuzz.sh [SECONDS]        (default 600; CI runs 60)
#
# Builds .build-fuzz/fuzz-check when a source changed, makes a seed corpus from the test
# fixtures, config/examples and config/catalog (each seed prefixed with the selector byte for its
# kind; see FuzzCheck.swift), and runs one libFuzzer process for SECONDS. New inputs accumulate in
# .build-fuzz/corpus across runs (not committed). Prints executions, exec/s, coverage and new
# units; exits non-zero on a crash, leak, timeout or out-of-memory, naming the reproducer.
# A reproducer replays with:  SWIFT_BACKTRACE=enable=no .build-fuzz/fuzz-check FILE
# FUZZ_LINE_COVERAGE=1 also reports the source lines of Sources/BatchgateCore the corpus reaches.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-600}
case $duration in ''|*[!0-9]*) echo "usage: bench/fuzz.sh [SECONDS]" >&2; exit 64 ;; esac
SWIFTC=${SWIFTC:-swiftc}
out=.build-fuzz
binary=$out/fuzz-check
mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"

# 1. Build when the binary is missing or older than any source. -sanitize=fuzzer links the
#    toolchain's own libclang_rt.fuzzer (Swift's Linux toolchains ship it; a distribution's
#    compiler-rt package would not be on swiftc's search path).
resource=$(dirname "$(readlink -f "$(command -v "$SWIFTC")")")/../lib/clang
if ! compgen -G "$resource/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" >/dev/null; then
    echo "fuzz: this Swift toolchain has no libclang_rt.fuzzer ($resource/*/lib/linux); use a swift.org toolchain" >&2
    exit 69
fi
mapfile -t sources < <(find Sources/BatchgateCore -name '*.swift' | sort)
sources+=(Fuzz/FuzzCheck.swift)
if [ ! -x "$binary" ] || [ -n "$(find "${sources[@]}" -newer "$binary" | head -1)" ]; then
    echo "fuzz: building $binary (swiftc -sanitize=fuzzer,address -O)"
    "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 -module-name BatchgateFuzz \
        "${sources[@]}" -o "$binary" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
fi

# 2. Seeds: selector byte + file. 0 JSON manifest, 1 CSV manifest, 2 the same sniffed (.txt),
#    3 items file + NUL + manifest, 4 packages file + NUL + manifest (pairs from expectations.json),
#    and Fuzz/seeds/SELECTOR-*, hand-written shapes the fixtures lack.
rm -f "$out"/seeds/*
python3 - "$out/seeds" <<'PY'
import glob, hashlib, json, os, sys
seeds = sys.argv[1]
fixtures = "Tests/BatchgateCoreTests/Fixtures"
def seed(selector, *parts):
    data = bytes([selector]) + b"\0".join(parts)
    with open(os.path.join(seeds, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
def read(path):
    with open(path, "rb") as f:
        return f.read()
manifests = sorted(glob.glob(f"{fixtures}/cases/*") + glob.glob(f"{fixtures}/bad/*")
                   + glob.glob(f"{fixtures}/catalog/needs-*") + glob.glob(f"{fixtures}/catalog/unknown-*")
                   + glob.glob("config/examples/*"))
for path in manifests:
    seed(0 if path.endswith(".json") else 1, read(path))
    seed(2, read(path))
pairs = set()
for entry in json.load(open(f"{fixtures}/expectations.json")):
    catalog = entry.get("catalog") or {}
    for key, selector in (("items", 3), ("packages", 4)):
        if catalog.get(key):
            pairs.add((selector, os.path.normpath(os.path.join(fixtures, catalog[key])),
                       os.path.normpath(os.path.join(fixtures, entry["file"]))))
pairs.add((3, "config/catalog/items.json", "config/examples/concentrate-run.json"))
pairs.add((4, "config/catalog/packages.csv", "config/examples/repackage.csv"))
for selector, catalog, manifest in sorted(pairs):
    seed(selector, read(catalog), read(manifest))
for path in glob.glob(f"{fixtures}/catalog/items.*") + glob.glob("config/catalog/items.*"):
    seed(3, read(path))
for path in glob.glob(f"{fixtures}/catalog/packages.*") + glob.glob("config/catalog/packages.*"):
    seed(4, read(path))
# Hand-written shapes the fixtures lack, named SELECTOR-description.
for path in glob.glob("Fuzz/seeds/*"):
    seed(int(os.path.basename(path).split("-")[0]), read(path))
PY
echo "fuzz: $(ls "$out/seeds" | wc -l) seeds, $(ls "$out/corpus" | wc -l) inputs already in $out/corpus; running ${duration}s"

# 3. Run. One process (this is a 2-core machine); the Swift backtracer is off so libFuzzer's own
#    handler reports a trap and saves the input.
rm -f "$out"/artifacts/*
log=$out/fuzz.log
status=0
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$binary" \
    -max_total_time="$duration" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -dict=Fuzz/manifest.dict -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
    "$out/corpus" "$out/seeds" >"$log" 2>&1 || status=$?

# 4. Summary.
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
echo "fuzz: log in $log"
echo "fuzz: executions:  $(stat number_of_executed_units)"
echo "fuzz: exec/s:      $(stat average_exec_per_sec)"
echo "fuzz: coverage:    $(sed -n 's/.*\(cov: [0-9]* ft: [0-9]*\).*/\1/p' <<<"$last")"
echo "fuzz: corpus:      $(sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last") (now $(ls "$out/corpus" | wc -l) files in $out/corpus)"
echo "fuzz: new units:   $(stat new_units_added)"
echo "fuzz: peak RSS:    $(stat peak_rss_mb) MB"
artifacts=$(ls "$out"/artifacts/ 2>/dev/null || true)
if [ "$status" -ne 0 ] || [ -n "$artifacts" ]; then
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*fuzz invariant broken)' "$log" | head -5 >&2 || true
    for file in $artifacts; do
        echo "fuzz: FOUND reproducer $out/artifacts/$file" >&2
        echo "fuzz:   replay: SWIFT_BACKTRACE=enable=no $binary $out/artifacts/$file" >&2
    done
    echo "fuzz: libFuzzer exited $status (see $log)" >&2
    exit $(( status == 0 ? 1 : status ))
fi
echo "fuzz: no crash, leak or timeout in ${duration}s"

# 5. With FUZZ_LINE_COVERAGE=1: how much of Sources/BatchgateCore the corpus reaches, from a replay
#    of the corpus by a build instrumented for source coverage (llvm-cov report).
if [ "${FUZZ_LINE_COVERAGE:-0}" = 1 ]; then
    tools=$(dirname "$(readlink -f "$(command -v "$SWIFTC")")")
    "$SWIFTC" -sanitize=fuzzer -profile-generate -profile-coverage-mapping -parse-as-library -Onone -swift-version 6 \
        -module-name BatchgateFuzz "${sources[@]}" -o "$out/fuzz-coverage"
    rm -f "$out/coverage.profraw"
    LLVM_PROFILE_FILE=$out/coverage.profraw SWIFT_BACKTRACE=enable=no "$out/fuzz-coverage" -runs=0 -max_len=65536 \
        "$out/corpus" "$out/seeds" >/dev/null 2>&1
    "$tools/llvm-profdata" merge -o "$out/coverage.profdata" "$out/coverage.profraw"
    "$tools/llvm-cov" report "$out/fuzz-coverage" -instr-profile="$out/coverage.profdata" Sources/BatchgateCore >"$out/coverage.txt"
    awk '/^TOTAL/ { print "fuzz: source coverage of Sources/BatchgateCore: lines " $10 ", regions " $4 ", functions " $7 }' "$out/coverage.txt"
    echo "fuzz: per file in $out/coverage.txt"
fi
