/* cmd-clone.c - 'dynamo clone CAPTURE': a capture's network and traffic
 * (src/clone) as a spec that dynamo runs, a profile of its distributions,
 * and a summary of what was found. */
#include "cli.h"
#include "../agents/agent.h"
#include "../catalog/catalog.h"
#include "../clone/clone.h"
#include "../control/lab.h"
#include "../lib/out.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_clone_usage[] =
	"usage: dynamo clone CAPTURE [-o FILE.dyn] [--profile FILE.json] [--json]\n"
	"                    [--internal CIDR]... [--anonymize KEY] [--catalog DIR]\n"
	"       dynamo clone --live NODE:IFACE [--lab LAB] [--duration TIME] [options]\n"
	"\n"
	"Read a capture of a real network (pcap or pcapng: Ethernet with VLAN tags,\n"
	"Linux cooked v1/v2, raw IP, loopback; '-' reads standard input) and infer\n"
	"what made it: hosts and subnets, the services each host answered, and\n"
	"the traffic between them in groups of (client subnet, server, class,\n"
	"protocol).  Flows are classified with nDPI, through data/clone/ndpi.map,\n"
	"and by server port where nDPI cannot tell.  Write a spec that reproduces\n"
	"it: a subnet per internal /24, the internal hosts at their addresses\n"
	"with their services, and per group a generate statement at the group's\n"
	"rate over the capture's active time (silences over a minute left out),\n"
	"pinned to its protocol, with the flows it kept open in 90% of its\n"
	"seconds.  Traffic outside the internal ranges is 'external'.  Groups of\n"
	"a class that no catalog source plays yet are written as comments.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE     write the spec to FILE (default: standard output,\n"
	"                        with the summary on standard error)\n"
	"      --profile FILE    write every group's distributions (packet sizes,\n"
	"                        inter-arrival times, flow sizes and durations; for\n"
	"                        TCP, request and response sizes and think times) and\n"
	"                        its per-second rate, flows open and flow starts, as JSON\n"
	"      --json            the summary as JSON on standard output (needs -o)\n"
	"      --internal CIDR   what is internal (repeat, or commas); default the\n"
	"                        private ranges (10/8, 172.16/12, 192.168/16,\n"
	"                        100.64/10, 169.254/16, fc00::/7, fe80::/10)\n"
	"      --anonymize KEY   map addresses with KEY, prefix-preserving (hosts of\n"
	"                        a subnet stay in one subnet; private stays private)\n"
	"      --catalog DIR     the catalog that says which classes can be played\n"
	"      --live NODE:IFACE capture on an interface of a node of a lab made by\n"
	"                        'dynamo up' instead of reading a file, until\n"
	"                        --duration is over or Ctrl-C (only inside a lab:\n"
	"                        never the machine's own interfaces)\n"
	"      --lab LAB         the lab (default: the only lab up)\n"
	"      --duration TIME   how long to capture live (30s, 5min; default: until\n"
	"                        Ctrl-C)\n"
	"  -h, --help            show this help\n"
	"\n"
	"exit status: 0 done, 1 the capture cannot be read, 2 bad usage\n"
	"\n"
	"examples:\n"
	"    dynamo clone office.pcapng -o office.dyn --profile office.json\n"
	"    dynamo clone --internal 203.0.113.0/24 dmz.pcap > dmz.dyn\n"
	"    dynamo clone --live gw:eth1 --duration 60s -o office-copy.dyn\n";

static void put_hist(struct out *o, const char *key, const struct hist *h)
{
	out_obj_open(o, key);
	out_uint(o, "n", NULL, h->n);
	out_double(o, "mean", NULL, hist_mean(h));
	out_double(o, "p50", NULL, hist_quantile(h, 0.5));
	out_double(o, "p90", NULL, hist_quantile(h, 0.9));
	out_double(o, "p99", NULL, hist_quantile(h, 0.99));
	/* the bins that hold something: [lower edge, count] */
	out_arr_open(o, "bins");
	for (int i = 0; i < HIST_BINS; i++) {
		if (!h->bin[i])
			continue;
		out_arr_open(o, NULL);
		out_double(o, NULL, NULL, hist_lo(i));
		out_uint(o, NULL, NULL, h->bin[i]);
		out_arr_close(o);
	}
	out_arr_close(o);
	out_obj_close(o);
}

static void put_series(struct out *o, const char *key, const struct clone_series *s, bool cumulative)
{
	double run = 0;

	out_obj_open(o, key);
	out_uint(o, "width", NULL, s->width ? s->width : 1);
	out_arr_open(o, "values");
	for (size_t i = 0; i < s->n; i++) {
		run = cumulative ? run + s->v[i] : s->v[i];
		out_double(o, NULL, NULL, run);
	}
	out_arr_close(o);
	out_obj_close(o);
}

static const char *zone_name(const struct clone_result *r, uint32_t z)
{
	return z == CLONE_EXTERNAL ? "external" : r->subnets[z].name;
}

static void put_addr(struct out *o, const char *key, const uint8_t *a)
{
	char t[64];

	out_str(o, key, NULL, decode_addr_str(a, t, sizeof(t)));
}

static void put_mac(struct out *o, const char *key, const uint8_t *m)
{
	char t[24];

	snprintf(t, sizeof(t), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	out_str(o, key, NULL, t);
}

/* The JSON document: the summary, and with profile, the distributions */
static void put_json(struct out *o, const struct clone_result *r, bool profile)
{
	out_obj_open(o, NULL);
	out_uint(o, "frames", NULL, r->rc.frames);
	out_uint(o, "ip", NULL, r->rc.ip);
	out_uint(o, "not_ip", NULL, r->rc.not_ip);
	out_uint(o, "truncated", NULL, r->rc.truncated);
	out_uint(o, "bad", NULL, r->rc.bad);
	out_double(o, "active", NULL, (double)r->active_ns / 1e9);
	out_uint(o, "silences", NULL, r->gaps);
	out_uint(o, "bytes", NULL, r->bytes);
	out_uint(o, "packets", NULL, r->packets);
	out_uint(o, "flows", NULL, r->flows);
	out_uint(o, "flows_evicted", NULL, r->fc.evicted);
	out_obj_open(o, "classes");
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!r->cls_flows[c])
			continue;
		out_obj_open(o, spec_class_name((enum spec_class)c));
		out_uint(o, "bytes", NULL, r->cls_bytes[c]);
		out_uint(o, "flows", NULL, r->cls_flows[c]);
		out_double(o, "share", NULL, r->bytes ? (double)r->cls_bytes[c] / (double)r->bytes : 0);
		out_obj_close(o);
	}
	out_obj_close(o);
	out_arr_open(o, "subnets");
	for (size_t i = 0; i < r->nsubnets; i++) {
		const struct clone_subnet *s = &r->subnets[i];
		char t[64];

		out_obj_open(o, NULL);
		out_str(o, "name", NULL, s->name);
		snprintf(t, sizeof(t), "/%d", s->bits == 120 ? 24 : s->bits);
		put_addr(o, "prefix", s->prefix);
		out_str(o, "length", NULL, t);
		out_uint(o, "hosts", NULL, s->nhosts);
		if (s->has_gw)
			put_mac(o, "gateway_mac", s->gw_mac);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_arr_open(o, "hosts");
	for (size_t i = 0; i < r->nhosts; i++) {
		const struct clone_host *h = &r->hosts[i];

		out_obj_open(o, NULL);
		put_addr(o, "address", h->addr);
		if (h->name[0])
			out_str(o, "name", NULL, h->name);
		out_str(o, "zone", NULL, h->special ? "special" : zone_name(r, h->zone));
		if (h->has_mac)
			put_mac(o, "mac", h->mac);
		out_uint(o, "bytes_sent", NULL, h->bytes_sent);
		out_uint(o, "bytes_received", NULL, h->bytes_recv);
		out_uint(o, "flows_opened", NULL, h->flows_out);
		out_uint(o, "flows_answered", NULL, h->flows_in);
		out_arr_open(o, "services");
		for (size_t j = 0; j < h->nsvc; j++) {
			const struct clone_service *s = &h->svc[j];
			int best = 0;

			for (int p = 1; p < PROTO__COUNT; p++)
				if (s->proto_bytes[p] > s->proto_bytes[best])
					best = p;
			out_obj_open(o, NULL);
			out_str(o, "transport", NULL, s->l4 == IPPROTO_TCP ? "tcp" : "udp");
			out_uint(o, "port", NULL, s->port);
			out_str(o, "protocol", NULL, spec_proto_name((enum spec_proto)best));
			out_uint(o, "flows", NULL, s->flows);
			out_uint(o, "answered", NULL, s->answered);
			out_uint(o, "bytes", NULL, s->bytes);
			out_obj_close(o);
		}
		out_arr_close(o);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_arr_open(o, "groups");
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct clone_group *g = &r->groups[i];

		out_obj_open(o, NULL);
		out_str(o, "from", NULL, zone_name(r, g->czone));
		out_str(o, "to", NULL, g->server < 0 ? "external" : r->hosts[g->server].name);
		out_str(o, "class", NULL, spec_class_name(g->cls));
		out_str(o, "protocol", NULL, spec_proto_name(g->proto));
		out_uint(o, "port", NULL, g->port);
		out_uint(o, "rate", NULL, clone_group_rate(r, g));
		out_uint(o, "flows_open", NULL, clone_group_flows(g));
		out_uint(o, "flows", NULL, g->flows);
		out_uint(o, "bytes_up", NULL, g->bytes[0]);
		out_uint(o, "bytes_down", NULL, g->bytes[1]);
		out_uint(o, "packets_up", NULL, g->packets[0]);
		out_uint(o, "packets_down", NULL, g->packets[1]);
		out_uint(o, "clients", NULL, g->nclients);
		out_arr_open(o, "ndpi");
		for (size_t j = 0; j < 4; j++)
			if (g->names[j].bytes)
				out_str(o, NULL, NULL, g->names[j].name);
		out_arr_close(o);
		if (profile) {
			put_hist(o, "packet_size", &g->pkt_size);
			put_hist(o, "interarrival_us", &g->iat_us);
			put_hist(o, "flow_bytes", &g->flow_bytes);
			put_hist(o, "flow_duration_us", &g->flow_us);
			put_hist(o, "request_bytes", &g->req_bytes);
			put_hist(o, "response_bytes", &g->resp_bytes);
			put_hist(o, "think_us", &g->think_us);
			/* keys of their own: "flows_open" above is the figure
			 * of the statement, here it is each second's */
			out_obj_open(o, "per_second");
			put_series(o, "bytes", &g->rate, false);
			put_series(o, "flows_open", &g->opens, true);
			put_series(o, "flow_starts", &g->starts, false);
			out_obj_close(o);
		}
		out_obj_close(o);
	}
	out_arr_close(o);
	out_obj_close(o);
}

static void summary(FILE *f, const struct clone_result *r, const char *spec, uint64_t unplayable)
{
	size_t internal = 0, servers = 0, services = 0;

	for (size_t i = 0; i < r->nhosts; i++) {
		const struct clone_host *h = &r->hosts[i];
		bool server = false;

		internal += h->internal;
		for (size_t j = 0; j < h->nsvc; j++) {
			if (h->svc[j].answered) {
				services++;
				server = true;
			}
		}
		servers += server;
	}
	fprintf(f, "read %llu frames: %llu IP, %llu not IP, %llu cut short, %llu bad; %.1f s of traffic",
		(unsigned long long)r->rc.frames, (unsigned long long)r->rc.ip,
		(unsigned long long)r->rc.not_ip, (unsigned long long)r->rc.truncated,
		(unsigned long long)r->rc.bad, (double)r->active_ns / 1e9);
	if (r->gaps)
		fprintf(f, " (%llu silence%s over a minute left out)", (unsigned long long)r->gaps,
			r->gaps == 1 ? "" : "s");
	fputc('\n', f);
	if (r->rc.first_bad_frame)
		fprintf(f, "  first unreadable frame: %llu, %s\n",
			(unsigned long long)r->rc.first_bad_frame, r->rc.first_bad_why);
	if (r->warning[0])
		fprintf(f, "  the file ends early: %s\n", r->warning);
	fprintf(f, "hosts: %zu (%zu internal in %zu subnet%s, %zu external or special), %zu servers with %zu services\n",
		r->nhosts, internal, r->nsubnets, r->nsubnets == 1 ? "" : "s", r->nhosts - internal,
		servers, services);
	fprintf(f, "flows: %llu (%llu classified by nDPI, %llu by port, %llu not)",
		(unsigned long long)r->flows, (unsigned long long)r->how_flows[CLS_DPI],
		(unsigned long long)r->how_flows[CLS_PORT], (unsigned long long)r->how_flows[CLS_NONE]);
	if (r->fc.evicted)
		fprintf(f, ", %llu ended early by the flow limit", (unsigned long long)r->fc.evicted);
	fputc('\n', f);
	fprintf(f, "classes by bytes:");
	for (int c = 0; c < CLASS__COUNT; c++)
		if (r->cls_flows[c])
			fprintf(f, " %s %.1f%%", spec_class_name((enum spec_class)c),
				r->bytes ? 100.0 * (double)r->cls_bytes[c] / (double)r->bytes : 0);
	fputc('\n', f);
	fprintf(f, "wrote %s: %zu traffic groups", spec, r->ngroups);
	if (unplayable)
		fprintf(f, "; %.1f%% of the bytes are in classes no catalog source plays yet (comments)",
			r->bytes ? 100.0 * (double)unplayable / (double)r->bytes : 0);
	fputc('\n', f);
}

static struct reader *live_reader;

static void on_stop(int sig)
{
	(void)sig;
	if (live_reader)
		reader_break(live_reader);
}

/* Enter the lab node's namespace and open its interface */
static int open_live(const char *what, const char *lab, uint64_t us, struct reader **rd)
{
	char node[64], dir[PATH_MAX], err[512];
	const char *colon = strchr(what, ':');
	struct sigaction sa = { .sa_handler = on_stop };
	struct lab l;
	int st;

	if (!colon || colon == what || !colon[1] || (size_t)(colon - what) >= sizeof(node))
		return cli_usage_error(cli_find("clone"), "--live wants NODE:IFACE, like gw:eth1");
	memcpy(node, what, (size_t)(colon - what));
	node[colon - what] = 0;
	if ((st = cli_lab_enter(lab, node, dir, sizeof(dir), &l)))
		return st;
	lab_free(&l);
	*rd = reader_open_live(colon + 1, (double)us / 1e6, err, sizeof(err));
	if (!*rd) {
		fprintf(stderr, "dynamo: %s: %s\n", node, err);
		return EXIT_FAIL;
	}
	live_reader = *rd;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "dynamo: capturing on %s of %s%s\n", colon + 1, node,
		us ? "" : " until Ctrl-C");
	return EXIT_OK;
}

int cli_internal(const struct cmd *c, char *arg, struct clone_cidr *v, size_t *n)
{
	char *save = NULL;

	for (char *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == CLI_MAX_INTERNAL)
			return cli_usage_error(c, "--internal: more than %d ranges", CLI_MAX_INTERNAL);
		if (clone_cidr_parse(t, &v[*n]))
			return cli_usage_error(c, "--internal: '%s' is not a CIDR (like 10.0.0.0/8 or 2001:db8::/32)", t);
		(*n)++;
	}
	return EXIT_OK;
}

void cli_ndpi_map(char *out, size_t n)
{
	char data[PATH_MAX];

	cli_find_datadir(data, sizeof(data));
	snprintf(out, n, "%s/clone/ndpi.map", data);
}

/* The text of the model proto's agent follows by default (NULL: none). */
static char *base_model(enum spec_proto proto)
{
	const struct agent *a = agent_find(proto);
	char data[PATH_MAX], *path;
	struct buf b = { 0 };
	FILE *f;

	if (!a || !a->model)
		return NULL;
	cli_find_datadir(data, sizeof(data));
	path = agent_model_path(data, a->model);
	f = fopen(path, "re");
	free(path);
	if (!f)
		return NULL;
	if (buf_read_file(&b, f, 1 << 20) < 0) {
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	buf_putc(&b, '\0');
	return b.p;
}

/* Behaviour models fitted to the capture, one per server and protocol
 * (one server answers all its groups), into OUTPUT's name less .dyn
 * plus .models/; each group's statement names its model. */
static int write_models(struct clone_result *r, const char *output, const char *capture,
			const bool *playable, char **dirp, size_t *nmodels)
{
	size_t len = strlen(output), *idx = xcalloc(r->ngroups + 1, sizeof(*idx));
	const char *base;
	char *dir;
	int status = EXIT_OK;

	if (len > 4 && !strcmp(output + len - 4, ".dyn"))
		len -= 4;
	dir = *dirp = xasprintf("%.*s.models", (int)len, output);
	clone_name(r);          /* the models are named by their servers */
	base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	for (size_t i = 0; i < r->ngroups && status == EXIT_OK; i++) {
		struct clone_group *g = &r->groups[i];
		struct buf text = { 0 };
		size_t n = 0;
		char *path, name[96], *own;
		bool fitted;
		FILE *f;

		if (g->model || !playable[g->cls] || g->czone == CLONE_EXTERNAL)
			continue;
		/* a generic group is an application of its own: a model each */
		for (size_t j = i; j < r->ngroups; j++)
			if (r->groups[j].server == g->server && r->groups[j].proto == g->proto &&
			    r->groups[j].cls == g->cls && r->groups[j].czone != CLONE_EXTERNAL &&
			    (g->cls != CLASS_GENERIC || j == i))
				idx[n++] = j;
		own = base_model(g->proto);
		fitted = clone_fit(r, idx, n, capture, own, &text);
		free(own);
		if (!fitted) {
			buf_free(&text);
			continue;
		}
		if (!*nmodels && mkdir(dir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "dynamo: %s: %s\n", dir, strerror(errno));
			status = EXIT_FAIL;
		}
		snprintf(name, sizeof(name), "%s-%s-%s", spec_class_name(g->cls),
			 spec_proto_name(g->proto), g->server < 0 ? "external" : r->hosts[g->server].name);
		if (g->cls == CLASS_GENERIC)
			snprintf(name + strlen(name), sizeof(name) - strlen(name), "-%u-%zu", g->port, i);
		snprintf(name + strlen(name), sizeof(name) - strlen(name), ".model");
		path = xasprintf("%s/%s", dir, name);
		if (status == EXIT_OK && (!(f = fopen(path, "w")) ||
		    fwrite(text.p, 1, text.len, f) != text.len || fclose(f))) {
			fprintf(stderr, "dynamo: %s: cannot write it\n", path);
			status = EXIT_FAIL;
		}
		if (status == EXIT_OK) {
			for (size_t k = 0; k < n; k++)
				r->groups[idx[k]].model = xasprintf("%s/%s", base, name);
			++*nmodels;
		}
		free(path);
		buf_free(&text);
	}
	free(idx);
	return status;
}

int cmd_clone(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "internal", required_argument, NULL, 'i' },
		{ "anonymize", required_argument, NULL, 'a' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "live", required_argument, NULL, 'L' },
		{ "lab", required_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *me = cli_find("clone");
	const char *output = NULL, *profile = NULL, *key = NULL, *catdir = NULL, *live = NULL;
	const char *lab = NULL, *capture;
	uint64_t duration_us = 0;
	struct clone_cidr internal[CLI_MAX_INTERNAL];
	struct clone_opts co = { 0 };
	struct clone_result res = { 0 };
	struct catalog cat = { 0 };
	bool json = false, playable[CLASS__COUNT];
	char err[1024], mapfile[PATH_MAX + 32], catpath[PATH_MAX];
	struct reader *rd = NULL;
	struct buf spec = { 0 };
	uint64_t unplayable = 0;
	size_t ninternal = 0, nmodels = 0;
	char *mdir = NULL;
	int c, status = EXIT_FAIL;
	FILE *f;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'i':
			if ((status = cli_internal(me, optarg, internal, &ninternal)))
				return status;
			break;
		case 'a':
			if (!*optarg)
				return cli_usage_error(me, "--anonymize needs a key");
			key = optarg;
			break;
		case 'c':
			catdir = optarg;
			break;
		case 'L':
			live = optarg;
			break;
		case 'l':
			lab = optarg;
			break;
		case 'd':
			if (cli_parse_time(optarg, &duration_us))
				return cli_usage_error(me, "--duration: '%s' is not a time (30s, 5min)", optarg);
			break;
		case 'h':
			return cli_help(me);
		default:
			return cli_usage_error(me, "bad option");
		}
	}
	if (live ? optind != argc : optind + 1 != argc)
		return cli_usage_error(me, live ? "clone --live reads no capture file"
					   : optind >= argc ? "clone needs a capture file"
					   : "clone takes one capture file");
	if (!live && (lab || duration_us))
		return cli_usage_error(me, "--lab and --duration go with --live");
	if (json && !output)
		return cli_usage_error(me, "--json prints the summary on standard output: give the spec a file with -o");
	status = cli_catalog_load(catdir, catpath, sizeof(catpath), &cat);
	if (status != EXIT_OK)
		return status;
	cli_playable(&cat, playable);
	catalog_free(&cat);

	cli_ndpi_map(mapfile, sizeof(mapfile));
	co.mapfile = mapfile;
	co.internal = ninternal ? internal : NULL;
	co.ninternal = ninternal;
	if (live) {
		capture = live;
		if ((status = open_live(live, lab, duration_us, &rd)))
			return status;
	} else {
		capture = argv[optind];
		rd = reader_open(capture, err, sizeof(err));
		if (!rd) {
			fprintf(stderr, "dynamo: %s\n", err);
			return EXIT_FAIL;
		}
	}
	status = EXIT_FAIL;
	if (clone_read(rd, &co, &res, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s: %s\n", capture, err);
		goto out;
	}
	if (!res.packets) {
		fprintf(stderr, "dynamo: %s: no IP packets in %llu frames\n", capture,
			(unsigned long long)res.rc.frames);
		goto out;
	}
	clone_anonymize(&res, key);
	if (output && (status = write_models(&res, output, capture, playable, &mdir, &nmodels)) != EXIT_OK)
		goto out;
	status = EXIT_FAIL;
	clone_spec(&res, capture, playable, &spec, &unplayable);
	if (output) {
		f = fopen(output, "w");
		if (!f || fwrite(spec.p, 1, spec.len, f) != spec.len || fclose(f)) {
			fprintf(stderr, "dynamo: %s: cannot write it\n", output);
			goto out;
		}
	} else if (fwrite(spec.p, 1, spec.len, stdout) != spec.len || fflush(stdout)) {
		fprintf(stderr, "dynamo: cannot write the spec to standard output\n");
		goto out;
	}
	if (profile) {
		struct out *o;

		f = fopen(profile, "w");
		if (!f) {
			fprintf(stderr, "dynamo: %s: cannot write it\n", profile);
			goto out;
		}
		o = out_new(f, true);
		put_json(o, &res, true);
		out_free(o);
		if (fclose(f)) {
			fprintf(stderr, "dynamo: %s: cannot write it\n", profile);
			goto out;
		}
	}
	if (json) {
		struct out *o = out_new(stdout, true);

		put_json(o, &res, false);
		out_free(o);
	} else {
		summary(output ? stdout : stderr, &res, output ? output : "the spec", unplayable);
		if (nmodels)
			printf("wrote %zu behaviour model%s fitted to the capture into %s/\n", nmodels,
			       nmodels == 1 ? "" : "s", mdir);
	}
	status = EXIT_OK;
out:
	free(mdir);
	buf_free(&spec);
	clone_result_free(&res);
	live_reader = NULL;
	reader_close(rd);
	return status;
}
