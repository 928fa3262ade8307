#!/usr/bin/env bash
# test.sh: install dependencies, build (Release, build/), run every ctest suite.
# ST_SKIP_DEPS=1 skips scripts/bootstrap-deps.sh. Exit status is ctest's.
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
echo "== build ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "== tests"
rc=0
ctest --test-dir "$BUILD_DIR" --output-on-failure || rc=$?
exit "$rc"
