/*
 * The audited list changes (see lists_write.h).
 *
 * One change is one pipelined round trip after its audit record:
 *   MULTI, HSET|HDEL chot:{lists}:<list> ..., INCR chot:{lists}:version, EXEC
 * All of these keys carry the {lists} hash tag, so on a cluster too the
 * transaction lives in one slot.  `vehicle register` seals the plate as the
 * vault does but keeps it in chot:{lists}:plates, HSET in the same MULTI as
 * the greenlane entry (and HDEL'd with it): the list never names a vehicle
 * whose plate cannot be revealed, and the operator needs no write on the
 * vault (the units in the s: week keys, chotd's alone).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ctl.h"
#include "lists_write.h"
#include "vault.h"

#define RAISE_TRIES 5

/* s as printable ASCII for an audit detail: other bytes and '%' as %XX. */
static void
audit_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '%')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
}

static int
refused(struct ctl_app *app, const char *what, const char *err)
{
	if (strncmp(err, "NOPERM", 6) == 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s refused: Redis user '%s' may not change "
				"the lists (%s); nothing changed", what,
				app->password_file != NULL ? app->user : "default", err);
	return ctl_fail(app, CTL_UNAVAILABLE, "%s failed: %s; nothing changed", what, err);
}

/*
 * MULTI, the n commands, INCR version, EXEC.  0 with *exec (the EXEC reply,
 * one element per command then the INCR; caller frees) or, under a WATCH
 * that fired, 0 with *aborted set and nothing changed; else a CTL_* code.
 */
static int
lists_multi(struct ctl_app *app, const char *what, size_t n, const int *ac,
	    const char *const *const *av, const size_t *const *al, struct ctl_tree *exec,
	    bool *aborted)
{
	static const char *const multi[] = { "MULTI" }, *const execv[] = { "EXEC" };
	static const char *const incr[] = { "INCR", LISTS_VERSION_KEY };
	static const size_t multi_l[] = { 5 }, exec_l[] = { 4 },
			    incr_l[] = { 4, sizeof(LISTS_VERSION_KEY) - 1 };
	size_t total = n + 3;
	int *tac = calloc(total, sizeof(*tac));
	const char *const **tav = calloc(total, sizeof(*tav));
	const size_t **tal = calloc(total, sizeof(*tal));
	struct ctl_tree *t = calloc(total, sizeof(*t));
	int rc = 0;

	*aborted = false;
	memset(exec, 0, sizeof(*exec));
	if (tac == NULL || tav == NULL || tal == NULL || t == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "%s: out of memory; nothing changed", what);
		goto out;
	}
	tac[0] = 1, tav[0] = multi, tal[0] = multi_l;
	for (size_t i = 0; i < n; i++)
		tac[1 + i] = ac[i], tav[1 + i] = av[i], tal[1 + i] = al[i];
	tac[n + 1] = 2, tav[n + 1] = incr, tal[n + 1] = incr_l;
	tac[n + 2] = 1, tav[n + 2] = execv, tal[n + 2] = exec_l;
	if (ctl_redis_pipe_tree(app->redis, total, tac, tav, tal, t, app->err,
				sizeof(app->err)) != 0) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "%s: %s; the change may not have been applied",
			      what, app->err);
		goto out;
	}
	/* A command refused at queue time (NOPERM, wrong arity) aborts the EXEC. */
	for (size_t i = 0; i < total && rc == 0; i++)
		if (t[i].v[0].type == CTL_NODE_ERR)
			rc = refused(app, what, t[i].v[0].p);
	if (rc == 0) {
		if (t[n + 2].v[0].type == CTL_NODE_NIL) {
			*aborted = true;
		} else if (t[n + 2].v[0].type != CTL_NODE_ARR || t[n + 2].v[0].n != n + 1) {
			rc = ctl_fail(app, CTL_UNAVAILABLE, "%s: unexpected EXEC reply", what);
		} else {
			/* An error inside EXEC (WRONGTYPE): MULTI does not roll back, so say so. */
			for (size_t i = 1; i < t[n + 2].n && rc == 0; i = t[n + 2].v[i].next)
				if (t[n + 2].v[i].type == CTL_NODE_ERR)
					rc = ctl_fail(app, CTL_UNAVAILABLE, "%s: %s (the list key "
						      "holds something else; see docs/CHOTCTL.md)",
						      what, t[n + 2].v[i].p);
			if (rc == 0) {
				*exec = t[n + 2];
				t[n + 2] = (struct ctl_tree){ 0 };
			}
		}
	}
out:
	if (t != NULL)
		for (size_t i = 0; i < total; i++)
			ctl_tree_free(&t[i]);
	free(t);
	free(tac);
	free(tav);
	free(tal);
	return rc;
}

/* The integer of EXEC's element i (0-based), or -1. */
static long long
exec_int(const struct ctl_tree *exec, size_t i)
{
	size_t k = 1;

	for (size_t j = 0; j < i && k < exec->n; j++)
		k = exec->v[k].next;
	return k < exec->n && exec->v[k].type == CTL_NODE_INT ? exec->v[k].integer : -1;
}

/* One command in a MULTI: HSET/HDEL key field [value]. */
static int
one_change(struct ctl_app *app, const char *what, const char *const *argv, int argc,
	   long long *result)
{
	size_t argl[4];
	const size_t *al = argl;
	const char *const *av = argv;
	struct ctl_tree exec;
	bool aborted;
	int rc;

	for (int i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	rc = lists_multi(app, what, 1, &argc, &av, &al, &exec, &aborted);
	if (rc != 0)
		return rc;
	if (aborted)  /* no WATCH here: cannot happen */
		return ctl_fail(app, CTL_UNAVAILABLE, "%s: transaction aborted", what);
	if (result != NULL)
		*result = exec_int(&exec, 0);
	ctl_tree_free(&exec);
	return 0;
}

int
ctl_flag(struct ctl_app *app, const uint8_t pid[PID_LEN], enum watch_status status,
	 uint64_t until_ms, const char *note, bool *existed)
{
	char hex[PID_HEX_LEN + 1], val[LISTS_VALUE_MAX], detail[512], esc[400];
	struct watch_entry e = { .status = status };
	uint64_t now = chot_real_ms();
	long long r = 0;
	int rc;

	if ((rc = ctl_connect(app)) != 0)
		return rc;
	chot_pid_hex(hex, pid);
	if (note != NULL && strlen(note) > LISTS_NOTE_MAX)
		return ctl_fail(app, CTL_USAGE, "--note: longer than %d bytes", LISTS_NOTE_MAX);
	if (status != WATCH_NONE) {
		e.set_ms = now;
		e.until_ms = until_ms != 0 ? until_ms : now + lists_watch_default_ms(status);
		snprintf(e.note, sizeof(e.note), "%s", note != NULL ? note : "");
		if (lists_watch_encode(val, sizeof(val), &e) < 0)
			return ctl_fail(app, CTL_USAGE, "flag: the entry does not encode");
	}
	audit_escape(esc, sizeof(esc), note != NULL ? note : "");
	snprintf(detail, sizeof(detail), "status=%s until=%llu note=%s",
		 status == WATCH_NONE ? "clear" : lists_watch_name(status),
		 (unsigned long long)e.until_ms, esc);
	if ((rc = ctl_audit(app, "flag", pid, detail)) != 0)
		return rc;
	if (status == WATCH_NONE) {
		const char *argv[] = { "HDEL", LISTS_WATCH_HASH, hex };

		rc = one_change(app, "flag", argv, 3, &r);
		if (existed != NULL)
			*existed = r == 1;
	} else {
		const char *argv[] = { "HSET", LISTS_WATCH_HASH, hex, val };

		rc = one_change(app, "flag", argv, 4, &r);
		if (existed != NULL)
			*existed = r == 0;   /* HSET counts new fields */
	}
	return rc;
}

int
ctl_flag_raise(struct ctl_app *app, const struct ctl_raise *v, size_t n, uint64_t now_ms,
	       const char *why, struct ctl_raise_result *res)
{
	char (*hex)[PID_HEX_LEN + 1] = calloc(n + 1, sizeof(*hex));
	char (*val)[LISTS_VALUE_MAX] = calloc(n + 1, sizeof(*val));
	char (*detail)[160] = calloc(n + 1, sizeof(*detail));
	const char **argv = calloc(2 * n + 2, sizeof(*argv)), **det = calloc(n + 1, sizeof(*det));
	size_t *argl = calloc(2 * n + 2, sizeof(*argl));
	uint8_t (*pids)[PID_LEN] = calloc(n + 1, PID_LEN);
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (hex == NULL || val == NULL || detail == NULL || argv == NULL || det == NULL ||
	    argl == NULL || pids == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "flag: out of memory; nothing changed");
		goto out;
	}
	if (n == 0 || (rc = ctl_connect(app)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		chot_pid_hex(hex[i], v[i].pid);
	for (int attempt = 0; attempt < RAISE_TRIES; attempt++) {
		static const char *const watch[] = { "WATCH", LISTS_WATCH_HASH };
		static const size_t watch_l[] = { 5, sizeof(LISTS_WATCH_HASH) - 1 };
		int ac[2] = { 2, (int)n + 2 };
		const char *const *av[2] = { watch, argv };
		const size_t *al[2] = { watch_l, argl };
		struct ctl_tree t[2], exec;
		size_t nch = 0, k;
		bool aborted;
		int hac;
		const char *const *hav = argv;
		const size_t *hal = argl;

		argv[0] = "HMGET", argl[0] = 5;
		argv[1] = LISTS_WATCH_HASH, argl[1] = strlen(LISTS_WATCH_HASH);
		for (size_t i = 0; i < n; i++)
			argv[2 + i] = hex[i], argl[2 + i] = PID_HEX_LEN;
		if (ctl_redis_pipe_tree(app->redis, 2, ac, av, al, t, app->err,
					sizeof(app->err)) != 0) {
			rc = ctl_fail(app, CTL_UNAVAILABLE, "flag: %s; nothing changed", app->err);
			goto out;
		}
		if (t[0].v[0].type == CTL_NODE_ERR || t[1].v[0].type == CTL_NODE_ERR ||
		    t[1].v[0].type != CTL_NODE_ARR || t[1].v[0].n != n) {
			rc = refused(app, "flag", t[0].v[0].type == CTL_NODE_ERR ? t[0].v[0].p :
				     t[1].v[0].type == CTL_NODE_ERR ? t[1].v[0].p :
				     "unexpected HMGET reply");
			ctl_tree_free(&t[0]);
			ctl_tree_free(&t[1]);
			goto out;
		}
		memset(res, 0, sizeof(*res));
		k = 1;
		for (size_t i = 0; i < n; i++, k = t[1].v[k].next) {
			const struct ctl_node *nd = &t[1].v[k];
			struct watch_entry old, e = { .status = v[i].status, .set_ms = now_ms };
			bool have = nd->type == CTL_NODE_STR &&
				    lists_watch_decode(nd->p, nd->n, &old) == 0 &&
				    old.until_ms > now_ms;

			if (have && old.status >= v[i].status) {
				res->kept++;
				continue;
			}
			if (have)
				res->raised++;
			else
				res->added++;
			e.until_ms = now_ms + lists_watch_default_ms(v[i].status);
			snprintf(e.note, sizeof(e.note), "%s", why != NULL ? why : "");
			if (lists_watch_encode(val[nch], LISTS_VALUE_MAX, &e) < 0)
				snprintf(val[nch], LISTS_VALUE_MAX, "%s %llu %llu",
					 lists_watch_name(e.status), (unsigned long long)e.set_ms,
					 (unsigned long long)e.until_ms);
			memcpy(pids[nch], v[i].pid, PID_LEN);
			snprintf(detail[nch], sizeof(detail[nch]), "status=%s until=%llu by=%.100s",
				 lists_watch_name(e.status), (unsigned long long)e.until_ms,
				 why != NULL ? why : "");
			det[nch] = detail[nch];
			nch++;
		}
		ctl_tree_free(&t[0]);
		ctl_tree_free(&t[1]);
		if (nch == 0) {
			static const char *const unwatch[] = { "UNWATCH" };
			static const size_t unwatch_l[] = { 7 };
			struct ctl_reply rep;

			if (ctl_redis_cmd(app->redis, 1, unwatch, unwatch_l, &rep, app->err,
					  sizeof(app->err)) == 0)
				ctl_reply_free(&rep);
			goto out;
		}
		if ((rc = ctl_audit_many(app, "flag", (const uint8_t (*)[PID_LEN])pids, nch,
					 det)) != 0)
			goto out;
		/* argv and hex now carry the HSET (the HMGET is answered). */
		argv[0] = "HSET", argl[0] = 4;
		for (size_t i = 0; i < nch; i++) {
			chot_pid_hex(hex[i], pids[i]);
			argv[2 + 2 * i] = hex[i], argl[2 + 2 * i] = PID_HEX_LEN;
			argv[3 + 2 * i] = val[i], argl[3 + 2 * i] = strlen(val[i]);
		}
		hac = 2 + 2 * (int)nch;
		rc = lists_multi(app, "flag", 1, &hac, &hav, &hal, &exec, &aborted);
		if (rc != 0)
			goto out;
		ctl_tree_free(&exec);
		if (!aborted)
			goto out;
		/* The watchlist moved under us: read it again. */
		for (size_t i = 0; i < n; i++)
			chot_pid_hex(hex[i], v[i].pid);
	}
	rc = ctl_fail(app, CTL_UNAVAILABLE, "flag: the watchlist kept changing (%d tries); "
		      "nothing changed", RAISE_TRIES);
out:
	free(hex);
	free(val);
	free(detail);
	free(argv);
	free(det);
	free(argl);
	free(pids);
	return rc;
}

int
ctl_zone_set(struct ctl_app *app, uint32_t commune, enum zone_level level)
{
	char c[16], l[4], detail[64];
	const char *argv[] = { "HSET", LISTS_ZONES_HASH, c, l };
	int rc;

	if (commune < CTL_COMMUNE_MIN || commune > CTL_COMMUNE_MAX || level < ZONE_GREEN ||
	    level > ZONE_RED)
		return ctl_fail(app, CTL_USAGE, "zone set: commune %u or level %d out of range",
				commune, (int)level);
	if ((rc = ctl_connect(app)) != 0)
		return rc;
	snprintf(c, sizeof(c), "%u", commune);
	snprintf(l, sizeof(l), "%d", (int)level);
	snprintf(detail, sizeof(detail), "commune=%u level=%d", commune, (int)level);
	if ((rc = ctl_audit(app, "zone-set", NULL, detail)) != 0)
		return rc;
	return one_change(app, "zone set", argv, 4, NULL);
}

int
ctl_zone_import(struct ctl_app *app, const struct ctl_zone *v, size_t n, const char *source)
{
	const char **argv = calloc(2 + 2 * n, sizeof(*argv));
	size_t *argl = calloc(2 + 2 * n, sizeof(*argl));
	char (*num)[8] = calloc(2 * n + 1, sizeof(*num)), detail[512], esc[400];
	const char *const *av = argv;
	const size_t *al = argl;
	struct ctl_tree exec;
	bool aborted;
	int ac = 2 + 2 * (int)n, rc;

	if (argv == NULL || argl == NULL || num == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "zone import: out of memory; nothing changed");
		goto out;
	}
	if (n == 0 || (rc = ctl_connect(app)) != 0) {
		rc = n == 0 ? 0 : rc;
		goto out;
	}
	argv[0] = "HSET", argl[0] = 4;
	argv[1] = LISTS_ZONES_HASH, argl[1] = strlen(LISTS_ZONES_HASH);
	for (size_t i = 0; i < n; i++) {
		snprintf(num[2 * i], 8, "%u", v[i].commune);
		snprintf(num[2 * i + 1], 8, "%d", (int)v[i].level);
		argv[2 + 2 * i] = num[2 * i], argl[2 + 2 * i] = strlen(num[2 * i]);
		argv[3 + 2 * i] = num[2 * i + 1], argl[3 + 2 * i] = 1;
	}
	audit_escape(esc, sizeof(esc), source != NULL ? source : "");
	snprintf(detail, sizeof(detail), "rows=%zu file=%s", n, esc);
	if ((rc = ctl_audit(app, "zone-import", NULL, detail)) != 0)
		goto out;
	rc = lists_multi(app, "zone import", 1, &ac, &av, &al, &exec, &aborted);
	if (rc == 0)
		ctl_tree_free(&exec);
out:
	free(argv);
	free(argl);
	free(num);
	return rc;
}

int
ctl_vehicle_pid(struct ctl_app *app, const char *plate, uint8_t pid[PID_LEN], char norm[33])
{
	int n, rc;

	n = wire_subject_normalise(SCHEME_GREEN_LANE, plate, strlen(plate), norm);
	if (n < 0)
		return ctl_fail(app, CTL_USAGE, "PLATE: '%s' is not a plate or sticker code (%s; "
				"letters and digits, ' ', '-', '.' ignored, at most 32)", plate,
				chot_reason_name((enum chot_reason)-n));
	if ((rc = ctl_need_keys(app, true)) != 0)
		return rc;
	chot_pseudonym(pid, app->keys.pseudonym, SCHEME_GREEN_LANE, norm, (size_t)n);
	return 0;
}

int
ctl_vehicle_register(struct ctl_app *app, const char *plate, const struct greenlane_entry *e,
		     uint8_t pid_out[PID_LEN])
{
	char norm[33], hex[PID_HEX_LEN + 1], val[LISTS_VALUE_MAX], detail[512];
	uint8_t pid[PID_LEN], sealed[VAULT_MAX_SEALED];
	size_t sl;
	struct ctl_tree exec;
	bool aborted;
	int rc, off;

	if ((rc = ctl_vehicle_pid(app, plate, pid, norm)) != 0)
		return rc;
	if (!app->keys.has_vault)
		return ctl_fail(app, CTL_USAGE, "keys file %s has no vault key: the plate could not "
				"be sealed", app->keys_path);
	if (lists_greenlane_encode(val, sizeof(val), e) < 0)
		return ctl_fail(app, CTL_USAGE, "vehicle register: --route needs 1..%d sites",
				LISTS_ROUTE_MAX);
	if ((rc = ctl_connect(app)) != 0)
		return rc;
	chot_pid_hex(hex, pid);
	off = snprintf(detail, sizeof(detail), "from=%llu to=%llu passengers=%u route=",
		       (unsigned long long)e->from_ms, (unsigned long long)e->to_ms, e->passengers);
	snprintf(detail + off, sizeof(detail) - (size_t)off, "%s", strrchr(val, ' ') + 1);
	if ((rc = ctl_audit(app, "vehicle-register", pid, detail)) != 0)
		return rc;
	/* The entry and its sealed plate in one MULTI: never one without the other. */
	sl = vault_seal(sealed, app->keys.vault, pid, SCHEME_GREEN_LANE, norm, strlen(norm));
	{
		const char *entry[] = { "HSET", LISTS_GREENLANE_HASH, hex, val };
		const char *seal[] = { "HSET", LISTS_PLATES_HASH, hex, (const char *)sealed };
		const size_t entry_l[] = { 4, sizeof(LISTS_GREENLANE_HASH) - 1, PID_HEX_LEN,
					   strlen(val) };
		const size_t seal_l[] = { 4, sizeof(LISTS_PLATES_HASH) - 1, PID_HEX_LEN, sl };
		const int ac[] = { 4, 4 };
		const char *const *av[] = { entry, seal };
		const size_t *al[] = { entry_l, seal_l };

		rc = lists_multi(app, "vehicle register", 2, ac, av, al, &exec, &aborted);
	}
	if (rc != 0)
		return rc;
	ctl_tree_free(&exec);
	if (aborted)  /* no WATCH here: cannot happen */
		return ctl_fail(app, CTL_UNAVAILABLE, "vehicle register: transaction aborted");
	if (pid_out != NULL)
		memcpy(pid_out, pid, PID_LEN);
	return 0;
}

int
ctl_vehicle_revoke(struct ctl_app *app, const char *plate, bool *existed)
{
	char norm[33], hex[PID_HEX_LEN + 1];
	const char *entry[] = { "HDEL", LISTS_GREENLANE_HASH, hex };
	const char *seal[] = { "HDEL", LISTS_PLATES_HASH, hex };
	const size_t entry_l[] = { 4, sizeof(LISTS_GREENLANE_HASH) - 1, PID_HEX_LEN };
	const size_t seal_l[] = { 4, sizeof(LISTS_PLATES_HASH) - 1, PID_HEX_LEN };
	const int ac[] = { 3, 3 };
	const char *const *av[] = { entry, seal };
	const size_t *al[] = { entry_l, seal_l };
	uint8_t pid[PID_LEN];
	struct ctl_tree exec;
	bool aborted;
	int rc;

	if ((rc = ctl_vehicle_pid(app, plate, pid, norm)) != 0 || (rc = ctl_connect(app)) != 0)
		return rc;
	chot_pid_hex(hex, pid);
	if ((rc = ctl_audit(app, "vehicle-revoke", pid, NULL)) != 0)
		return rc;
	rc = lists_multi(app, "vehicle revoke", 2, ac, av, al, &exec, &aborted);
	if (rc != 0)
		return rc;
	if (existed != NULL)
		*existed = exec_int(&exec, 0) == 1;
	ctl_tree_free(&exec);
	if (aborted)
		return ctl_fail(app, CTL_UNAVAILABLE, "vehicle revoke: transaction aborted");
	return 0;
}

int
ctl_list_read(struct ctl_app *app, const char *hash, const char *what, size_t row_size,
	      ctl_list_decode_fn decode, void **rows, size_t *n)
{
	const char *argv[] = { "HGETALL", hash };
	size_t argl[] = { 7, strlen(hash) }, bad = 0;
	struct ctl_reply rep;
	char *v;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = ctl_connect(app)) != 0)
		return rc;
	if (ctl_redis_cmd(app->redis, 2, argv, argl, &rep, app->err, sizeof(app->err)) != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
	if (rep.is_error) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "%s: %s", what, rep.err);
		ctl_reply_free(&rep);
		return rc;
	}
	v = calloc(rep.n / 2 + 1, row_size);
	if (v == NULL) {
		ctl_reply_free(&rep);
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	}
	for (size_t i = 0; i + 1 < rep.n; i += 2) {
		if (decode(&rep.v[i], &rep.v[i + 1], v + *n * row_size) != 0)
			bad++;
		else
			(*n)++;
	}
	ctl_reply_free(&rep);
	if (bad > 0)
		fprintf(stderr, "chotctl: %s: %zu entries do not decode (skipped; proto/lists.h has "
			"the encoding)\n", what, bad);
	*rows = v;
	return 0;
}

int
ctl_list_reveal(struct ctl_app *app, const char *hash, const void *rows, size_t row_size,
		size_t n, char (**ids)[WIRE_SUBJECT_MAX_NUL])
{
	uint8_t (*pids)[PID_LEN];
	int rc;

	*ids = NULL;
	if (!app->keys_given || !app->keys.has_vault || n == 0)
		return 0;
	pids = calloc(n, PID_LEN);
	*ids = calloc(n, sizeof(**ids));
	if (pids == NULL || *ids == NULL) {
		free(pids);
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		memcpy(pids[i], (const char *)rows + i * row_size, PID_LEN);
	rc = hash != NULL ? ctl_reveal_hash(app, hash, (const uint8_t (*)[PID_LEN])pids, n, *ids)
			  : ctl_reveal_now(app, (const uint8_t (*)[PID_LEN])pids, n, *ids);
	free(pids);
	return rc;
}
