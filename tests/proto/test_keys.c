/*
 * The keys file: write/load round trip, permission refusals, O_EXCL, and a
 * table of syntax errors each reported as "line N: ...".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sodium.h>

#include "proto/keys.h"

#define HEX_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX_B "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"

static char tmpdir[64];

static void
mk_tmp(void)
{
	strcpy(tmpdir, "/tmp/chot-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(sodium_init() < 0, 0);
}

static void
rm_tmp(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/keys", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

TestSuite(keys, .init = mk_tmp, .fini = rm_tmp);

Test(keys, write_load_round_trip)
{
	struct chot_keys k, back;
	struct stat st;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/keys", tmpdir);
	keys_generate(&k);
	cr_assert_eq(k.n_master, 1);
	cr_assert_eq(k.master[0].id, 1);
	cr_assert(k.has_pseudonym && k.has_vault, "keys_generate makes all three keys");
	umask(0); /* keys_write must not depend on the caller's umask */
	cr_assert_eq(keys_write(path, &k), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "created mode 0600, got %03o", st.st_mode & 0777);
	cr_assert_eq(keys_load(path, &back, err, sizeof(err)), 0, "load: %s", err);
	cr_assert_eq(back.n_master, 1);
	cr_assert_eq(back.master[0].id, 1);
	cr_assert_eq(memcmp(back.master[0].key, k.master[0].key, 32), 0);
	cr_assert_eq(memcmp(back.pseudonym, k.pseudonym, 32), 0);
	cr_assert_eq(memcmp(back.vault, k.vault, 32), 0);
	cr_assert(back.has_pseudonym && back.has_vault);
	cr_assert_eq(keys_master(&back, 1), back.master[0].key);
	cr_assert_null(keys_master(&back, 2), "no generation 2");
	cr_assert_eq(keys_write(path, &k), -EEXIST, "keys_write never overwrites");
	keys_wipe(&back);
	cr_assert_eq(back.n_master, 0, "wiped");
}

struct mode_case {
	unsigned mode;
	int want;
};

ParameterizedTestParameters(keys, modes)
{
	static struct mode_case cases[] = {
	        {0600, 0},      {0400, 0},      {0640, -EPERM}, {0604, -EPERM}, {0644, -EPERM},
	        {0660, -EPERM}, {0601, -EPERM}, {0610, -EPERM}, {0666, -EPERM},
	};
	return cr_make_param_array(struct mode_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct mode_case *c, keys, modes)
{
	struct chot_keys k;
	char path[128], err[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "master 1 %s\npseudonym %s\n", HEX_A, HEX_B);
	fclose(f);
	cr_assert_eq(chmod(path, c->mode), 0);
	cr_assert_eq(keys_load(path, &k, err, sizeof(err)), c->want, "mode %03o: expected %d (%s)",
	             c->mode, c->want, err);
	if (c->want == -EPERM)
		cr_assert_not_null(strstr(err, "chmod 600"), "the message says what to do: %s",
		                   err);
}

Test(keys, missing_file)
{
	struct chot_keys k;
	char err[256];

	cr_assert_eq(keys_load("/nonexistent/chot/keys", &k, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent/chot/keys"), "names the file: %s", err);
}

struct parse_case {
	char name[32];
	char text[400];
	int want;
	char msg[48]; /* substring of the error */
};

ParameterizedTestParameters(keys, parse)
{
	static struct parse_case cases[] = {
	        {"minimal", "master 1 " HEX_A "\npseudonym " HEX_B "\n", 0, ""},
	        {"comments, blanks, CRLF",
	         "# c\n\n  master 7 " HEX_A "  # gen 7\r\npseudonym " HEX_B "\nvault " HEX_A, 0,
	         ""},
	        {"two generations", "master 1 " HEX_A "\nmaster 2 " HEX_B "\npseudonym " HEX_B, 0,
	         ""},
	        {"no master", "pseudonym " HEX_B "\n", -ENOKEY, "no 'master'"},
	        {"no pseudonym", "master 1 " HEX_A "\nvault " HEX_B "\n", -ENOKEY,
	         "no 'pseudonym'"},
	        {"empty", "", -ENOKEY, "no 'master'"},
	        {"unknown entry", "master 1 " HEX_A "\nsecret " HEX_B "\n", -EINVAL,
	         "line 2: unknown entry"},
	        {"short hex", "master 1 " HEX_A "\npseudonym 00ff\n", -EINVAL,
	         "line 2: key is not 64 hex"},
	        {"bad hex digit",
	         "pseudonym " HEX_B "\nmaster 1 "
	         "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	         -EINVAL, "line 2:"},
	        {"key_id too big", "\n\nmaster 65536 " HEX_A "\n", -EINVAL, "line 3: bad key_id"},
	        {"key_id not a number", "master x " HEX_A "\n", -EINVAL, "line 1: bad key_id"},
	        {"duplicate key_id", "master 1 " HEX_A "\nmaster 1 " HEX_B "\n", -EINVAL,
	         "line 2: duplicate key_id"},
	        {"duplicate pseudonym", "pseudonym " HEX_A "\npseudonym " HEX_B "\n", -EINVAL,
	         "line 2: duplicate"},
	        {"master without key", "master 1\n", -EINVAL, "line 1: expected"},
	        {"extra field", "pseudonym " HEX_A " x\n", -EINVAL, "line 1: expected"},
	};
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, keys, parse)
{
	struct chot_keys k;
	char err[256] = "";
	int rc = keys_parse(c->text, &k, err, sizeof(err));

	cr_assert_eq(rc, c->want, "%s: expected %d, got %d (%s)", c->name, c->want, rc, err);
	if (rc != 0)
		cr_assert_not_null(strstr(err, c->msg), "%s: message '%s' lacks '%s'", c->name, err,
		                   c->msg);
	else
		cr_assert_not_null(keys_master(&k, k.master[0].id));
}
