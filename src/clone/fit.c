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
		if ((double)(seen + h->bin[i]) < want && q < 1) {
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
	uint64_t n = 0;
	double prev = 0;

	for (int i = hist_bin(lo); i < HIST_BINS; i++)
		n += h->bin[i];
	if (n < need)
		return false;
	buf_puts(b, "quantiles(");
	for (int k = 0; k < FIT_POINTS; k++) {
		double v = quantile_above(h, lo, (double)k / (FIT_POINTS - 1)) * mult - off;

		v = MAX(v, min);
		v = MAX(v, prev);      /* rising, after the floor */
		prev = v;
		buf_printf(b, v >= 100 ? "%s%.0f%s%s" : "%s%.3g%s%s", k ? ", " : "", v, unit[0] ? " " : "",
			   unit);
	}
	buf_putc(b, ')');
	return true;
}

static bool web(uint8_t proto)
{
	return proto == PROTO_HTTP || proto == PROTO_HTTPS;
}

/* base, line by line, with the line "param NAME ..." of each fitted
 * param (nfit of them, name and value) replaced by its fitted value. */
static void put_base(struct buf *b, const char *base, const char *const *name, struct buf *value,
		     size_t nfit)
{
	for (const char *p = base; *p;) {
		size_t len = strcspn(p, "\n"), i;

		for (i = 0; i < nfit; i++) {
			size_t k = strlen(name[i]);

			if (len > 6 + k && !strncmp(p, "param ", 6) && !strncmp(p + 6, name[i], k) &&
			    (p[6 + k] == ' ' || p[6 + k] == '\t') && value[i].len)
				break;
		}
		if (i < nfit)
			buf_printf(b, "param %s %.*s\n", name[i], (int)value[i].len, value[i].p);
		else
			buf_printf(b, "%.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* FTP: the files are what the server sent in one go of 1 KiB or more
 * (a data connection carries one file or one listing; the control
 * connection's replies are smaller), the uploads what the client sent
 * so; the rest is ftp.model's. */
#define FTP_FILE_MIN 1024.0

static bool fit_ftp(const struct clone_result *r, const size_t *groups, size_t n, const char *capture,
		    const char *base, struct buf *b)
{
	static const char *const name[] = { "file_size", "upload_size" };
	struct hist *h = xcalloc(2, sizeof(*h));
	struct buf value[2] = { { 0 }, { 0 } };
	bool ok = false;

	for (size_t i = 0; i < n; i++) {
		hist_merge(&h[0], &r->groups[groups[i]].resp_bytes);
		hist_merge(&h[1], &r->groups[groups[i]].req_bytes);
	}
	for (int k = 0; k < 2; k++)
		put_quantiles(&value[k], &h[k], FTP_FILE_MIN, 1, 1, 0, FTP_FILE_MIN, "B");
	if (base && value[0].len) {
		buf_printf(b, "# ftp.model fitted by dynamo clone to %s:\n", capture);
		buf_printf(b, "# file sizes (what the server sent in one go of %g bytes or more)%s\n",
			   FTP_FILE_MIN, value[1].len ? " and upload sizes" : "");
		buf_puts(b, "# are the capture's, as quantiles every 5 %; the rest is ftp.model's.\n#\n");
		put_base(b, base, name, value, 2);
		ok = true;
	}
	buf_free(&value[0]);
	buf_free(&value[1]);
	free(h);
	return ok;
}

bool clone_fit(const struct clone_result *r, const size_t *groups, size_t n, const char *capture,
	       const char *base, struct buf *b)
{
	struct hist *req = xcalloc(4, sizeof(*req)), *resp = req + 1, *think = req + 2,
		    *reqs = req + 3;
	uint64_t flows = 0, clients = 0, pauses = 0, requests;
	double per_load, par;
	bool ok = false;
	const struct clone_group *g0 = n ? &r->groups[groups[0]] : NULL;

	if (n && g0->proto == PROTO_FTP) {
		free(req);
		return fit_ftp(r, groups, n, capture, base, b);
	}
	if (!n || !web(g0->proto))
		goto out;
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
	}
	if (resp->n < FIT_MIN || req->n < FIT_MIN)
		goto out;
	requests = req->n;
	for (int i = hist_bin(PAUSE_US); i < HIST_BINS; i++)
		pauses += think->bin[i];
	/* Connections a user holds at once: the flows open at a time per
	 * client, within what browsers allow */
	par = 0;
	for (size_t i = 0; i < n; i++) {
		const struct clone_group *g = &r->groups[groups[i]];

		par = MAX(par, (double)clone_group_flows(g) / (double)MAX(g->nclients, 1));
	}
	par = MIN(MAX(round(par), 1), 6);
	/* A page load is what comes between two pauses: the requests of
	 * the capture over the pauses it shows, and the visits (a user's
	 * first connections) */
	per_load = (double)requests / (double)MAX(pauses + MAX(flows / (uint64_t)par, 1), 1);

	buf_printf(b, "# web.model fitted by dynamo clone to %s:\n", capture);
	buf_printf(b, "# %llu requests on %llu connections of %llu client%s (%s). The actions\n",
		   (unsigned long long)requests, (unsigned long long)flows, (unsigned long long)clients,
		   clients == 1 ? "" : "s", spec_proto_name(g0->proto));
	buf_printf(b, "# are data/behaviours/web.model's; sizes, pauses and requests per\n"
		      "# connection are the capture's, as quantiles every 5 %%. Responses\n"
		      "# are less a head of about %d bytes; a page load is the requests\n"
		      "# between two pauses of %g s or more. Edit freely.\n\n", HEAD_BYTES, PAUSE_US / 1e6);
	buf_puts(b, "start open_page\naction open_page\naction follow_link\naction fetch_objects\n");
	buf_puts(b, "action think          think ");
	if (!put_quantiles(b, think, PAUSE_US, FIT_MIN, 1e-6, 0, 0.2, "s"))
		buf_puts(b, "lognormal(3 s, 0.8)");
	buf_puts(b, "\n\nnext open_page      fetch_objects 100%\n"
		    "next follow_link    fetch_objects 100%\n"
		    "next fetch_objects  think 100%\n"
		    "next think          follow_link 80%  open_page 5%  end 15%\n\n");
	buf_puts(b, "param site_pages          1000\n");
	buf_puts(b, "param page_size           ");
	put_quantiles(b, resp, 0, 1, 1, HEAD_BYTES, 512, "B");
	buf_puts(b, "\nparam object_size         ");
	put_quantiles(b, resp, 0, 1, 1, HEAD_BYTES, 64, "B");
	buf_printf(b, "\nparam objects_per_page    geometric(%.3g)\n", MAX(per_load - 1, 0.0));
	buf_puts(b, "param object_tail         0%\n"
		    "param object_tail_size    128 KiB\n"
		    "param links_per_page      uniform(8, 30)\n"
		    "param downloads_per_page  0\n");
	buf_printf(b, "param parallel_conns      %.0f\n", par);
	buf_puts(b, "param request_size        ");
	put_quantiles(b, req, 0, 1, 1, 0, 1, "B");
	if (reqs->n >= FIT_MIN / 2) {
		buf_puts(b, "\nparam conn_requests       ");
		put_quantiles(b, reqs, 0, 1, 1, 0, 1, "");
	}
	buf_puts(b, "\nparam session_gap         exp(5 s)\n");
	ok = true;
out:
	free(req);
	return ok;
}
