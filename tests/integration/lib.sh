# shellcheck shell=bash
# Shared helpers for tests/integration/test_*.sh (sourced, not executed).
# Run by ctest (BUILD_DIR and ST_SOURCE_DIR set) or by hand from the repo root.

ST_SOURCE_DIR=${ST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$ST_SOURCE_DIR/build}
LAB_DIR=${LAB_DIR:-$ST_SOURCE_DIR/lab}
export ST_SOURCE_DIR BUILD_DIR LAB_DIR
LAB=$ST_SOURCE_DIR/scripts/lab.sh
HTTPD_PY=$ST_SOURCE_DIR/tests/integration/httpd.py
TEST_NAME=$(basename "$0" .sh)
export PRIV_IP=198.51.100.10
CLEANUP_FNS=()

log() { printf '[%s %s] %s\n' "$TEST_NAME" "$(date +%T)" "$*"; }
pass() { log "PASS: $*"; }
fail() {
    log "FAIL: $*"
    exit 1
}

# require_root: exit 77 (ctest SKIP) without root or network namespace support
require_root() {
    if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! unshare -n true 2>/dev/null; then
        echo "SKIP: needs root and network namespaces"
        exit 77
    fi
}

# require_cmd CMD...: fail clearly when a client tool is missing
require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || fail "missing tool: $c (run scripts/bootstrap-deps.sh)"
    done
}

# on_cleanup FN: run FN at exit (last registered runs first), before lab down
on_cleanup() { CLEANUP_FNS+=("$1"); }

dump_logs() {
    local f
    for f in "${EDGE_LOG:-}" "${GATEWAY_LOG:-}" "${EDGE_LOG_2:-}" "${GATEWAY_LOG_2:-}" \
        "${EDGE_LOG_3:-}" "${REGISTRY_LOG:-}"; do
        [[ -n $f && -s $f ]] || continue
        echo "---- last lines of $f"
        tail -n 30 "$f"
    done
}

_on_exit() {
    local rc=$? i
    trap - EXIT INT TERM
    for ((i = ${#CLEANUP_FNS[@]} - 1; i >= 0; i--)); do
        "${CLEANUP_FNS[i]}" || true
    done
    if ((rc != 0 && rc != 77)); then
        dump_logs || true
    fi
    if [[ ${ST_KEEP_LAB:-0} != 1 ]]; then
        bash "$LAB" down >/dev/null 2>&1 || true
    fi
    # Daemons built with ASan/UBSan report into their logs (also at exit, after down).
    local f
    for f in "${EDGE_LOG:-}" "${GATEWAY_LOG:-}" "${EDGE_LOG_2:-}" "${GATEWAY_LOG_2:-}" \
        "${EDGE_LOG_3:-}"; do
        if [[ -n $f && -s $f ]] && grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
            log "FAIL: sanitizer report in $f:"
            grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" | head -n 40
            rc=1
        fi
    done
    if ((rc == 0)); then log "OK"; fi
    exit "$rc"
}

# lab_up [lab.sh up args]: start the lab (down at exit), import its environment
lab_up() {
    trap _on_exit EXIT
    trap 'exit 130' INT TERM
    bash "$LAB" up "$@" || fail "lab.sh up $* failed"
    eval "$(bash "$LAB" env)"
}

in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# wait_for SECS DESC CMD...: poll CMD (every 0.2 s) until it succeeds, at most SECS
wait_for() {
    local secs=$1 desc=$2 i
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    fail "timed out after ${secs}s: $desc"
}

listening() { in_ns "$1" ss -Hltn "src $2" 2>/dev/null | grep -q .; }

# start_bg NAME NS CMD...: detached in NS; lab.sh down stops it via $LAB_DIR/run
start_bg() {
    local name=$1 ns=$2
    shift 2
    mkdir -p "$LAB_DIR/run" "$LAB_DIR/logs"
    setsid ip netns exec "$ns" "$@" </dev/null >>"$LAB_DIR/logs/$name.log" 2>&1 &
    echo $! >"$LAB_DIR/run/$name.pid"
}

# start_httpd NAME ADDR:PORT DIR [NS [OPTION...]]: tests/integration/httpd.py in NS (st-priv),
# with httpd.py's options (--backlog N, --accept-delay S, --tls CERT KEY); IPv6: [ADDR]:PORT
start_httpd() {
    local name=$1 hostport=$2 dir=$3 ns=${4:-st-priv} host
    shift $(($# < 4 ? $# : 4))
    host=${hostport%:*} host=${host#[} host=${host%]}
    start_bg "$name" "$ns" python3 "$HTTPD_PY" "$host" "${hostport##*:}" "$dir" "$@"
    wait_for 15 "$name listening on $hostport" listening "$ns" "$hostport"
}

# start_sshd NAME NS ADDR DIR: sshd on ADDR:22 in NS with throwaway keys kept in DIR;
# log in with: ssh "${SSH_OPTS[@]}" -i DIR/user_key root@ADDR
start_sshd() {
    local name=$1 ns=$2 addr=$3 d=$4
    mkdir -p "$d" /run/sshd
    [[ -f $d/host_key ]] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
    [[ -f $d/user_key ]] || ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
    cp "$d/user_key.pub" "$d/authorized_keys"
    start_bg "$name" "$ns" "$(command -v sshd)" -D -e -f /dev/null \
        -o "ListenAddress=$addr:22" -o "HostKey=$d/host_key" \
        -o "AuthorizedKeysFile=$d/authorized_keys" -o "PidFile=$d/$name.pid" \
        -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no \
        -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no
    wait_for 15 "$name listening" listening "$ns" "$addr:22"
}
# ssh_connection NS KEYDIR ADDR ERRFILE: logs in from NS to the start_sshd server on ADDR
# (keys in KEYDIR) and prints the $SSH_CONNECTION the server saw; ssh's stderr in ERRFILE
ssh_connection() {
    # shellcheck disable=SC2016  # expanded by the remote shell
    in_ns "$1" timeout 60 ssh "${SSH_OPTS[@]}" -i "$2/user_key" "root@$3" 'echo $SSH_CONNECTION' \
        2>"$4"
}
# shellcheck disable=SC2034  # used by the scenarios that source this file
SSH_OPTS=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=20)

# gw_stat LOG KEY: KEY's value from a fresh SIGUSR1 stats line of the gateway logging to LOG
gw_stat() {
    local log=$1 key=$2 pidf n
    pidf=$LAB_DIR/run/$(basename "$log" .log).pid
    n=$(grep -c ' stats: ' "$log" || true)
    kill -USR1 "$(cat "$pidf")"
    wait_for 5 "stats line in $log" stats_after "$log" "$n"
    grep ' stats: ' "$log" | tail -n 1 | grep -oP "(?<=\\b$key=)[0-9]+"
}
stats_after() { (($(grep -c ' stats: ' "$1" || true) > $2)); }

# after_last PATTERN LOG: the log from the last line matching PATTERN on
after_last() { awk -v p="$1" '$0 ~ p {buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$2"; }
log_count() { grep -c -- "$1" "$2" || true; }

# hup_reload PID LOG: SIGHUP a daemon (edge or gateway) and wait until LOG shows this
# reload (a check on the log after the last reload line would otherwise see the
# previous reload's lines)
hup_reload() {
    local n
    n=$(log_count 'SIGHUP: configuration reloaded' "$2")
    kill -HUP "$1"
    wait_for 10 "reload of $(basename "$2" .log)" reloads_above "$2" "$n"
}
reloads_above() { (($(log_count 'SIGHUP: configuration reloaded' "$1") > $2)); }
# gw_settled LOG: after the last reload, all 4 connections registered on the one edge
gw_settled() {
    after_last 'SIGHUP: configuration reloaded' "$1" |
        grep -q 'tunnel connections: 4 of 4 registered, on 1 of 1 edges'
}

sha256_file() { sha256sum "$1" | cut -d' ' -f1; }
file_size() { stat -c %s "$1"; }

# random_file FILE KIB
random_file() { head -c "$(($2 * 1024))" /dev/urandom >"$1"; }

# assert_sums WANT DIR WHAT: the sha256sum of every f* in DIR, sorted, equals the list in
# file WANT; on a mismatch name the first files that differ rather than dump both lists.
assert_sums() {
    local want=$1 d=$2 what=$3 got n
    got=$(mktemp)
    (cd "$d" && sha256sum f* 2>/dev/null) | sort >"$got"
    if ! cmp -s "$want" "$got"; then
        local d
        d=$(diff "$want" "$got" | grep '^[<>]' || true)
        fail "$what: $(grep -c '^>' <<<"$d" || true) of $(wc -l <"$want") files differ or are" \
            "missing: $(head -6 <<<"$d" | tr '\n' ';')"
    fi
    rm -f "$got"
    pass "$what ($(wc -l <"$want") files)"
}

# wait_flows WHAT ERRDIR PID...: waits for every PID (background clients started by this
# shell, the i-th writing its stderr to ERRDIR/err<i>); sets FLOWS_FAILED to how many
# exited non-zero and logs the first three failures' errors.
wait_flows() {
    local what=$1 errdir=$2 i=0 pid
    shift 2
    FLOWS_FAILED=0
    for pid in "$@"; do
        if ! wait "$pid"; then
            FLOWS_FAILED=$((FLOWS_FAILED + 1))
            ((FLOWS_FAILED > 3)) || log "$what: flow $i failed: $(cat "$errdir/err$i" 2>/dev/null)"
        fi
        i=$((i + 1))
    done
}

assert_eq() {
    local expected=$1 actual=$2 what=$3
    [[ $expected == "$actual" ]] || fail "$what: expected '$expected', got '$actual'"
    pass "$what ($actual)"
}

assert_ne() {
    local unexpected=$1 actual=$2 what=$3
    [[ $unexpected != "$actual" ]] || fail "$what: got '$actual'"
    pass "$what ($actual)"
}

# assert_match REGEX TEXT WHAT (case-insensitive, grep -E)
assert_match() {
    local re=$1 text=$2 what=$3
    grep -Eiq -- "$re" <<<"$text" || fail "$what: '$re' not found in: $text"
    pass "$what"
}

# audit_records FILE FIELD=VALUE...: the records of audit log FILE matching every FIELD=VALUE,
# one JSON object per line (keys sorted, ", " and ": " separators); a reader may stop early
# ("| head -n 1") without failing the pipeline
audit_records() {
    python3 - "$@" <<'PY'
import json, os, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if all(str(r.get(k)) == v for k, v in want.items()):
            print(json.dumps(r, sort_keys=True))
    sys.stdout.flush()
except BrokenPipeError:
    # a reader such as "head -n 1" took what it wanted and left: not an error
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
PY
}

# relay_closed N: edge 3 logged that its relay connection to edge N closed
relay_closed() { grep -q "relay: connection to edge lab-edge-$1 at .* closed" "$EDGE_LOG_3"; }
# kill_relay_holder (--edges 3): SIGKILL the edge edge 3 last opened a relay connection to and
# wait until edge 3 saw that connection close (else a request could still be put on it in the
# few milliseconds before, and get a 502: that connection was up). Sets RELAY_DEAD (1 or 2).
kill_relay_holder() {
    [[ $(grep -o 'relay: connected to edge lab-edge-[12]' "$EDGE_LOG_3" | tail -n 1) =~ lab-edge-([12]) ]] ||
        fail "edge 3 logged no relay connection"
    RELAY_DEAD=${BASH_REMATCH[1]}
    bash "$LAB" kill-edge "$RELAY_DEAD"
    wait_for 10 "edge 3 to see its relay connection to edge $RELAY_DEAD close" \
        relay_closed "$RELAY_DEAD"
}

# plimit PID PRLIMIT_ARGS...: prlimit on the daemon PID. On another process it needs
# CAP_SYS_RESOURCE (some containers' root lacks it) or the same user: run it as the user the
# daemon switched to (LAB_USER), when it did.
plimit() {
    local pid=$1 uid gid
    shift
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
    gid=$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")
    if [[ $uid == 0 ]]; then
        prlimit --pid "$pid" "$@"
    else
        setpriv --reuid="$uid" --regid="$gid" --clear-groups prlimit --pid "$pid" "$@"
    fi
}
# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks (getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# assert_no_spin PID WHAT: PID (a daemon that waits for something, WHAT: "the edge ... while
# paused") uses under half a second of CPU in 3 s, i.e. it does not busy-loop
assert_no_spin() {
    local c0 c1 tck ms
    c0=$(cpu_ticks "$1")
    sleep 3
    c1=$(cpu_ticks "$1")
    tck=$(getconf CLK_TCK)
    ms=$(((c1 - c0) * 1000 / tck))
    ((c1 - c0 < tck / 2)) || fail "$2: $ms ms of CPU in 3 s"
    pass "no busy loop: $2 ($ms ms of CPU in 3 s)"
}

# pcurl ARGS...: curl in st-client through the edge's CONNECT proxy (tunnel mode)
pcurl() {
    in_ns st-client curl -sS -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" "$@"
}

# proxy_probe HOST:PORT [curl auth args...]: CONNECT through the edge and print
# "<CONNECT status> <proxy-status header value>"; never fails.
proxy_probe() {
    local target=$1 hdr code ps
    shift
    hdr=$(mktemp)
    code=$(in_ns st-client curl -s -p -x "$EDGE_PROXY" "$@" -m 40 -o /dev/null -D "$hdr" \
        -w '%{http_connect}' "http://$target/" 2>/dev/null) || true
    ps=$(tr -d '\r' <"$hdr" | sed -n 's/^[Pp]roxy-[Ss]tatus: *//p' | head -n 1)
    rm -f "$hdr"
    echo "${code:-000} ${ps:-none}"
}

# gw_state: "R E" from the gateway's last "tunnel connections: R of T registered, on E of N
# edges" line (logged whenever a tunnel connection registers or is lost).
gw_state() {
    grep -o 'tunnel connections: [0-9]* of [0-9]* registered, on [0-9]* of [0-9]* edges' \
        "$GATEWAY_LOG" | tail -n 1 | awk '{print $3, $8}'
}
gw_is() { [[ $(gw_state) == "$1" ]]; }

# ecurl N ARGS...: curl through edge N's CONNECT proxy (lab with --edges 2 or 3)
ecurl() {
    local n=$1 proxy=$EDGE_PROXY
    shift
    if ((n == 2)); then proxy=$EDGE_PROXY_2; fi
    if ((n == 3)); then proxy=$EDGE_PROXY_3; fi
    in_ns st-client curl -sS -p -x "$proxy" -U "lab:$ACCESS_TOKEN" "$@"
}
now_ms() { date +%s%3N; }

# Fleet labs (--edges 3): edge N's metrics URL, log, and pid file
edge_metrics_url() { case $1 in 1) echo "$EDGE_METRICS" ;; 2) echo "$EDGE2_METRICS" ;; 3) echo "$EDGE3_METRICS" ;; esac; }
edge_log() { case $1 in 1) echo "$EDGE_LOG" ;; 2) echo "$EDGE_LOG_2" ;; 3) echo "$EDGE_LOG_3" ;; esac; }
edge_pidfile() { if (($1 == 1)); then echo "$LAB_DIR/run/edge.pid"; else echo "$LAB_DIR/run/edge$1.pid"; fi; }
# edge_metric N SERIES: edge N's value of SERIES as printed (name, or name{labels} in the
# edge's label order), empty if absent
edge_metric() {
    in_ns st-edge curl -sS -m 5 -f "$(edge_metrics_url "$1")/metrics" 2>/dev/null |
        awk -v k="$2" '$1 == k { print $2 }'
}
# registry_cli ARGS...: redis-cli in st-registry (lab.sh up --edges 3), the password taken
# from REGISTRY_URL (redis://default:PASSWORD@...)
registry_cli() {
    local pw=${REGISTRY_URL#*://*:}
    REDISCLI_AUTH=${pw%%@*} in_ns st-registry redis-cli --no-auth-warning -h 192.0.2.50 \
        -p 6379 "$@"
}
# registry_tunnels_of ID: the tunnel ids in st:tunnels:ID, sorted, space-separated
registry_tunnels_of() { registry_cli hkeys "st:tunnels:$1" 2>/dev/null | sort | xargs; }
# all_edges_metric NAME VALUE: every edge of the lab ($LAB_EDGES) has NAME at VALUE
all_edges_metric() {
    local n
    for ((n = 1; n <= LAB_EDGES; n++)); do [[ $(edge_metric "$n" "$1") == "$2" ]] || return 1; done
}
