#!/usr/bin/env bash
# dev.sh — the one entry point for building worldline on Debian 12.
#
#   bash dev.sh demo [args]   install what is missing, build (release), run `worldline demo`
#   bash dev.sh test          install, build with ASan+UBSan, check formatting, run the fuzzers
#                             briefly and every test (ctest); exits non-zero on any failure
#   bash dev.sh coverage      line coverage of crdt/, replica/ and region/ (the state and the
#                             event processing) with gcovr: build/coverage/index.html
#   bash dev.sh bench [args]  build (release) and run the benchmarks in bench/
#   bash dev.sh format        rewrite every source file with clang-format
#   bash dev.sh install       only install the Debian packages
#
# Every step is idempotent and fast when nothing changed (Ninja + ccache). Installing needs root,
# or sudo when run as another user.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libboost-json1.81-dev capnproto libcapnp-dev liblmdb-dev libspdlog-dev
  librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libtomlplusplus-dev
  libcli11-dev libmimalloc-dev iproute2
  clang libclang-rt-14-dev clang-format gcovr
)
# Only for the test command: the dashboard's browser test (web/test/) drives Debian's Chromium.
TEST_PACKAGES=(chromium)
JOBS="${JOBS:-$(nproc)}"

log() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*" >&2; }

# install_deps [extra packages...]
install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js and npm run the independent WebSocket client test (tests/e2e, the npm `ws` package);
  # a machine may already have them from elsewhere (e.g. NodeSource), which is fine.
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "need root or sudo to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# build <dir> <cmake args...>
build() {
  local dir="build/$1"; shift
  if [[ ! -f "$dir/build.ninja" ]]; then
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$JOBS"
}

# Our C++ sources: tracked and new files, never build output.
sources() { git ls-files --cached --others --exclude-standard -- '*.h' '*.cc'; }

cmd="${1:-}"; shift || true
case "$cmd" in
  install)
    install_deps ;;
  demo)
    install_deps
    build release -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF -DWORLDLINE_BENCH=OFF
    exec build/release/app/worldline demo "$@" ;;
  test)
    install_deps "${TEST_PACKAGES[@]}"
    log "checking formatting (clang-format)"
    sources | xargs -r clang-format --dry-run --Werror
    log "building fuzz targets (clang, libFuzzer)"
    CC=clang CXX=clang++ build fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWORLDLINE_FUZZ=ON \
      -DWORLDLINE_TESTS=OFF -DWORLDLINE_BENCH=OFF
    (cd build/fuzz && ctest --output-on-failure -j "$JOBS")
    log "building tests (gcc, ASan + UBSan)"
    build asan -DCMAKE_BUILD_TYPE=Debug -DWORLDLINE_SANITIZE=ON -DWORLDLINE_BENCH=OFF
    cd build/asan
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      ctest --output-on-failure -j "$JOBS" ;;
  coverage)
    install_deps
    build coverage -DCMAKE_BUILD_TYPE=Debug -DWORLDLINE_COVERAGE=ON -DWORLDLINE_BENCH=OFF
    find build/coverage -name '*.gcda' -delete
    # Their own suites (not the chaos script: it runs the release binary in network namespaces).
    (cd build/coverage && ctest -L 'crdt|replica|region' -LE chaos -j "$JOBS" >/dev/null)
    for dir in crdt replica region; do
      echo "$dir/: $(gcovr -r . --filter "$dir/" --object-directory build/coverage \
        --print-summary -o /dev/null | grep '^lines:')"
    done
    gcovr -r . --filter 'crdt/' --filter 'replica/' --filter 'region/' \
      --object-directory build/coverage --html-details build/coverage/index.html --print-summary \
      -o /dev/null
    log "report: build/coverage/index.html" ;;
  bench)
    install_deps
    build bench -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF
    for b in build/bench/bench/*_bench; do "$b" "$@"; done ;;
  format)
    sources | xargs -r clang-format -i ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
