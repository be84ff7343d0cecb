/*
 * The write coalescer (coalesce.h): events grouped by key, formatted in RESP
 * on flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "layout.h"
#include "lists.h"
#include "resp.h"
#include "vault.h"

/* One distinct key of the open generation. */
struct kgroup {
	char key[LAYOUT_KEY_MAX];
	uint8_t keylen;
	uint8_t mlen;
	uint32_t slot;          /* its slot in the hash table, to clear on flush */
	uint64_t hash;
	uint32_t n, first, last;/* members, as a list in the member pool */
	uint64_t expire_at;
};

struct kmember {
	uint8_t m[LAYOUT_SITE_MEMBER_LEN];
	uint32_t next;
};

/* The member pool's records an event may add: two, and its vault unit's. */
#define VAULT_UNIT_RECS (LAYOUT_VAULT_UNIT_MAX / LAYOUT_SUBJECT_RECORD_LEN)

/* XADD key MAXLEN ~ N * and 7 field/value pairs: 20 arguments. */
#define ALERT_CMD_MAX 512

struct coalesce {
	unsigned max_events, retention_days, alerts_max;
	uint8_t vault_key[32];
	bool has_vault;

	unsigned events;
	uint32_t *table;        /* open addressing: group index + 1, 0 = empty */
	uint32_t tmask;
	struct kgroup *groups;  /* first-seen order */
	uint32_t ngroups;
	struct kmember *members;
	uint32_t nmembers;
	char *abuf;             /* alert XADDs, already in RESP */
	size_t alen;
	uint32_t *acmd_len;
	uint32_t nalert;
	uint64_t *memo;         /* key hashes whose EXPIREAT went out; 0 = empty */
	uint32_t memo_mask;
	bool chot_append;       /* CHOT.APPEND key expire records: no EXPIREAT, no memo */
};

static uint64_t
key_hash(const char *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)k[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

struct coalesce *
coalesce_create(unsigned max_events, unsigned memo_slots, unsigned retention_days,
		const uint8_t *vault_key)
{
	struct coalesce *co = calloc(1, sizeof(*co));
	uint32_t slots = 64;

	if (co == NULL || max_events == 0)
		goto fail;
	while (slots < 4u * 2 * max_events)   /* two keys an event, load <= 1/4 */
		slots <<= 1;
	co->max_events = max_events;
	co->retention_days = retention_days;
	co->alerts_max = LISTS_ALERTS_MAX_DEFAULT;
	co->abuf = malloc((size_t)max_events * ALERT_CMD_MAX);
	co->acmd_len = malloc((size_t)max_events * sizeof(*co->acmd_len));
	if (co->abuf == NULL || co->acmd_len == NULL)
		goto fail;
	co->tmask = slots - 1;
	co->table = calloc(slots, sizeof(*co->table));
	co->groups = malloc(2 * (size_t)max_events * sizeof(*co->groups));
	co->members = malloc((2 + (vault_key != NULL ? VAULT_UNIT_RECS : 0)) * (size_t)max_events *
			     sizeof(*co->members));
	if (co->table == NULL || co->groups == NULL || co->members == NULL)
		goto fail;
	if (memo_slots != 0) {
		if ((memo_slots & (memo_slots - 1)) != 0)
			goto fail;
		co->memo = calloc(memo_slots, sizeof(*co->memo));
		if (co->memo == NULL)
			goto fail;
		co->memo_mask = memo_slots - 1;
	}
	if (vault_key != NULL) {
		memcpy(co->vault_key, vault_key, 32);
		co->has_vault = true;
	}
	return co;
fail:
	coalesce_destroy(co);
	return NULL;
}

void
coalesce_destroy(struct coalesce *co)
{
	if (co == NULL)
		return;
	free(co->table);
	free(co->groups);
	free(co->members);
	free(co->abuf);
	free(co->acmd_len);
	free(co->memo);
	explicit_bzero(co->vault_key, sizeof(co->vault_key));
	free(co);
}

void
coalesce_set_alerts_max(struct coalesce *co, unsigned max)
{
	co->alerts_max = max != 0 ? max : LISTS_ALERTS_MAX_DEFAULT;
}

void
coalesce_set_chot_append(struct coalesce *co, bool on)
{
	co->chot_append = on;
}

unsigned
coalesce_events(const struct coalesce *co)
{
	return co->events;
}

bool
coalesce_room(const struct coalesce *co, unsigned n)
{
	return co->events + n <= co->max_events;
}

/* Add nrec records of mlen bytes at m to key's group, contiguous in its APPEND. */
static void
group_add(struct coalesce *co, const char *key, size_t keylen, uint64_t expire_at,
	  const uint8_t *m, size_t mlen, size_t nrec)
{
	uint64_t h = key_hash(key, keylen) | 1;   /* never 0: 0 is an empty memo slot */
	uint32_t s = (uint32_t)h & co->tmask;
	struct kgroup *g;

	for (;;) {
		uint32_t gi = co->table[s];

		if (gi == 0) {          /* a new key */
			g = &co->groups[co->ngroups++];
			memcpy(g->key, key, keylen);
			g->keylen = (uint8_t)keylen;
			g->mlen = (uint8_t)mlen;
			g->slot = s;
			g->hash = h;
			g->n = 0;
			g->expire_at = expire_at;
			co->table[s] = co->ngroups;
			break;
		}
		g = &co->groups[gi - 1];
		if (g->hash == h && g->keylen == keylen && memcmp(g->key, key, keylen) == 0)
			break;
		s = (s + 1) & co->tmask;
	}
	for (size_t i = 0; i < nrec; i++) {
		struct kmember *km = &co->members[co->nmembers];

		memcpy(km->m, m + i * mlen, mlen);
		km->next = UINT32_MAX;
		if (g->n++ == 0)
			g->first = co->nmembers;
		else
			co->members[g->last].next = co->nmembers;
		g->last = co->nmembers++;
	}
}

/* --- RESP writing into a buffer reserved in advance (proto/resp.h) --- */

static char *
put_field_u64(char *p, const char *name, uint64_t v)
{
	p = resp_put_bulk(p, name, strlen(name));
	return resp_put_bulk_u64(p, v);
}

/* XADD chot:{alerts} MAXLEN ~ max * ts_ms site pid scheme reasons device origin_commune */
static size_t
alert_cmd(char *out, const struct dp_store_event *se, unsigned max)
{
	const struct scan_event *ev = se->ev;
	const char *scheme = wire_scheme_name(ev->scheme);
	char pid[PID_HEX_LEN + 1], reasons[256], *p = out;
	int rl = chk_mask_names(reasons, sizeof(reasons), se->reasons);

	chot_pid_hex(pid, se->pid);
	p = resp_put_head(p, '*', 20);
	p = resp_put_bulk(p, "XADD", 4);
	p = resp_put_bulk(p, LISTS_ALERTS_STREAM, sizeof(LISTS_ALERTS_STREAM) - 1);
	p = resp_put_bulk(p, "MAXLEN", 6);
	p = resp_put_bulk(p, "~", 1);
	p = resp_put_bulk_u64(p, max);
	p = resp_put_bulk(p, "*", 1);
	p = put_field_u64(p, "ts_ms", ev->ts_ms);
	p = put_field_u64(p, "site", ev->site_id);
	p = resp_put_bulk(p, "pid", 3);
	p = resp_put_bulk(p, pid, PID_HEX_LEN);
	p = resp_put_bulk(p, "scheme", 6);
	p = resp_put_bulk(p, scheme, strlen(scheme));
	p = resp_put_bulk(p, "reasons", 7);
	p = resp_put_bulk(p, reasons, rl > 0 ? (size_t)rl : 0);
	p = put_field_u64(p, "device", se->device_id);
	p = put_field_u64(p, "origin_commune", ev->origin_commune);
	return (size_t)(p - out);
}

int
coalesce_add(struct coalesce *co, const struct dp_store_event *evs, unsigned n)
{
	if (!coalesce_room(co, n))
		return -ENOSPC;
	for (unsigned i = 0; i < n; i++) {
		const struct scan_event *ev = evs[i].ev;
		uint8_t sm[LAYOUT_SUBJECT_MEMBER_LEN], pm[LAYOUT_SITE_MEMBER_LEN];
		char key[LAYOUT_KEY_MAX];
		size_t kl;
		uint32_t week = layout_week(ev->ts_ms), block = layout_block(ev->ts_ms);

		kl = layout_subject_key(key, evs[i].pid, week);
		layout_subject_member(sm, ev->site_id, ev->ts_ms, ev->dir);
		group_add(co, key, kl, layout_week_expire_at(week, co->retention_days), sm,
			  sizeof(sm), 1);
		if (co->has_vault && evs[i].write_vault) {
			/* The vault unit, right after the record, in the same APPEND (layout.h) */
			uint8_t sealed[VAULT_MAX_SEALED], unit[LAYOUT_VAULT_UNIT_MAX];
			size_t sl = vault_seal(sealed, co->vault_key, evs[i].pid, ev->scheme,
					       ev->subject, ev->subject_len);
			size_t ul = layout_vault_unit(unit, sealed, sl);

			group_add(co, key, kl, layout_week_expire_at(week, co->retention_days), unit,
				  LAYOUT_SUBJECT_RECORD_LEN, ul / LAYOUT_SUBJECT_RECORD_LEN);
		}
		kl = layout_site_key(key, ev->site_id, block);
		layout_site_member(pm, evs[i].pid, ev->ts_ms, ev->dir);
		group_add(co, key, kl, layout_block_expire_at(block, co->retention_days), pm,
			  sizeof(pm), 1);
		if (evs[i].reasons != 0) {
			size_t len = alert_cmd(co->abuf + co->alen, &evs[i], co->alerts_max);

			co->alen += len;
			co->acmd_len[co->nalert++] = (uint32_t)len;
		}
	}
	co->events += n;
	return 0;
}

static int
resp_reserve(struct resp_out *out, size_t bytes, uint32_t cmds)
{
	if (out->len + bytes > out->cap) {
		size_t ncap = out->cap != 0 ? out->cap : 4096;
		char *nb;

		while (ncap < out->len + bytes)
			ncap *= 2;
		nb = realloc(out->buf, ncap);
		if (nb == NULL)
			return -ENOMEM;
		out->buf = nb;
		out->cap = ncap;
	}
	if (out->ncmds + cmds > out->cmd_cap) {
		uint32_t ncap = out->cmd_cap != 0 ? out->cmd_cap : 256;
		uint32_t *nl;

		while (ncap < out->ncmds + cmds)
			ncap *= 2;
		nl = realloc(out->cmd_len, ncap * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		out->cmd_len = nl;
		out->cmd_cap = ncap;
	}
	return 0;
}

static char *
put_expireat(char *p, const struct kgroup *g)
{
	p = resp_put_head(p, '*', 3);
	p = resp_put_bulk(p, "EXPIREAT", 8);
	p = resp_put_bulk(p, g->key, g->keylen);
	return resp_put_bulk_u64(p, g->expire_at);
}

#define EXPIREAT_MAX (32 + LAYOUT_KEY_MAX + 24)

/* "*3\r\n$6\r\nAPPEND\r\n$NN\r\n" + "\r\n$<20 digits>\r\n" + "\r\n", less the key */
#define APPEND_HEAD_MAX (16 + 25 + 25)

/* "*4\r\n$11\r\nCHOT.APPEND\r\n$NN\r\n" + "\r\n" + "$NN\r\n<20 digits>\r\n"
 * + "$<20 digits>\r\n" + "\r\n", less the key */
#define CHOT_APPEND_HEAD_MAX (22 + 8 + 30 + 25)

/* The group's records back to back, as one bulk string (layout.h). */
static char *
put_records(char *p, const struct coalesce *co, const struct kgroup *g)
{
	p = resp_put_head(p, '$', (uint64_t)g->n * g->mlen);
	for (uint32_t m = g->first; m != UINT32_MAX; m = co->members[m].next) {
		memcpy(p, co->members[m].m, g->mlen);
		p += g->mlen;
	}
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* CHOT.APPEND key <expire_at> <records> */
static char *
put_chot_append(char *p, const struct coalesce *co, const struct kgroup *g)
{
	p = resp_put_head(p, '*', 4);
	p = resp_put_bulk(p, "CHOT.APPEND", 11);
	p = resp_put_bulk(p, g->key, g->keylen);
	p = resp_put_bulk_u64(p, g->expire_at);
	return put_records(p, co, g);
}

/* The alerts after the groups' commands (ending at p), then an empty
 * generation. */
static void
flush_end(struct coalesce *co, struct resp_out *out, char *p)
{
	if (co->nalert != 0) {
		memcpy(p, co->abuf, co->alen);
		p += co->alen;
		memcpy(out->cmd_len + out->ncmds, co->acmd_len,
		       co->nalert * sizeof(*co->acmd_len));
		out->ncmds += co->nalert;
	}
	out->len = (size_t)(p - out->buf);
	co->ngroups = 0;
	co->nmembers = 0;
	co->alen = 0;
	co->nalert = 0;
	co->events = 0;
}

/* With the module (coalesce_set_chot_append): one CHOT.APPEND a key, its
 * expiry inside, so no EXPIREAT, nothing for the memo, no repairs. */
static int
flush_chot_append(struct coalesce *co, struct resp_out *out)
{
	size_t bytes = co->alen;
	char *p;

	for (uint32_t i = 0; i < co->ngroups; i++)
		bytes += CHOT_APPEND_HEAD_MAX + co->groups[i].keylen +
			 (size_t)co->groups[i].n * co->groups[i].mlen;
	if (resp_reserve(out, bytes, co->ngroups + co->nalert) != 0)
		return -ENOMEM;
	p = out->buf + out->len;
	for (uint32_t i = 0; i < co->ngroups; i++) {
		const struct kgroup *g = &co->groups[i];
		char *start = p;

		p = put_chot_append(p, co, g);
		out->cmd_len[out->ncmds++] = (uint32_t)(p - start);
		co->table[g->slot] = 0;
	}
	flush_end(co, out, p);
	return 0;
}

int
coalesce_flush(struct coalesce *co, struct resp_out *out, struct resp_out *repair)
{
	size_t bytes = co->alen;
	uint32_t nrep = 0;
	char *p, *q;

	if (co->chot_append)
		return flush_chot_append(co, out);
	for (uint32_t i = 0; i < co->ngroups; i++) {
		struct kgroup *g = &co->groups[i];

		/* APPEND head, key, one bulk of n records, then an EXPIREAT */
		bytes += APPEND_HEAD_MAX + g->keylen + (size_t)g->n * g->mlen + EXPIREAT_MAX;
		if (co->memo != NULL && co->memo[g->hash & co->memo_mask] == g->hash)
			nrep++;
	}
	if (resp_reserve(out, bytes, 2 * co->ngroups + co->nalert) != 0 ||
	    resp_reserve(repair, (size_t)nrep * EXPIREAT_MAX, nrep) != 0)
		return -ENOMEM;
	p = out->buf + out->len;
	q = nrep != 0 ? repair->buf + repair->len : NULL;
	for (uint32_t i = 0; i < co->ngroups; i++) {
		const struct kgroup *g = &co->groups[i];
		char *start = p;

		/* APPEND key <records> */
		p = resp_put_head(p, '*', 3);
		p = resp_put_bulk(p, "APPEND", 6);
		p = resp_put_bulk(p, g->key, g->keylen);
		p = put_records(p, co, g);
		out->cmd_len[out->ncmds++] = (uint32_t)(p - start);
		if (co->memo != NULL && co->memo[g->hash & co->memo_mask] == g->hash) {
			start = q;
			q = put_expireat(q, g);
			repair->cmd_len[repair->ncmds++] = (uint32_t)(q - start);
		} else {
			start = p;
			p = put_expireat(p, g);
			out->cmd_len[out->ncmds++] = (uint32_t)(p - start);
			if (co->memo != NULL)
				co->memo[g->hash & co->memo_mask] = g->hash;
		}
		co->table[g->slot] = 0;
	}
	flush_end(co, out, p);
	if (nrep != 0)
		repair->len = (size_t)(q - repair->buf);
	return 0;
}

/* Parse "$<n>\r\n" at *p (end e): n, and *p moved past it; -1 if malformed. */
static long
bulk_head(const char **p, const char *e)
{
	const char *q = *p;
	long n = 0;

	if (q >= e || *q != '$')
		return -1;
	for (q++; q < e && *q >= '0' && *q <= '9' && n < (1L << 30); q++)
		n = n * 10 + (*q - '0');
	if (e - q < 2 || q[0] != '\r' || q[1] != '\n')
		return -1;
	*p = q + 2;
	return n;
}

/* Skip one bulk string at *p; 0, or -1 if malformed. */
static int
bulk_skip(const char **p, const char *e)
{
	long n = bulk_head(p, e);

	if (n < 0 || e - *p < n + 2)
		return -1;
	*p += n + 2;
	return 0;
}

uint32_t
coalesce_cmd_events(const char *cmd, size_t len)
{
	static const char head[] = "*3\r\n$6\r\nAPPEND\r\n";
	static const char chead[] = "*4\r\n$11\r\nCHOT.APPEND\r\n";
	const char *p, *e = cmd + len;
	bool chot;
	long kl, n;

	if (len >= sizeof(head) - 1 && memcmp(cmd, head, sizeof(head) - 1) == 0) {
		p = cmd + sizeof(head) - 1;
		chot = false;
	} else if (len >= sizeof(chead) - 1 && memcmp(cmd, chead, sizeof(chead) - 1) == 0) {
		p = cmd + sizeof(chead) - 1;
		chot = true;
	} else {
		return 0;
	}
	/* The key: a subject timeline's (s:...), then CHOT.APPEND's expire_at. */
	kl = bulk_head(&p, e);
	if (kl < 2 || e - p < kl + 2 || p[0] != 's' || p[1] != ':')
		return 0;
	p += kl + 2;
	if (chot && bulk_skip(&p, e) != 0)
		return 0;
	n = bulk_head(&p, e);
	if (n <= 0 || e - p < n)
		return 0;
	n = layout_subject_count((const uint8_t *)p, (size_t)n);  /* its vault unit is no event */
	return n > 0 ? (uint32_t)n : 0;
}

void
coalesce_forget(struct coalesce *co)
{
	if (co->memo != NULL)
		memset(co->memo, 0, ((size_t)co->memo_mask + 1) * sizeof(*co->memo));
}

int
resp_out_append(struct resp_out *dst, const struct resp_out *src)
{
	if (src->ncmds == 0)
		return 0;
	if (resp_reserve(dst, src->len, src->ncmds) != 0)
		return -ENOMEM;
	memcpy(dst->buf + dst->len, src->buf, src->len);
	memcpy(dst->cmd_len + dst->ncmds, src->cmd_len, src->ncmds * sizeof(*src->cmd_len));
	dst->len += src->len;
	dst->ncmds += src->ncmds;
	return 0;
}

void
resp_out_free(struct resp_out *out)
{
	free(out->buf);
	free(out->cmd_len);
	memset(out, 0, sizeof(*out));
}
