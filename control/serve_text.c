/*
 * chotctl serve's pure text helpers, unit-tested without a server
 * (tests/control/test_serve_text.c): the JSON string escaping every answer
 * uses, and the --listen parser.
 *
 * JSON strings: the page puts values in the DOM as text, so escaping here
 * only has to keep the JSON valid and inert: quote and backslash escaped,
 * control characters, DEL and < > & as \u00XX (the JSON stays harmless even
 * if some proxy or tool ever shows it as HTML), valid UTF-8 passed through,
 * and each byte that is not part of valid UTF-8 (an overlong form, a
 * surrogate, a stray continuation byte) replaced by U+FFFD, so a hand-written
 * Redis value can never make an answer unparseable.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve_text.h"

/* Length of the valid UTF-8 character at s (at most n bytes), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

void
serve_json_str(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t k = utf8_len(s + i, len - i);

		if (k == 0) {
			fputs("\\ufffd", f);
			i++;
		} else if (k > 1) {
			fwrite(s + i, 1, k, f);
			i += k;
		} else {
			unsigned char c = s[i++];

			/* < > & too: the JSON stays inert even if pasted into HTML. */
			if (c == '"' || c == '\\')
				fprintf(f, "\\%c", c);
			else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&')
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* "127.0.0.1:8311", "[::1]:8311": a numeric address and a port, nothing else. */
int
serve_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *port;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *ai;
	bool bracketed = s[0] == '[';
	size_t hl;
	int rc;

	if (bracketed) {
		const char *e = strchr(s, ']');

		if (e == NULL || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		s++;
		port = e + 2;
	} else {
		port = strrchr(s, ':');
		if (port == NULL)
			return -EINVAL;
		hl = (size_t)(port - s);
		port++;
	}
	if (hl == 0 || hl >= sizeof(host) || port[0] == '\0' || strspn(port, "0123456789") !=
	    strlen(port) || atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if ((strchr(host, ':') != NULL) != bracketed)
		return -EINVAL;   /* IPv6 in brackets, and only IPv6 */
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}
