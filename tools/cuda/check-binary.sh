#!/usr/bin/env bash
# Checks a CUDA build of tinyarch made by build.sh, on any machine:
# - it names no CUDA library as a dependency, and every symbol it leaves unbound is CUDA's and
#   bound lazily (so the loader never needs the libraries);
# - `--help` and a CPU run work without a driver;
# - `--device cuda` exits with status 3 and a clear error with no driver, and with a stand-in
#   driver that has no GPU (where a C compiler is at hand).
# Usage: check-binary.sh path/to/tinyarch   (the data from TINYARCH_DATA, or the bundle's data/)
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
# In the bundle the models and data sit beside this script; in the repository, two folders up.
models=$here/models
[ -d "$models" ] || models=$here/../../models
data=${TINYARCH_DATA:-$here/data}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }

echo "== ldd"
ldd "$bin" || true
if readelf -d "$bin" | grep -E 'NEEDED.*(libcuda|libnvrtc|libcublas)'; then
    fail "the binary names a CUDA library as a dependency"
else
    pass "no CUDA library among the binary's dependencies"
fi
# Unversioned undefined symbols are the ones no library at link time provided.
unbound=$(nm -D --undefined-only "$bin" | awk '$2 !~ /@/ && $1 == "U" {print $2}' | sort -u)
foreign=$(echo "$unbound" | grep -vE '^(cu|nvrtc|cublas)' | grep -v '^$' || true)
if [ -n "$foreign" ]; then
    fail "symbols left unbound that are not CUDA's: $foreign"
else
    pass "$(echo "$unbound" | grep -c .) CUDA symbols left unbound, nothing else"
fi
eager=$(readelf -rW "$bin" | awk '$3 !~ /JUMP_SLOT/' | grep -E ' (cu|nvrtc|cublas)[A-Za-z0-9_]*( |$)' || true)
if [ -n "$eager" ]; then
    fail "CUDA symbols bound at load time, not at first call: $eager"
else
    pass "every CUDA symbol is bound at its first call"
fi

echo "== without the driver"
if "$bin" --help > /dev/null; then pass "--help"; else fail "--help"; fi
if "$bin" run "$models/study/linear.model" --corpus tiny-shakespeare --data "$data" --max-steps 3 \
    --device cpu --quiet --out "$scratch/runs" > /dev/null 2> "$scratch/cpu.err"; then
    pass "a CPU run"
else
    fail "a CPU run: $(cat "$scratch/cpu.err")"
fi
cuda_run() {
    "$bin" run "$models/study/linear.model" --corpus tiny-shakespeare --data "$data" --max-steps 3 \
        --device cuda --quiet --out "$scratch/runs-cuda"
}
expect_3() {
    local what=$1 needle=$2 code=0
    cuda_run > /dev/null 2> "$scratch/err" || code=$?
    echo "   $(cat "$scratch/err")"
    if [ "$code" = 3 ] && grep -q "$needle" "$scratch/err"; then pass "$what: exit 3"; else fail "$what: exit $code"; fi
}
if ldconfig -p 2> /dev/null | grep -q 'libcuda.so.1'; then
    echo "(this machine has a driver: the no-driver check is skipped)"
else
    expect_3 "--device cuda with no driver" "no CUDA driver found"
fi
if command -v cc > /dev/null; then
    mkdir -p "$scratch/driver"
    cat > "$scratch/driver/stand_in.c" <<'C'
int cuInit(unsigned flags) { return 100; }
int cuDeviceGetCount(int *n) { *n = 0; return 0; }
int cuGetErrorName(int code, const char **name) { *name = "CUDA_ERROR_NO_DEVICE"; return 0; }
C
    cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$scratch/driver/libcuda.so.1" "$scratch/driver/stand_in.c"
    LD_LIBRARY_PATH="$scratch/driver" expect_3 "--device cuda with a driver and no GPU" "no CUDA device"
else
    echo "(no C compiler: the stand-in driver check is skipped)"
fi
[ "$failures" = 0 ] && echo "all checks passed" || { echo "$failures check(s) failed"; exit 1; }
