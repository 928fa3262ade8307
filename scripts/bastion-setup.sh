#!/usr/bin/env bash
# bastion-setup.sh: prepare a real bastion VM for subtunnel-gateway (expose mode).
#
#   bastion-setup.sh [--snat] [--pool CIDR] [--dev IFACE] [--tun IFACE]   apply
#   bastion-setup.sh --undo [--snat] [--pool CIDR] [--dev IFACE] [--tun IFACE]   remove it
#
# Always: enables IPv4 forwarding (replies to virtual IPs cross from the LAN to
# the gateway's TUN device). Source preservation (default): private hosts see
# each remote client's virtual IP (pool, default 100.64.0.0/10), so the subnet's
# router (or every private host) needs a route:   POOL via <bastion LAN address>
# e.g. on a Linux router:  ip route add 100.64.0.0/10 via 198.51.100.1
# Where such a route is impossible, --snat masquerades everything the gateway
# sends into the LAN from its TUN (--tun, default st0: virtual IPs and, with
# reach, remote sites' own addresses) leaving IFACE (the LAN interface, default:
# the one with the default route): private hosts then see the bastion's address.
set -euo pipefail

POOL=100.64.0.0/10
DEV=""
TUN=st0
SNAT=0
UNDO=0
# one state file per network namespace (the lab runs several bastions on one host)
STATE=/run/subtunnel-bastion-setup.$(stat -L -c %i /proc/self/ns/net).state

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
on_exit() {
    local rc=$?
    ((rc == 0)) || echo "bastion-setup: failed (exit $rc)" >&2
}
trap on_exit EXIT

while (($#)); do
    case $1 in
    --snat) SNAT=1; shift ;;
    --pool) POOL=${2:?}; shift 2 ;;
    --dev) DEV=${2:?}; shift 2 ;;
    --tun) TUN=${2:?}; shift 2 ;;
    --undo) UNDO=1; shift ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "bastion-setup: must run as root" >&2; exit 1; }
if [[ -z $DEV ]]; then
    DEV=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
    [[ -n $DEV ]] || { echo "bastion-setup: no default route; pass --dev IFACE" >&2; exit 1; }
fi
# Packets the gateway writes into its TUN are marked as they enter the kernel, and the
# marked ones are masqueraded on their way out of the LAN interface.
mark=(PREROUTING -i "$TUN" -j MARK --set-xmark 0x5354/0xffffffff -m comment --comment subtunnel-snat)
rule=(POSTROUTING -o "$DEV" -m mark --mark 0x5354 -j MASQUERADE -m comment --comment subtunnel-snat)

if ((UNDO)); then
    if ((SNAT)) && iptables -t nat -C "${rule[@]}" 2>/dev/null; then
        iptables -t nat -D "${rule[@]}"
        echo "removed MASQUERADE of $TUN traffic leaving $DEV"
    fi
    if ((SNAT)) && iptables -t mangle -C "${mark[@]}" 2>/dev/null; then
        iptables -t mangle -D "${mark[@]}"
    fi
    if [[ -f $STATE ]]; then
        prev=$(cat "$STATE")
        sysctl -qw net.ipv4.ip_forward="$prev"
        rm -f "$STATE"
        echo "restored net.ipv4.ip_forward=$prev"
    fi
    exit 0
fi

cur=$(sysctl -n net.ipv4.ip_forward)
[[ -f $STATE ]] || echo "$cur" >"$STATE"
sysctl -qw net.ipv4.ip_forward=1
echo "net.ipv4.ip_forward=1 (was $cur; persist it in /etc/sysctl.d/ if wanted)"
if ((SNAT)); then
    iptables -t mangle -C "${mark[@]}" 2>/dev/null || iptables -t mangle -A "${mark[@]}"
    if iptables -t nat -C "${rule[@]}" 2>/dev/null; then
        echo "MASQUERADE of $TUN traffic leaving $DEV already present"
    else
        iptables -t nat -A "${rule[@]}"
        echo "added MASQUERADE of $TUN traffic leaving $DEV (private hosts see the bastion's address)"
    fi
else
    lan=$(ip -4 -o addr show dev "$DEV" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1 || true)
    echo "source preservation: the subnet's router must route $POOL to this bastion:"
    echo "    ip route add $POOL via ${lan:-<bastion LAN address>}"
    echo "(or run again with --snat where that is impossible)"
fi
