/*
 * CHOT.APPEND (chot_append.c): registered by the chot_audit module's OnLoad,
 * so the one chot_audit.so every redis.conf loads carries both commands.
 */
#ifndef CHOT_REDISMOD_APPEND_H
#define CHOT_REDISMOD_APPEND_H

#include <redismodule.h>

/* Create the command; REDISMODULE_OK or _ERR (logged). */
int chot_append_register(RedisModuleCtx *ctx);

#endif /* CHOT_REDISMOD_APPEND_H */
