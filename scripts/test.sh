#!/usr/bin/env bash
# test.sh: install dependencies, build (Release, build/), build and check the .deb
# (scripts/package-check.sh), run every ctest suite, then the libFuzzer harnesses for a
# short fixed time (scripts/fuzz.sh).
# ST_SKIP_DEPS=1 skips scripts/bootstrap-deps.sh. Exit status is ctest's (or the fuzz stage's).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
    local rc=$?
    ((rc == 0)) || echo "test.sh: exit $rc" >&2
}
trap on_exit EXIT

if [[ ${ST_SKIP_DEPS:-0} != 1 ]]; then
    echo "== dependencies (scripts/bootstrap-deps.sh)"
    bash scripts/bootstrap-deps.sh
fi
echo "== format (clang-format --dry-run --Werror)"
if command -v clang-format >/dev/null 2>&1; then
    git ls-files 'src/*.[ch]' 'netstack/*.[ch]' 'tests/*.[ch]' |
        xargs -r clang-format --dry-run --Werror
else
    echo "clang-format not installed: format check skipped"
fi
echo "== build ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "== tests"
logs=$BUILD_DIR/test-logs
mkdir -p "$logs"
summary=() passed=0 failed=0
# stage NAME RC LOG: a summary line for a stage from its exit code and ctest's own count
stage() {
    local line total bad
    line=$(grep -E '^[0-9]+% tests passed' "$3" | tail -n 1) || true
    if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
        bad=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
        failed=$((failed + bad)) passed=$((passed + total - bad))
    fi
    if (($2 == 0)); then
        summary+=("$1: passed (${line:-no ctest summary})")
    else
        summary+=("$1: FAILED, exit $2 (${line:-no ctest summary})")
        ((${bad:-0} > 0)) || failed=$((failed + 1))
    fi
}
rc=0
# The .deb: built, checked by lintian, installed, verified, removed (scripts/package-check.sh,
# about 20 s); ST_SKIP_PACKAGE=1 skips it.
if [[ ${ST_SKIP_PACKAGE:-0} != 1 ]]; then
    echo "== package (cpack -G DEB, lintian, dpkg -i, systemd-analyze verify, apt-get remove)"
    prc=0
    bash scripts/package-check.sh "$BUILD_DIR" 2>&1 | tee "$logs/package.log" || prc=$?
    if ((prc == 0)); then
        summary+=("package stage: passed (.deb installed, checked and removed)")
        passed=$((passed + 1))
    else
        summary+=("package stage: FAILED, exit $prc ($(grep -m1 'FAIL' "$logs/package.log" || true))")
        failed=$((failed + 1)) rc=$prc
    fi
fi
# Unit suites and the scenarios that move the most bytes also run under ASan/UBSan.
if [[ ${ST_SKIP_ASAN:-0} != 1 ]]; then
    echo "== build (${BUILD_DIR}-asan, ASan/UBSan)"
    cmake -S . -B "${BUILD_DIR}-asan" -DCMAKE_BUILD_TYPE=Asan
    cmake --build "${BUILD_DIR}-asan" -j"$(nproc)"
    echo "== tests under ASan/UBSan"
    arc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        ctest --test-dir "${BUILD_DIR}-asan" --output-on-failure \
        -R 'unit\.|integration\.test_(transfer|access_tls|access_policy|gateway_guard|concurrent|errors|site2site|reload|edge_srv|ingress|origin_burst|udp|slow_readers|metrics|service|caps)' \
        2>&1 | tee "$logs/asan.log" || arc=$?
    stage "ASan/UBSan stage" "$arc" "$logs/asan.log"
    ((arc == 0)) || rc=$arc
fi
echo "== tests (Release)"
brc=0
ctest --test-dir "$BUILD_DIR" --output-on-failure 2>&1 | tee "$logs/release.log" || brc=$?
stage "Release stage" "$brc" "$logs/release.log"
((brc == 0)) || rc=$brc
# Fuzzing: each libFuzzer harness on its seed corpus plus ST_FUZZ_SECONDS (default 15) of
# fuzzing (19 harnesses, one per CPU at once: about 4 minutes with the build on 2 CPUs);
# ST_SKIP_FUZZ=1 skips it, as does a missing clang.
fuzzline=
if [[ ${ST_SKIP_FUZZ:-0} != 1 ]] && command -v clang >/dev/null 2>&1; then
    echo "== fuzzing (${BUILD_DIR}-fuzz, libFuzzer, ${ST_FUZZ_SECONDS:-15} s per harness)"
    frc=0
    ST_FUZZ_BUILD_DIR="${BUILD_DIR}-fuzz" bash scripts/fuzz.sh "${ST_FUZZ_SECONDS:-15}" 2>&1 |
        tee "$logs/fuzz.log" || frc=$?
    fuzzline=$(grep -E '^fuzz: [0-9]+ harnesses' "$logs/fuzz.log" | tail -n 1) || true
    if [[ $fuzzline =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
    elif ((frc != 0)); then
        failed=$((failed + 1))
    fi
    if ((frc == 0)); then
        summary+=("fuzz stage: passed (${fuzzline#fuzz: })")
    else
        summary+=("fuzz stage: FAILED, exit $frc (${fuzzline:-no fuzz summary})")
        rc=$frc
    fi
else
    echo "== fuzzing skipped (ST_SKIP_FUZZ=1 or no clang)"
fi
echo "== summary (logs in $logs)"
printf 'test.sh: %s\n' "${summary[@]}"
echo "summary: $passed passed, $failed failed"
exit "$rc"
