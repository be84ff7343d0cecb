/*
 * chotctl serve's pure text helpers (serve_text.c): JSON strings, --listen.
 */
#ifndef CHOT_CTL_SERVE_TEXT_H
#define CHOT_CTL_SERVE_TEXT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

/* The JSON string of len bytes at s: quotes, escapes, U+FFFD for bytes
 * that are not valid UTF-8. */
void serve_json_str(FILE *f, const char *s, size_t len);

/* "127.0.0.1:8311" or "[::1]:8311": a numeric address and a port 1..65535,
 * nothing else (no host names: the page binds what the operator wrote).
 * 0 and *ss, *sl; -EINVAL. */
int serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl);

#endif /* CHOT_CTL_SERVE_TEXT_H */
