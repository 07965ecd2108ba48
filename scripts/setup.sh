# Shared set-up for scripts/demo, scripts/test and scripts/bench (sourced, not run).
# Installs what a fresh Debian machine lacks, then builds every product in debug.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_packages=()
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
pkg-config --exists libgvc 2>/dev/null || need_packages+=(libgraphviz-dev)
# Other allocators the tests preload under `objgraph run` (jemalloc works, tcmalloc is refused).
[ -e /usr/lib/"$(uname -m)"-linux-gnu/libjemalloc.so.2 ] || need_packages+=(libjemalloc2)
[ -e /usr/lib/"$(uname -m)"-linux-gnu/libtcmalloc_minimal.so.4 ] || need_packages+=(libtcmalloc-minimal4)
if ((${#need_packages[@]})); then
    say "installing ${need_packages[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
            echo "error: ${need_packages[*]} missing and not running as root (no sudo)" >&2; exit 1
        fi
    else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null 2>&1 || { echo "error: swift not found (expected Swift 6.3 on PATH or in /opt/swift)" >&2; exit 1; }

# Every product: the objgraph command, the preloaded agent library and the fixture programs.
# Progress lines are dropped; with pipefail a failed build still fails the script.
quiet_build() { swift build "$@" 2>&1 | sed -E '/^\[[0-9]+\/[0-9]+\]/d'; }
# The same, failing when the compiler warns (a clean build has none; an incremental one shows
# only the files it recompiled).
strict_build() {
    local log
    log=$(swift build "$@" 2>&1) || { printf '%s\n' "$log" | sed -E '/^\[[0-9]+\/[0-9]+\]/d' >&2; return 1; }
    if grep -E 'warning:' <<<"$log" | grep -v '^warning: .*Package\.resolved' >&2; then
        echo "error: the build has compiler warnings (see above)" >&2
        return 1
    fi
}
build_all() {
    say "building (swift build)"
    quiet_build "$@"
}
BIN=$(pwd)/.build/debug
