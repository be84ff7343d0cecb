#!/usr/bin/env bash
# A local Redis Cluster for labs, demos and tests (DESIGN §8), the cluster
# counterpart of tools/redis-private.sh.
#
#   tools/redis-cluster.sh up DIR [--masters 3] [--replicas 1]
#   tools/redis-cluster.sh status DIR
#   tools/redis-cluster.sh down DIR
#
# `up` starts masters x (1 + replicas) redis-servers on free loopback ports
# (each port and its cluster bus port, port + 10000, free), one directory per
# node (DIR/n1, DIR/n2, ...), every node running the shipped
# configs/redis.conf followed by configs/redis-cluster.conf: AOF, the chot ACL
# users, cluster-enabled, cluster-node-timeout 2000, and replicas logging in
# to their master as chot-repl.  Every CHANGE-ME-<user> placeholder of those
# files gets one fresh password, the same on every node, written to
# DIR/<user>.pass (0600).  The cluster is made with
# `redis-cli --cluster create` as chot-admin; `up` returns once every node
# says cluster_state:ok, knows every other node, and every replica has
# finished its first sync.  Then cluster_post_create runs on every master.
# It prints shell assignments to eval (also kept in DIR/cluster.env):
#   CHOT_REDIS_URL       cluster://127.0.0.1:P1,... (every node, as seeds)
#   CHOT_REDIS_PORT      one master's port (for `redis-cli -c -p`)
#   CHOT_REDIS_NODES, CHOT_REDIS_MASTERS, CHOT_REDIS_REPLICAS  "127.0.0.1:P ..."
#                        (roles as created; `status` shows the current ones)
#   CHOT_REDIS_PIDS, CHOT_REDIS_DIR, and CHOT_<USER>_PASSFILE for each user
#   (ADMIN, INGEST, OPERATOR, REPL).
# usage: eval "$(tools/redis-cluster.sh up DIR)"; ...; tools/redis-cluster.sh down DIR
#
# `down` stops every node of DIR (SIGCONT, then SIGTERM, which is Redis's own
# clean shutdown with an AOF flush; SIGKILL after 15 s) and is idempotent: a
# DIR with nothing running, or no DIR at all, is not an error.  Data stays
# in DIR.  `up` refuses a DIR that already holds a cluster.
#
# Every wait is bounded; a failure names the node and prints its log tail.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
prog=redis-cluster

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	die "usage: redis-cluster.sh up DIR [--masters N] [--replicas R] | status DIR | down DIR"
}

now_ms() { date +%s%3N; }

log_tail() {
	local d=$1
	echo "--- $d/redis.log (last 20 lines) ---" >&2
	tail -n 20 "$d/redis.log" >&2 2>/dev/null || echo "(no log)" >&2
}

# A port is usable when nothing listens on it nor on its bus port, and no
# other node of this cluster already has either.  Bind races are handled by
# start_node, which moves a node whose redis-server cannot bind.
taken=" "
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 25000))
		case "$taken" in *" $p "* | *" $((p + 10000)) "*) continue ;; esac
		if ! port_listening "$p" && ! port_listening $((p + 10000)); then
			taken="$taken$p $((p + 10000)) "
			echo "$p"
			return 0
		fi
	done
	die "no free port pair (P and P+10000) found in 100 tries"
}

# admin_cli PORT ARGS...: redis-cli as chot-admin, at most 5 s.
admin_cli() {
	local p=$1
	shift
	timeout 5 redis-cli -h 127.0.0.1 -p "$p" --user chot-admin --pass "$admin_pw" \
		--no-auth-warning "$@"
}

pid_is_node() {	# PID PORT: the pid is alive and is that node's redis-server
	local args
	args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
	case "$args" in *redis-server*":$2"*) return 0 ;; esac
	return 1
}

# start_node DIR: start the node of DIR/port, wait for PONG (at most 30 s).
# A redis-server that exits at once most likely lost its port to someone
# else between free_port and bind: up to 3 tries on a new port.
start_node() {
	local d=$1 p pid end
	for _ in 1 2 3; do
		p=$(cat "$d/port")
		redis-server "$dir/redis.conf" --port "$p" --bind 127.0.0.1 --dir "$d" \
			--daemonize no --logfile "$d/redis.log" --pidfile "$d/redis.pid" \
			</dev/null >/dev/null 2>&1 &
		pid=$!
		echo "$pid" >"$d/pid"
		end=$(($(now_ms) + 30000))
		while [ "$(now_ms)" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
			if [ "$(admin_cli "$p" ping 2>/dev/null)" = PONG ]; then
				return 0
			fi
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			log_tail "$d"
			die "node $d (port $p, pid $pid) did not answer PING within 30 s"
		fi
		wait "$pid" 2>/dev/null || true
		if ! grep -q "Address already in use" "$d/redis.log" 2>/dev/null; then
			log_tail "$d"
			die "node $d (port $p) exited at start"
		fi
		free_port >"$d/port"
	done
	log_tail "$d"
	die "node $d: no port it could bind in 3 tries"
}

# field TEXT NAME: the value of NAME:value in an INFO / CLUSTER INFO reply.
field() { printf '%s\n' "$1" | tr -d '\r' | sed -n "s/^$2://p"; }

# node_ready PORT TOTAL: cluster_state ok, every node known, every slot
# assigned, and, on a replica, the link to its master up and synced.
node_ready() {
	local info repl
	info=$(admin_cli "$1" cluster info 2>/dev/null) || return 1
	[ "$(field "$info" cluster_state)" = ok ] || return 1
	[ "$(field "$info" cluster_known_nodes)" = "$2" ] || return 1
	[ "$(field "$info" cluster_slots_assigned)" = 16384 ] || return 1
	repl=$(admin_cli "$1" info replication 2>/dev/null) || return 1
	[ "$(field "$repl" role)" = master ] && return 0
	[ "$(field "$repl" master_link_status)" = up ] || return 1
	[ "$(field "$repl" master_sync_in_progress)" = 0 ] || return 1
}

# cluster_post_create PORT: runs once on every master after the cluster is
# made and synced, as chot-admin (admin_cli).  HOOK: whatever chot-admin
# loads at start on a private server (tools/redis-private.sh) goes here, e.g.
#   admin_cli "$1" function load replace "$(cat "$here/configs/audit.lua")"
# Functions are per node: load them on every master (replicas get them
# through replication), and on any master added later.
cluster_post_create() {
	:
}

up_exit() {
	local rc=$?
	[ "$rc" -eq 0 ] || cmd_down "$dir"
}

cmd_up() {
	local masters=3 replicas=1
	dir=${1:-}
	[ -n "$dir" ] || usage
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--masters) masters=${2:-}; shift 2 || usage ;;
		--replicas) replicas=${2:-}; shift 2 || usage ;;
		*) usage ;;
		esac
	done
	if ! [[ "$masters" =~ ^[0-9]+$ ]] || [ "$masters" -lt 3 ]; then
		die "--masters must be a number >= 3 (a cluster needs a majority of masters to fail over), got '$masters'"
	fi
	[[ "$replicas" =~ ^[0-9]+$ ]] || die "--replicas must be a number >= 0, got '$replicas'"
	local total=$((masters * (1 + replicas)))
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ! -e "$dir/n1" ] || die "$dir already holds a cluster: 'down' it and remove it, or use a new DIR"
	command -v redis-server >/dev/null || die "redis-server not found"

	# One config for every node: the shipped files, placeholders replaced.
	umask 077
	local conf_in=("$here/configs/redis.conf" "$here/configs/redis-cluster.conf")
	local users u pw sedargs=()
	users=$(grep -oh 'CHANGE-ME-[a-z0-9-]*' "${conf_in[@]}" | sort -u | sed 's/^CHANGE-ME-//')
	for u in $users; do
		pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
		printf '%s\n' "$pw" >"$dir/$u.pass"
		sedargs+=(-e "s/CHANGE-ME-$u\\b/$pw/g")
	done
	[ -s "$dir/admin.pass" ] || die "configs/redis.conf has no CHANGE-ME-admin placeholder"
	admin_pw=$(cat "$dir/admin.pass")
	# The audit module (CHOT.AUDIT, docs/OPERATIONS.md "The audit trail") on
	# every node, as tools/redis-private.sh loads it: this build's copy.
	local module=${CHOT_AUDIT_MODULE:-${CHOT_BUILD:-$here/build}/redismod/chot_audit.so}
	[ -f "$module" ] || die "no audit module at $module (build first, or set CHOT_AUDIT_MODULE)"
	sed "${sedargs[@]}" -e 's/^user chot-repl off /user chot-repl on /' \
	    -e "s|^loadmodule /usr/lib/chot/chot_audit.so|loadmodule $module|" "${conf_in[@]}" \
		>"$dir/redis.conf"
	! grep -q 'CHANGE-ME-' "$dir/redis.conf" || die "a placeholder password is left in $dir/redis.conf"

	# From here on a failure stops every node already started.
	trap up_exit EXIT
	local i d ports=() pids=()
	for i in $(seq 1 "$total"); do
		d=$dir/n$i
		mkdir -p "$d"
		free_port >"$d/port"
	done
	for i in $(seq 1 "$total"); do
		start_node "$dir/n$i"
		ports+=("$(cat "$dir/n$i/port")")
		pids+=("$(cat "$dir/n$i/pid")")
	done

	# redis-cli makes the first $masters nodes masters and spreads the
	# replicas over them (all on one host: it warns, and goes on).
	local addrs=()
	for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
	if ! timeout 120 redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" \
		--cluster-yes --user chot-admin --pass "$admin_pw" --no-auth-warning \
		>"$dir/create.log" 2>&1; then
		tail -n 30 "$dir/create.log" >&2
		die "redis-cli --cluster create failed (full output: $dir/create.log)"
	fi

	local end pending
	end=$(($(now_ms) + 60000))
	while :; do
		pending=
		for i in $(seq 1 "$total"); do
			node_ready "${ports[$((i - 1))]}" "$total" || pending="$pending n$i"
		done
		[ -z "$pending" ] && break
		if [ "$(now_ms)" -ge "$end" ]; then
			for i in $pending; do
				p=$(cat "$dir/$i/port")
				echo "--- $i (port $p) ---" >&2
				{ admin_cli "$p" cluster info; admin_cli "$p" info replication; } 2>&1 |
					tr -d '\r' | grep -E '^(cluster_state|cluster_known_nodes|cluster_slots_assigned|role|master_link_status|master_sync_in_progress):' >&2 || true
				log_tail "$dir/$i"
			done
			die "cluster not ready within 60 s (not ok or not synced:$pending)"
		fi
		sleep 0.1
	done

	# Roles as the cluster sees them (node 1's CLUSTER NODES), in node order.
	local nodes role mlist="" rlist=""
	nodes=$(admin_cli "${ports[0]}" cluster nodes | tr -d '\r')
	for a in "${addrs[@]}"; do
		role=$(printf '%s\n' "$nodes" | awk -v a="$a" '{ split($2, h, "@") } h[1] == a { print $3 }')
		case ",$role," in
		*,master,*) mlist="$mlist $a" ;;
		*) rlist="$rlist $a" ;;
		esac
	done
	mlist=${mlist# } rlist=${rlist# }
	for a in $mlist; do cluster_post_create "${a##*:}"; done
	# chotd writes with CHOT.APPEND only when every master has it, and a
	# replica promoted later must have it too: every node runs the module.
	for a in "${addrs[@]}"; do
		admin_cli "${a##*:}" command info chot.append | grep -q 'chot.append' ||
			die "node $a has no CHOT.APPEND (chot_audit module not loaded: $module)"
	done

	local seeds first=${mlist%% *}
	seeds="$mlist${rlist:+ $rlist}"
	seeds=${seeds// /,}
	{
		assign CHOT_REDIS_URL "cluster://$seeds"
		assign CHOT_REDIS_PORT "${first##*:}"
		assign CHOT_REDIS_NODES "${addrs[*]}"
		assign CHOT_REDIS_MASTERS "$mlist"
		assign CHOT_REDIS_REPLICAS "$rlist"
		assign CHOT_REDIS_PIDS "${pids[*]}"
		assign CHOT_REDIS_DIR "$dir"
		for u in $users; do
			assign "CHOT_$(echo "$u" | tr 'a-z-' 'A-Z_')_PASSFILE" "$dir/$u.pass"
		done
	} >"$dir/cluster.env"
	cat "$dir/cluster.env"
	trap - EXIT
}

# assign NAME VALUE: NAME='VALUE', single-quoted for eval (and shlex).
assign() { printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }

# The node directories of DIR, in order.
node_dirs() {
	local i=1
	while [ -d "$dir/n$i" ]; do
		echo "$dir/n$i"
		i=$((i + 1))
	done
}

cmd_status() {
	dir=${1:-}
	if [ -z "$dir" ] || [ ! -d "$dir/n1" ]; then
		die "no cluster in '${dir:-}'"
	fi
	admin_pw=$(cat "$dir/admin.pass")
	local d p pid bad=0 info role
	for d in $(node_dirs); do
		p=$(cat "$d/port")
		pid=$(cat "$d/pid" 2>/dev/null || echo -)
		if ! pid_is_node "$pid" "$p"; then
			printf '%s 127.0.0.1:%s pid %s down\n' "${d##*/}" "$p" "$pid"
			bad=1
			continue
		fi
		info=$(admin_cli "$p" cluster info 2>/dev/null || true)
		role=$(field "$(admin_cli "$p" info replication 2>/dev/null || true)" role)
		printf '%s 127.0.0.1:%s pid %s %s cluster_state:%s\n' "${d##*/}" "$p" "$pid" \
			"${role:-?}" "$(field "$info" cluster_state)"
		[ "$(field "$info" cluster_state)" = ok ] || bad=1
	done
	return $bad
}

cmd_down() {
	dir=${1:-}
	[ -n "$dir" ] || usage
	if [ ! -d "$dir" ]; then
		echo "$prog: $dir: nothing to stop" >&2
		return 0
	fi
	local d p pid live=() lports=() end i
	for d in $(node_dirs); do
		p=$(cat "$d/port" 2>/dev/null) || continue
		pid=$(cat "$d/pid" 2>/dev/null) || continue
		if pid_is_node "$pid" "$p"; then
			live+=("$pid")
			lports+=("$p")
			kill -CONT "$pid" 2>/dev/null || true	# a SIGSTOPped node
			kill -TERM "$pid" 2>/dev/null || true
		fi
		rm -f "$d/pid"
	done
	end=$(($(now_ms) + 15000))
	for i in "${!live[@]}"; do
		while pid_is_node "${live[$i]}" "${lports[$i]}"; do
			if [ "$(now_ms)" -ge "$end" ]; then
				echo "$prog: node on port ${lports[$i]} (pid ${live[$i]}) ignored SIGTERM for 15 s: SIGKILL" >&2
				kill -KILL "${live[$i]}" 2>/dev/null || true
				sleep 0.1
				break
			fi
			sleep 0.05
		done
	done
	echo "$prog: stopped ${#live[@]} node(s) of $dir" >&2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
up) cmd_up "$@" ;;
status) cmd_status "$@" ;;
down) cmd_down "$@" ;;
*) usage ;;
esac
