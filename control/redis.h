/*
 * chotctl's Redis client, for one node (redis://, unix://) or a Redis
 * Cluster (cluster://, DESIGN §8) alike.  Synchronous (an operator's command
 * waits for its answer) but pipelined: ctl_redis_pipe() sends n commands and
 * then reads n replies, one round trip however many keys a lookup needs; on
 * a cluster each node gets its share at once and a MOVED/ASK is followed
 * once.  Replies are flattened into plain string lists so no other file
 * sees a redisReply.  The trace's bulk reads (tens of thousands of GETs of
 * the record strings of proto/layout.h, millions of records) go through
 * ctl_redis_records_stream(): one pipeline per master, all in parallel,
 * records handed over straight from hiredis's reader.  Every wait is
 * bounded (ctl_redis_opts.timeout_ms); an error names the node (host:port)
 * that failed.
 */
#ifndef CHOT_CTL_REDIS_H
#define CHOT_CTL_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_redis;

struct ctl_str {
	char *p;
	size_t len;
};

/* One reply: an array of strings (a bulk string is one element; nil is zero). */
struct ctl_reply {
	struct ctl_str *v;
	size_t n;
	long long integer;
	int is_error;
	char err[128];
};

struct ctl_redis_opts {
	unsigned timeout_ms;    /* connect (at most 3 s) and every read; 0: 10 s */
	bool replicas;          /* cluster: reads from replicas (READONLY) */
};

/*
 * Connect to a URL of proto/redis_url.h (redis://, unix://, cluster://) and
 * AUTH with user/password, or with the URL's user:password@ when password is
 * empty.  On a cluster, read the slot map from the first seed that answers.
 * NULL on failure, with a one-line reason in err; *unavailable is set when
 * the server could not be reached (exit code 3) rather than refusing the
 * credentials.  ctl_redis_open() is ctl_redis_open_opts() with the default
 * options (o == NULL: 10 s timeout, reads from masters).
 */
struct ctl_redis *ctl_redis_open_opts(const char *url, const char *user, const char *password,
				      const struct ctl_redis_opts *o, char *err, size_t errlen,
				      int *unavailable);
struct ctl_redis *ctl_redis_open(const char *url, const char *user, const char *password,
				 char *err, size_t errlen, int *unavailable);
void ctl_redis_close(struct ctl_redis *r);
/* Wrap an already connected socket (no AUTH); the tests' fake servers. NULL on ENOMEM. */
struct ctl_redis *ctl_redis_from_fd(int fd);

/*
 * Send n commands (argv arrays with lengths) in one pipeline and read their
 * replies into out[0..n).  Returns 0, or -EIO with err set when the
 * connection failed (an error *reply* is not a failure: see is_error).
 */
int ctl_redis_pipe(struct ctl_redis *r, size_t n, const int *argc, const char *const *const *argv,
		   const size_t *const *argl, struct ctl_reply *out, char *err, size_t errlen);

/* One command, printf-free: argv with lengths. */
int ctl_redis_cmd(struct ctl_redis *r, int argc, const char *const *argv, const size_t *argl,
		  struct ctl_reply *out, char *err, size_t errlen);

void ctl_reply_free(struct ctl_reply *rep);

/* Writes the i-th key into buf (cap bytes); returns its length (0 < len < cap). */
typedef size_t (*ctl_key_fn)(void *ctx, size_t i, char *buf, size_t cap);
/* One record (len bytes: the stream's rec_len) of the i-th key; 0 or -errno (stops the callbacks). */
typedef int (*ctl_record_fn)(void *ctx, size_t i, const uint8_t *rec, size_t len);
/* The i-th key's records are all handed over; 0 or -errno (stops the callbacks). */
typedef int (*ctl_reply_done_fn)(void *ctx, size_t i);

/*
 * `GET key` for n keys whose values are records of rec_len bytes back to
 * back (proto/layout.h), streamed: commands are written while earlier
 * replies are read (a bounded number in flight per node, so Redis never
 * idles while chotctl decodes).  Each value is split with
 * layout_records_unique(): record_fn sees its records in bytewise order,
 * exact duplicates dropped (counted: ctl_redis_dup_records), the order and
 * the records ZRANGE gave of the sorted-set layout; a missing key has none.
 * rec_len LAYOUT_SUBJECT_RECORD_LEN means week keys: their vault units are
 * taken out first (layout_subject_split), so record_fn sees events only.
 * A value already in order is read where hiredis's reader holds it; one
 * that is not is sorted in a buffer reused for the whole stream.  On a
 * cluster every master (or replica) gets the keys of its slots as its own
 * pipeline, all in parallel; replies that arrive ahead of their turn are
 * held, so records still go to record_fn with the index of their key in
 * key order, and done_fn (may be NULL) is called as each key's records
 * are all handed over.
 * Returns 0; -EACCES with err set when Redis answered an error (err names
 * the key), -EBADMSG when a value is not a whole number of records or has a
 * malformed vault unit (a corrupt key: err names it, ctl_redis_corrupt_values counts it, none of it
 * is handed over) -- the stream is still drained either way, so the
 * connection stays usable; -EIO when the connection failed or timed out; or
 * record_fn's error.
 */
int ctl_redis_records_stream(struct ctl_redis *r, size_t n, size_t rec_len, ctl_key_fn key_fn,
			     ctl_record_fn record_fn, ctl_reply_done_fn done_fn, void *ctx,
			     char *err, size_t errlen);

/* Key i's value, whole: n records of the stream's rec_len bytes at recs. 0 or an error. */
typedef int (*ctl_values_fn)(void *ctx, size_t i, const uint8_t *recs, size_t n);

/*
 * ctl_redis_records_stream() for a reader that needs neither ZRANGE's order
 * nor the duplicates dropped, and takes a key's records in one call: each
 * value goes to values_fn as it is stored (append order, a resent
 * generation's exact duplicates included: the caller drops and counts them)
 * wherever it lands first, with no sort and no copy.  The trace's presence
 * reads: sorting tens of millions of records it groups by pid anyway was a
 * third of a depth-2 trace's CPU.  Consecutive keys of one slot (a site's
 * buckets, p:{site}:b<block>) are asked with one MGET of up to 64 keys,
 * half of Redis's CPU for as many GETs: the callbacks are the same as one
 * GET a key would give (a missing key has none; an MGET answered TRYAGAIN
 * or ASK mid-resharding is asked again key by key), but a key of another
 * type reads as missing where GET would say WRONGTYPE.  Corrupt values,
 * errors, order of keys and done_fn as for ctl_redis_records_stream().
 */
int ctl_redis_values_stream(struct ctl_redis *r, size_t n, size_t rec_len, ctl_key_fn key_fn,
			    ctl_values_fn values_fn, ctl_reply_done_fn done_fn, void *ctx,
			    char *err, size_t errlen);

/*
 * Nested replies (XRANGE, XREAD, EXEC), which ctl_reply flattens away: the
 * reply as a tree, its nodes in pre-order.  An array's n elements follow it;
 * node.next is the index just past a node's subtree, so a reader walks an
 * array's elements with i = v[i].next.  Strings point into the tree's own
 * buffer (NUL-terminated), valid until ctl_tree_free().
 */
enum ctl_node_type { CTL_NODE_NIL, CTL_NODE_STR, CTL_NODE_INT, CTL_NODE_ARR, CTL_NODE_ERR };

struct ctl_node {
	enum ctl_node_type type;
	size_t n;            /* STR/ERR: bytes at p; ARR: elements */
	const char *p;
	long long integer;
	size_t next;
};

struct ctl_tree {
	struct ctl_node *v;  /* v[0] is the reply; NULL after free */
	size_t n;
	char *buf;
};

/* ctl_redis_pipe() with tree replies: 0, -EIO (connection failed), -ENOMEM. */
int ctl_redis_pipe_tree(struct ctl_redis *r, size_t n, const int *argc,
			const char *const *const *argv, const size_t *const *argl,
			struct ctl_tree *out, char *err, size_t errlen);
void ctl_tree_free(struct ctl_tree *t);

/* Commands sent so far (the trace's redis_calls; an MGET is one). */
uint64_t ctl_redis_calls(const struct ctl_redis *r);
/* Exact duplicate records dropped by the streams so far (the trace's dup_records). */
uint64_t ctl_redis_dup_records(const struct ctl_redis *r);
/* Values refused so far for not being a whole number of records. */
uint64_t ctl_redis_corrupt_values(const struct ctl_redis *r);

/*
 * Slot maps read again since the first (cluster://: after a MOVED, or by
 * age every 10 s at most, lazily before a call; 0 for one node).
 */
uint64_t ctl_redis_map_refreshes(const struct ctl_redis *r);

/* cluster://?  And how many masters (1 for one node). */
bool ctl_redis_is_cluster(const struct ctl_redis *r);
unsigned ctl_redis_masters(const struct ctl_redis *r);

#endif /* CHOT_CTL_REDIS_H */
