/*
 * chotctl serve's pure text helpers (control/serve_text.c): JSON string
 * escaping of hostile and broken values, and the strict --listen parser.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_text.h"

/* Values, not pointers: Criterion runs each case in a fresh process whose
 * string literals need not sit where the parent's did. */
struct json_case {
	char in[48];
	size_t len;
	char want[96];
};

static char *
json_of(const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	serve_json_str(f, s, len);
	fclose(f);
	return buf;
}

#define J(s, w) { s, sizeof(s) - 1, w }
static struct json_case json_cases[] = {
	J("", "\"\""),
	J("Chợ Đồng Xuân", "\"Chợ Đồng Xuân\""),
	J("<script>x</script>", "\"\\u003cscript\\u003ex\\u003c/script\\u003e\""),
	J("<img src=x onerror=alert(1)>", "\"\\u003cimg src=x onerror=alert(1)\\u003e\""),
	J("a\"b\\c", "\"a\\\"b\\\\c\""),
	J("tab\tcr\rnl\n", "\"tab\\u0009cr\\u000dnl\\u000a\""),
	J("a&b", "\"a\\u0026b\""),
	J("\x7f", "\"\\u007f\""),
	J("\xc0\xaf", "\"\\ufffd\\ufffd\""),              /* overlong '/' */
	J("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),    /* a surrogate */
	J("\xe1\xbb", "\"\\ufffd\\ufffd\""),               /* cut short */
	J("\x80z", "\"\\ufffdz\""),                        /* stray continuation */
	J("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),  /* above U+10FFFF */
	J("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),     /* 4-byte UTF-8 passes */
	{ "a\0b", 3, "\"a\\u0000b\"" },
};

ParameterizedTestParameters(serve_text, json_str)
{
	return cr_make_param_array(struct json_case, json_cases,
				   sizeof(json_cases) / sizeof(json_cases[0]));
}

ParameterizedTest(struct json_case *c, serve_text, json_str)
{
	char *got = json_of(c->in, c->len);

	cr_expect_str_eq(got, c->want, "JSON of %zu bytes: got %s, want %s", c->len, got,
			 c->want);
	free(got);
}

struct listen_case {
	char in[32];
	int family;   /* 0: refused */
	char addr[48];
	int port;
};

static struct listen_case listen_cases[] = {
	{ "127.0.0.1:8311", AF_INET, "127.0.0.1", 8311 },
	{ "0.0.0.0:1", AF_INET, "0.0.0.0", 1 },
	{ "[::1]:8311", AF_INET6, "::1", 8311 },
	{ "[::]:65535", AF_INET6, "::", 65535 },
	{ "localhost:8311", 0, "", 0 },    /* names are not resolved */
	{ "127.0.0.1", 0, "", 0 },
	{ "127.0.0.1:", 0, "", 0 },
	{ ":8311", 0, "", 0 },
	{ "127.0.0.1:0", 0, "", 0 },
	{ "127.0.0.1:65536", 0, "", 0 },
	{ "127.0.0.1:+80", 0, "", 0 },
	{ "127.0.0.1:80x", 0, "", 0 },
	{ "::1:8311", 0, "", 0 },          /* IPv6 needs brackets */
	{ "[::1]8311", 0, "", 0 },
	{ "[::1:8311", 0, "", 0 },
	{ "300.0.0.1:80", 0, "", 0 },
	{ "[127.0.0.1]:80", 0, "", 0 },
};

ParameterizedTestParameters(serve_text, listen_addr)
{
	return cr_make_param_array(struct listen_case, listen_cases,
				   sizeof(listen_cases) / sizeof(listen_cases[0]));
}

ParameterizedTest(struct listen_case *c, serve_text, listen_addr)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc = serve_parse_listen(c->in, &ss, &sl);

	if (c->family == 0) {
		cr_expect_neq(rc, 0, "--listen '%s' should be refused", c->in);
		return;
	}
	cr_assert_eq(rc, 0, "--listen '%s' refused", c->in);
	cr_assert_eq(ss.ss_family, c->family, "'%s': family %d", c->in, ss.ss_family);
	if (c->family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		cr_expect_eq(ntohs(in->sin_port), c->port, "'%s': port %d", c->in, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in->sin6_addr, addr, sizeof(addr));
		cr_expect_eq(ntohs(in->sin6_port), c->port, "'%s': port %d", c->in,
			     ntohs(in->sin6_port));
	}
	cr_expect_str_eq(addr, c->addr, "'%s': address %s", c->in, addr);
}
