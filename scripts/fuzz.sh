#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer harnesses (clang, build-fuzz/) and runs each of them
# for SECONDS (default 300) on its committed seeds (tests/fuzz/corpus/<name>) plus what it
# found before (build-fuzz/fuzz-corpus/<name>, not committed). ST_FUZZ_JOBS harnesses run
# at once (default: the number of CPUs), each a single libFuzzer process.
# Usage: scripts/fuzz.sh [SECONDS] [NAME...]   (NAME: capsule, ctrl, ... default all)
# A crash, leak, sanitizer report, timeout (10 s per input) or RSS over 1 GiB fails the
# harness; its input is saved as build-fuzz/fuzz-artifacts/<name>-crash-... (reproduce with
# build-fuzz/tests/fuzz/fuzz_<name> FILE). Exit status 1 when any harness failed.
# ST_FUZZ_BUILD_DIR overrides build-fuzz; ST_FUZZ_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-300}
shift || true
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [NAME...]" >&2; exit 2; }
dir=${ST_FUZZ_BUILD_DIR:-build-fuzz}
if [[ ${ST_FUZZ_NO_BUILD:-0} != 1 ]]; then
    command -v clang >/dev/null || { echo "fuzz.sh: clang not installed (scripts/bootstrap-deps.sh)" >&2; exit 2; }
    CC=clang cmake -S . -B "$dir" -DSUBTUNNEL_FUZZ=ON >/dev/null
    cmake --build "$dir" -j2
fi
names=("$@")
if ((${#names[@]} == 0)); then
    for f in tests/fuzz/fuzz_*.c; do
        n=${f##*/fuzz_}
        names+=("${n%.c}")
    done
fi
jobs=${ST_FUZZ_JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: ST_FUZZ_JOBS must be a positive integer" >&2; exit 2; }
mkdir -p "$dir/fuzz-artifacts" "$dir/fuzz-logs"

# fuzz_one NAME: becomes one harness (run it in the background); its log in
# fuzz-logs/NAME.log, exit status 0 if it passed
fuzz_one() {
    local n=$1 bin=$dir/tests/fuzz/fuzz_$1 seeds=tests/fuzz/corpus/$1 work=$dir/fuzz-corpus/$1
    mkdir -p "$work"
    [[ -d $seeds ]] || seeds=
    ASAN_OPTIONS=detect_leaks=1 exec \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$n-" \
        "$work" ${seeds:+"$seeds"} >"$dir/fuzz-logs/$n.log" 2>&1
}

declare -A pid_of
# an interrupted run stops its harnesses too
trap 'kill "${pid_of[@]}" 2>/dev/null; exit 130' INT TERM
uniq=()
for n in "${names[@]}"; do [[ " ${uniq[*]} " == *" $n "* ]] || uniq+=("$n"); done
names=("${uniq[@]}")
for n in "${names[@]}"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    echo "fuzz: fuzz_$n for ${secs}s (log $dir/fuzz-logs/$n.log)"
    fuzz_one "$n" &
    pid_of[$n]=$!
done
pass=0 fail=0 failed=()
for n in "${names[@]}"; do
    log=$dir/fuzz-logs/$n.log
    if wait "${pid_of[$n]}"; then
        pass=$((pass + 1))
        echo "fuzz: fuzz_$n passed ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" |
            grep -Eo '[0-9]+$' || echo '?') runs)"
    else
        fail=$((fail + 1)) failed+=("$n")
        echo "fuzz: fuzz_$n FAILED:"
        { grep -E 'ERROR|SUMMARY|assertion failed|Test unit written' "$log" || tail -n 3 "$log"; } |
            head -n 8 | sed 's/^/    /'
    fi
done
echo "fuzz: ${#names[@]} harnesses, $pass passed, $fail failed${failed[*]:+ (${failed[*]})}"
((fail == 0))
