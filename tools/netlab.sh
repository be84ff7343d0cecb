#!/bin/bash
# netlab.sh: the reliability tests' network (docs/RELIABILITY.md).
#
#   scanners netns          middle netns ("wan")            root netns
#   chot-NAME               chot-NAME-w                     chotd
#   cl-NAME-s 10.77.0.1 <-> cl-NAME-w1 | cl-NAME-w2 <->     cl-NAME-a (AF_PACKET,
#   fd77::1                 bridge + netem, or chot-impair   10.77.0.2, fd77::2)
#
# Impairment lives in the middle namespace, one qdisc per direction: "up" is
# scanners -> appliance (egress of cl-NAME-w2), "down" the ACKs (egress of
# cl-NAME-w1).  With sch_netem in the kernel the middle is a Linux bridge
# with `tc netem` on both ports; without it (the Firecracker kernels of our
# test machines have no sch_netem), tools/impair/chot-impair forwards
# between the two ports and applies the same netem words in user space.
# Root only; touches nothing but what it creates.
#
#   tools/netlab.sh up NAME            create it; prints shell variables
#   tools/netlab.sh netem NAME DIR SPEC
#                                      DIR up, down or both; SPEC netem words
#                                      ("loss 20% duplicate 5% delay 5ms
#                                      reorder 25% 50%") or "off"
#   tools/netlab.sh down NAME          remove everything (idempotent)
#   tools/netlab.sh run NAME CMD...    up, run CMD with the variables in its
#                                      environment, always tear down (trap)
#
# chotd: --vdev net_af_packet0,iface=$CHOT_LAB_IF
#        --set ingest.address=$CHOT_LAB_APPLIANCE_CIDR
# chot-impair is found at $CHOT_IMPAIR, else build/tools/impair/chot-impair.
set -euo pipefail

die() { echo "netlab: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: netlab.sh up|down|netem|run NAME ..."
cmd=$1 name=$2
shift 2
[[ $name =~ ^[a-z0-9]{1,8}$ ]] || die "NAME: 1-8 of [a-z0-9] (interface names are short)"
ns=chot-$name wan=chot-$name-w ifa=cl-$name-a ifs=cl-$name-s w1=cl-$name-w1 w2=cl-$name-w2
state=/run/chot-netlab/$name
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
impair=${CHOT_IMPAIR:-$here/build/tools/impair/chot-impair}

vars() {
	echo "CHOT_LAB_NS=$ns"
	echo "CHOT_LAB_IF=$ifa"
	echo "CHOT_LAB_SCANNER_IP=10.77.0.1"
	echo "CHOT_LAB_APPLIANCE_IP=10.77.0.2"
	echo "CHOT_LAB_APPLIANCE_CIDR=10.77.0.2/24,fd77::2/64"
	echo "CHOT_LAB_IMPAIR=$(cat "$state/mode")"
}

impair_stop() {
	if [ -f "$state/impair.pid" ]; then
		kill "$(cat "$state/impair.pid")" 2>/dev/null || true
		sleep 0.2
		rm -f "$state/impair.pid"
	fi
}

impair_start() {
	[ -x "$impair" ] || die "chot-impair not found at $impair (build first, or set CHOT_IMPAIR)"
	ip netns exec "$wan" "$impair" --a "$w1" --b "$w2" --ab "$(cat "$state/up")" \
		--ba "$(cat "$state/down")" >>"$state/impair.log" 2>&1 &
	echo $! >"$state/impair.pid"
}

down() {
	impair_stop
	ip link del "$ifa" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	ip netns del "$wan" 2>/dev/null || true
	rm -rf "$state"
}

kernel_netem() {
	ip link add "cl-$name-t" type dummy 2>/dev/null || return 1
	local ok=1
	tc qdisc add dev "cl-$name-t" root netem delay 1ms 2>/dev/null && ok=0
	ip link del "cl-$name-t" 2>/dev/null || true
	return $ok
}

up() {
	[ "$(id -u)" = 0 ] || die "needs root (ip netns)"
	down
	mkdir -p "$state"
	: >"$state/up"
	: >"$state/down"
	ip netns add "$ns"
	ip netns add "$wan"
	ip link add "$ifs" type veth peer name "$w1"
	ip link add "$ifa" type veth peer name "$w2"
	ip link set "$ifs" netns "$ns"
	ip link set "$w1" netns "$wan"
	ip link set "$w2" netns "$wan"
	# The appliance side is chotd's: no kernel addresses, no IPv6 chatter.
	sysctl -qw "net.ipv6.conf.$ifa.disable_ipv6=1" 2>/dev/null || true
	ip link set "$ifa" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add 10.77.0.1/24 dev "$ifs"
	ip -n "$ns" addr add fd77::1/64 dev "$ifs" nodad
	ip -n "$ns" link set "$ifs" up
	ip netns exec "$wan" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
	ip -n "$wan" link set "$w1" up
	ip -n "$wan" link set "$w2" up
	if kernel_netem; then
		echo netem >"$state/mode"
		ip -n "$wan" link add br0 type bridge
		ip -n "$wan" link set "$w1" master br0
		ip -n "$wan" link set "$w2" master br0
		ip -n "$wan" link set br0 up
	else
		echo chot-impair >"$state/mode"
		impair_start
	fi
	vars
}

netem() {
	local dir=$1 spec=$2 d
	case $dir in
	up | down) ;;
	both) netem up "$spec"; netem down "$spec"; return ;;
	*) die "netem direction: up, down or both" ;;
	esac
	[ -d "$state" ] || die "no lab '$name' (netlab.sh up $name first)"
	[ "$spec" = off ] && spec=
	echo "$spec" >"$state/$dir"
	if [ "$(cat "$state/mode")" = netem ]; then
		d=$w2
		[ "$dir" = down ] && d=$w1
		tc -n "$wan" qdisc del dev "$d" root 2>/dev/null || true
		if [ -n "$spec" ]; then
			# shellcheck disable=SC2086
			tc -n "$wan" qdisc add dev "$d" root netem $spec limit 100000
		fi
	else
		impair_stop
		impair_start
	fi
}

case $cmd in
up) up ;;
down) down ;;
netem)
	[ $# -eq 2 ] || die "usage: netlab.sh netem NAME up|down|both SPEC"
	netem "$1" "$2"
	;;
run)
	[ $# -ge 1 ] || die "usage: netlab.sh run NAME CMD..."
	trap down EXIT
	trap 'exit 130' INT TERM
	eval "$(up | sed 's/^/export /')"
	"$@"
	;;
*) die "unknown command '$cmd'" ;;
esac
