#!/usr/bin/env bash
# Start a private redis-server with the shipped configs/redis.conf on a free
# loopback port, in directory DIR, with fresh passwords for the chot ACL
# users and this build's audit module ($CHOT_AUDIT_MODULE, else
# ${CHOT_BUILD:-build}/redismod/chot_audit.so).  Prints shell assignments to eval:
#   CHOT_REDIS_PORT, CHOT_REDIS_PID, CHOT_REDIS_DIR and, for each of admin,
#   ingest and operator, CHOT_<USER>_PASSFILE (a 0600 file with the password).
# usage: eval "$(tools/redis-private.sh DIR)"; ...; kill "$CHOT_REDIS_PID"
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: redis-private.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "redis-private: no free port" >&2
	return 1
}

module=${CHOT_AUDIT_MODULE:-${CHOT_BUILD:-$here/build}/redismod/chot_audit.so}
if [ ! -f "$module" ]; then
	echo "redis-private: no audit module at $module (build first, or set CHOT_AUDIT_MODULE)" >&2
	exit 1
fi
umask 077
declare -A pass
for u in admin ingest operator; do
	pass[$u]=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	printf '%s\n' "${pass[$u]}" >"$dir/$u.pass"
done
sed -e "s/>CHANGE-ME-admin/>${pass[admin]}/" \
    -e "s/>CHANGE-ME-ingest/>${pass[ingest]}/" \
    -e "s/>CHANGE-ME-operator/>${pass[operator]}/" \
    -e "s|^loadmodule /usr/lib/chot/chot_audit.so|loadmodule $module|" \
    "$here/configs/redis.conf" >"$dir/redis.conf"
port=$(free_port)
redis-server "$dir/redis.conf" --port "$port" --dir "$dir" --daemonize yes \
	--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
for _ in $(seq 1 100); do
	if redis-cli -p "$port" --user chot-admin --pass "${pass[admin]}" --no-auth-warning \
		ping 2>/dev/null | grep -q PONG; then
		echo "CHOT_REDIS_PORT=$port"
		echo "CHOT_REDIS_PID=$(cat "$dir/redis.pid")"
		echo "CHOT_REDIS_DIR=$dir"
		echo "CHOT_ADMIN_PASSFILE=$dir/admin.pass"
		echo "CHOT_INGEST_PASSFILE=$dir/ingest.pass"
		echo "CHOT_OPERATOR_PASSFILE=$dir/operator.pass"
		exit 0
	fi
	sleep 0.05
done
echo "redis-private: redis-server did not start; see $dir/redis.log" >&2
exit 1
