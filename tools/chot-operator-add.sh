#!/usr/bin/env bash
# Create (or reset) a personal operator's Redis ACL user from the
# chot-operator template, so that the audit trail's "who" is that person
# (DESIGN §4; docs/OPERATIONS.md, "The audit trail").
#
# usage: tools/chot-operator-add.sh NAME PASSFILE
#
#   NAME      the operator's user name: 1-32 of [a-z0-9._-], starting a-z;
#             not "default" and not a chot-* service user.
#   PASSFILE  where the new password goes (mode 0600, not overwritten);
#             hand it to the person, who runs
#             chotctl --user NAME --password-file PASSFILE ...
#
# The rules are copied from the running server's chot-operator user (ACL
# LIST), so the template in configs/redis.conf stays the single source.
# The new user is then persisted with CONFIG REWRITE (redis.conf must be
# writable by the server); without that it would vanish at the next restart.
#
# Connection, as tools/redis-private.sh prints it:
#   CHOT_REDIS_HOST (127.0.0.1), CHOT_REDIS_PORT (6379),
#   CHOT_ADMIN_PASSFILE (required: chot-admin's password file).
# Exit: 0 created, 1 Redis refused or failed, 2 usage.
set -euo pipefail

usage() {
	echo "usage: chot-operator-add.sh NAME PASSFILE" >&2
	echo "chot-operator-add.sh: $1" >&2
	exit 2
}

[ $# -eq 2 ] || usage "expected NAME and PASSFILE"
name=$1
passfile=$2
[[ $name =~ ^[a-z][a-z0-9._-]{0,31}$ ]] ||
	usage "'$name': a name is 1-32 of [a-z0-9._-], starting a-z"
[[ $name != default && $name != chot-* ]] ||
	usage "'$name' is reserved (default and chot-* are service users)"
[ ! -e "$passfile" ] || usage "$passfile exists; not overwriting a password"
: "${CHOT_ADMIN_PASSFILE:?chot-operator-add.sh: set CHOT_ADMIN_PASSFILE}"

cli=(redis-cli -h "${CHOT_REDIS_HOST:-127.0.0.1}" -p "${CHOT_REDIS_PORT:-6379}"
	--user chot-admin --pass "$(head -n1 "$CHOT_ADMIN_PASSFILE")" --no-auth-warning)

fail() {
	echo "chot-operator-add.sh: $1" >&2
	exit 1
}

# "user chot-operator on sanitize-payload #<hash> resetchannels %R~s:* ... +@read ..."
template=$("${cli[@]}" ACL LIST | grep '^user chot-operator ' || true)
[ -n "$template" ] || fail "no chot-operator user on the server to copy (configs/redis.conf)"
rules=()
for tok in $template; do
	case $tok in
	user | chot-operator | on | off | nopass | resetpass | '#'* | '>'* | '<'* | '!'*) ;;
	*) rules+=("$tok") ;;
	esac
done

umask 077
pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
( set -o noclobber; printf '%s\n' "$pw" >"$passfile" ) || fail "cannot write $passfile"
out=$("${cli[@]}" ACL SETUSER "$name" reset "${rules[@]}" ">$pw" on 2>&1) || true
[ "$out" = OK ] || { rm -f "$passfile"; fail "ACL SETUSER $name: $out"; }
out=$("${cli[@]}" CONFIG REWRITE 2>&1) || true
[ "$out" = OK ] ||
	fail "user $name works until the next restart but is not saved (CONFIG REWRITE: $out); add it to redis.conf by hand"
echo "chot-operator-add.sh: user $name created from chot-operator; password in $passfile"
