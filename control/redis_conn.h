/*
 * One connection of chotctl to one Redis node (redis_conn.c), below the
 * client of redis.h.  The socket is ours (connect and every wait bounded by
 * a timeout, so a stopped or unreachable node can never hang chotctl); the
 * replies are parsed by hiredis's public reader (redisReader), either into
 * flattened ctl_replies or streamed to callbacks with no allocation per
 * member.  redis_conn.c is the only control-side file that includes
 * hiredis.h.
 */
#ifndef CHOT_CTL_REDIS_CONN_H
#define CHOT_CTL_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "redis.h"
#include "redis_url.h"
#include "slot.h"

struct ctl_conn;

/*
 * Connect to ep (TCP; IPv4, IPv6 or a name) or, when ep is NULL, to the unix
 * socket path, within timeout_ms.  NULL with the reason in err.
 */
struct ctl_conn *ctl_conn_open(const struct redis_endpoint *ep, const char *path,
			       unsigned timeout_ms, char *err, size_t errlen);
/* Take over a connected socket (the tests' fake servers). NULL on ENOMEM. */
struct ctl_conn *ctl_conn_from_fd(int fd);
void ctl_conn_close(struct ctl_conn *c);

/* Name c after ep (a socket taken over with ctl_conn_from_fd). */
void ctl_conn_name_as(struct ctl_conn *c, const struct redis_endpoint *ep);

/* "host:port", "[v6]:port" or the socket path. */
const char *ctl_conn_name(const struct ctl_conn *c);
int ctl_conn_fd(const struct ctl_conn *c);

/* Write all len bytes, waiting at most timeout_ms for room. 0 or -EIO/-ETIMEDOUT (err set). */
int ctl_conn_send(struct ctl_conn *c, const char *buf, size_t len, unsigned timeout_ms,
		  char *err, size_t errlen);
/* Write what fits now. Bytes written (>= 0) or -EIO. */
long ctl_conn_send_some(struct ctl_conn *c, const char *buf, size_t len);

/* Read one reply into out, waiting at most timeout_ms. 0 or -EIO/-ETIMEDOUT/-ENOMEM (err set). */
int ctl_conn_reply(struct ctl_conn *c, struct ctl_reply *out, unsigned timeout_ms, char *err,
		   size_t errlen);

/* Read one reply into a tree (redis.h). 0 or -EIO/-ETIMEDOUT/-ENOMEM (err set). */
int ctl_conn_reply_tree(struct ctl_conn *c, struct ctl_tree *out, unsigned timeout_ms,
			char *err, size_t errlen);

/* Read one CLUSTER SLOTS reply into *m (slot.h). 0, -EINVAL (bad reply) or -EIO/-ETIMEDOUT. */
int ctl_conn_slots(struct ctl_conn *c, const char *default_host, struct slot_map *m,
		   unsigned timeout_ms, char *err, size_t errlen);

/* Streamed replies: the shape of each reply goes to these callbacks. */
enum ctl_top { CTL_TOP_ARRAY, CTL_TOP_STRING, CTL_TOP_NIL, CTL_TOP_ERROR, CTL_TOP_OTHER };

struct ctl_conn_stream {
	/*
	 * A reply starts: its kind, and for an error or a bulk string its bytes
	 * (in the reader's buffer: valid during this call only, since hiredis
	 * compacts its buffer before end() is called); for an array, len is
	 * its number of elements.
	 */
	void (*top)(void *ctx, enum ctl_top kind, const char *s, size_t len);
	/*
	 * One element of the array, as top() describes a reply (an MGET's nil
	 * element is CTL_TOP_NIL); a nested array's elements follow it as
	 * members too.
	 */
	void (*member)(void *ctx, enum ctl_top kind, const char *s, size_t len);
	/* The reply is complete. < 0 stops ctl_conn_stream_recv with that value. */
	int (*end)(void *ctx);
};

/* Parse what arrives from now on with fns (until ctl_conn_stream_off). */
void ctl_conn_stream_on(struct ctl_conn *c, const struct ctl_conn_stream *fns, void *ctx);
void ctl_conn_stream_off(struct ctl_conn *c);

/*
 * Read what the socket holds (not waiting) and hand every complete reply to
 * the callbacks.  1 read something, 0 nothing to read, -EIO (closed, or not
 * RESP: ctl_conn_error() says which) or end()'s error.
 */
int ctl_conn_stream_recv(struct ctl_conn *c);

/* Why the connection failed last ("connection closed", "Protocol error ..."). */
const char *ctl_conn_error(const struct ctl_conn *c);

#endif /* CHOT_CTL_REDIS_CONN_H */
