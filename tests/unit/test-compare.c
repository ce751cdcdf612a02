/* test-compare.c - compare's figures from two clone results made by
 * hand: the class mix error, rates, hosts and services covered, and the
 * distances per class. */
#include <math.h>
#include <netinet/in.h>

#include "unit.h"
#include "../../src/compare/compare.h"

static struct clone_group *group(struct clone_result *r, enum spec_class c, enum spec_proto p,
				 uint64_t bytes, double pkt)
{
	struct clone_group *g;

	r->groups = xreallocarray(r->groups, r->ngroups + 1, sizeof(*r->groups));
	g = &r->groups[r->ngroups++];
	memset(g, 0, sizeof(*g));
	g->cls = (uint8_t)c;
	g->proto = (uint8_t)p;
	g->server = -1;
	g->bytes[0] = bytes / 2;
	g->bytes[1] = bytes - bytes / 2;
	g->flows = 1;
	hist_add_n(&g->pkt_size, pkt, 100);
	r->bytes += bytes;
	r->cls_bytes[c] += bytes;
	r->cls_flows[c]++;
	return g;
}

static void host(struct clone_result *r, uint8_t last, bool internal, uint16_t port)
{
	struct clone_host *h;

	r->hosts = xreallocarray(r->hosts, r->nhosts + 1, sizeof(*r->hosts));
	h = &r->hosts[r->nhosts++];
	memset(h, 0, sizeof(*h));
	h->addr[10] = h->addr[11] = 0xff;
	h->addr[12] = 10, h->addr[15] = last;
	h->internal = internal;
	if (port) {
		h->svc = xcalloc(1, sizeof(*h->svc));
		h->nsvc = 1;
		h->svc[0] = (struct clone_service){ .l4 = IPPROTO_TCP, .port = port, .answered = 1, .flows = 1 };
	}
}

static void mix_rates_hosts(void **state)
{
	struct clone_result ref = { 0 }, gen = { 0 };
	struct cmp_result *r = xcalloc(1, sizeof(*r));

	(void)state;
	ref.active_ns = gen.active_ns = 10000000000ull;   /* 10 s */
	group(&ref, CLASS_WEB, PROTO_HTTPS, 7500000, 1500);
	group(&ref, CLASS_DNS, PROTO_DNS, 2500000, 80);
	group(&gen, CLASS_WEB, PROTO_HTTPS, 7000000, 1500);
	group(&gen, CLASS_DNS, PROTO_DNS, 3000000, 90);
	host(&ref, 1, true, 0);
	host(&ref, 2, true, 443);
	host(&ref, 3, false, 53);
	host(&gen, 1, true, 0);
	host(&gen, 2, true, 8443);
	host(&gen, 4, false, 0);
	host(&gen, 5, false, 0);
	compare_results(&ref, &gen, r);
	assert_int_equal(r->rate_ref, 8000000);     /* 10 MB in 10 s */
	assert_int_equal(r->rate_gen, 8000000);
	if (fabs(r->mix_error - 0.05) > 1e-9)
		fail_msg("mix error %g, want 0.05", r->mix_error);
	assert_true(r->mix_worst == CLASS_WEB || r->mix_worst == CLASS_DNS);
	assert_true(fabs(r->cls[CLASS_WEB].share_ref - 0.75) < 1e-9);
	assert_true(fabs(r->cls[CLASS_DNS].share_gen - 0.30) < 1e-9);
	assert_false(r->cls[CLASS_MAIL].present);
	/* both hosts are there; the service moved port */
	assert_int_equal(r->hosts_ref, 2);
	assert_int_equal(r->hosts_covered, 2);
	assert_int_equal(r->services_ref, 1);
	assert_int_equal(r->services_covered, 0);
	assert_int_equal(r->external_ref, 1);
	assert_int_equal(r->external_gen, 2);
	/* web's packets are the same; dns's moved from 80 to 90 B, two bins */
	assert_true(r->cls[CLASS_WEB].d[CMP_PKT_SIZE].js == 0);
	assert_true(fabs(r->cls[CLASS_DNS].d[CMP_PKT_SIZE].js - 1) < 1e-9);
	assert_true(fabs(r->cls[CLASS_DNS].d[CMP_PKT_SIZE].ks - 1) < 1e-9);
	/* (values go to their bin's middle: 80 to 82, 90 to 90) */
	if (fabs(r->cls[CLASS_DNS].d[CMP_PKT_SIZE].emd - 10) > 0.044 * 90)
		fail_msg("emd %g, want 10 within a bin", r->cls[CLASS_DNS].d[CMP_PKT_SIZE].emd);
	/* all together: half the mass moved */
	if (fabs(r->all[CMP_PKT_SIZE].ks - 0.5) > 1e-9)
		fail_msg("ks of all %g, want 0.5", r->all[CMP_PKT_SIZE].ks);
	assert_true(fabs(r->proto_error - 0.05) < 1e-9);
	free(r);
	clone_result_free(&ref);
	clone_result_free(&gen);
}

static void html_page(void **state)
{
	struct clone_result ref = { 0 };
	struct cmp_result *r = xcalloc(1, sizeof(*r));
	struct buf b = { 0 };

	(void)state;
	ref.active_ns = 1000000000ull;
	group(&ref, CLASS_WEB, PROTO_HTTP, 1000, 1500);
	compare_results(&ref, &ref, r);
	compare_html(r, "a<b>.pcap", "b&c.pcap", &b);
	buf_putc(&b, 0);
	assert_non_null(strstr(b.p, "a&lt;b&gt;.pcap"));
	assert_non_null(strstr(b.p, "b&amp;c.pcap"));
	assert_null(strstr(b.p, "<b>"));
	/* one plot per metric for all traffic and for web */
	{
		size_t n = 0;

		for (const char *p = b.p; (p = strstr(p, "<svg")); p++)
			n++;
		assert_int_equal(n, 2 * CMP__COUNT);
	}
	assert_non_null(strstr(b.p, "</html>"));
	buf_free(&b);
	free(r);
	clone_result_free(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mix_rates_hosts),
		cmocka_unit_test(html_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
