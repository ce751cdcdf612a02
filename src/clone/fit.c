/* fit.c - behaviour models fitted to a capture (see clone_fit in
 * clone.h).  A fitted model keeps its agent's actions and takes from
 * the capture what shapes the packets and pauses: the sizes of requests
 * and responses, how many requests a connection carries, the users'
 * pauses.  Distributions are written as quantiles(...) every 5 %, read
 * off the histograms with the spread inside each bin, so the run draws
 * what the capture holds rather than a guessed family. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"

#define FIT_POINTS 21           /* quantiles: every 5 % */
#define FIT_MIN 10              /* exchanges, at least, to fit anything */
#define HEAD_BYTES 240          /* a response head, about (status, date, type, length, tags) */
#define PAUSE_US 200000.0       /* gaps shorter than this are the browser's, not the user's */

/* The q-quantile of the values at or above lo, interpolated inside its
 * bin (geometrically: bins are log-spaced); -1 when there are none. */
static double quantile_above(const struct hist *h, double lo, double q)
{
	int from = hist_bin(lo);
	uint64_t n = 0, seen = 0;
	double want;

	for (int i = from; i < HIST_BINS; i++)
		n += h->bin[i];
	if (!n)
		return -1;
	want = q * (double)n;
	for (int i = from; i < HIST_BINS; i++) {
		double a, b, f;

		if (!h->bin[i])
			continue;
		/* the top quantile is the last bin's, not the first's */
		if (seen + h->bin[i] < n && (double)(seen + h->bin[i]) < want) {
			seen += h->bin[i];
			continue;
		}
		a = MAX(hist_lo(i), lo);
		b = i + 1 < HIST_BINS ? hist_lo(i + 1) : a;
		f = ((want - (double)seen) / (double)h->bin[i]);
		f = f < 0 ? 0 : f > 1 ? 1 : f;
		if (a <= 0)
			return a + (b - a) * f;
		return a * pow(b / a, f);
	}
	return -1;
}

/* "quantiles(v0 U, ..., v20 U)" of h's values at or above lo, each
 * times mult, less off, at least min; false when h has fewer than need
 * such values. */
static bool put_quantiles(struct buf *b, const struct hist *h, double lo, uint64_t need, double mult,
			  double off, double min, const char *unit)
{
	const int points = FIT_POINTS;
	uint64_t n = 0;
	double prev = 0;

	for (int i = hist_bin(lo); i < HIST_BINS; i++)
		n += h->bin[i];
	if (n < need)
		return false;
	buf_puts(b, "quantiles(");
	for (int k = 0; k < points; k++) {
		double v = quantile_above(h, lo, (double)k / (points - 1)) * mult - off;

		v = MAX(v, min);
		v = MAX(v, prev);      /* rising, after the floor */
		prev = v;
		buf_printf(b, v >= 100 ? "%s%.0f%s%s" : "%s%.3g%s%s", k ? ", " : "", v, unit[0] ? " " : "",
			   unit);
	}
	buf_putc(b, ')');
	return true;
}

/* A value of a histogram's unit (us when time is set, else bytes) with
 * a unit: the bins' edges are whole numbers of it, written exactly. */
static void put_edge(struct buf *b, double v, bool time)
{
	if (!time)
		buf_printf(b, "%.0f B", v);
	else if (v < 10000)
		buf_printf(b, "%.10g us", v);
	else if (v < 1e7)
		buf_printf(b, "%.10g ms", v / 1e3);
	else
		buf_printf(b, "%.10g s", v / 1e6);
}

/* "histogram(E1: N1, ..., TOP)" of h, its own bins (a run of empty ones
 * as one bin of weight 0): a run draws what the capture holds, holes
 * and all, where quantiles would spread a percent's values evenly
 * across a hole; false when h is empty. */
static bool put_histogram(struct buf *b, const struct hist *h, bool time)
{
	int first = -1, last = -1;

	for (int i = 0; i < HIST_BINS; i++)
		if (h->bin[i]) {
			if (first < 0)
				first = i;
			last = i;
		}
	if (first < 0)
		return false;
	buf_puts(b, "histogram(");
	for (int i = first; i <= last; i++) {
		if (!h->bin[i] && i > first && !h->bin[i - 1])
			continue;       /* the hole's bin is open */
		put_edge(b, hist_lo(i), time);
		buf_printf(b, ": %llu, ", (unsigned long long)h->bin[i]);
	}
	put_edge(b, hist_lo(last + 1), time);
	buf_putc(b, ')');
	return true;
}

static bool web(uint8_t proto)
{
	return proto == PROTO_HTTP || proto == PROTO_HTTPS;
}

/* A line of a model to replace: "param NAME", "action NAME" or "next
 * NAME", and what follows it in the fitted model (nothing: kept). */
struct fit {
	const char *key;
	struct buf val;
};

/* The agent's own model (base), line by line, with each line whose
 * first two words are a fitted key given the fitted value; fitted keys
 * the base lacks (optional params) follow at the end.  So a fitted model
 * is its agent's model and what the capture says, and keeps up with the
 * agent's model as that changes. */
static void put_fitted(struct buf *b, const char *base, struct fit *f, size_t n)
{
	bool *done = xcalloc(n, sizeof(*done));

	for (const char *p = base; *p;) {
		size_t len = strcspn(p, "\n"), i;

		for (i = 0; i < n; i++) {
			size_t k = strlen(f[i].key);

			if (f[i].val.len && len > k && !strncmp(p, f[i].key, k) &&
			    (p[k] == ' ' || p[k] == '\t'))
				break;
		}
		if (i < n) {
			/* the key and its spacing as they were */
			size_t v = strlen(f[i].key);

			while (v < len && (p[v] == ' ' || p[v] == '\t'))
				v++;
			buf_printf(b, "%.*s%.*s\n", (int)v, p, (int)f[i].val.len, f[i].val.p);
			done[i] = true;
		} else {
			buf_printf(b, "%.*s\n", (int)len, p);
		}
		p += len + (p[len] == '\n');
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].val.len && !done[i])
			buf_printf(b, "%-25s %.*s\n", f[i].key, (int)f[i].val.len, f[i].val.p);
	for (size_t i = 0; i < n; i++)
		buf_free(&f[i].val);
	free(done);
}

/* FTP: the files are what the server sent in one go of 1 KiB or more
 * (a data connection carries one file or one listing; the control
 * connection's replies are smaller), the uploads what the client sent
 * so; the rest is ftp.model's. */
#define FTP_FILE_MIN 1024.0

static bool fit_ftp(const struct clone_result *r, const size_t *groups, size_t n, const char *capture,
		    const char *base, struct buf *b)
{
	struct fit f[] = { { "param file_size", { 0 } }, { "param upload_size", { 0 } } };
	struct hist *h = xcalloc(2, sizeof(*h));

	for (size_t i = 0; i < n; i++) {
		hist_merge(&h[0], &r->groups[groups[i]].resp_bytes);
		hist_merge(&h[1], &r->groups[groups[i]].req_bytes);
	}
	for (int k = 0; k < 2; k++)
		put_quantiles(&f[k].val, &h[k], FTP_FILE_MIN, 1, 1, 0, FTP_FILE_MIN, "B");
	free(h);
	if (!f[0].val.len) {
		buf_free(&f[0].val);
		buf_free(&f[1].val);
		return false;
	}
	buf_printf(b, "# ftp.model fitted by dynamo clone to %s:\n", capture);
	buf_printf(b, "# file sizes (what the server sent in one go of %g bytes or more)%s\n",
		   FTP_FILE_MIN, f[1].val.len ? " and upload sizes" : "");
	buf_puts(b, "# are the capture's, as quantiles every 5 %; the rest is ftp.model's.\n#\n");
	put_fitted(b, base, f, ARRAY_SIZE(f));
	return true;
}

/* Web: sizes, pauses, page loads and connections from the exchanges;
 * no downloads or heavy tail beyond what the sizes hold. */
static bool fit_web(const struct clone_result *r, const size_t *groups, size_t n, const char *capture,
		    const char *base, struct buf *b)
{
	struct fit f[] = {
		{ "action think", { 0 } }, { "next think", { 0 } }, { "param page_size", { 0 } },
		{ "param object_size", { 0 } }, { "param objects_per_page", { 0 } },
		{ "param object_tail", { 0 } }, { "param downloads_per_page", { 0 } },
		{ "param parallel_conns", { 0 } }, { "param request_size", { 0 } },
		{ "param conn_requests", { 0 } },
	};
	struct hist *req = xcalloc(4, sizeof(*req)), *resp = req + 1, *think = req + 2,
		    *reqs = req + 3;
	uint64_t flows = 0, clients = 0, pauses = 0, requests;
	double per_load, par = 0;
	bool ok = false;
	const struct clone_group *g0 = &r->groups[groups[0]];

	for (size_t i = 0; i < n; i++) {
		const struct clone_group *g = &r->groups[groups[i]];

		if (g->proto != g0->proto || g->server != g0->server)
			goto out;
		hist_merge(req, &g->req_bytes);
		hist_merge(resp, &g->resp_bytes);
		hist_merge(think, &g->think_us);
		hist_merge(reqs, &g->flow_reqs);
		flows += g->flows;
		clients += g->nclients;
		/* connections a user holds at once: the flows open at a
		 * time per client, within what browsers allow */
		par = MAX(par, (double)clone_group_flows(g) / (double)MAX(g->nclients, 1));
	}
	if (resp->n < FIT_MIN || req->n < FIT_MIN)
		goto out;
	requests = req->n;
	for (int i = hist_bin(PAUSE_US); i < HIST_BINS; i++)
		pauses += think->bin[i];
	par = MIN(MAX(round(par), 1), 6);
	/* A page load is what comes between two pauses: the requests of
	 * the capture over the pauses it shows, and the visits (a user's
	 * first connections) */
	per_load = (double)requests / (double)MAX(pauses + MAX(flows / (uint64_t)par, 1), 1);

	buf_puts(&f[0].val, "think ");
	if (!put_quantiles(&f[0].val, think, PAUSE_US, FIT_MIN, 1e-6, 0, 0.2, "s"))
		f[0].val.len = 0;               /* web.model's own */
	buf_puts(&f[1].val, "follow_link 80%  open_page 5%  end 15%");
	put_quantiles(&f[2].val, resp, 0, 1, 1, HEAD_BYTES, 512, "B");
	put_quantiles(&f[3].val, resp, 0, 1, 1, HEAD_BYTES, 64, "B");
	buf_printf(&f[4].val, "geometric(%.3g)", MAX(per_load - 1, 0.0));
	buf_puts(&f[5].val, "0%");
	buf_puts(&f[6].val, "0");
	buf_printf(&f[7].val, "%.0f", par);
	put_quantiles(&f[8].val, req, 0, 1, 1, 0, 1, "B");
	if (reqs->n >= FIT_MIN / 2)
		put_quantiles(&f[9].val, reqs, 0, 1, 1, 0, 1, "");

	buf_printf(b, "# web.model fitted by dynamo clone to %s:\n", capture);
	buf_printf(b, "# %llu requests on %llu connections of %llu client%s (%s). Sizes,\n",
		   (unsigned long long)requests, (unsigned long long)flows, (unsigned long long)clients,
		   clients == 1 ? "" : "s", spec_proto_name(g0->proto));
	buf_printf(b, "# pauses and requests per connection are the capture's, as quantiles\n"
		      "# every 5 %%; responses are less a head of about %d bytes; a page load\n"
		      "# is the requests between two pauses of %g s or more; no downloads.\n"
		      "# The rest is web.model's. Edit freely.\n#\n", HEAD_BYTES, PAUSE_US / 1e6);
	put_fitted(b, base, f, ARRAY_SIZE(f));
	ok = true;
out:
	if (!ok)
		for (size_t i = 0; i < ARRAY_SIZE(f); i++)
			buf_free(&f[i].val);
	free(req);
	return ok;
}

/* Generic: a group's flows as the generic agents play them - packets a
 * flow, the gaps between them, the server's share, payload sizes each
 * way - from its data packets (TCP with payload, every datagram); the
 * kernel adds TCP's handshakes and ACKs.  Its server's port. */
static bool fit_generic(const struct clone_result *r, const size_t *groups, size_t n,
			const char *capture, const char *base, struct buf *b)
{
	struct fit f[] = {
		{ "param packets", { 0 } }, { "param gap", { 0 } }, { "param down", { 0 } },
		{ "param up_size", { 0 } }, { "param down_size", { 0 } }, { "param port", { 0 } },
	};
	struct hist *h = xcalloc(4, sizeof(*h));
	const struct clone_group *g0 = &r->groups[groups[0]];
	uint64_t up = 0, down = 0, flows = 0;
	bool ok = false;

	for (size_t i = 0; i < n; i++) {
		const struct clone_group *g = &r->groups[groups[i]];

		hist_merge(&h[0], &g->flow_data);
		hist_merge(&h[1], &g->data_gap_us);
		hist_merge(&h[2], &g->up_payload);
		hist_merge(&h[3], &g->down_payload);
		up += g->data[0];
		down += g->data[1];
		flows += g->flows;
	}
	if (up + down < FIT_MIN || !h[0].n)
		goto out;
	put_quantiles(&f[0].val, &h[0], 0, 1, 1, 0, 1, "");
	if (!put_histogram(&f[1].val, &h[1], true))
		buf_puts(&f[1].val, "0 s");     /* one packet a flow */
	buf_printf(&f[2].val, "%.2f%%", 100.0 * (double)down / (double)(up + down));
	if (!put_histogram(&f[3].val, &h[2], false))
		buf_puts(&f[3].val, "8 B");     /* the first packet's seed only */
	if (!put_histogram(&f[4].val, &h[3], false))
		buf_puts(&f[4].val, "0 B");
	buf_printf(&f[5].val, "%u", g0->port ? g0->port : 9000);

	buf_printf(b, "# generic.model fitted by dynamo clone to %s:\n", capture);
	buf_printf(b, "# %llu data packets (%llu from clients, %llu from servers) on %llu %s\n"
		      "# flow%s to port %u. Packets a flow, the gaps between a flow's packets,\n"
		      "# the servers' share and the payloads each way are the capture's, as\n"
		      "# the capture's histograms (gaps and payloads, 16 bins a doubling) and\n"
		      "# quantiles (packets, every 5 %%); the pause\n"
		      "# between a user's flows is\n"
		      "# generic.model's. Edit freely.\n#\n",
		   (unsigned long long)(up + down), (unsigned long long)up, (unsigned long long)down,
		   (unsigned long long)flows, spec_proto_name(g0->proto), flows == 1 ? "" : "s",
		   g0->port);
	put_fitted(b, base, f, ARRAY_SIZE(f));
	ok = true;
out:
	if (!ok)
		for (size_t i = 0; i < ARRAY_SIZE(f); i++)
			buf_free(&f[i].val);
	free(h);
	return ok;
}

bool clone_fit(const struct clone_result *r, const size_t *groups, size_t n, const char *capture,
	       const char *base, struct buf *b)
{
	if (!n || !base)
		return false;
	if (r->groups[groups[0]].cls == CLASS_GENERIC)
		return fit_generic(r, groups, n, capture, base, b);
	if (web(r->groups[groups[0]].proto))
		return fit_web(r, groups, n, capture, base, b);
	if (r->groups[groups[0]].proto == PROTO_FTP)
		return fit_ftp(r, groups, n, capture, base, b);
	return false;
}
