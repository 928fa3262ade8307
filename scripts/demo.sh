#!/usr/bin/env bash
# demo.sh: build if needed, start the lab, fetch a file and run ssh on a private
# host through subtunnel from the "internet" namespace, explain, tear down.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
SSHD_PID=""

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    local rc=$?
    if [[ -n $SSHD_PID ]]; then kill "$SSHD_PID" 2>/dev/null || true; fi
    bash "$LAB" down >/dev/null 2>&1 || true
    ((rc == 0)) || echo "demo failed (exit $rc); logs were in $LAB_DIR/logs" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) -eq 0 ]] || { echo "demo.sh needs root (network namespaces): bash scripts/demo.sh as root, or with sudo" >&2; exit 1; }

if [[ ! -x $BUILD_DIR/subtunnel-edge || ! -x $BUILD_DIR/subtunnel-gateway ]]; then
    step "installing dependencies and building (first run only)"
    bash scripts/bootstrap-deps.sh
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$BUILD_DIR" -j2
fi

step "starting the lab (namespaces st-client, st-edge, st-bastion, st-priv)"
bash "$LAB" up
eval "$(bash "$LAB" env)"

step "curl from st-client through the edge proxy: http://198.51.100.10:8000/file"
ip netns exec st-client curl -sS -m 30 -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" \
    http://198.51.100.10:8000/file

step "ssh from st-client to root@198.51.100.10 through a socat ProxyCommand"
sdir=$LAB_DIR/demo-ssh
rm -rf "$sdir"
mkdir -p "$sdir" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$sdir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$sdir/user_key"
cp "$sdir/user_key.pub" "$sdir/authorized_keys"
setsid ip netns exec st-priv "$(command -v sshd)" -D -e -f /dev/null \
    -o ListenAddress=198.51.100.10:22 -o "HostKey=$sdir/host_key" \
    -o "AuthorizedKeysFile=$sdir/authorized_keys" -o "PidFile=$sdir/sshd.pid" \
    -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no \
    -o PasswordAuthentication=no </dev/null >"$LAB_DIR/logs/sshd.log" 2>&1 &
SSHD_PID=$!
for ((i = 0; i < 50; i++)); do
    ip netns exec st-priv ss -Hltn 'src 198.51.100.10:22' | grep -q . && break
    sleep 0.2
done
ip netns exec st-client timeout 60 ssh -F /dev/null -i "$sdir/user_key" -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o "ProxyCommand=socat - PROXY:198.18.0.1:%h:%p,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" \
    root@198.51.100.10 uname -a

step "a web visitor in st-client opens https://app.lab.test/whoami (hostname ingress, HTTP/2)"
ip netns exec st-client curl -sS -m 30 --cacert "$CA_FILE" \
    --resolve app.lab.test:443:198.18.0.1 -w '(HTTP/%{http_version} %{http_code})\n' \
    https://app.lab.test/whoami

step "DNS over UDP from st-client: a MASQUE connect-udp stream to the private resolver 198.51.100.53"
ip netns exec st-client timeout 30 python3 "$REPO/tests/integration/masque.py" \
    --proxy 198.18.0.1:8443 --ca "$CA_FILE" --servername edge.lab.test \
    --token "$ACCESS_TOKEN" --target 198.51.100.53:53 --dns host.corp.test --count 20

step "what just happened"
cat <<TXT
- st-client (198.18.0.10) has no route to 198.51.100.0/24: the edge does not forward.
- The gateway in st-bastion dialed OUT to the edge (192.0.2.1:7844, TLS 1.3 + HTTP/2)
  and registered tunnel "site1" announcing 198.51.100.0/24 ($GATEWAY_LOG).
- curl and ssh sent HTTP CONNECT to the edge's access proxy (198.18.0.1:8080) with
  the access token; the edge turned each into one HTTP/2 stream on that tunnel.
- The gateway opened the TCP connection into st-priv from a virtual IP of
  100.64.0.0/10 through its TUN device st0 (lwIP), so the private host saw the
  client's virtual address, and replies came back via st-bastion.
- The web visitor needed no proxy and no token: the edge's visitor listener
  (198.18.0.1:443, certificate for *.lab.test) saw the name app.lab.test, which
  tunnel site1 registered, and sent the request over the tunnel; the gateway's
  ingress rules sent it to http://198.51.100.10:8000 (the answer is the address the
  origin saw: the gateway's ingress address).
- The DNS queries were UDP: an extended CONNECT (:protocol connect-udp, RFC 9298) on
  the edge's TLS access port carried them as DATAGRAM capsules; the gateway sent them
  from the client's virtual IP through lwIP to dnsmasq in st-priv.
- No inbound port was opened on the private side.
TXT
step "stopping the lab"
