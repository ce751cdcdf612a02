/* cmd-compare.c - 'dynamo compare REF GEN': how close a generated trace
 * is to its reference (src/compare), as text, JSON or an HTML page. */
#include "cli.h"
#include "../compare/compare.h"
#include "../lib/out.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_compare_usage[] =
	"usage: dynamo compare REF GEN [--json] [--html FILE] [--internal CIDR]...\n"
	"\n"
	"Measure how close the capture GEN (a dynamo run's recording, say) is to\n"
	"the capture REF it was made to reproduce.  Both are read as dynamo clone\n"
	"reads a capture, and compared on:\n"
	"  - the class and protocol mix by bytes (each class's share, and the\n"
	"    largest difference, in percentage points);\n"
	"  - the rate over active time (silences over a minute left out);\n"
	"  - REF's internal hosts and answered services found in GEN (same\n"
	"    address and port), and the external hosts on each side;\n"
	"  - per class, and for all traffic, the distance between the\n"
	"    distributions of packet sizes, inter-arrival times, flow sizes and\n"
	"    durations, and TCP request and response sizes: Jensen-Shannon\n"
	"    distance (0..1, base 2), Kolmogorov-Smirnov (0..1) and earth\n"
	"    mover's (in bytes or microseconds).\n"
	"Either may be a profile that dynamo clone --profile wrote instead of a\n"
	"capture: it stands for its capture, so a copy can be measured against a\n"
	"network whose capture stays where it was made.\n"
	"\n"
	"options:\n"
	"      --json            print JSON\n"
	"      --html FILE       write a page with the figures and, per class and\n"
	"                        distribution, the two CDFs side by side (SVG)\n"
	"      --internal CIDR   what is internal, as for dynamo clone\n"
	"  -h, --help            show this help\n"
	"\n"
	"exit status: 0 compared, 1 a capture or profile cannot be read, 2 bad usage\n"
	"\n"
	"example:\n"
	"    dynamo clone office.pcapng -o office.dyn\n"
	"    dynamo run office.dyn --duration 60s --record copy.pcapng\n"
	"    dynamo compare office.pcapng copy.pcapng --html fidelity.html\n"
	"    dynamo clone office.pcapng --profile office.json   (on site)\n"
	"    dynamo compare office.json copy.pcapng             (anywhere)\n";

static int read_one(const char *path, const struct clone_opts *co, struct clone_result *r)
{
	char err[1024];
	struct reader *rd;
	int rc;

	memset(r, 0, sizeof(*r));
	if (profile_is(path)) {
		if (profile_read(path, r, err, sizeof(err))) {
			fprintf(stderr, "dynamo: %s\n", err);
			return -1;
		}
		return 0;
	}
	rd = reader_open(path, err, sizeof(err));
	if (!rd) {
		fprintf(stderr, "dynamo: %s\n", err);
		return -1;
	}
	rc = clone_read(rd, co, r, err, sizeof(err));
	reader_close(rd);
	if (rc) {
		fprintf(stderr, "dynamo: %s: %s\n", path, err);
		return -1;
	}
	if (!r->packets) {
		fprintf(stderr, "dynamo: %s: no IP packets in %llu frames\n", path,
			(unsigned long long)r->rc.frames);
		return -1;
	}
	if (r->warning[0])
		fprintf(stderr, "dynamo: %s: the file ends early: %s\n", path, r->warning);
	return 0;
}

static void put_dist(struct out *o, const char *key, const struct cmp_dist *d, enum cmp_metric m)
{
	out_obj_open(o, key);
	out_double(o, "js", " JS %.3f", d->js);
	if (d->ref.n && d->gen.n)
		out_double(o, "js_floor", " (floor %.3f)", d->js_floor);
	else
		out_null(o, "js_floor", NULL, NULL);
	out_double(o, "ks", " KS %.3f", d->ks);
	out_double(o, "emd", out_is_json(o) ? NULL : " EMD %.4g", d->emd);
	if (!out_is_json(o))
		out_text(o, " %s", cmp_metric_unit(m));
	out_uint(o, "n_ref", NULL, d->ref.n);
	out_uint(o, "n_gen", NULL, d->gen.n);
	out_obj_close(o);
}

static void print(struct out *o, const struct cmp_result *r, const char *ref, const char *gen)
{
	char a[32], b[32];

	out_obj_open(o, NULL);
	out_str(o, "reference", "reference %s\n", ref);
	out_str(o, "generated", "generated %s\n", gen);
	fmt_rate(a, sizeof(a), r->rate_ref);
	fmt_rate(b, sizeof(b), r->rate_gen);
	out_uint(o, "rate_ref", NULL, r->rate_ref);
	out_uint(o, "rate_gen", NULL, r->rate_gen);
	out_double(o, "rate_ratio", NULL, r->rate_ref ? (double)r->rate_gen / (double)r->rate_ref : 0);
	out_text(o, "rate      %s and %s over active time (ratio %.3f)\n", a, b,
		 r->rate_ref ? (double)r->rate_gen / (double)r->rate_ref : 0);
	out_double(o, "mix_error", NULL, r->mix_error);
	out_str(o, "mix_worst", NULL, r->mix_worst >= 0 ? spec_class_name((enum spec_class)r->mix_worst) : "");
	out_text(o, "class mix error %.1f points%s%s%s\n", 100 * r->mix_error,
		 r->mix_worst >= 0 ? " (" : "",
		 r->mix_worst >= 0 ? spec_class_name((enum spec_class)r->mix_worst) : "",
		 r->mix_worst >= 0 ? ")" : "");
	out_double(o, "protocol_error", NULL, r->proto_error);
	out_uint(o, "hosts_ref", "internal hosts %llu", r->hosts_ref);
	out_uint(o, "hosts_covered", ", %llu in both", r->hosts_covered);
	out_uint(o, "services_ref", "; services %llu", r->services_ref);
	out_uint(o, "services_covered", ", %llu in both", r->services_covered);
	out_uint(o, "external_ref", "; external hosts %llu", r->external_ref);
	out_uint(o, "external_gen", " and %llu\n", r->external_gen);
	out_text(o, "\n%-15s %9s %9s\n", "class", "reference", "generated");
	out_obj_open(o, "classes");
	for (int c = 0; c < CLASS__COUNT; c++) {
		const struct cmp_class *k = &r->cls[c];

		if (!k->present)
			continue;
		out_obj_open(o, spec_class_name((enum spec_class)c));
		if (!out_is_json(o))
			out_text(o, "%-15s %8.1f%% %8.1f%%\n", spec_class_name((enum spec_class)c),
				 100 * k->share_ref, 100 * k->share_gen);
		out_double(o, "share_ref", NULL, k->share_ref);
		out_double(o, "share_gen", NULL, k->share_gen);
		for (int m = 0; m < CMP__COUNT; m++) {
			if (!out_is_json(o))
				out_text(o, "  %-14s", cmp_metric_name((enum cmp_metric)m));
			put_dist(o, cmp_metric_name((enum cmp_metric)m), &k->d[m], (enum cmp_metric)m);
			out_text(o, "\n");
		}
		out_obj_close(o);
	}
	out_obj_close(o);
	out_text(o, "all classes\n");
	out_obj_open(o, "all");
	for (int m = 0; m < CMP__COUNT; m++) {
		if (!out_is_json(o))
			out_text(o, "  %-14s", cmp_metric_name((enum cmp_metric)m));
		put_dist(o, cmp_metric_name((enum cmp_metric)m), &r->all[m], (enum cmp_metric)m);
		out_text(o, "\n");
	}
	out_obj_close(o);
	out_obj_close(o);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "internal", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *me = cli_find("compare");
	struct clone_cidr internal[CLI_MAX_INTERNAL];
	struct clone_result ref = { 0 }, gen = { 0 };
	struct clone_opts co = { 0 };
	struct cmp_result *r = NULL;
	const char *html = NULL;
	char mapfile[PATH_MAX + 32];
	size_t ninternal = 0;
	bool json = false;
	int c, status = EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'H':
			html = optarg;
			break;
		case 'i':
			if ((status = cli_internal(me, optarg, internal, &ninternal)))
				return status;
			break;
		case 'h':
			return cli_help(me);
		default:
			return cli_usage_error(me, "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(me, "compare takes two captures: the reference, then the generated one");
	cli_ndpi_map(mapfile, sizeof(mapfile));
	co.mapfile = mapfile;
	co.internal = ninternal ? internal : NULL;
	co.ninternal = ninternal;
	if (read_one(argv[optind], &co, &ref) || read_one(argv[optind + 1], &co, &gen))
		goto out;
	r = xcalloc(1, sizeof(*r));
	compare_results(&ref, &gen, r);
	if (html) {
		struct buf b = { 0 };
		FILE *f = fopen(html, "w");

		compare_html(r, argv[optind], argv[optind + 1], &b);
		if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f)) {
			fprintf(stderr, "dynamo: %s: cannot write it\n", html);
			buf_free(&b);
			goto out;
		}
		buf_free(&b);
	}
	{
		struct out *o = out_new(stdout, json);

		print(o, r, argv[optind], argv[optind + 1]);
		out_free(o);
	}
	status = EXIT_OK;
out:
	free(r);
	clone_result_free(&ref);
	clone_result_free(&gen);
	return status;
}
