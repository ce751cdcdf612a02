/* test-clone.c - clone's analysis on captures written here, packet by
 * packet: hosts and services, a group's exchanges (request and response
 * sizes, think times), active time across a long silence, and the spec.
 * Run from the top of the tree (it reads data/clone/ndpi.map). */
#include <math.h>
#include <netinet/in.h>
#include <unistd.h>

#include "unit.h"
#include "../../src/capture/pcapng.h"
#include "../../src/clone/clone.h"
#include "../../src/engine/model.h"

#define SEC 1000000000ull

struct cap {
	struct pcapng w;
	uint32_t iface;
	char path[64];
};

static void cap_open(struct cap *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test-clone-XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pcapng_open(&c->w, c->path, "test-clone"), 0);
	c->iface = pcapng_iface(&c->w, "eth0", 65535);
}

/* A TCP segment 10.0.0.s:sp -> 10.0.0.d:dp with n bytes of payload */
static void tcp(struct cap *c, uint64_t ts, uint8_t s, uint16_t sp, uint8_t d, uint16_t dp,
		uint8_t flags, const char *payload, uint32_t n)
{
	uint8_t f[1600] = { 0 };
	uint32_t tot = 20 + 20 + n;

	f[5] = s, f[11] = d;          /* MACs */
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(tot >> 8), f[17] = (uint8_t)tot;
	f[22] = 64, f[23] = IPPROTO_TCP;
	f[26] = 10, f[29] = s, f[30] = 10, f[33] = d;
	f[34] = (uint8_t)(sp >> 8), f[35] = (uint8_t)sp;
	f[36] = (uint8_t)(dp >> 8), f[37] = (uint8_t)dp;
	f[46] = 5 << 4;
	f[47] = flags;
	for (uint32_t i = 0; i < n; i++)
		f[54 + i] = payload ? (uint8_t)payload[i % strlen(payload)] : 'x';
	pcapng_packet(&c->w, c->iface, ts, f, 14 + tot, 14 + tot);
}

static void read_capture(struct cap *c, struct clone_result *r)
{
	struct clone_opts o = { .mapfile = "data/clone/ndpi.map" };
	char err[512];
	struct reader *rd;

	assert_int_equal(pcapng_close(&c->w), 0);
	rd = reader_open(c->path, err, sizeof(err));
	if (!rd)
		fail_msg("%s", err);
	if (clone_read(rd, &o, r, err, sizeof(err)))
		fail_msg("%s", err);
	reader_close(rd);
	unlink(c->path);
}

/* A client's SYN at t, the server's SYN-ACK gap later, the ACK after
 * another gap. */
static void handshake(struct cap *c, uint64_t t, uint64_t gap, uint8_t cl, uint16_t cp, uint8_t sv,
		      uint16_t sp)
{
	tcp(c, t, cl, cp, sv, sp, 0x02, NULL, 0);
	tcp(c, t + gap, sv, sp, cl, cp, 0x12, NULL, 0);
	tcp(c, t + 2 * gap, cl, cp, sv, sp, 0x10, NULL, 0);
}

static const char get[] = "GET /index.html HTTP/1.1\r\nHost: h2\r\nUser-Agent: test\r\n\r\n";

static void exchanges(void **state)
{
	struct clone_result r;
	struct clone_group *g;
	struct cap c;
	uint64_t t = 1 * SEC;

	(void)state;
	cap_open(&c);
	handshake(&c, t, 1000000, 1, 40000, 2, 80);
	/* request 1: 58 bytes; response: 1000 + 500 */
	tcp(&c, t + 3000000, 1, 40000, 2, 80, 0x18, get, sizeof(get) - 1);
	tcp(&c, t + 4000000, 2, 80, 1, 40000, 0x18, "HTTP/1.1 200 OK\r\n", 1000);
	tcp(&c, t + 5000000, 2, 80, 1, 40000, 0x18, NULL, 500);
	tcp(&c, t + 6000000, 1, 40000, 2, 80, 0x10, NULL, 0);
	/* 2 s later, request 2: 58 bytes; response 700 */
	tcp(&c, t + 2005000000, 1, 40000, 2, 80, 0x18, get, sizeof(get) - 1);
	tcp(&c, t + 2006000000, 2, 80, 1, 40000, 0x18, "HTTP/1.1 200 OK\r\n", 700);
	/* a silence of 500 s (within the flow's idle time), then the close */
	tcp(&c, t + 502 * SEC, 1, 40000, 2, 80, 0x11, NULL, 0);
	tcp(&c, t + 502 * SEC + 1000000, 2, 80, 1, 40000, 0x11, NULL, 0);
	tcp(&c, t + 502 * SEC + 2000000, 1, 40000, 2, 80, 0x10, NULL, 0);
	read_capture(&c, &r);

	assert_int_equal(r.packets, 12);
	assert_int_equal(r.flows, 1);
	assert_int_equal(r.gaps, 1);
	/* 2.006 s, then the silence as one second, then 2 ms */
	if (fabs((double)r.active_ns / 1e9 - 3.008) > 0.001)
		fail_msg("active %g s", (double)r.active_ns / 1e9);
	assert_int_equal(r.nhosts, 2);
	assert_int_equal(r.ngroups, 1);
	g = &r.groups[0];
	assert_int_equal(g->cls, CLASS_WEB);
	assert_int_equal(g->proto, PROTO_HTTP);
	assert_int_equal(g->port, 80);
	assert_int_equal(g->req_bytes.n, 2);
	assert_int_equal(g->resp_bytes.n, 2);
	assert_int_equal(g->think_us.n, 1);
	assert_true(fabs(g->req_bytes.sum - 2.0 * (sizeof(get) - 1)) < 1e-9);
	assert_true(fabs(g->resp_bytes.sum - 2200) < 1e-9);
	/* from the response's last packet (t + 5 ms) to the request */
	assert_true(fabs(g->think_us.sum - 2000000) < 1);
	/* the server, its service, answered */
	for (size_t i = 0; i < r.nhosts; i++) {
		if (r.hosts[i].addr[15] != 2)
			continue;
		assert_int_equal(r.hosts[i].nsvc, 1);
		assert_int_equal(r.hosts[i].svc[0].port, 80);
		assert_int_equal(r.hosts[i].svc[0].answered, 1);
	}
	clone_result_free(&r);
}

/* An FTP data connection is file-transfer when its control connection
 * announced it (227, 229, PORT, EPRT), whatever it carries; one that a
 * broken reply announced is not. */
static void ftp_data(void **state)
{
	static const char *const ctl[] = {
		"227 Entering Passive Mode (10,0,0,2,117,48).\r\n",      /* 2:30000 */
		"229 Entering Extended Passive Mode (|||30001|)\r\n",    /* 2:30001 */
		"PORT 10,0,0,1,156,64\r\n",                             /* 1:40000 */
		"EPRT |1|10.0.0.1|40002|\r\n",                          /* 1:40002 */
		"227 Entering Passive Mode (10,0,0,2,999,48).\r\n",     /* none */
		"227 Entering Passive Mode (10,0,0,2,117\r\n",          /* none */
	};
	static const struct {
		uint8_t s, d;
		uint16_t sp, dp;
	} data[] = { { 1, 2, 41000, 30000 }, { 1, 2, 41001, 30001 }, { 2, 1, 20, 40000 },
		     { 2, 1, 20, 40002 }, { 1, 2, 41004, 30002 } };
	struct clone_result r;
	struct cap c;
	uint64_t t = 1 * SEC;

	(void)state;
	cap_open(&c);
	handshake(&c, t, 1000, 1, 40100, 2, 21);
	tcp(&c, t + 3000, 2, 21, 1, 40100, 0x18, "220 (vsFTPd 3.0.3)\r\n", 20);
	for (size_t i = 0; i < ARRAY_SIZE(ctl); i++) {
		bool cmd = ctl[i][0] == 'P' || ctl[i][0] == 'E';

		t += SEC / 10;
		if (cmd)
			tcp(&c, t, 1, 40100, 2, 21, 0x18, ctl[i], (uint32_t)strlen(ctl[i]));
		else
			tcp(&c, t, 2, 21, 1, 40100, 0x18, ctl[i], (uint32_t)strlen(ctl[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(data); i++) {
		t += SEC / 10;
		handshake(&c, t, 1000, data[i].s, data[i].sp, data[i].d, data[i].dp);
		tcp(&c, t + 3000, 2, data[i].s == 2 ? data[i].sp : data[i].dp, 1,
		    data[i].s == 2 ? data[i].dp : data[i].sp, 0x18, NULL, 1400);
	}
	read_capture(&c, &r);
	assert_int_equal(r.flows, 6);
	assert_int_equal(r.cls_flows[CLASS_FILE_TRANSFER], 5);
	assert_int_equal(r.cls_flows[CLASS_GENERIC], 1);
	clone_result_free(&r);
}

static void spec_of_it(void **state)
{
	static const bool playable[CLASS__COUNT] = { [CLASS_WEB] = true };
	struct clone_result r;
	struct buf b = { 0 };
	struct cap c;
	uint64_t unplayable;

	(void)state;
	cap_open(&c);
	/* web from h1 to h2, both internal, on a port of its own */
	tcp(&c, 1 * SEC, 1, 40000, 2, 8080, 0x02, NULL, 0);
	tcp(&c, 1 * SEC + 1000, 2, 8080, 1, 40000, 0x12, NULL, 0);
	tcp(&c, 1 * SEC + 2000, 1, 40000, 2, 8080, 0x18, get, sizeof(get) - 1);
	tcp(&c, 2 * SEC, 2, 8080, 1, 40000, 0x18, "HTTP/1.1 200 OK\r\n", 1400);
	read_capture(&c, &r);
	clone_spec(&r, "test.pcapng", playable, &b, &unplayable);
	buf_putc(&b, 0);
	/* its largest segment, 1440 bytes, is taken as the path's MTU */
	if (!strstr(b.p, "subnet lan1 10.0.0.0/24 mtu 1440 ;") ||
	    !strstr(b.p, "host h2 in lan1 address 10.0.0.2 serves http port 8080 ;") ||
	    !strstr(b.p, "generate web traffic from h1 to h2 with ") || !strstr(b.p, " over http "))
		fail_msg("%s", b.p);
	assert_int_equal(unplayable, 0);
	buf_free(&b);
	clone_result_free(&r);
}

/* A fitted size is the capture's, quantile by quantile, from the
 * smallest to the largest: 2, 4, ..., 200 KB of files give file_size
 * quantiles(2 KB ... 200 KB) within a bin (4.4 %), the rest of the base
 * model kept. */
static void fitted_sizes(void **state)
{
	static const char base[] = "start login\nparam file_size 10 KiB\nparam upload_size 1 KiB\n";
	struct clone_group g = { .proto = PROTO_FTP, .server = -1 };
	struct clone_result r = { .groups = &g, .ngroups = 1 };
	size_t one = 0;
	struct buf b = { 0 };
	double v[21];
	const char *p;
	int n = 0;

	(void)state;
	for (int i = 1; i <= 100; i++)
		hist_add(&g.resp_bytes, 2000.0 * i);
	assert_true(clone_fit(&r, &one, 1, "t.pcap", base, &b));
	buf_putc(&b, 0);
	if (!strstr(b.p, "start login\n") || !strstr(b.p, "param upload_size 1 KiB\n") ||
	    !(p = strstr(b.p, "param file_size quantiles(")))
		fail_msg("%s", b.p);
	for (p = strchr(p, '('); n < 21 && *p != ')'; n++) {
		char *end;

		v[n] = strtod(p + 1, &end);
		p = end + strcspn(end, ",)");
	}
	assert_int_equal(n, 21);
	if (fabs(v[0] / 2000 - 1) > 0.045 || fabs(v[10] / 100000 - 1) > 0.045 ||
	    fabs(v[20] / 200000 - 1) > 0.045)
		fail_msg("%s", b.p);
	buf_free(&b);
}

/* A generic group's gaps and payloads are written as the capture's own
 * histograms: a run draws them back with the capture's holes (no gap of
 * 40-100 us when the capture had none) and a Jensen-Shannon distance
 * from the capture's at the floor of its own sampling. */
static void fitted_generic(void **state)
{
	static const char base[] = "start flow\naction flow think 1 s\nnext flow end 100%\n"
				   "param packets 10\nparam gap 1 ms\nparam down 50%\n"
				   "param up_size 100 B\nparam down_size 100 B\n";
	struct clone_group g = { .cls = CLASS_GENERIC, .proto = PROTO_UDP, .port = 8999, .server = -1,
				 .flows = 1, .data = { 4000, 0 } };
	struct clone_result r = { .groups = &g, .ngroups = 1 };
	static const char *const want[] = {
		"param gap histogram(15 us: ", "param up_size histogram(40 B: ", "param down 0.00%\n",
		"param port    ", " 8999\n", "param down_size 0 B\n", "\nstart flow\n",
	};
	struct hist gap = { 0 }, size = { 0 };
	size_t one = 0;
	struct buf b = { 0 };
	struct model *m;
	struct rng rng;
	char *err = NULL;

	(void)state;
	rng_seed(&rng, 3);
	hist_add(&g.flow_data, 4000);
	for (int i = 0; i < 4000; i++) {
		/* a tenth back to back (15-25 us), the rest exponential
		 * from 100 us; payloads uniform in 40-1400 B */
		hist_add(&g.data_gap_us, i % 10 ? 100 + rng_exp(&rng, 2000) : 15 + 10 * rng_unit(&rng));
		hist_add(&g.up_payload, floor(40 + 1361 * rng_unit(&rng)));
	}
	assert_true(clone_fit(&r, &one, 1, "t.pcap", base, &b));
	buf_putc(&b, 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(b.p, want[i]))
			fail_msg("no \"%s\" in %s", want[i], strstr(b.p, "\nstart"));
	m = model_parse("fit.model", b.p, b.len - 1, &err);
	if (!m)
		fail_msg("%s", err);
	for (int i = 0; i < 100000; i++) {
		double v = model_draw(m, "gap", &rng, -1) * 1e6;

		if (v >= 26 && v < 100)
			fail_msg("a gap of %g us, in the capture's hole", v);
		hist_add(&gap, v);
		hist_add(&size, floor(model_draw(m, "up_size", &rng, -1)));
	}
	if (hist_js(&gap, &g.data_gap_us) > hist_js_floor(&gap, 4000, 8) + 0.01 ||
	    hist_js(&size, &g.up_payload) > hist_js_floor(&size, 4000, 8) + 0.01)
		fail_msg("gap JS %g (floor %g), size JS %g (floor %g)", hist_js(&gap, &g.data_gap_us),
			 hist_js_floor(&gap, 4000, 8), hist_js(&size, &g.up_payload),
			 hist_js_floor(&size, 4000, 8));
	model_free(m);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exchanges),
		cmocka_unit_test(ftp_data),
		cmocka_unit_test(spec_of_it),
		cmocka_unit_test(fitted_sizes),
		cmocka_unit_test(fitted_generic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
