/* cmd-catalog.c - 'dynamo catalog list|show|measure': the sources dynamo
 * can run, read from DATADIR/catalog/NAME.source (src/catalog/catalog.h,
 * docs/catalog.md).  list and show print through one code path for text
 * and --json; measure writes a source's profile. */
#include "cli.h"
#include "../agents/agent.h"
#include "../agents/program.h"
#include "../catalog/catalog.h"
#include "../control/run.h"
#include "../lib/out.h"
#include "../lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

const char cmd_catalog_usage[] =
	"usage: dynamo catalog list [--kind KIND] [--class CLASS] [--catalog DIR] [--json]\n"
	"       dynamo catalog show [--catalog DIR] [--json] NAME\n"
	"       dynamo catalog measure [--duration TIME] [--catalog DIR] [--dry-run] NAME\n"
	"       dynamo catalog scan [--json] [--all] [--map FILE] [--write [--catalog DIR]] PATH...\n"
	"\n"
	"The catalog lists the sources dynamo can run: each makes traffic of one\n"
	"class.  A source is a built-in agent (a server and users who follow a\n"
	"behaviour model, inside dynamo), a program from the distribution (nginx,\n"
	"dnsmasq, vsftpd, postgres, sshd, redis-server, mosquitto), driven by the\n"
	"built-in users of its protocol, or a project.  Each is one text file,\n"
	"DIR/NAME.source, where DIR is data/catalog next to the program in a build\n"
	"tree, else PREFIX/share/dynamo/catalog.\n"
	"\n"
	"  list      one line per source: name, kind, class, protocols, the rate and\n"
	"            concurrent flows of one instance, and when it was measured\n"
	"  show      every field of one source, with its size distributions\n"
	"  measure   measure a source's profile and write it into its file\n"
	"  scan      find projects that make traffic in code repositories: each\n"
	"            PATH a checkout, a folder of them, a compose file, or a file\n"
	"            that lists such paths one a line.  A folder with compose files\n"
	"            (docker-compose.yml, compose.yaml, their override files), a\n"
	"            Dockerfile, Kubernetes manifests or a Procfile is a project;\n"
	"            for each, the classes its services would make, with a\n"
	"            confidence and the evidence (FILE:LINE: the image a service\n"
	"            runs or is built from, a port it serves, a word of its name,\n"
	"            command or environment, a module its code imports) as\n"
	"            DATADIR/scan/services.map says, where it comes from (its\n"
	"            checkout's origin and commit), and whether it makes traffic\n"
	"            on its own (a load generator or a peer-to-peer node among its\n"
	"            services) or needs dynamo's users.  A file that cannot be\n"
	"            read as what its name says is reported as FILE:LINE[:COL]\n"
	"            and the scan goes on.\n"
	"            --write makes each project with a class an entry of kind\n"
	"            project (its most confident class, who drives it, its\n"
	"            repository, commit and subdir), named after its folder; one\n"
	"            already there (the same start) is kept, profile and all\n"
	"\n"
	"A file has one key per line; '#' starts a comment, strings are in double\n"
	"quotes:\n"
	"\n"
	"    name         nginx                    the file's name without .source\n"
	"    description  \"...\"                    what it is, for people\n"
	"    class        web                      its traffic class\n"
	"    protocols    http,https               protocols of that class it makes\n"
	"    kind         program                  agent, program or project\n"
	"    start        program nginx            agent PROTO, program NAME or\n"
	"                                          project PATH: how it starts\n"
	"    knob         users default 8 min 1 max 4096\n"
	"    knob         think-scale default 1 min 0.01 max 100\n"
	"\n"
	"A measured source also has its profile: what one instance made when\n"
	"'dynamo catalog measure' ran it with the knobs at the values on its\n"
	"'profile' line and counted what crossed the wire.  'measured' holds the\n"
	"command and the date; 'rate' the mean bits/s (IP bytes, both directions),\n"
	"'rate-max' the same with think-scale at its min; 'packets' and 'sessions'\n"
	"per second; 'flows' and 'flows-max' concurrent flows; 'packet-size' and\n"
	"'flow-size' histograms of UPPER:FRACTION buckets.  The planner combines\n"
	"instances by these figures, and refuses a source that is not measured.\n"
	"Every field is in docs/catalog.md.\n"
	"\n"
	"options:\n"
	"  --kind KIND     list only sources of KIND: agent, program or project\n"
	"  --class CLASS   list only sources of CLASS: web, mail, dns, ...\n"
	"  --catalog DIR   read the catalog in DIR\n"
	"  --map FILE      scan with this map instead of DATADIR/scan/services.map\n"
	"  --all           scan: show classes below a confidence of 0.5 too\n"	"  --write         scan: write each project into the catalog (--catalog DIR\n"
	"                  or the default), as NAME.source\n"
	"  --json          print JSON (rates in bits/s, sizes in bytes, durations\n"
	"                  in seconds)\n"
	"  -h, --help      show this help\n"
	"\n"
	"exit status: 0 success, 1 no such source or the catalog cannot be read,\n"
	"2 a catalog file with an error (FILE:LINE: ...) or bad usage\n"
	"\n"
	"examples:\n"
	"    dynamo catalog list --class database\n"
	"    dynamo catalog show nginx\n"
	"    dynamo catalog list --json | jq -r '.[] | select(.measured | not) | .name'\n"
	"    dynamo catalog scan ~/src\n"
	"    dynamo catalog scan --json repos.txt | jq '.projects[] | {path, drives}'\n"
	"    dynamo catalog scan --write --catalog my-catalog ~/src && dynamo catalog list --catalog my-catalog --kind project\n";

static const struct option common_opts[] = {
	{ "kind", required_argument, NULL, 'k' },
	{ "class", required_argument, NULL, 'c' },
	{ "catalog", required_argument, NULL, 'C' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ---- printing ------------------------------------------------------------ */

/* Widths of the columns of 'list', from the entries shown. */
struct cols {
	int name, cls, protos;
};

/* A size for people: 1500 B, 16 KiB, 1 MiB. */
static void fmt_size(char *out, size_t n, uint64_t v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double x = (double)v;
	size_t u = 0;

	if (v == UINT64_MAX) {
		snprintf(out, n, "inf");
		return;
	}
	if (v < 10240) {
		snprintf(out, n, "%llu B", (unsigned long long)v);
		return;
	}
	x /= 1024;
	while (x >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		x /= 1024;
		u++;
	}
	snprintf(out, n, "%.4g %s", x, units[u]);
}

/* A histogram: JSON [{"upper": N|null, "fraction": F}]; with a title,
 * text rows with a bar of up to 40 characters too. */
static void print_hist(struct out *o, const char *key, const char *title,
		       const struct catalog_hist *h)
{
	if (title)
		out_text(o, "\n  %s\n", title);
	out_arr_open(o, key);
	for (size_t i = 0; i < h->n; i++) {
		char up[32], bar[48];
		int len = (int)(h->frac[i] * 40 + 0.5);

		fmt_size(up, sizeof(up), h->upper[i]);
		memset(bar, '#', (size_t)len);
		bar[len] = '\0';
		out_obj_open(o, NULL);
		if (h->upper[i] == UINT64_MAX)
			out_null(o, "upper", title ? "    %-14s" : NULL, i ? "larger" : "any size");
		else
			out_uint(o, "upper", NULL, h->upper[i]);
		if (title && h->upper[i] != UINT64_MAX)
			out_text(o, "    <= %-11s", up);
		out_double(o, "fraction", NULL, h->frac[i]);
		if (title)
			out_text(o, "%7.1f%%  %s\n", h->frac[i] * 100, bar);
		out_obj_close(o);
	}
	out_arr_close(o);
}

/* Whether the source can start here: the agent built in, the program's
 * binary, or why not; in text only for 'show' (not row). */
static void print_available(struct out *o, const struct catalog_entry *e, bool row)
{
	const struct program_def *d;
	const char *path;
	char why[512];

	switch (e->kind) {
	case CATALOG_AGENT:
		if (agent_by_name(e->start))
			out_bool(o, "available", row ? NULL : " (built in)\n", true);
		else
			out_bool(o, "available", row ? NULL : " (no such agent in this dynamo)\n", false);
		return;
	case CATALOG_PROGRAM:
		if (!(d = program_find(e->start))) {
			out_bool(o, "available", row ? NULL : " (not a program this dynamo can start)\n",
				 false);
		} else if ((path = program_path(d))) {
			out_bool(o, "available", NULL, true);
			out_str(o, NULL, row ? NULL : " (%s)\n", path);
		} else {
			program_missing(d, why, sizeof(why));
			out_bool(o, "available", NULL, false);
			out_str(o, NULL, row ? NULL : "\n               %s\n", why);
		}
		return;
	default:
		/* a project: whether it runs depends on its container engine */
		out_null(o, "available", row ? NULL : "%s", "\n");
		return;
	}
}

/* Text to width columns from indent on, broken between words. */
static void print_wrapped(struct out *o, const char *s, int indent, int width)
{
	int col = indent;

	out_text(o, "%*s", indent, "");
	while (*s) {
		int w = (int)strcspn(s, " ");

		if (col > indent && col + 1 + w > width) {
			out_text(o, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			out_text(o, " ");
			col++;
		}
		out_text(o, "%.*s", w, s);
		col += w;
		s += w;
		while (*s == ' ')
			s++;
	}
	out_text(o, "\n");
}

/* One source: a row of 'list' (cols set) or all of 'show' (cols NULL).
 * The JSON object is the same either way; the text formats pick the
 * view, so the calls follow the order of both. */
static void print_entry(struct out *o, const struct catalog_entry *e, const struct cols *w)
{
	char f_name[16], f_cls[16], f_protos[16], protos[256];
	bool row = w != NULL;

	if (row) {
		snprintf(f_name, sizeof(f_name), "%%-%ds  ", w->name);
		snprintf(f_cls, sizeof(f_cls), "%%-%ds  ", w->cls);
		snprintf(f_protos, sizeof(f_protos), "%%-%ds  ", w->protos);
	}
	out_obj_open(o, NULL);
	out_str(o, "name", row ? f_name : "%s", e->name);
	out_str(o, "kind", row ? "%-7s  " : " (%s", catalog_kind_name(e->kind));
	out_str(o, "class", row ? f_cls : ", %s", spec_class_name(e->cls));
	spec_protos_text(protos, sizeof(protos), e->protos, row ? "," : ", ");
	out_str(o, NULL, row ? f_protos : ": %s)\n", protos);
	out_arr_open(o, "protocols");
	for (int i = 0; i < PROTO__COUNT; i++)
		if (e->protos & (1u << i))
			out_str(o, NULL, NULL, spec_proto_name((enum spec_proto)i));
	out_arr_close(o);

	/* what 'show' prints above the profile; 'list' only in JSON */
	out_str(o, "description", NULL, e->description);
	if (!row && e->description)
		print_wrapped(o, e->description, 2, 78);
	if (!row)
		out_text(o, "\n  start        %s", catalog_kind_name(e->kind));
	out_str(o, "start", row ? NULL : " %s", e->start);
	print_available(o, e, row);
	out_str(o, "file", row || !e->file ? NULL : "  file         %s\n", e->file);
	{
		bool pj = e->kind == CATALOG_PROJECT;

		out_str(o, "driver", row || !pj ? NULL : "  driver       %s\n",
			!pj ? NULL : e->driver_project ? "project" : "users");
		out_str(o, "repository", row || !e->repository ? NULL : "  repository   %s\n",
			e->repository);
		out_str(o, "commit", row || !e->commit ? NULL : "  commit       %s\n", e->commit);
		out_str(o, "subdir", row || !e->subdir ? NULL : "  subdir       %s\n", e->subdir);
	}
	out_arr_open(o, "knobs");
	for (size_t i = 0; i < e->nknobs; i++) {
		const struct catalog_knob *k = &e->knobs[i];

		out_obj_open(o, NULL);
		out_str(o, "name", row ? NULL : "  knob         %-12s", k->name);
		out_double(o, "default", row ? NULL : " default %-6g", k->def);
		out_double(o, "min", row ? NULL : " min %-6g", k->min);
		out_double(o, "max", row ? NULL : " max %g\n", k->max);
		out_obj_close(o);
	}
	out_arr_close(o);

	/* the profile's figures: the rate and flows are columns of 'list' */
	if (e->measured) {
		out_rate(o, "rate", row ? "%-11s" : "  rate         %s per instance", e->rate);
		out_rate(o, "rate_max", row ? NULL : ", %s with think-scale at its min\n",
			 e->rate_max);
		out_double(o, "packets", row ? NULL : "  packets      %.6g per second\n", e->packets);
		out_double(o, "flows", row ? "  %-7.5g  " : "  flows        %.6g concurrent on average",
			   e->flows);
		out_double(o, "flows_max", row ? NULL : ", %.6g at most\n", e->flows_max);
		out_double(o, "sessions", row ? NULL : "  sessions     %.6g new per second\n",
			   e->sessions);
	} else {
		out_null(o, "rate", row ? "%-11s" : NULL, "-");
		out_null(o, "rate_max", NULL, NULL);
		out_null(o, "packets", NULL, NULL);
		out_null(o, "flows", row ? "  %-7s  " : NULL, "-");
		out_null(o, "flows_max", NULL, NULL);
		out_null(o, "sessions", NULL, NULL);
	}
	out_bool(o, "measured", NULL, e->measured);
	if (!e->measured) {
		out_null(o, "measured_on", row ? "%s\n" : "  profile      %s", "not measured");
		if (!row)
			out_text(o, ": 'dynamo catalog measure %s' writes it\n", e->name);
		out_null(o, "measured_by", NULL, NULL);
		out_null(o, "profile", NULL, NULL);
		out_null(o, "packet_size", NULL, NULL);
		out_null(o, "flow_size", NULL, NULL);
		out_obj_close(o);
		return;
	}
	out_str(o, "measured_on", row ? "%s\n" : "  measured     %s", e->measured_on);
	out_obj_open(o, "profile");
	out_double(o, "users", row ? NULL : " with users %g", e->prof_users);
	out_double(o, "think_scale", row ? NULL : ", think-scale %g", e->prof_think_scale);
	out_double(o, "duration", row ? NULL : ", for %g s\n", e->prof_duration);
	out_obj_close(o);
	out_str(o, "measured_by", row ? NULL : "               by \"%s\"\n", e->measured_by);
	print_hist(o, "packet_size", row ? NULL : "packet size (IP length)", &e->packet_size);
	print_hist(o, "flow_size", row ? NULL : "flow size (bytes, both directions)", &e->flow_size);
	out_obj_close(o);
}

/* ---- list, show ------------------------------------------------------------ */

static int catalog_list(int argc, char **argv)
{
	const struct cmd *self = cli_find("catalog");
	const char *given = NULL;
	char dir[PATH_MAX];
	struct catalog cat;
	struct cols w = { 4, 5, 9 };
	int kind = -1, cls = -1, c, st;
	bool json = false;
	size_t shown = 0;
	struct out *o;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", common_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if ((kind = catalog_kind_find(optarg)) < 0)
				return cli_usage_error(self, "--kind takes agent, program or project, "
						       "not '%s'", optarg);
			break;
		case 'c':
			if ((cls = spec_class_find(optarg)) < 0)
				return cli_usage_error(self, "--class takes a traffic class (web, mail, "
						       "dns, file-transfer, database, ...), not '%s'",
						       optarg);
			break;
		case 'C':
			given = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(self, "catalog list takes no names ('catalog show NAME' "
				       "shows one)");
	if ((st = cli_catalog_load(given, dir, sizeof(dir), &cat)))
		return st;

	for (size_t i = 0; i < cat.n; i++) {
		const struct catalog_entry *e = &cat.v[i];
		char protos[256];

		if ((kind >= 0 && (int)e->kind != kind) || (cls >= 0 && (int)e->cls != cls))
			continue;
		spec_protos_text(protos, sizeof(protos), e->protos, ",");
		w.name = MAX(w.name, (int)strlen(e->name));
		w.cls = MAX(w.cls, (int)strlen(spec_class_name(e->cls)));
		w.protos = MAX(w.protos, (int)strlen(protos));
		shown++;
	}
	o = out_new(stdout, json);
	if (shown)
		out_text(o, "%-*s  %-7s  %-*s  %-*s  %-11s  %-7s  %s\n", w.name, "NAME", "KIND", w.cls,
			 "CLASS", w.protos, "PROTOCOLS", "RATE", "FLOWS", "MEASURED");
	else
		out_text(o, "no sources%s in %s\n", kind >= 0 || cls >= 0 ? " that match" : "", dir);
	out_arr_open(o, NULL);
	for (size_t i = 0; i < cat.n; i++) {
		const struct catalog_entry *e = &cat.v[i];

		if ((kind >= 0 && (int)e->kind != kind) || (cls >= 0 && (int)e->cls != cls))
			continue;
		print_entry(o, e, &w);
	}
	out_arr_close(o);
	out_free(o);
	catalog_free(&cat);
	return EXIT_OK;
}

static int catalog_show(int argc, char **argv)
{
	const struct cmd *self = cli_find("catalog");
	const struct catalog_entry *e;
	const char *given = NULL;
	char dir[PATH_MAX];
	struct catalog cat;
	bool json = false;
	struct out *o;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", common_opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			given = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(self);
		case 'k':
		case 'c':
			return cli_usage_error(self, "--kind and --class are options of 'catalog list'");
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(self, "catalog show needs one source name");
	if ((st = cli_catalog_load(given, dir, sizeof(dir), &cat)))
		return st;
	if (!(e = catalog_find(&cat, argv[optind]))) {
		struct buf b = { 0 };

		for (size_t i = 0; i < cat.n; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", cat.v[i].name);
		fprintf(stderr, "dynamo: no source named '%s' in %s (sources: %s)\n", argv[optind],
			dir, b.p ? b.p : "none");
		buf_free(&b);
		catalog_free(&cat);
		return EXIT_FAIL;
	}
	o = out_new(stdout, json);
	print_entry(o, e, NULL);
	out_free(o);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ---- measure ----------------------------------------------------------------
 * 'dynamo catalog measure NAME ...' runs a source alone, in a network of
 * two hosts on one switch (users on one, its server on the other), with
 * no control: one group of users at the profile's knobs.  What crossed
 * the wire becomes the profile; a second, shorter run with think-scale at
 * its min gives rate-max.  The profile replaces the old one in the file
 * (catalog_replace_profile() keeps every other line). */

struct measured {
	struct run_result res;
	const struct run_part *part;
};

/* Run the source once: 0 with m filled, or the exit status. */
static int measure_run(const struct catalog *cat, const struct catalog_entry *e, uint64_t secs,
		       uint32_t users, double think,
		       const char *datadir, int stop_fd, struct measured *m)
{
	char path[] = "/tmp/dynamo-measure-XXXXXX", err[512] = "", proto[32] = "";
	struct run_opts ro = { .seed = 1, .stop_fd = stop_fd, .datadir = datadir,
			       .open_loop = true, .users = users, .think_scale = think,
			       .duration_us = secs * 1000000, .warmup_us = 2000000 };
	struct spec *s = NULL;
	struct plan *p = NULL;
	FILE *f;
	int fd, st;

	for (int i = 0; i < PROTO__COUNT; i++)
		if (e->protos & (1u << i)) {
			snprintf(proto, sizeof(proto), "%s", spec_proto_name((enum spec_proto)i));
			break;
		}
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "dynamo: cannot write a spec in /tmp: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	/* The rate is not held (open loop): it only has to fit the links. */
	fprintf(f, "generate %s traffic from a to b with 100 Gbps over %s using source %s ;\n",
		spec_class_name(e->cls), proto, e->name);
	fclose(f);
	st = cli_load(path, &s, &p);
	unlink(path);
	if (st == EXIT_OK)
		st = cli_choose_from(p, cat, true);
	if (st != EXIT_OK)
		goto out;
	if (run_check(p, datadir, err, sizeof(err)) || run_exec(p, &ro, &m->res, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s: %s\n", e->name, err);
		st = EXIT_FAIL;
		goto out;
	}
	if (m->res.stopped) {
		fprintf(stderr, "dynamo: %s: stopped before the end; nothing written\n", e->name);
		st = EXIT_FAIL;
		goto out;
	}
	m->part = &m->res.stmts[0].parts[0];
	if (!m->part->held_us || !m->part->wire.bytes) {
		fprintf(stderr, "dynamo: %s: no traffic crossed the wire%s%s\n", e->name,
			m->res.warning[0] ? ": " : "", m->res.warning);
		st = EXIT_FAIL;
	}
out:
	plan_free(p);
	spec_free(s);
	return st;
}

static int catalog_measure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "data", required_argument, NULL, 'D' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("catalog");
	const char *given = NULL;
	char dir[PATH_MAX], datadir[PATH_MAX] = "", date[16], cmdline[CATALOG_MAX_TEXT];
	struct catalog cat = { 0 };
	struct catalog_entry e = { 0 };
	struct measured m = { 0 }, mx = { 0 };
	const struct catalog_knob *ku, *kt;
	uint64_t dur_us = 20000000;
	bool dry = false;
	char *text = NULL, *out = NULL;
	size_t len = 0;
	sigset_t set;
	int c, st, stop_fd = -1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hn", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			/* the second run is half as long, and both
			 * leave out a 2 s warm-up */
			if (cli_parse_time(optarg, &dur_us) || dur_us < 10000000)
				return cli_usage_error(self, "--duration takes a time of 10s or more, "
						       "such as 20s, not '%s'", optarg);
			break;
		case 'C':
			given = optarg;
			break;
		case 'D':
			snprintf(datadir, sizeof(datadir), "%s", optarg);
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(self, "catalog measure needs one source name");
	if (!datadir[0])
		cli_find_datadir(datadir, sizeof(datadir));
	st = cli_catalog_load(given, dir, sizeof(dir), &cat);
	if (st != EXIT_OK)
		return st;
	{
		const struct catalog_entry *f = catalog_find(&cat, argv[optind]);

		if (!f) {
			fprintf(stderr, "dynamo: no source named '%s' in %s\n", argv[optind], dir);
			st = EXIT_FAIL;
			goto out;
		}
		if (f->kind == CATALOG_PROJECT && !f->driver_project) {
			fprintf(stderr, "dynamo: %s is a project driven by dynamo's users (driver "
				"users), which this version does not run yet\n", f->name);
			st = EXIT_FAIL;
			goto out;
		}
		if (catalog_read_file(f->file, &text, &len, dir, sizeof(dir))) {
			fprintf(stderr, "dynamo: %s\n", dir);
			st = EXIT_FAIL;
			goto out;
		}
		if (catalog_parse(&e, f->file, text, len, dir, sizeof(dir))) {
			fprintf(stderr, "dynamo: %s\n", dir);
			st = EXIT_INVALID;
			goto out;
		}
		free(e.file);
		e.file = xstrdup(f->file);
	}
	ku = catalog_knob(&e, "users");
	kt = catalog_knob(&e, "think-scale");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	stop_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (e.kind == CATALOG_PROJECT)
		fprintf(stderr, "dynamo: measuring %s (a project: its containers, driven by its own "
			"clients) for %llu s, then %llu s\n", e.name,
			(unsigned long long)(dur_us / 1000000), (unsigned long long)(dur_us / 2000000));
	else
		fprintf(stderr, "dynamo: measuring %s for %llu s (users %g, think-scale %g), then "
			"%llu s at think-scale %g\n", e.name, (unsigned long long)(dur_us / 1000000),
			ku ? ku->def : 4, kt ? kt->def : 1, (unsigned long long)(dur_us / 2000000),
			kt ? kt->min : 0.01);
	st = measure_run(&cat, &e, dur_us / 1000000, (uint32_t)(ku ? ku->def : 4), kt ? kt->def : 1,
			 datadir, stop_fd, &m);
	if (st != EXIT_OK)
		goto out;
	st = measure_run(&cat, &e, dur_us / 2000000, (uint32_t)(ku ? ku->def : 4), kt ? kt->min : 0.01,
			 datadir, stop_fd, &mx);
	if (st != EXIT_OK)
		goto out;
	{
		const struct run_part *rp = m.part;
		const struct run_stmt *rs = &m.res.stmts[0];
		double secs = (double)rp->held_us / 1e6, fl = 0, flmax = 0, n = 0;
		uint64_t pk = 0, nfl = 0, from = 2, to = rs->nseries ? rs->nseries - 1 : 0, held_pk = 0;
		time_t now = time(NULL);
		struct tm tm;

		for (uint64_t w = from; w < to; w++) {
			fl += (double)rp->series[w].flows;
			flmax = MAX(flmax, (double)rp->series[w].flows);
			held_pk += rp->series[w].packets;
			n++;
		}
		e.measured = true;
		e.prof_users = ku ? ku->def : 4;
		e.prof_think_scale = kt ? kt->def : 1;
		e.prof_duration = (double)(dur_us / 1000000);
		e.rate = (uint64_t)((double)rp->held_bytes * 8 / secs + 0.5);
		e.rate_max = (uint64_t)((double)mx.part->held_bytes * 8 * 1e6 / (double)mx.part->held_us + 0.5);
		e.packets = n ? (double)held_pk / n : 0;
		e.flows = n ? fl / n : 0;
		e.flows_max = flmax;
		e.sessions = (double)rs->clients.sessions / ((double)m.res.duration_us / 1e6);
		for (int i = 0; i < RECORD_SIZES; i++)
			pk += rp->wire.sizes[i];
		e.packet_size.n = 0;
		for (int i = 0; i < RECORD_SIZES; i++) {
			e.packet_size.upper[e.packet_size.n] = record_size_upper[i];
			e.packet_size.frac[e.packet_size.n++] = pk ? (double)rp->wire.sizes[i] / (double)pk : 0;
		}
		for (int i = 0; i < RUN_FLOW_SIZES; i++)
			nfl += rp->flow_sizes[i];
		e.flow_size.n = 0;
		for (int i = 0; i < RUN_FLOW_SIZES; i++) {
			e.flow_size.upper[e.flow_size.n] = run_flow_size_upper[i];
			e.flow_size.frac[e.flow_size.n++] = nfl ? (double)rp->flow_sizes[i] / (double)nfl : 0;
		}
		if (!pk || !nfl) {
			fprintf(stderr, "dynamo: %s: no packets or flows to make a profile of\n", e.name);
			st = EXIT_FAIL;
			goto out;
		}
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		snprintf(cmdline, sizeof(cmdline), "dynamo catalog measure %s --duration %llus", e.name,
			 (unsigned long long)(dur_us / 1000000));
		free(e.measured_by);
		free(e.measured_on);
		e.measured_by = xstrdup(cmdline);
		e.measured_on = xstrdup(date);
	}
	out = catalog_replace_profile(text, len, &e);
	if (dry) {
		fputs(out, stdout);
	} else if (catalog_write_file(e.file, out, dir, sizeof(dir))) {
		fprintf(stderr, "dynamo: cannot write %s\n", dir);
		st = EXIT_FAIL;
		goto out;
	} else {
		char r[32], rm[32];

		fmt_rate(r, sizeof(r), e.rate);
		fmt_rate(rm, sizeof(rm), e.rate_max);
		printf("%s: %s per instance (%s at most), %.1f flows, %.1f sessions/s; written to %s\n",
		       e.name, r, rm, e.flows, e.sessions, e.file);
	}
out:
	if (stop_fd >= 0)
		close(stop_fd);
	run_result_free(&m.res);
	run_result_free(&mx.res);
	free(out);
	free(text);
	catalog_entry_free(&e);
	catalog_free(&cat);
	return st;
}

/* ---- the dispatcher ------------------------------------------------------------ */

int cmd_catalog(int argc, char **argv)
{
	const struct cmd *self = cli_find("catalog");

	if (argc < 2)
		return cli_usage_error(self, "catalog needs a command (list, show, measure, scan)");
	if (!strcmp(argv[1], "list"))
		return catalog_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return catalog_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "measure"))
		return catalog_measure(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scan"))
		return catalog_scan(argc - 1, argv + 1);
	return cli_usage_error(self, "unknown catalog command '%s' (list, show, measure, scan)",
			       argv[1]);
}
