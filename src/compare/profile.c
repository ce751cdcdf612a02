/* profile.c - a profile (dynamo clone --profile) read back as the clone
 * result of its capture, for compare (compare.h).  The document is parsed
 * with jansson; every value compare uses is checked for its type and
 * range, and a bad one is named by its path in the document. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"

#define PROFILE_MAX_BYTES (256u << 20)

struct pctx {
	const char *name;
	char *err;
	size_t errlen;
	char path[160];
};

static int bad(struct pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct pctx *p, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: %s: %s", p->name, p->path[0] ? p->path : "the document", why);
	return -1;
}

/* p->path extended by ".key" or "[i]" while a member is read; restored
 * by the caller from the length it had. */
static size_t enter(struct pctx *p, const char *key, long idx)
{
	size_t at = strlen(p->path);

	if (key)
		snprintf(p->path + at, sizeof(p->path) - at, "%s%s", at ? "." : "", key);
	else
		snprintf(p->path + at, sizeof(p->path) - at, "[%ld]", idx);
	return at;
}

static void leave(struct pctx *p, size_t at)
{
	p->path[at] = 0;
}

/* A count: a whole number from 0 up; absent is 0 unless need. */
static int get_count(struct pctx *p, const json_t *obj, const char *key, bool need, uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	size_t at = enter(p, key, 0);
	int r = 0;

	*out = 0;
	if (!v) {
		if (need)
			r = bad(p, "missing");
	} else if (!json_is_integer(v) || json_integer_value(v) < 0) {
		r = bad(p, "not a count (a whole number from 0)");
	} else {
		*out = (uint64_t)json_integer_value(v);
	}
	if (!r)
		leave(p, at);
	return r;
}

static int get_number(struct pctx *p, const json_t *obj, const char *key, double *out)
{
	const json_t *v = json_object_get(obj, key);
	size_t at = enter(p, key, 0);

	if (!v)
		return bad(p, "missing");
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
		return bad(p, "not a number from 0");
	*out = json_number_value(v);
	leave(p, at);
	return 0;
}

static int get_string(struct pctx *p, const json_t *obj, const char *key, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	size_t at = enter(p, key, 0);

	if (!v)
		return bad(p, "missing");
	if (!json_is_string(v))
		return bad(p, "not a string");
	*out = json_string_value(v);
	leave(p, at);
	return 0;
}

static const json_t *get_kind(struct pctx *p, const json_t *obj, const char *key, json_type t)
{
	const json_t *v = json_object_get(obj, key);
	size_t at = enter(p, key, 0);

	if (!v) {
		bad(p, "missing");
		return NULL;
	}
	if (json_typeof(v) != t) {
		bad(p, "not an %s", t == JSON_ARRAY ? "array" : "object");
		return NULL;
	}
	leave(p, at);
	return v;
}

/* {"n": N, "mean": M, "bins": [[lower edge, count], ...]} into h: each
 * edge one of hist.h's, rising, the counts adding up to n. */
static int get_hist(struct pctx *p, const json_t *obj, const char *key, struct hist *h)
{
	const json_t *o = get_kind(p, obj, key, JSON_OBJECT), *bins, *b;
	size_t at, at2, i;
	uint64_t n, sum = 0;
	double mean;
	int last = -1;

	if (!o)
		return -1;
	at = enter(p, key, 0);
	if (get_count(p, o, "n", true, &n) || get_number(p, o, "mean", &mean) ||
	    !(bins = get_kind(p, o, "bins", JSON_ARRAY)))
		return -1;
	enter(p, "bins", 0);
	at2 = strlen(p->path);
	json_array_foreach(bins, i, b) {
		const json_t *e = json_array_get(b, 0), *c = json_array_get(b, 1);
		double edge;
		int bin;

		enter(p, NULL, (long)i);
		if (!json_is_array(b) || json_array_size(b) != 2 || !json_is_number(e) ||
		    !json_is_integer(c) || json_integer_value(c) < 1)
			return bad(p, "not a bin: [lower edge, count of 1 or more]");
		edge = json_number_value(e);
		if (!isfinite(edge) || edge < 0 || edge > 1e300)
			return bad(p, "not a bin edge: %g", edge);
		bin = hist_bin(edge * (1 + 1e-7));
		if (fabs(hist_lo(bin) - edge) > 1e-6 * fmax(1, edge))
			return bad(p, "%g is not a bin edge of dynamo's histograms", edge);
		if (bin <= last)
			return bad(p, "bins out of order");
		if ((uint64_t)json_integer_value(c) > UINT64_MAX - sum)
			return bad(p, "counts overflow");
		last = bin;
		h->bin[bin] = (uint64_t)json_integer_value(c);
		sum += h->bin[bin];
		leave(p, at2);
	}
	leave(p, at);
	enter(p, key, 0);
	if (sum != n)
		return bad(p, "its bins hold %llu values, n says %llu", (unsigned long long)sum,
			   (unsigned long long)n);
	h->n = n;
	h->sum = mean * (double)n;
	leave(p, at);
	return 0;
}

static int get_class(struct pctx *p, const char *name, uint8_t *out)
{
	int c = spec_class_find(name);

	if (c < 0 || c >= CLASS__COUNT)
		return bad(p, "unknown class '%s'", name);
	*out = (uint8_t)c;
	return 0;
}

static int get_classes(struct pctx *p, const json_t *doc, struct clone_result *r)
{
	const json_t *cs = get_kind(p, doc, "classes", JSON_OBJECT), *v;
	const char *name;
	size_t at;

	if (!cs)
		return -1;
	at = enter(p, "classes", 0);
	json_object_foreach((json_t *)cs, name, v) {
		uint8_t c = 0;
		size_t at2 = enter(p, name, 0);

		if (get_class(p, name, &c))
			return -1;
		if (!json_is_object(v))
			return bad(p, "not an object");
		if (get_count(p, v, "bytes", true, &r->cls_bytes[c]) ||
		    get_count(p, v, "flows", true, &r->cls_flows[c]))
			return -1;
		leave(p, at2);
	}
	leave(p, at);
	return 0;
}

static int get_host(struct pctx *p, const json_t *o, struct clone_host *h)
{
	const json_t *svcs, *s;
	const char *addr, *zone;
	struct in6_addr a6;
	struct in_addr a4;
	size_t i;

	if (!json_is_object(o))
		return bad(p, "not an object");
	if (get_string(p, o, "address", &addr) || get_string(p, o, "zone", &zone))
		return -1;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		h->addr[10] = h->addr[11] = 0xff;
		memcpy(h->addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		memcpy(h->addr, &a6, 16);
	} else {
		enter(p, "address", 0);
		return bad(p, "not an IPv4 or IPv6 address: '%.64s'", addr);
	}
	h->special = !strcmp(zone, "special");
	h->internal = !h->special && strcmp(zone, "external");
	if (!(svcs = get_kind(p, o, "services", JSON_ARRAY)))
		return -1;
	h->svc = xcalloc(json_array_size(svcs) + 1, sizeof(*h->svc));
	json_array_foreach(svcs, i, s) {
		struct clone_service *sv = &h->svc[h->nsvc];
		size_t at = enter(p, "services", 0);
		const char *tr;
		uint64_t port;

		enter(p, NULL, (long)i);
		if (!json_is_object(s))
			return bad(p, "not an object");
		if (get_string(p, s, "transport", &tr) || get_count(p, s, "port", true, &port) ||
		    get_count(p, s, "answered", false, &sv->answered) ||
		    get_count(p, s, "flows", false, &sv->flows) || get_count(p, s, "bytes", false, &sv->bytes))
			return -1;
		if (strcmp(tr, "tcp") && strcmp(tr, "udp")) {
			enter(p, "transport", 0);
			return bad(p, "not tcp or udp: '%.16s'", tr);
		}
		if (port > 65535) {
			enter(p, "port", 0);
			return bad(p, "not a port: %llu", (unsigned long long)port);
		}
		sv->l4 = tr[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		sv->port = (uint16_t)port;
		h->nsvc++;
		leave(p, at);
	}
	return 0;
}

static int get_group(struct pctx *p, const json_t *o, struct clone_group *g)
{
	static const char *const hists[] = { "packet_size", "interarrival_us", "flow_bytes",
					     "flow_duration_us", "request_bytes", "response_bytes",
					     "think_us" };
	struct hist *to[] = { &g->pkt_size, &g->iat_us, &g->flow_bytes, &g->flow_us,
			      &g->req_bytes, &g->resp_bytes, &g->think_us };
	const char *cls, *proto;
	int pr;

	if (!json_is_object(o))
		return bad(p, "not an object");
	if (get_string(p, o, "class", &cls) || get_string(p, o, "protocol", &proto))
		return -1;
	if (get_class(p, cls, &g->cls))
		return -1;
	pr = spec_proto_find(proto);
	if (pr < 0 || pr >= PROTO__COUNT) {
		enter(p, "protocol", 0);
		return bad(p, "unknown protocol '%.32s'", proto);
	}
	g->proto = (uint8_t)pr;
	g->server = -1;
	if (get_count(p, o, "flows", false, &g->flows) ||
	    get_count(p, o, "bytes_up", true, &g->bytes[0]) ||
	    get_count(p, o, "bytes_down", true, &g->bytes[1]) ||
	    get_count(p, o, "packets_up", false, &g->packets[0]) ||
	    get_count(p, o, "packets_down", false, &g->packets[1]))
		return -1;
	if (!json_object_get(o, hists[0]))
		return bad(p, "no distributions: a profile is what dynamo clone --profile writes "
			      "(--json alone leaves them out)");
	for (size_t k = 0; k < ARRAY_SIZE(hists); k++)
		if (get_hist(p, o, hists[k], to[k]))
			return -1;
	return 0;
}

int profile_parse(const char *name, const char *text, size_t len, struct clone_result *r, char *err,
		  size_t errlen)
{
	struct pctx p = { .name = name, .err = err, .errlen = errlen };
	const json_t *hosts, *groups, *v;
	json_error_t je;
	json_t *doc;
	double active;
	size_t i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		bad(&p, "not a JSON object (a profile is what dynamo clone --profile writes)");
		goto out;
	}
	if (get_number(&p, doc, "active", &active) || get_count(&p, doc, "bytes", true, &r->bytes) ||
	    get_count(&p, doc, "packets", false, &r->packets) ||
	    get_count(&p, doc, "flows", false, &r->flows) || get_classes(&p, doc, r) ||
	    !(hosts = get_kind(&p, doc, "hosts", JSON_ARRAY)) ||
	    !(groups = get_kind(&p, doc, "groups", JSON_ARRAY)))
		goto out;
	if (active > 1e9) {
		enter(&p, "active", 0);
		bad(&p, "%g s: more than 30 years", active);
		goto out;
	}
	r->active_ns = (uint64_t)(active * 1e9);
	r->hosts = xcalloc(json_array_size(hosts) + 1, sizeof(*r->hosts));
	json_array_foreach(hosts, i, v) {
		size_t at = enter(&p, "hosts", 0);

		enter(&p, NULL, (long)i);
		r->nhosts++;
		if (get_host(&p, v, &r->hosts[i]))
			goto out;
		leave(&p, at);
	}
	r->groups = xcalloc(json_array_size(groups) + 1, sizeof(*r->groups));
	json_array_foreach(groups, i, v) {
		size_t at = enter(&p, "groups", 0);

		enter(&p, NULL, (long)i);
		r->ngroups++;
		if (get_group(&p, v, &r->groups[i]))
			goto out;
		leave(&p, at);
	}
	rc = 0;
out:
	json_decref(doc);
	if (rc)
		clone_result_free(r);
	return rc;
}

bool profile_is(const char *path)
{
	FILE *f = fopen(path, "re");
	int c = EOF;

	if (!f)
		return false;
	while ((c = getc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
		;
	fclose(f);
	return c == '{';
}

int profile_read(const char *path, struct clone_result *r, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct buf b = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = buf_read_file(&b, f, PROFILE_MAX_BYTES);
	fclose(f);
	if (rc == -EFBIG)
		snprintf(err, errlen, "%s: larger than %u MiB: not a profile", path, PROFILE_MAX_BYTES >> 20);
	else if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	else
		rc = profile_parse(path, b.p ? b.p : "", b.len, r, err, errlen);
	buf_free(&b);
	return rc ? -1 : 0;
}
