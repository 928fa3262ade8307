#!/usr/bin/env bash
# Installs build/test dependencies (Debian 12) and fetches the lwIP 2.1.3 source
# (Debian source package) into deps/lwip. Idempotent; run as root.
# Usage: scripts/bootstrap-deps.sh [--no-apt]   (ST_APT_SOURCES overrides the deb822 sources file)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LWIP_DEST="$REPO_ROOT/deps/lwip"
APT_SOURCES="${ST_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}"
# libjansson-dev: JSON log lines (log-format: json); prometheus: for promtool, which checks
# the metrics text in tests/integration/test_metrics.sh (Debian packages no promtool alone;
# where systemd runs, the package also enables a prometheus service the tests do not use).
# libhiredis-dev: RESP for the edge fleet registry (st_redis); redis-server: its unit tests.
# libcap-dev: the privilege drop (user:); scdoc: man pages; lintian, systemd (for
# systemd-analyze verify), adduser: scripts/package-check.sh builds, checks, installs and
# removes the .deb. liburing-dev: batched TUN reads (netstack/ns_rxbatch.c).
PACKAGES=(build-essential cmake pkg-config libssl-dev libnghttp2-dev libmnl-dev libyaml-dev
          libc-ares-dev check libhttp-parser-dev dpkg-dev xz-utils patch iproute2 iptables curl
          socat iperf3 openssh-client openssh-server openssl nghttp2-client procps python3
          ca-certificates git clang-format dnsmasq-base clang libclang-rt-14-dev
          bind9-dnsutils iputils-ping libjansson-dev prometheus libcap-dev scdoc lintian systemd
          adduser python3-cryptography libhiredis-dev redis-server liburing-dev)

log() { printf 'bootstrap-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    echo "usage: $0 [--no-apt]"
    echo "  --no-apt  skip apt-get update/install; only fetch lwIP into deps/lwip"
}

install_packages() {
    log "apt-get update"
    apt-get update -qq
    log "installing ${#PACKAGES[@]} packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
}

# Downloads lwip's Debian source package with deb-src enabled only for this call
# (private sources file and lists dir), and unpacks the orig tarball into deps/lwip.
fetch_lwip() {
    if [[ -f "$LWIP_DEST/src/core/tcp.c" ]]; then
        log "lwIP already present in $LWIP_DEST"
        return 0
    fi
    [[ -f "$APT_SOURCES" ]] || die "$APT_SOURCES not found (need deb822 Debian sources to enable deb-src)"
    command -v xz >/dev/null || die "xz not found (install xz-utils or run without --no-apt)"

    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    sed 's/^Types:.*/Types: deb-src/' "$APT_SOURCES" > "$tmp/src.sources"
    mkdir -p "$tmp/lists/partial" "$tmp/dl"
    local opts=(-o "Dir::Etc::sourcelist=$tmp/src.sources" -o "Dir::Etc::sourceparts=/dev/null"
                -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)

    log "fetching source index (deb-src) into a private lists dir"
    apt-get "${opts[@]}" update -qq
    log "downloading lwip source package"
    (cd "$tmp/dl" && apt-get "${opts[@]}" source --download-only lwip >/dev/null)

    local orig
    orig="$(find "$tmp/dl" -maxdepth 1 -name "lwip_2.1.3*.orig.tar.*" | head -n1)"
    [[ -n "$orig" ]] || die "no lwip_2.1.3*.orig.tar.* downloaded (got: $(ls "$tmp/dl"))"
    log "extracting $(basename "$orig")"
    mkdir -p "$tmp/x"
    tar -xf "$orig" -C "$tmp/x"
    local top
    top="$(dirname "$(find "$tmp/x" -path '*/src/core/tcp.c' | head -n1)")"
    [[ "$top" != "." ]] || die "src/core/tcp.c not found in $(basename "$orig")"
    top="$(cd "$top/../.." && pwd)"

    mkdir -p "$REPO_ROOT/deps"
    rm -rf "$LWIP_DEST.tmp"
    mv "$top" "$LWIP_DEST.tmp"
    rm -rf "$LWIP_DEST"
    mv "$LWIP_DEST.tmp" "$LWIP_DEST"
    log "lwIP 2.1.3 source ready in $LWIP_DEST"
}

main() {
    local do_apt=1
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --no-apt) do_apt=0 ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
        shift
    done
    [[ $do_apt -eq 0 ]] || install_packages
    fetch_lwip
    log "done"
}

main "$@"
