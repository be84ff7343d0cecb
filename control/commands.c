/*
 * chotctl's commands, one row each (DESIGN §5 and §9), and the dispatch
 * that reads the table: the way grout registers CLI contexts and Redis's
 * config.c keeps one row per key.  --help is generated from the rows, so
 * the list operators see is the list chotctl runs.
 *
 * Rows without a handler are the commands of DESIGN §9 not built yet; they
 * answer "not implemented in this release" (exit 2), so adding one is
 * filling in .run.  A two-word name ("sites import") makes "sites" a group:
 * `chotctl sites --help` lists its verbs.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"

static const struct ctl_command commands[] = {
	{
		.name = "trace", .run = cmd_trace, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 1, .args = "SUBJECT",
		.synopsis = "SUBJECT|--pid HEX [--scheme S] [--days 14] [--until T] [--depth 1|2]\n"
			    "[--window 15m] [--min-overlap 0] [--limit N]",
		.summary = "F0's visits, then F1 and F2, ranked by overlap",
		.help = "F0's visits in [until - days, until], then everyone present at the same\n"
			"site with overlapping time +- window (F1), then those who met an F1 after\n"
			"its own exposure (F2), ranked by overlap.  --scheme: cccd (default),\n"
			"pccovid, vneid, passport, plate, greenlane.  --days 1..365; --depth 1|2\n"
			"(default 2); --window and --min-overlap at most 24h; --limit defaults to\n"
			"50 rows in the table and all with --json/--csv.  T: ISO 8601 or unix ms\n"
			"(default now).  Audited before it prints.",
	},
	{
		.name = "visits", .run = cmd_visits, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 1, .args = "SUBJECT",
		.synopsis = "SUBJECT|--pid HEX [--scheme S] [--days 14] [--until T]",
		.summary = "a subject's scans (site, time, IN/OUT/PASS)",
		.help = "--days 1..365; T: ISO 8601 or unix ms (default now).  Audited.",
	},
	{
		.name = "site", .run = cmd_site, .needs = CTL_NEED_REDIS,
		.min_args = 1, .max_args = 1, .args = "SITE_ID",
		.synopsis = "SITE_ID --from T --to T",
		.summary = "who was scanned at a site between two times",
		.help = "SITE_ID 1..4294967295; at most 31 days at a time.  Audited.",
	},
	{
		.name = "stats", .run = cmd_stats, .needs = CTL_NEED_TELEMETRY,
		.min_args = 0, .max_args = 0,
		.synopsis = "[--prefix P] [--watch]",
		.summary = "chotd's counters over its telemetry socket, identities checked",
		.help = "P is chotd's --file-prefix (default rte).  --watch redraws every second\n"
			"with rates.  --json: {\"stats\": {...}}; --csv: counter,value rows.",
	},
	{
		.name = "sites import", .run = cmd_sites_import, .needs = CTL_NEED_REDIS_ADMIN,
		.min_args = 1, .max_args = 1, .args = "FILE.csv",
		.synopsis = "FILE.csv",
		.summary = "load the site registry (all or nothing)",
		.help = "CSV header id,name,kind,commune (a UTF-8 BOM is fine); kind: checkpoint,\n"
			"venue, market, testing, other; id 1..4294967295, each once; commune\n"
			"0..99999; names quoted as RFC 4180, UTF-8 without control characters, at\n"
			"most 127 bytes; lines at most 1023 bytes.  The first bad row is named by\n"
			"its line and nothing is written.",
	},
	{
		.name = "sites list", .run = cmd_sites_list, .needs = CTL_NEED_REDIS,
		.min_args = 0, .max_args = 0,
		.synopsis = "",
		.summary = "print the site registry (CSV, or --json)",
	},
	{
		.name = "keys init", .run = cmd_keys_init, .needs = 0,
		.min_args = 1, .max_args = 1, .args = "FILE",
		.synopsis = "FILE",
		.summary = "create a keys file (mode 0600, never overwrites)",
		.help = "The directory must exist.  Give the same file to chotd (keys.file) and\n"
			"to chot-flood.",
	},
	{
		.name = "flag", .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.synopsis = "SUBJECT [--scheme S] --status f0|f1|f2|quarantine|clear [--until T]\n"
			    "[--note TEXT]",
		.summary = "put a subject on the watchlist (DESIGN §9)",
	},
	{
		.name = "watchlist", .needs = CTL_NEED_REDIS,
		.synopsis = "",
		.summary = "list the watchlist (DESIGN §9)",
	},
	{
		.name = "alerts", .needs = CTL_NEED_REDIS,
		.synopsis = "[--since T] [--limit N] [--reason R,...] [--site ID] [--follow]",
		.summary = "live checkpoint alerts (DESIGN §9)",
	},
	{
		.name = "zone", .needs = CTL_NEED_REDIS_ADMIN,
		.synopsis = "set COMMUNE green|yellow|orange|red | import FILE.csv | list",
		.summary = "commune risk levels (DESIGN §9)",
	},
	{
		.name = "vehicle", .needs = CTL_NEED_REDIS_ADMIN,
		.synopsis = "register PLATE --route SITE[,SITE...] --from T --to T [--passengers N]\n"
			    "| revoke PLATE | list",
		.summary = "the green-lane registry (DESIGN §9)",
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
	"usage: chotctl [-r URL] [--keys FILE] [--user U --password-file F]\n"
	"               [--json | --csv] [--lang en|vi] [--replicas] [--timeout D]\n"
	"               COMMAND ...\n";

static const char global_notes[] =
	"[needs]: redis = Redis as chot-operator, redis-admin = as chot-admin, keys = the\n"
	"keys file (for a SUBJECT), chotd = a running chotd's telemetry socket.\n"
	"-r defaults to redis://127.0.0.1:6379 ($CHOT_REDIS_URL); it also takes\n"
	"unix:///PATH and cluster://H1:P1,H2:P2,... (--replicas: read from replicas);\n"
	"--timeout (default 10s) bounds every wait on a Redis node; --user to chot-operator;\n"
	"--password-file to $CHOT_PASSWORD_FILE.  SUBJECT is pseudonymised with the keys\n"
	"file (--keys, else $CHOT_KEYS, else /etc/chot/keys); raw identifiers are revealed\n"
	"from the vault only with an explicit --keys, and every reveal is audited.\n"
	"Exit: 0 found, 1 not found, 2 usage, 3 backend unavailable.\n";

/* What a command needs, long ("Redis (chot-operator)") or as a tag ("redis"). */
static void
needs_text(unsigned needs, bool tags, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *tag, *text;
	} names[] = {
		{ CTL_NEED_REDIS, "redis", "Redis (chot-operator)" },
		{ CTL_NEED_REDIS_ADMIN, "redis-admin", "Redis (chot-admin)" },
		{ CTL_NEED_KEYS, "keys", "the keys file for a SUBJECT" },
		{ CTL_NEED_TELEMETRY, "chotd", "a running chotd" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((needs & names[i].bit) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      tags ? names[i].tag : names[i].text);
}

/* "NAME SYNOPSIS", continuation lines indented under the synopsis. */
static void
print_synopsis(FILE *f, const char *lead, const struct ctl_command *c)
{
	int indent = (int)(strlen(lead) + strlen(c->name)) + 1;

	fprintf(f, "%s%s", lead, c->name);
	if (c->synopsis[0] != '\0')
		fputc(' ', f);
	for (const char *p = c->synopsis; *p; p++) {
		fputc(*p, f);
		if (*p == '\n')
			fprintf(f, "%*s", indent, "");
	}
	fputc('\n', f);
}

static void
print_row(FILE *f, const struct ctl_command *c)
{
	char needs[64];

	print_synopsis(f, "  ", c);
	needs_text(c->needs, true, needs, sizeof(needs));
	if (c->run == NULL)
		fprintf(f, "      %s  [not implemented]\n", c->summary);
	else
		fprintf(f, "      %s%s%s%s\n", c->summary, needs[0] ? "  [" : "", needs,
			needs[0] ? "]" : "");
}

void
ctl_usage(FILE *f)
{
	fputs(global_usage, f);
	fputs("\ncommands (chotctl COMMAND --help for more):\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		print_row(f, &commands[i]);
	fputc('\n', f);
	fputs(global_notes, f);
}

static void
command_help(FILE *f, const struct ctl_command *c)
{
	char needs[160];

	print_synopsis(f, "usage: chotctl ", c);
	fprintf(f, "%s.\n", c->summary);
	if (c->help != NULL)
		fprintf(f, "%s\n", c->help);
	needs_text(c->needs, false, needs, sizeof(needs));
	if (needs[0] != '\0')
		fprintf(f, "Needs %s.\n", needs);
}

/* --help (or -h) among a command's arguments, before any "--". */
static bool
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static int
run(struct ctl_app *app, const struct ctl_command *c, int argc, char **argv)
{
	if (c->run == NULL)
		return ctl_fail(app, CTL_USAGE, "'%s': not implemented in this release", c->name);
	if (wants_help(argc, argv)) {
		command_help(stdout, c);
		return CTL_FOUND;
	}
	app->cmd = c;
	optind = 0;   /* GNU getopt: 0 re-initialises for the command's options */
	return c->run(app, argc, argv);
}

/* The verbs of a group, "import, list", for messages. */
static void
group_verbs(const char *group, size_t glen, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_COMMANDS && n < len; i++)
		if (strncmp(commands[i].name, group, glen) == 0 && commands[i].name[glen] == ' ')
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      commands[i].name + glen + 1);
}

int
ctl_dispatch(struct ctl_app *app, int argc, char **argv)
{
	const char *word = argv[0];
	size_t wlen = strlen(word);
	bool group = false;
	char verbs[128];

	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *c = &commands[i];
		const char *sp = strchr(c->name, ' ');

		if (sp == NULL) {
			if (strcmp(c->name, word) == 0)
				return run(app, c, argc, argv);
		} else if ((size_t)(sp - c->name) == wlen && strncmp(c->name, word, wlen) == 0) {
			group = true;
			if (argc >= 2 && strcmp(sp + 1, argv[1]) == 0)
				return run(app, c, argc - 1, argv + 1);
		}
	}
	if (!group)
		return ctl_fail(app, CTL_USAGE, "unknown command '%s' (chotctl --help)", word);
	group_verbs(word, wlen, verbs, sizeof(verbs));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		for (size_t i = 0; i < N_COMMANDS; i++)
			if (strncmp(commands[i].name, word, wlen) == 0 &&
			    commands[i].name[wlen] == ' ')
				command_help(stdout, &commands[i]);
		return CTL_FOUND;
	}
	if (argc < 2)
		return ctl_fail(app, CTL_USAGE, "%s: which one? %s (chotctl %s --help)", word,
				verbs, word);
	return ctl_fail(app, CTL_USAGE, "%s: unknown command '%s' (%s; chotctl %s --help)", word,
			argv[1], verbs, word);
}
