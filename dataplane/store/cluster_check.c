/*
 * The start-up check on a cluster (dp_store_check, store.h): blocking, data
 * neutral, the cluster counterpart of store_redis_check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_slots.h"
#include "slot.h"
#include "store_impl.h"

/*
 * The start-up check on a cluster (dp_store_check): the slot map from the
 * first seed that answers, then the single-node check (store_redis_check)
 * on every master.  A probe key lives on one master only; on the others the
 * probe gets MOVED, which Redis sends only after the ACL let the command
 * through, so the check there proves the same thing.  CHOT.APPEND is used
 * only when every master has it (each store_redis_check can only clear
 * caps->chot_append): a master without the module would refuse the writes
 * of its slots.
 */
int
store_cluster_check(const struct dp_store_conf *conf, const struct redis_url *u,
		    unsigned timeout_ms, struct dp_store_caps *caps, char *err, size_t errlen)
{
	const char *user = conf->user != NULL ? conf->user : u->user;
	const char *pw = conf->password != NULL ? conf->password : u->password;
	struct slot_map *m = calloc(1, sizeof(*m));
	char why[256], node[300];
	int rc = -ECONNREFUSED;

	if (m == NULL)
		return -ENOMEM;
	snprintf(err, errlen, "no seed of the cluster answered");
	for (unsigned i = 0; i < u->nseeds; i++) {
		rc = cl_slots_fetch_blocking(&u->seeds[i], user, pw, timeout_ms, m, why, sizeof(why));
		if (rc == 0)
			break;
		snprintf(err, errlen, "redis cluster seed %s: %s",
			 redis_endpoint_format(&u->seeds[i], node, sizeof(node)), why);
		if (rc == -EACCES || rc == -EPERM)
			break;
	}
	snprintf(caps->why, sizeof(caps->why), "every master runs CHOT.APPEND");
	for (unsigned i = 0; rc == 0 && i < m->nshards; i++) {
		struct redis_url *su = calloc(1, sizeof(*su));

		if (su == NULL) {
			rc = -ENOMEM;
			break;
		}
		*su = *u;            /* the URL's credentials, one node */
		su->kind = REDIS_URL_TCP;
		su->nseeds = 1;
		su->seeds[0] = m->shards[i].master.ep;
		rc = store_redis_check(conf, su, timeout_ms, caps, err, errlen);
		explicit_bzero(su, sizeof(*su));
		free(su);
	}
	explicit_bzero(why, sizeof(why));
	free(m);
	return rc;
}
