/* test-packet.c - frames to packets (decode), packets to flows, and the
 * histograms and distances clone and compare report. */
#include <math.h>
#include <netinet/in.h>

#include "unit.h"
#include "../../src/lib/hist.h"
#include "../../src/packet/decode.h"
#include "../../src/packet/flow.h"

/* A frame under construction */
struct fb {
	uint8_t b[2048];
	uint32_t n;
};

static void put(struct fb *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(f, b, 2);
}

static void eth(struct fb *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	put(f, macs, 12);
	put16(f, type);
}

/* IPv4 header: total length tot, protocol, flags+offset fo, id */
static void ip4h(struct fb *f, uint16_t tot, uint8_t proto, uint16_t fo, uint16_t id,
		 uint8_t s, uint8_t d)
{
	uint8_t h[20] = { 0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, s, 10, 0, 0, d };

	h[2] = (uint8_t)(tot >> 8), h[3] = (uint8_t)tot;
	h[4] = (uint8_t)(id >> 8), h[5] = (uint8_t)id;
	h[6] = (uint8_t)(fo >> 8), h[7] = (uint8_t)fo;
	put(f, h, 20);
}

static void tcph(struct fb *f, uint16_t sp, uint16_t dp, uint8_t flags)
{
	uint8_t h[20] = { 0 };

	h[0] = (uint8_t)(sp >> 8), h[1] = (uint8_t)sp;
	h[2] = (uint8_t)(dp >> 8), h[3] = (uint8_t)dp;
	h[12] = 5 << 4;
	h[13] = flags;
	put(f, h, 20);
}

static void udph(struct fb *f, uint16_t sp, uint16_t dp, uint16_t len)
{
	put16(f, sp);
	put16(f, dp);
	put16(f, len);
	put16(f, 0);
}

static enum decode_res dec(int link, const struct fb *f, uint32_t wire, struct pkt *k)
{
	const char *why;
	enum decode_res r = decode_frame(link, f->b, f->n, wire ? wire : f->n, k, &why);

	if (r != DECODE_OK)
		assert_non_null(why);
	return r;
}

static void ethernet_tcp(void **state)
{
	struct fb f = { .n = 0 };
	struct pkt k;
	char a[64];

	(void)state;
	eth(&f, 0x0800);
	ip4h(&f, 20 + 20 + 100, IPPROTO_TCP, 0x4000, 1, 1, 2);
	tcph(&f, 40000, 443, 0x18);
	f.n += 100;
	assert_int_equal(dec(LINK_ETHERNET, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.family, 4);
	assert_int_equal(k.proto, IPPROTO_TCP);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 443);
	assert_int_equal(k.tcp_flags, 0x18);
	assert_int_equal(k.ip_len, 140);
	assert_int_equal(k.payload_len, 100);
	assert_true(k.has_mac);
	assert_int_equal(k.smac[5], 1);
	assert_string_equal(decode_addr_str(k.src, a, sizeof(a)), "10.0.0.1");
	assert_string_equal(decode_addr_str(k.dst, a, sizeof(a)), "10.0.0.2");

	/* Cut by a snap length of 54: headers held, lengths from them */
	f.n = 54;
	assert_int_equal(dec(LINK_ETHERNET, &f, 154, &k), DECODE_OK);
	assert_int_equal(k.ip_len, 140);
	assert_int_equal(k.payload_len, 100);
	assert_int_equal(k.payload_cap, 0);

	/* Cut inside the TCP header: truncated, not bad */
	f.n = 40;
	assert_int_equal(dec(LINK_ETHERNET, &f, 154, &k), DECODE_TRUNCATED);
}

static void vlan_and_cooked(void **state)
{
	struct fb f = { .n = 0 };
	struct pkt k;

	(void)state;
	eth(&f, 0x88a8);          /* QinQ outer 100, inner 200 */
	put16(&f, 100);
	put16(&f, 0x8100);
	put16(&f, 200);
	put16(&f, 0x0800);
	ip4h(&f, 28, IPPROTO_UDP, 0, 1, 1, 2);
	udph(&f, 5353, 53, 8);
	assert_int_equal(dec(LINK_ETHERNET, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.vlan, 100);
	assert_int_equal(k.dport, 53);
	assert_int_equal(k.payload_len, 0);

	/* Linux cooked v2: protocol first, 20 bytes */
	memset(&f, 0, sizeof(f));
	put16(&f, 0x0800);
	f.n = 20;
	f.b[9] = 1, f.b[11] = 6;   /* ARPHRD_ETHER, 6-byte address */
	f.b[17] = 9;
	ip4h(&f, 28, IPPROTO_UDP, 0, 1, 1, 2);
	udph(&f, 1000, 2000, 8);
	assert_int_equal(dec(LINK_SLL2, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.sport, 1000);
	assert_true(k.has_mac);
	assert_int_equal(k.smac[5], 9);

	/* Linux cooked v1: protocol last, 16 bytes */
	memset(&f, 0, sizeof(f));
	f.n = 14;
	put16(&f, 0x0800);
	ip4h(&f, 28, IPPROTO_UDP, 0, 1, 1, 2);
	udph(&f, 1000, 2000, 8);
	assert_int_equal(dec(LINK_SLL, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.dport, 2000);

	/* Not IP */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0806);
	f.n += 28;
	assert_int_equal(dec(LINK_ETHERNET, &f, 0, &k), DECODE_NOT_IP);
	assert_int_equal(dec(147, &f, 0, &k), DECODE_LINK);
	assert_null(decode_link_name(147));
}

static void ipv6_ext_and_frag(void **state)
{
	struct fb f = { .n = 0 };
	struct pkt k;
	uint8_t h6[40] = { 0x60 };

	(void)state;
	/* raw IPv6: hop-by-hop, then a first fragment, then UDP */
	h6[4] = 0, h6[5] = 8 + 8 + 8 + 10;
	h6[6] = 0;                /* hop-by-hop */
	h6[23] = 1, h6[39] = 2;
	put(&f, h6, 40);
	put(&f, (uint8_t[8]){ 44, 0 }, 8);
	put(&f, (uint8_t[8]){ IPPROTO_UDP, 0, 0, 1, 0, 0, 0, 7 }, 8);   /* offset 0, M */
	udph(&f, 3000, 53, 100);   /* the whole datagram's length */
	f.n += 10;
	assert_int_equal(dec(LINK_RAW, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.family, 6);
	assert_int_equal(k.proto, IPPROTO_UDP);
	assert_int_equal(k.frag, FRAG_FIRST);
	assert_int_equal(k.frag_id, 7);
	assert_int_equal(k.dport, 53);
	assert_int_equal(k.ip_len, 74);

	/* A later fragment: no ports */
	f.b[40 + 8 + 2] = 0, f.b[40 + 8 + 3] = 0x10;
	assert_int_equal(dec(LINK_RAW, &f, 0, &k), DECODE_OK);
	assert_int_equal(k.frag, FRAG_LATER);
	assert_int_equal(k.sport, 0);

	/* Extension header longer than the packet */
	f.b[41] = 200;
	assert_int_equal(dec(LINK_RAW, &f, 0, &k), DECODE_BAD);

	/* Payload length beyond the frame */
	f.b[41] = 0;
	f.b[5] = 200;
	assert_int_equal(dec(LINK_RAW, &f, 0, &k), DECODE_BAD);
}

static void ipv4_bad(void **state)
{
	struct fb f = { .n = 0 };
	struct pkt k;

	(void)state;
	ip4h(&f, 28, IPPROTO_UDP, 0, 1, 1, 2);
	udph(&f, 1, 2, 8);
	assert_int_equal(dec(LINK_IPV4, &f, 0, &k), DECODE_OK);
	f.b[0] = 0x44;            /* header length 16 */
	assert_int_equal(dec(LINK_IPV4, &f, 0, &k), DECODE_BAD);
	f.b[0] = 0x45;
	f.b[3] = 200;             /* total length beyond the frame */
	assert_int_equal(dec(LINK_IPV4, &f, 0, &k), DECODE_BAD);
	f.b[3] = 28;
	f.b[24] = 0, f.b[25] = 50;   /* UDP length beyond its packet */
	assert_int_equal(dec(LINK_IPV4, &f, 0, &k), DECODE_BAD);
	f.n = 10;
	assert_int_equal(dec(LINK_IPV4, &f, 0, &k), DECODE_TRUNCATED);
	/* BSD loopback, either byte order */
	memset(&f, 0, sizeof(f));
	put(&f, (uint8_t[4]){ 2, 0, 0, 0 }, 4);
	ip4h(&f, 28, IPPROTO_UDP, 0, 1, 1, 2);
	udph(&f, 1, 2, 8);
	assert_int_equal(dec(LINK_NULL, &f, 0, &k), DECODE_OK);
	f.b[0] = 0, f.b[3] = 2;
	assert_int_equal(dec(LINK_NULL, &f, 0, &k), DECODE_OK);
	assert_int_equal(dec(LINK_LOOP, &f, 0, &k), DECODE_OK);
}

/* ---- flows ---- */

struct ended {
	int n, why[16];
	uint64_t up[16], down[16];
	bool sure[16], answered[16];
	uint16_t sport[16];
};

static void on_end(struct flow *f, enum flow_end why, void *arg)
{
	struct ended *e = arg;

	if (e->n < 16) {
		e->why[e->n] = why;
		e->up[e->n] = f->packets[FLOW_UP];
		e->down[e->n] = f->packets[FLOW_DOWN];
		e->sure[e->n] = f->client_sure;
		e->answered[e->n] = f->answered;
		e->sport[e->n] = f->sport;
	}
	e->n++;
}

static struct pkt tcp_pkt(uint8_t s, uint8_t d, uint16_t sp, uint16_t dp, uint8_t flags)
{
	struct fb f = { .n = 0 };
	struct pkt k;
	const char *why;

	ip4h(&f, 40, IPPROTO_TCP, 0, 1, s, d);
	tcph(&f, sp, dp, flags);
	assert_int_equal(decode_frame(LINK_IPV4, f.b, f.n, f.n, &k, &why), DECODE_OK);
	return k;
}

#define SEC 1000000000ull

static void flows_tcp(void **state)
{
	struct ended e = { 0 };
	struct flow_config c = { .end = on_end, .arg = &e };
	struct flow_table *t = flow_table_new(&c);
	struct pkt syn = tcp_pkt(1, 2, 40000, 80, 0x02), synack = tcp_pkt(2, 1, 80, 40000, 0x12);
	struct pkt ack = tcp_pkt(1, 2, 40000, 80, 0x10), fin1 = tcp_pkt(1, 2, 40000, 80, 0x11);
	struct pkt fin2 = tcp_pkt(2, 1, 80, 40000, 0x11), rst;
	struct flow_counts n;
	struct flow *f;
	bool is_new;
	int dir;

	(void)state;
	f = flow_packet(t, &synack, 1 * SEC, &dir, &is_new);   /* SYN missed */
	assert_true(is_new);
	assert_int_equal(dir, FLOW_DOWN);
	assert_int_equal(f->sport, 80);
	assert_true(f->client_sure);
	flow_packet(t, &ack, 1 * SEC, &dir, &is_new);
	assert_false(is_new);
	assert_int_equal(dir, FLOW_UP);
	flow_packet(t, &fin1, 2 * SEC, &dir, &is_new);
	flow_packet(t, &fin2, 2 * SEC, &dir, &is_new);
	assert_int_equal(e.n, 0);
	/* After the linger the closed flow ends */
	flow_packet(t, &syn, 20 * SEC, &dir, &is_new);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.why[0], FLOW_CLOSED);
	assert_int_equal(e.up[0], 2);
	assert_int_equal(e.down[0], 2);
	/* A new SYN made a new flow; reset closes it; a SYN reuses it */
	assert_true(is_new);
	flow_packet(t, &(struct pkt){ 0 }, 20 * SEC, &dir, &is_new);   /* another flow */
	f = flow_packet(t, &fin2, 20 * SEC, &dir, &is_new);
	assert_false(f->answered && f->syn_only);
	rst = tcp_pkt(2, 1, 80, 40000, 0x04);
	flow_packet(t, &rst, 21 * SEC, &dir, &is_new);
	flow_packet(t, &syn, 21 * SEC, &dir, &is_new);
	assert_true(is_new);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.why[1], FLOW_REUSED);
	/* An unanswered SYN is idle after 120 s, the other flow too */
	rst = tcp_pkt(3, 4, 1, 2, 0x02);
	flow_packet(t, &rst, 200 * SEC, &dir, &is_new);
	assert_int_equal(e.n, 4);
	assert_true(e.why[2] == FLOW_IDLE && e.why[3] == FLOW_IDLE);
	/* A packet from the past is counted, and taken as now */
	flow_packet(t, &ack, 100 * SEC, &dir, &is_new);
	flow_counts(t, &n);
	assert_int_equal(n.backwards, 1);
	flow_flush(t);
	assert_int_equal(e.n, 6);
	assert_int_equal(e.why[5], FLOW_FLUSHED);
	flow_table_free(t);
}

/* The handshake's round trip: SYN to SYN-ACK plus SYN-ACK to ACK,
 * unknown when the SYN came twice or the flow joined late. */
static void flows_rtt(void **state)
{
	struct ended e = { 0 };
	struct flow_config c = { .end = on_end, .arg = &e };
	struct flow_table *t = flow_table_new(&c);
	struct pkt syn = tcp_pkt(1, 2, 40000, 80, 0x02), synack = tcp_pkt(2, 1, 80, 40000, 0x12);
	struct pkt ack = tcp_pkt(1, 2, 40000, 80, 0x10);
	struct pkt syn2 = tcp_pkt(1, 2, 40001, 80, 0x02), synack2 = tcp_pkt(2, 1, 80, 40001, 0x12);
	struct pkt ack2 = tcp_pkt(1, 2, 40001, 80, 0x10);
	struct flow *f;
	bool is_new;
	int dir;

	(void)state;
	/* at the client: 9 ms out and back, then its ACK 50 us later */
	flow_packet(t, &syn, 1 * SEC, &dir, &is_new);
	flow_packet(t, &synack, 1 * SEC + 9000000, &dir, &is_new);
	f = flow_packet(t, &ack, 1 * SEC + 9050000, &dir, &is_new);
	assert_int_equal(f->rtt_us, 9050);
	/* data later does not change it */
	f = flow_packet(t, &ack, 2 * SEC, &dir, &is_new);
	assert_int_equal(f->rtt_us, 9050);
	/* a SYN sent again: which one was answered is not known */
	flow_packet(t, &syn2, 3 * SEC, &dir, &is_new);
	flow_packet(t, &syn2, 4 * SEC, &dir, &is_new);
	flow_packet(t, &synack2, 4 * SEC + 1000000, &dir, &is_new);
	f = flow_packet(t, &ack2, 4 * SEC + 2000000, &dir, &is_new);
	assert_int_equal(f->rtt_us, 0);
	flow_table_free(t);
}

static void flows_bounded(void **state)
{
	struct ended e = { 0 };
	struct flow_config c = { .max_flows = 100, .user_size = 24, .end = on_end, .arg = &e };
	struct flow_table *t = flow_table_new(&c);
	struct flow_counts n;
	bool is_new;
	int dir;

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		struct pkt k = tcp_pkt(1, 2, (uint16_t)(10000 + i), 443, 0x10);
		struct flow *f = flow_packet(t, &k, (uint64_t)i * 1000, &dir, &is_new);
		uint64_t *u = flow_user(f);

		assert_true(is_new);
		assert_int_equal(u[0], 0);       /* the caller's bytes start zeroed */
		u[0] = i;
		assert_int_equal(dir, FLOW_UP);  /* 443 is the server */
		assert_false(f->client_sure);
	}
	flow_counts(t, &n);
	assert_int_equal(n.flows, 1000);
	assert_int_equal(n.evicted, 900);
	assert_int_equal(n.peak, 100);
	/* the least recent went first */
	assert_int_equal(e.sport[0], 443);
	assert_int_equal(e.why[0], FLOW_EVICTED);
	flow_flush(t);
	assert_int_equal(e.n, 1000);
	flow_table_free(t);
}

/* ---- histograms ---- */

static void hist_bins(void **state)
{
	(void)state;
	for (double v = 0; v < 1e15; v = v * 1.01 + 1) {
		int b = hist_bin(v);

		if (!(hist_lo(b) <= v && v < hist_lo(b + 1)))
			fail_msg("%g in bin %d [%g, %g)", v, b, hist_lo(b), hist_lo(b + 1));
		if (v >= 16 && hist_lo(b + 1) / hist_lo(b) > 1.0626)
			fail_msg("bin %d is %g wide", b, hist_lo(b + 1) / hist_lo(b));
	}
	assert_int_equal(hist_bin(-3), 0);
	assert_int_equal(hist_bin(NAN), 0);
	assert_int_equal(hist_bin(1e300), HIST_BINS - 1);
}

/* The sampling floor: a small sample of a spread distribution is far
 * from it, a large one near; one value is never apart; the same figure
 * every time. */
static void hist_floor(void **state)
{
	static struct hist spread, one;
	double f100, f10k, f1m;

	(void)state;
	for (int i = 0; i < 200000; i++)
		hist_add(&spread, 40 + (i * 7919) % 1460);
	hist_add_n(&one, 1500, 1000);
	f100 = hist_js_floor(&spread, 100, 8);
	f10k = hist_js_floor(&spread, 10000, 8);
	f1m = hist_js_floor(&spread, 1000000, 2);
	/* over K = 84 bins about sqrt((K - 1) / (8 n ln 2)): 0.387 and 0.0387 */
	assert_true(f100 > 0.35 && f100 < 0.43);
	assert_true(f10k > 0.035 && f10k < 0.043);
	assert_true(f1m < f10k && f1m == hist_js_floor(&spread, HIST_FLOOR_MAX, 2));
	assert_true(hist_js_floor(&spread, 100, 8) == f100);
	assert_true(hist_js_floor(&one, 10, 4) == 0);
	assert_true(hist_js_floor(&one, 0, 4) == 0);
}

static void hist_distances(void **state)
{
	static struct hist a, b, c, z;
	double q;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		hist_add(&a, 1500);
		hist_add(&b, 1500);
		hist_add(&c, 64);
	}
	assert_true(hist_js(&a, &b) == 0 && hist_ks(&a, &b) == 0 && hist_emd(&a, &b) == 0);
	/* disjoint: the largest distances; the EMD is their gap */
	assert_true(fabs(hist_js(&a, &c) - 1) < 1e-9);
	assert_true(fabs(hist_ks(&a, &c) - 1) < 1e-9);
	q = hist_emd(&a, &c);
	if (fabs(q - 1436) > 1436 * 0.05)
		fail_msg("emd %g, want about 1436", q);
	assert_true(hist_js(&a, &z) == 1 && hist_js(&z, &z) == 0);
	/* half of b moved: JS of (1,0) and (.5,.5) */
	hist_add_n(&b, 64, 1000);
	q = hist_js(&a, &b);
	if (fabs(q - sqrt(1.5 - 0.75 * log2(3))) > 1e-9)
		fail_msg("js %g", q);
	assert_true(fabs(hist_ks(&a, &b) - 0.5) < 1e-9);
	q = hist_quantile(&b, 0.25);
	assert_true(q > 60 && q < 68);
	q = hist_quantile(&b, 0.75);
	assert_true(q > 1450 && q < 1550);
	assert_true(fabs(hist_mean(&b) - (1500 + 64) / 2.0) < 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ethernet_tcp),
		cmocka_unit_test(vlan_and_cooked),
		cmocka_unit_test(ipv6_ext_and_frag),
		cmocka_unit_test(ipv4_bad),
		cmocka_unit_test(flows_tcp),
		cmocka_unit_test(flows_rtt),
		cmocka_unit_test(flows_bounded),
		cmocka_unit_test(hist_bins),
		cmocka_unit_test(hist_floor),
		cmocka_unit_test(hist_distances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
