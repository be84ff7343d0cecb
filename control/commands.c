/*
 * chotctl's commands, one row each (DESIGN §5 and §9), and the dispatch
 * that reads the table: the way grout registers CLI contexts and Redis's
 * config.c keeps one row per key.  --help is generated from the rows, so
 * the list operators see is the list chotctl runs.
 *
 * A row without a handler (none today) answers "not implemented in this
 * release" (exit 2), so a planned command can be listed before it is built.
 * .needs is enforced, not decoration: ctl_connect() and ctl_need_keys()
 * refuse a command whose row does not declare what it reaches for.  A two-word name ("sites import") makes "sites" a group:
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
			    "[--window 15m] [--min-overlap 0] [--limit N] [--flag]",
		.summary = "F0's visits, then F1 and F2, ranked by overlap",
		.help = "F0's visits in [until - days, until], then everyone present at the same\n"
			"site with overlapping time +- window (F1), then those who met an F1 after\n"
			"its own exposure (F2), ranked by overlap.  --scheme: cccd (default),\n"
			"pccovid, vneid, passport, plate, greenlane.  --days 1..365; --depth 1|2\n"
			"(default 2); --window and --min-overlap at most 24h; --limit defaults to\n"
			"50 rows in the table and all with --json/--csv.  T: ISO 8601 or unix ms\n"
			"(default now).  Audited before it prints.  --flag puts every F1 on the\n"
			"watchlist as f1 (and at depth 2 every F2 as f2), 14 days, in the same\n"
			"audited operation, never lowering a higher active status.",
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
		.name = "flag", .run = cmd_flag, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 1, .args = "SUBJECT",
		.synopsis = "SUBJECT|--pid HEX [--scheme S] --status f0|f1|f2|quarantine|clear\n"
			    "[--until T] [--note TEXT]",
		.summary = "put a subject on the watchlist, or clear it (DESIGN §9)",
		.help = "--until defaults to 21 days from now for f0 and quarantine, 14 for f1 and\n"
			"f2, and must lie in the future; --note: at most 200 bytes of UTF-8 without\n"
			"control characters.  The operator's word may lower a status (trace --flag\n"
			"never does).  clear removes the entry (exit 1 if there was none).  Audited\n"
			"before it is applied, in one MULTI with the lists' version bump, so every\n"
			"chotd reloads within 2 s.",
	},
	{
		.name = "watchlist", .run = cmd_watchlist, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 0,
		.synopsis = "",
		.summary = "list the watchlist, highest status first (DESIGN §9)",
		.help = "Expired entries are shown (and ignored by chotd).  --json:\n"
			"{\"watchlist\": [{\"pid\", \"id\" (with --keys), \"status\", \"set_ms\",\n"
			"\"until_ms\", \"active\", \"note\"}]}; --csv the same columns.  With --keys\n"
			"each identity is revealed from the vault, each reveal audited.",
	},
	{
		.name = "alerts", .run = cmd_alerts, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 0,
		.synopsis = "[--since T] [--limit N] [--reason R,...] [--site ID] [--follow]",
		.summary = "checkpoint alerts, newest last (DESIGN §9)",
		.help = "Each (pid, site, ts_ms) once.  --since: scan time ts_ms >= T; --limit:\n"
			"the newest N that match (default 50 in the table, all with --json/--csv;\n"
			"with --follow and no --since, none: only new alerts); --reason: any of\n"
			"these names or codes (watch_f0, zone_red, off_route, ...); --site: one\n"
			"site.  --follow keeps printing new alerts (blocking read) until SIGINT or\n"
			"SIGTERM, then exits 0.  --json prints JSON Lines, one object per alert:\n"
			"{\"alert_id\", \"ts_ms\", \"site\", \"pid\", \"id\" (with --keys), \"scheme\",\n"
			"\"reasons\": [...], \"device\", \"origin_commune\"}.  Audited; with --keys\n"
			"every identity shown is revealed and audited first.",
	},
	{
		.name = "zone set", .run = cmd_zone_set, .needs = CTL_NEED_REDIS,
		.min_args = 2, .max_args = 2, .args = "COMMUNE LEVEL",
		.synopsis = "COMMUNE green|yellow|orange|red",
		.summary = "set a commune's risk level (Resolution 128, DESIGN §9)",
		.help = "COMMUNE 1..99999; LEVEL 1..4, green, yellow, orange, red, or xanh, vàng\n"
			"(vang), cam, đỏ (do).  Audited, one MULTI with the version bump.",
	},
	{
		.name = "zone import", .run = cmd_zone_import, .needs = CTL_NEED_REDIS,
		.min_args = 1, .max_args = 1, .args = "FILE.csv",
		.synopsis = "FILE.csv",
		.summary = "set many communes' levels (all or nothing)",
		.help = "CSV header commune,level (a UTF-8 BOM is fine); level as for zone set;\n"
			"each commune once; lines at most 1023 bytes.  The first bad row is named\n"
			"by its line and nothing is written.  Communes not in the file keep their\n"
			"level.  One audit record, one MULTI.",
	},
	{
		.name = "zone list", .run = cmd_zone_list, .needs = CTL_NEED_REDIS,
		.min_args = 0, .max_args = 0,
		.synopsis = "",
		.summary = "print the commune levels (--lang vi: xanh, vàng, cam, đỏ)",
		.help = "--csv prints what zone import reads; --json: {\"zones\": [{\"commune\",\n"
			"\"level\", \"name\"}]}.",
	},
	{
		.name = "vehicle register", .run = cmd_vehicle_register,
		.needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 1, .max_args = 1, .args = "PLATE",
		.synopsis = "PLATE --route SITE[,SITE...] --from T --to T [--passengers N]",
		.summary = "register a green-lane vehicle (DESIGN §9)",
		.help = "PLATE: the plate or sticker code, normalised as a GREEN_LANE subject\n"
			"(upper case; ' ', '-', '.' dropped).  --route: 1..32 site ids, each once;\n"
			"--passengers 0..1000 (default 0).  The list holds the pid; the plate is\n"
			"sealed into the vault.  Registering again replaces the entry.  Audited.",
	},
	{
		.name = "vehicle revoke", .run = cmd_vehicle_revoke,
		.needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 1, .max_args = 1, .args = "PLATE",
		.synopsis = "PLATE",
		.summary = "remove a green-lane vehicle (exit 1 if it was not registered)",
	},
	{
		.name = "vehicle list", .run = cmd_vehicle_list, .needs = CTL_NEED_REDIS | CTL_NEED_KEYS,
		.min_args = 0, .max_args = 0,
		.synopsis = "",
		.summary = "print the green-lane registry",
		.help = "pids only, or with --keys the plates from the vault (each reveal audited).\n"
			"--json: {\"vehicles\": [{\"pid\", \"plate\", \"from_ms\", \"to_ms\",\n"
			"\"passengers\", \"route\": [...]}]}.",
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
	"usage: chotctl [-r URL] [--keys FILE] [--user U --password-file F]\n"
	"               [--json | --csv] [--lang en|vi] [--operator NAME] COMMAND ...\n";

static const char global_notes[] =
	"[needs]: redis = Redis as chot-operator, redis-admin = as chot-admin, keys = the\n"
	"keys file (for a SUBJECT or PLATE, or --keys to reveal), chotd = a running\n"
	"chotd's telemetry socket.  The redis and keys needs are checked: a command\n"
	"reaching for either without its row saying so fails (exit 3).\n"
	"-r defaults to redis://127.0.0.1:6379 ($CHOT_REDIS_URL); --user to chot-operator;\n"
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
		{ CTL_NEED_KEYS, "keys", "the keys file for a SUBJECT or PLATE, or with --keys to reveal" },
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
