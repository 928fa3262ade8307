#!/usr/bin/env bash
# package-check.sh [BUILD_DIR]: builds the .deb (cpack -G DEB) in BUILD_DIR (default build/,
# configured and built already), checks it with lintian (errors fail), installs it with
# dpkg -i, checks that the files are where docs/operations.md says (binaries, units, man
# pages, docs, examples), that the installed binaries accept the example configurations,
# runs `systemd-analyze verify` on the installed units (when systemd-analyze exists), then
# removes it (apt-get remove, dpkg --purge) and checks that nothing is left. Run as root by
# scripts/test.sh; refuses to touch a subtunnel package that is installed already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${1:-${BUILD_DIR:-build}}
say() { printf 'package-check: %s\n' "$*"; }
die() {
    say "FAIL: $*"
    exit 1
}

[[ $(id -u) -eq 0 ]] || die "needs root (dpkg -i)"
if dpkg-query -W -f '${Status}' subtunnel 2>/dev/null | grep -q installed; then
    die "a subtunnel package is installed already: not replacing it (dpkg -r subtunnel first)"
fi
tmp=$(mktemp -d)
installed=0
cleanup() {
    if ((installed)); then dpkg --purge subtunnel >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
rm -f "$BUILD_DIR"/subtunnel_*.deb
(cd "$BUILD_DIR" && cpack -G DEB >cpack.log 2>&1) || {
    tail -n 20 "$BUILD_DIR/cpack.log"
    die "cpack -G DEB failed"
}
deb=$(ls "$BUILD_DIR"/subtunnel_*.deb)
say "built $deb: $(dpkg-deb -f "$deb" Depends)"
if command -v lintian >/dev/null; then
    lrc=0
    lintian --fail-on error "$deb" >"$tmp/lintian.log" 2>&1 || lrc=$?
    grep -v 'running with root privileges' "$tmp/lintian.log" || true
    ((lrc == 0)) || die "lintian reports errors (exit $lrc)"
    say "lintian: no errors"
else
    say "lintian not installed: skipped"
fi

DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || {
    cat "$tmp/dpkg.log"
    die "dpkg -i failed"
}
installed=1
files=(/usr/bin/subtunnel-edge /usr/bin/subtunnel-gateway
    /usr/lib/systemd/system/subtunnel-edge.service /usr/lib/systemd/system/subtunnel-gateway.service
    /usr/share/man/man8/subtunnel-edge.8.gz /usr/share/man/man8/subtunnel-gateway.8.gz
    /usr/share/man/man5/subtunnel-edge.yaml.5.gz /usr/share/man/man5/subtunnel-gateway.yaml.5.gz
    /usr/share/doc/subtunnel/copyright /usr/share/doc/subtunnel/changelog.gz
    /usr/share/doc/subtunnel/operations.md /usr/share/doc/subtunnel/configuration.md
    /usr/share/doc/subtunnel/user-guide.md /usr/share/doc/subtunnel/examples/edge.yaml
    /usr/share/doc/subtunnel/examples/gateway.yaml
    /usr/share/doc/subtunnel/examples/subtunnel-alerts.yml)
for f in "${files[@]}"; do
    [[ -s $f ]] || die "$f missing after dpkg -i"
done
getent passwd subtunnel >/dev/null || die "postinst did not create the subtunnel user"
[[ $(stat -c '%a %U %G' /etc/subtunnel) == "750 root subtunnel" ]] ||
    die "/etc/subtunnel is $(stat -c '%a %U %G' /etc/subtunnel), want 750 root subtunnel"
[[ $(stat -c '%a %U %G' /var/log/subtunnel) == "750 subtunnel adm" ]] ||
    die "/var/log/subtunnel is $(stat -c '%a %U %G' /var/log/subtunnel), want 750 subtunnel adm"
/usr/bin/subtunnel-edge --version | grep -q "^subtunnel-edge " || die "subtunnel-edge --version"
say "installed: ${#files[@]} files in place, user subtunnel, /etc/subtunnel"

# The examples, with files that exist, pass --check-config (their `user: subtunnel` too).
bash scripts/gen-certs.sh "$tmp/certs" >/dev/null
for d in edge gateway; do
    sed -e "s|/etc/subtunnel/edge.crt|$tmp/certs/edge.crt|; s|/etc/subtunnel/edge.key|$tmp/certs/edge.key|" \
        -e "s|/etc/subtunnel/ca.crt|$tmp/certs/ca.crt|" \
        -e "s|^token-file: .*|token: site-1:0123456789abcdefXYZ|" \
        "/usr/share/doc/subtunnel/examples/$d.yaml" >"$tmp/$d.yaml"
    "/usr/bin/subtunnel-$d" --config "$tmp/$d.yaml" --check-config >/dev/null ||
        die "examples/$d.yaml does not pass --check-config"
done
say "the example configurations pass --check-config"
if command -v systemd-analyze >/dev/null; then
    man=()
    command -v man >/dev/null || man=(--man=no) # it checks Documentation=man:... with man(1)
    (cd "$tmp" && systemd-analyze verify "${man[@]}" /usr/lib/systemd/system/subtunnel-edge.service \
        /usr/lib/systemd/system/subtunnel-gateway.service) || die "systemd-analyze verify"
    say "systemd-analyze verify: both units pass"
else
    say "systemd-analyze not installed: unit check skipped"
fi

DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq subtunnel >"$tmp/remove.log" 2>&1 || {
    cat "$tmp/remove.log"
    die "apt-get remove failed"
}
for f in "${files[@]}"; do
    [[ ! -e $f ]] || die "$f left after apt-get remove"
done
dpkg --purge subtunnel >/dev/null
installed=0
[[ ! -e /etc/subtunnel ]] || die "/etc/subtunnel left after purge (it was empty)"
[[ ! -e /var/log/subtunnel ]] || die "/var/log/subtunnel left after purge"
! dpkg-query -W subtunnel >/dev/null 2>&1 || die "dpkg still knows subtunnel after purge"
say "removed cleanly (apt-get remove, dpkg --purge)"
