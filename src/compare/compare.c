/* compare.c - the distances between two traces (compare.h). */
#include <math.h>
#include <netinet/in.h>
#include <string.h>

#include "compare.h"

const char *cmp_metric_name(enum cmp_metric m)
{
	static const char *const n[CMP__COUNT] = { "packet_size", "interarrival", "flow_size",
						   "flow_duration", "request_size", "response_size" };

	return n[m];
}

const char *cmp_metric_unit(enum cmp_metric m)
{
	return m == CMP_IAT || m == CMP_FLOW_DUR ? "us" : "B";
}

static const struct hist *metric_of(const struct clone_group *g, enum cmp_metric m)
{
	switch (m) {
	case CMP_PKT_SIZE: return &g->pkt_size;
	case CMP_IAT: return &g->iat_us;
	case CMP_FLOW_BYTES: return &g->flow_bytes;
	case CMP_REQ: return &g->req_bytes;
	case CMP_RESP: return &g->resp_bytes;
	default: return &g->flow_us;
	}
}

static uint64_t rate(const struct clone_result *r)
{
	double s = (double)r->active_ns / 1e9;

	return s > 0 ? (uint64_t)((double)r->bytes * 8 / (s < 1 ? 1 : s)) : 0;
}

static bool has_service(const struct clone_host *h, uint8_t l4, uint16_t port)
{
	for (size_t i = 0; i < h->nsvc; i++)
		if (h->svc[i].l4 == l4 && h->svc[i].port == port && h->svc[i].answered)
			return true;
	return false;
}

static const struct clone_host *find_host(const struct clone_result *r, const uint8_t *a)
{
	for (size_t i = 0; i < r->nhosts; i++)
		if (!memcmp(r->hosts[i].addr, a, 16))
			return &r->hosts[i];
	return NULL;
}

#define FLOOR_DRAWS 8

static void dist(struct cmp_dist *d)
{
	d->js = hist_js(&d->ref, &d->gen);
	d->js_floor = hist_js_floor(&d->gen, d->ref.n, FLOOR_DRAWS);
	d->ks = hist_ks(&d->ref, &d->gen);
	d->emd = hist_emd(&d->ref, &d->gen);
}

void compare_results(const struct clone_result *ref, const struct clone_result *gen,
		     struct cmp_result *out)
{
	memset(out, 0, sizeof(*out));
	out->rate_ref = rate(ref);
	out->rate_gen = rate(gen);
	out->mix_worst = -1;
	for (int c = 0; c < CLASS__COUNT; c++) {
		struct cmp_class *k = &out->cls[c];
		double d;

		k->share_ref = ref->bytes ? (double)ref->cls_bytes[c] / (double)ref->bytes : 0;
		k->share_gen = gen->bytes ? (double)gen->cls_bytes[c] / (double)gen->bytes : 0;
		k->present = ref->cls_flows[c] || gen->cls_flows[c];
		d = fabs(k->share_ref - k->share_gen);
		if (k->present && d > out->mix_error) {
			out->mix_error = d;
			out->mix_worst = c;
		}
	}
	for (int side = 0; side < 2; side++) {
		const struct clone_result *r = side ? gen : ref;
		double *share = side ? out->proto_gen : out->proto_ref;

		for (size_t i = 0; i < r->ngroups; i++) {
			const struct clone_group *g = &r->groups[i];

			share[g->proto] += r->bytes ? (double)(g->bytes[0] + g->bytes[1]) / (double)r->bytes : 0;
			for (int m = 0; m < CMP__COUNT; m++) {
				struct cmp_dist *d = &out->cls[g->cls].d[m];

				hist_merge(side ? &d->gen : &d->ref, metric_of(g, (enum cmp_metric)m));
				hist_merge(side ? &out->all[m].gen : &out->all[m].ref, metric_of(g, (enum cmp_metric)m));
			}
		}
	}
	for (int p = 0; p < PROTO__COUNT; p++)
		out->proto_error = fmax(out->proto_error, fabs(out->proto_ref[p] - out->proto_gen[p]));
	for (int c = 0; c < CLASS__COUNT; c++)
		for (int m = 0; m < CMP__COUNT; m++)
			dist(&out->cls[c].d[m]);
	for (int m = 0; m < CMP__COUNT; m++)
		dist(&out->all[m]);
	for (size_t i = 0; i < ref->nhosts; i++) {
		const struct clone_host *h = &ref->hosts[i], *g;

		if (h->special)
			continue;
		if (!h->internal) {
			out->external_ref++;
			continue;
		}
		out->hosts_ref++;
		g = find_host(gen, h->addr);
		out->hosts_covered += g != NULL;
		for (size_t j = 0; j < h->nsvc; j++) {
			if (!h->svc[j].answered)
				continue;
			out->services_ref++;
			out->services_covered += g && has_service(g, h->svc[j].l4, h->svc[j].port);
		}
	}
	for (size_t i = 0; i < gen->nhosts; i++)
		out->external_gen += !gen->hosts[i].internal && !gen->hosts[i].special;
}
