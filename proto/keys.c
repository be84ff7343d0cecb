/*
 * The keys file (see keys.h).  It is the root of every secret chot has, so
 * the loader is strict: unknown lines, bad hex and loose permissions are all
 * refused with a reason naming the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"

#define KEYS_MAX_FILE 16384

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int
parse_hex32(const char *s, uint8_t out[32])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (strlen(s) != 64)
		return -1;
	if (sodium_hex2bin(out, 32, s, 64, NULL, &bin_len, &end) != 0 || bin_len != 32 ||
	    *end != '\0')
		return -1;
	return 0;
}

int
keys_parse(const char *text, struct chot_keys *k, char *err, size_t errlen)
{
	const char *p = text;
	unsigned lineno = 0;

	memset(k, 0, sizeof(*k));
	while (*p != '\0') {
		char line[256], *tok[4], *save = NULL, *hash;
		size_t len = strcspn(p, "\n");
		int nt = 0;

		lineno++;
		if (len >= sizeof(line))
			return fail(err, errlen, -EINVAL, "line %u: too long", lineno);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\r", &save); t != NULL;
		     t = strtok_r(NULL, " \t\r", &save)) {
			if (nt == 4)
				return fail(err, errlen, -EINVAL, "line %u: too many fields",
				            lineno);
			tok[nt++] = t;
		}
		if (nt == 0)
			continue;
		if (strcmp(tok[0], "master") == 0) {
			char *end = NULL;
			unsigned long id;

			if (nt != 3)
				return fail(err, errlen, -EINVAL,
				            "line %u: expected 'master <key_id> <64 hex>'", lineno);
			errno = 0;
			id = strtoul(tok[1], &end, 10);
			if (errno != 0 || *end != '\0' || id > 0xffff)
				return fail(err, errlen, -EINVAL, "line %u: bad key_id '%s'",
				            lineno, tok[1]);
			if (keys_master(k, (uint16_t)id) != NULL)
				return fail(err, errlen, -EINVAL, "line %u: duplicate key_id %lu",
				            lineno, id);
			if (k->n_master == KEYS_MAX_MASTER)
				return fail(err, errlen, -EINVAL, "line %u: more than %d masters",
				            lineno, KEYS_MAX_MASTER);
			if (parse_hex32(tok[2], k->master[k->n_master].key) != 0)
				return fail(err, errlen, -EINVAL,
				            "line %u: key is not 64 hex digits", lineno);
			k->master[k->n_master++].id = (uint16_t)id;
		} else if (strcmp(tok[0], "pseudonym") == 0 || strcmp(tok[0], "vault") == 0) {
			bool is_p = tok[0][0] == 'p';

			if (nt != 2)
				return fail(err, errlen, -EINVAL, "line %u: expected '%s <64 hex>'",
				            lineno, tok[0]);
			if ((is_p && k->has_pseudonym) || (!is_p && k->has_vault))
				return fail(err, errlen, -EINVAL, "line %u: duplicate %s key",
				            lineno, tok[0]);
			if (parse_hex32(tok[1], is_p ? k->pseudonym : k->vault) != 0)
				return fail(err, errlen, -EINVAL,
				            "line %u: key is not 64 hex digits", lineno);
			if (is_p)
				k->has_pseudonym = 1;
			else
				k->has_vault = 1;
		} else {
			return fail(err, errlen, -EINVAL, "line %u: unknown entry '%s'", lineno,
			            tok[0]);
		}
	}
	if (k->n_master == 0)
		return fail(err, errlen, -ENOKEY, "no 'master' key");
	if (!k->has_pseudonym)
		return fail(err, errlen, -ENOKEY, "no 'pseudonym' key");
	return 0;
}

int
keys_load(const char *path, struct chot_keys *k, char *err, size_t errlen)
{
	char buf[KEYS_MAX_FILE + 1];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	memset(k, 0, sizeof(*k));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return fail(err, errlen, -EPERM,
		            "%s: mode %03o gives group or others access to the keys; chmod 600 it",
		            path, (unsigned)(st.st_mode & 0777));
	}
	while ((n = read(fd, buf + got, KEYS_MAX_FILE - got)) > 0)
		got += (size_t)n;
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc != 0)
		return fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
	if (got == KEYS_MAX_FILE)
		return fail(err, errlen, -EINVAL, "%s: larger than %d bytes", path, KEYS_MAX_FILE);
	buf[got] = '\0';
	rc = keys_parse(buf, k, err, errlen);
	sodium_memzero(buf, sizeof(buf));
	if (rc != 0 && err != NULL && errlen > 0) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	return rc;
}

void
keys_generate(struct chot_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->n_master = 1;
	k->master[0].id = 1;
	randombytes_buf(k->master[0].key, 32);
	randombytes_buf(k->pseudonym, 32);
	randombytes_buf(k->vault, 32);
	k->has_pseudonym = 1;
	k->has_vault = 1;
}

static void
put_hex(FILE *f, const uint8_t key[32])
{
	char hex[65];

	sodium_bin2hex(hex, sizeof(hex), key, 32);
	fputs(hex, f);
	sodium_memzero(hex, sizeof(hex));
}

int
keys_write(const char *path, const struct chot_keys *k)
{
	FILE *f;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) != 0) { /* umask may have taken bits; be exact */
		rc = -errno;
		close(fd);
		unlink(path);
		return rc;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		rc = -errno;
		close(fd);
		unlink(path);
		return rc;
	}
	fputs("# chot keys file (DESIGN §2). Keep it mode 0600; never commit it.\n", f);
	for (unsigned i = 0; i < k->n_master; i++) {
		fprintf(f, "master %u ", k->master[i].id);
		put_hex(f, k->master[i].key);
		fputc('\n', f);
	}
	if (k->has_pseudonym) {
		fputs("pseudonym ", f);
		put_hex(f, k->pseudonym);
		fputc('\n', f);
	}
	if (k->has_vault) {
		fputs("vault ", f);
		put_hex(f, k->vault);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		unlink(path);
	return rc;
}

const uint8_t *
keys_master(const struct chot_keys *k, uint16_t key_id)
{
	for (unsigned i = 0; i < k->n_master; i++)
		if (k->master[i].id == key_id)
			return k->master[i].key;
	return NULL;
}

void
keys_wipe(struct chot_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}
