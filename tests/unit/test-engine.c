/* test-engine.c - the event loop (timers in order, deferred frees, stopped
 * watchers skipped), connections over a socket pair (lines, references,
 * input limit, orderly close), behaviour models (parsing, errors with
 * their place, draws that follow their distributions), content, and the
 * web site's pages (the same bytes each fetch, but for their per-fetch
 * block), and the bucket's charge paid ahead against bytes moved. */
#include "unit.h"
#include "../../src/engine/conn.h"
#include "../../src/engine/loop-int.h"
#include "../../src/engine/content.h"
#include "../../src/engine/model.h"
#include "../../src/engine/pace.h"
#include "../../src/engine/stats.h"
#include "../../src/agents/site.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- timers ------------------------------------------------------------ */

struct tick {
	struct timer t;
	int id;
	int *log, *n;
};

static void tick_cb(struct loop *l, struct timer *t)
{
	struct tick *k = container_of(t, struct tick, t);

	(void)l;
	k->log[(*k->n)++] = k->id;
}

static void timers_in_order(void **state)
{
	struct loop *l;
	struct tick k[50];
	int log[50], n = 0;
	struct rng r;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	rng_seed(&r, 7);
	for (int i = 0; i < 50; i++) {
		k[i] = (struct tick){ .t.cb = tick_cb, .id = i, .log = log, .n = &n };
		loop_timer_start(l, &k[i].t, 1000000 + (uint64_t)i * 100000);
	}
	/* stop every third, re-arm some later: the heap must stay sound */
	for (int i = 0; i < 50; i += 3)
		loop_timer_stop(l, &k[i].t);
	loop_timer_start(l, &k[1].t, 9000000);
	assert_int_equal(loop_ntimers(l), 33);
	while (loop_ntimers(l))
		assert_int_equal(loop_once(l, 100), 0);
	assert_int_equal(n, 33);
	for (int i = 0; i + 1 < n; i++)
		assert_true(log[i] < log[i + 1] || log[i + 1] == 1);
	assert_int_equal(log[n - 1], 1);
	loop_free(l);
}

/* A timer that re-arms itself with no delay must not starve the loop. */
static void spin_cb(struct loop *l, struct timer *t)
{
	loop_timer_start(l, t, 0);
}

static void rearm_zero(void **state)
{
	struct loop *l;
	struct timer t = { .cb = spin_cb };

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	loop_timer_start(l, &t, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(loop_once(l, 0), 0);
	loop_timer_stop(l, &t);
	loop_free(l);
}

/* ---- watchers stopped and freed inside a batch --------------------------- */

struct pair {
	struct io io[2];
	struct defer d;
	int fired, freed;
};

static void pair_free(struct defer *d)
{
	container_of(d, struct pair, d)->freed++;
}

static struct pair *the_pair;

static void stop_both(struct loop *l, struct io *io, unsigned revents)
{
	(void)io;
	(void)revents;
	the_pair->fired++;
	loop_io_stop(l, &the_pair->io[0]);
	loop_io_stop(l, &the_pair->io[1]);
	loop_defer(l, &the_pair->d, pair_free);
}

static void stopped_skipped(void **state)
{
	struct loop *l;
	struct pair p = { 0 };
	int a[2], b[2];

	(void)state;
	the_pair = &p;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(loop_new(&l), 0);
	p.io[0] = (struct io){ .fd = a[0], .cb = stop_both };
	p.io[1] = (struct io){ .fd = b[0], .cb = stop_both };
	assert_int_equal(loop_io_set(l, &p.io[0], IO_IN), 0);
	assert_int_equal(loop_io_set(l, &p.io[1], IO_IN), 0);
	assert_int_equal(loop_nio(l), 2);
	assert_int_equal(loop_once(l, 100), 0);
	/* both were ready in one batch; the second was skipped */
	assert_int_equal(p.fired, 1);
	assert_int_equal(p.freed, 1);
	assert_int_equal(loop_nio(l), 0);
	loop_free(l);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

/* ---- connections ----------------------------------------------------------- */

struct side {
	struct conn c;
	char got[256];
	size_t ngot;
	int closed, err;
	bool opened;
};

static void side_connected(struct conn *c)
{
	container_of(c, struct side, c)->opened = true;
}

static void side_readable(struct conn *c)
{
	struct side *s = container_of(c, struct side, c);
	const char *line;
	size_t n, used;

	while ((line = conn_line(c, &n, &used))) {
		if (s->ngot + n + 1 < sizeof(s->got)) {
			memcpy(s->got + s->ngot, line, n);
			s->ngot += n;
			s->got[s->ngot++] = '|';
		}
		conn_consume(c, used);
	}
}

static void side_closed(struct conn *c, int err)
{
	struct side *s = container_of(c, struct side, c);

	s->closed++;
	s->err = err;
}

static const struct conn_ops side_ops = {
	.connected = side_connected, .readable = side_readable, .closed = side_closed,
};

static void conn_lines_and_close(void **state)
{
	struct loop *l;
	struct side a = { 0 }, b = { 0 };
	struct stats st = { 0 };
	static const char shared[] = "by reference\r\n";
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	a.c.st = &st;
	assert_int_equal(conn_accept(&a.c, l, &side_ops, sv[0]), 0);
	assert_int_equal(conn_accept(&b.c, l, &side_ops, sv[1]), 0);
	for (int i = 0; i < 5 && !(a.opened && b.opened); i++)
		assert_int_equal(loop_once(l, 100), 0);
	assert_true(a.opened && b.opened);
	conn_printf(&a.c, "hello %d\r\n", 42);
	conn_write_ref(&a.c, shared, sizeof(shared) - 1);
	conn_write(&a.c, "half", 4);
	conn_write(&a.c, " line\n", 6);
	conn_shutdown(&a.c);
	for (int i = 0; i < 20 && !b.closed; i++)
		assert_int_equal(loop_once(l, 100), 0);
	b.got[b.ngot] = 0;
	assert_string_equal(b.got, "hello 42|by reference|half line|");
	assert_int_equal(b.closed, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(st.tx, 10 + 14 + 10);
	conn_close(&a.c, 0);
	assert_int_equal(a.closed, 1);
	assert_false(conn_is_open(&a.c));
	assert_int_equal(loop_nio(l), 0);
	loop_free(l);
}

/* A peer that asks, then half-closes (nc -q, pipelined clients), still
 * gets every answer before the connection closes. */
static void echo_readable(struct conn *c)
{
	const char *line;
	size_t n, used;

	while ((line = conn_line(c, &n, &used))) {
		conn_printf(c, "re: %.*s\n", (int)n, line);
		conn_consume(c, used);
	}
}

static const struct conn_ops echo_ops = { .readable = echo_readable, .closed = side_closed };

static void conn_half_close(void **state)
{
	struct loop *l;
	struct side b = { 0 };
	char got[256] = "";
	size_t at = 0;
	int sv[2];
	ssize_t r;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(conn_accept(&b.c, l, &echo_ops, sv[1]), 0);
	assert_int_equal(write(sv[0], "one\ntwo\nthree\n", 14), 14);
	assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
	for (int i = 0; i < 20 && !b.closed; i++)
		assert_int_equal(loop_once(l, 100), 0);
	assert_int_equal(b.closed, 1);
	assert_int_equal(b.err, 0);
	while ((r = read(sv[0], got + at, sizeof(got) - 1 - at)) > 0)
		at += (size_t)r;
	assert_string_equal(got, "re: one\nre: two\nre: three\n");
	loop_free(l);
	close(sv[0]);
}

/* A peer that never ends a line is cut off at CONN_MAX_IN, not buffered
 * for ever. */
static void conn_input_bounded(void **state)
{
	struct loop *l;
	struct side b = { 0 };
	static char junk[64 << 10];
	int sv[2];
	size_t sent = 0;

	(void)state;
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(conn_accept(&b.c, l, &side_ops, sv[1]), 0);
	for (int i = 0; i < 2000 && !b.closed; i++) {
		ssize_t w = write(sv[0], junk, sizeof(junk));

		if (w > 0)
			sent += (size_t)w;
		assert_int_equal(loop_once(l, 10), 0);
	}
	assert_int_equal(b.closed, 1);
	assert_int_equal(b.err, -EMSGSIZE);
	assert_true(sent >= CONN_MAX_IN);
	loop_free(l);
	close(sv[0]);
}

/* ---- models ---------------------------------------------------------------- */

static const char web_model[] =
	"# a test model\n"
	"start open\n"
	"action open think lognormal(2 s, 0.5)\n"
	"action fetch\n"
	"next open fetch 100%\n"
	"next fetch open 0.7 end 30%\n"
	"param size pareto(10 KiB, 1.5, 1 MiB)\n"
	"param count geometric(4)\n"
	"param gap uniform(100ms, 300 ms)\n"
	"param rung 2.5 Mbps\n"
	"param low 400kbps\n";

static void model_parses(void **state)
{
	char *err = NULL;
	struct model *m = model_parse("t.model", web_model, sizeof(web_model) - 1, &err);
	static const char *const acts[] = { "open", "fetch", NULL };
	static const char *const params[] = { "size", NULL };
	static const char *const few[] = { "open", NULL };
	struct rng r;
	double sum = 0, mx = 0, gaps = 1, gapmax = 0;
	int ends = 0, a;

	(void)state;
	assert_non_null(m);
	assert_null(err);
	assert_string_equal(model_name(m), "t");
	assert_null(model_check(m, acts, params));
	err = model_check(m, few, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "'fetch' is not one this agent can do"));
	free(err);
	rng_seed(&r, 1);
	a = model_start(m);
	assert_string_equal(model_action_name(m, a), "open");
	for (int i = 0; i < 10000; i++) {
		int n = model_next(m, model_action(m, "fetch"), &r);
		double s = model_draw(m, "size", &r, -1), g = model_draw(m, "gap", &r, -1);

		ends += n == MODEL_END;
		sum += model_draw(m, "count", &r, -1);
		mx = fmax(mx, s);
		assert_true(s >= 10240 && s <= 1048576);
		gaps = fmin(gaps, g);
		gapmax = fmax(gapmax, g);
	}
	assert_in_range(ends, 2700, 3300);              /* 30% */
	assert_true(fabs(sum / 10000 - 4) < 0.3);       /* geometric mean 4 */
	assert_true(mx == 1048576);                     /* the bound holds */
	assert_true(gaps >= 0.1 && gapmax <= 0.3);
	assert_true(model_draw(m, "missing", &r, 5) == 5);
	assert_true(model_draw(m, "rung", &r, 0) == 2.5e6);     /* bits per second */
	assert_true(model_draw(m, "low", &r, 0) == 4e5);
	assert_true(model_think(m, model_action(m, "fetch"), &r) == 0);
	model_free(m);
}

/* quantiles(...): every draw within the points, a tenth of them in each
 * tenth, spread geometrically between two points */
static void model_quantiles(void **state)
{
	static const char text[] =
		"start a\naction a\nnext a end 100%\n"
		"param size quantiles(100 B, 200 B, 400 B, 800 B, 1600 B, 3200 B, 6400 B, 12800 B, 25600 B, 51200 B, 102400 B)\n"
		"param flat quantiles(0, 10)\n";
	static const char text2[] = "start a\naction a\nnext a end 100%\nparam s quantiles(100, 400)\n";
	char *err = NULL;
	struct model *m = model_parse("t.model", text, sizeof(text) - 1, &err);
	int below[11] = { 0 }, n = 100000;
	double flat = 0;
	struct rng r;

	(void)state;
	assert_non_null(m);
	rng_seed(&r, 7);
	for (int i = 0; i < n; i++) {
		double v = model_draw(m, "size", &r, -1), f = model_draw(m, "flat", &r, -1);

		assert_true(v >= 100 && v <= 102400);
		for (int k = 0; k < 11; k++)
			below[k] += v <= 100 * pow(2, k);
		assert_true(f >= 0 && f <= 10);
		flat += f;
	}
	for (int k = 1; k < 11; k++)
		assert_in_range(below[k], n * k / 10 - n / 100, n * k / 10 + n / 100);
	assert_true(fabs(flat / n - 5) < 0.1);           /* linear from 0: mean 5 */
	model_free(m);
	/* the geometric middle of a tenth */
	m = model_parse("t.model", text2, sizeof(text2) - 1, &err);
	assert_non_null(m);
	n = 0;
	for (int i = 0; i < 10000; i++)
		n += model_draw(m, "s", &r, -1) < 200;
	assert_in_range(n, 4800, 5200);
	model_free(m);
}

/* histogram(...): each bin drawn by its weight, none from a hole, the
 * draws inside a bin spread geometrically (linearly from 0). */
static void model_histogram(void **state)
{
	static const char text[] =
		"start a\naction a\nnext a end 100%\n"
		"param gap histogram(10 us: 1, 20 us: 0, 40 us: 3, 80 us)\n"
		"param size histogram(0 B: 1, 10 B: 1, 1 KB)\n"
		"param one histogram(5: 2, 6)\n";
	char *err = NULL;
	struct model *m = model_parse("t.model", text, sizeof(text) - 1, &err);
	int low = 0, high = 0, geo = 0, zero_ten = 0, n = 100000;
	double mean0 = 0;
	struct rng r;

	(void)state;
	if (!m)
		fail_msg("%s", err);
	rng_seed(&r, 11);
	for (int i = 0; i < n; i++) {
		double g = model_draw(m, "gap", &r, -1), z = model_draw(m, "size", &r, -1),
		       o = model_draw(m, "one", &r, -1);

		assert_true(g >= 10e-6 && g <= 80e-6);
		assert_false(g >= 20e-6 && g < 40e-6);          /* the hole */
		low += g < 20e-6;
		high += g >= 40e-6;
		geo += g >= 40e-6 && g < 40e-6 * M_SQRT2;       /* half a doubling */
		assert_true(z >= 0 && z <= 1000);
		if (z < 10) {
			zero_ten++;
			mean0 += z;
		}
		assert_true(o >= 5 && o <= 6);
	}
	assert_in_range(low, n / 4 - n / 100, n / 4 + n / 100);
	assert_int_equal(low + high, n);
	assert_in_range(geo, high / 2 - n / 100, high / 2 + n / 100);
	assert_in_range(zero_ten, n / 2 - n / 100, n / 2 + n / 100);
	assert_true(fabs(mean0 / zero_ten - 5) < 0.1);  /* linear from 0 */
	model_free(m);
}

static void model_errors(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "start a\naction a\nnext a end 50%\n", "t.model:3:8: probabilities sum to 50%, not 100%" },
		{ "action a think lognormal(2 parsecs, 1)\n", "t.model:1:28: unknown unit 'parsecs'" },
		{ "start a\naction a\n", "t.model:2: action 'a' has no 'next' line" },
		{ "start a\nnext a b 100%\naction a\n", "t.model:2: action 'b' is used but not declared" },
		{ "action a\nnext a end 1\n", "no 'start' line" },
		{ "start a\naction a think\n", "t.model:2:15: expected a name" },
		{ "start a\naction a think pareto(0, 1)\n", "t.model:2:16: pareto(MIN, ALPHA, MAX) needs MIN > 0" },
		{ "start a\naction a\naction a\n", "t.model:3:8: action 'a' is declared twice" },
		{ "start end\n", "t.model:1:7: a session cannot start with 'end'" },
		{ "begin a\n", "t.model:1:1: unknown line 'begin'" },
		{ "start a\naction a\nnext a end 100% extra\n", "t.model:3:22: expected a number" },
		{ "param x uniform(3, 1)\n", "t.model:1:9: uniform(A, B) needs A <= B" },
		{ "param x exp(1, 2)\n", "t.model:1:15: exp takes at most 1 value" },
		{ "param x 1\nparam x 2\n", "t.model:2:7: param 'x' is given twice" },
		{ "param x quantiles(1)\n", "t.model:1:9: quantiles takes 2 to 101 values" },
		{ "param x quantiles(1, 3, 2)\n", "t.model:1:9: quantiles(...) needs values in rising order (value 3 is below value 2)" },
		{ "param x histogram(1 us: 1, 1 us)\n", "t.model:1:28: histogram(...) needs its edges in rising order (edge 2 is not above edge 1)" },
		{ "param x histogram(1 us 1, 2 us)\n", "t.model:1:24: expected ':' and the bin's weight after its lower edge" },
		{ "param x histogram(1: 1 2)\n", "t.model:1:24: expected ',' and the next bin's edge" },
		{ "param x histogram(1: 1)\n", "t.model:1:23: expected ',' and the next bin's edge" },
		{ "param x histogram(1)\n", "t.model:1:9: histogram takes a bin at least" },
		{ "param x histogram(1, 2)\n", "t.model:1:20: expected ':' and the bin's weight after its lower edge" },
		{ "param x histogram(1: 0, 2: 0, 3)\n", "t.model:1:9: histogram(...) needs a weight above 0" },
		{ "param x histogram(1: -1, 2)\n", "t.model:1:22: '-1' is not a number of zero or more" },
		{ "param x histogram(1: 1e308, 2: 1e308, 3)\n", "t.model:1:32: histogram(...)'s weights sum to more than a double holds" },
		{ "start a\x01\n", "t.model:1:8: control character" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct model *m = model_parse("t.model", bad[i].text, strlen(bad[i].text), &err);

		assert_null(m);
		assert_non_null(err);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
		free(err);
	}
}

/* Every shipped model parses. */
static void shipped_models(void **state)
{
	DIR *d = opendir("data/behaviours");
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char *err = NULL, name[256];
		size_t len = strlen(e->d_name);
		struct model *m;

		if (len < 7 || strcmp(e->d_name + len - 6, ".model"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 6), e->d_name);
		m = model_load("data/behaviours", name, &err);
		if (!m)
			fail_msg("%s", err);
		model_free(m);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

/* ---- content ----------------------------------------------------------- */

static void content_reads(void **state)
{
	struct content c;
	struct rng r;
	char s[200];
	const char *t;
	size_t letters = 0, spaces = 0;

	(void)state;
	content_init(&c, 3);
	t = content_get(&c, CONTENT_TEXT, 12345, 4096);
	assert_true(t == c.text || t[-1] == '\n');      /* starts a line */
	for (size_t i = 0; i < 4096; i++) {
		letters += (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z');
		spaces += t[i] == ' ';
		assert_true(t[i] && (t[i] == '\r' || t[i] == '\n' || (t[i] >= 32 && t[i] < 127)));
	}
	if (!(letters > 2500 && spaces > 400))
		fail_msg("letters %zu spaces %zu: %.200s", letters, spaces, t);      /* prose, not filler */
	/* lines stay short enough for mail */
	for (size_t i = 0, col = 0; i < CONTENT_BLOB; i++) {
		col = c.text[i] == '\n' ? 0 : col + 1;
		assert_true(col < 200);
	}
	rng_seed(&r, 1);
	content_sentence(&r, s, sizeof(s), 8);
	assert_true(s[0] >= 'A' && s[0] <= 'Z');
	assert_int_equal(s[strlen(s) - 1], '.');
	content_sentence(&r, s, 5, 30);                  /* bounded */
	assert_true(strlen(s) < 5);
	content_free(&c);
}

/* ---- the web site --------------------------------------------------------- */

static const char site_model[] =
	"start open_page\naction open_page\nnext open_page  end 100%\n"
	"param site_pages 10\nparam page_size 24 KiB\nparam objects_per_page 5\n"
	"param object_size 4 KiB\nparam object_tail 0%\nparam object_tail_size 1 MiB\n"
	"param links_per_page 10\n";

static const struct conn_ops quiet_ops = { .closed = side_closed };

/* o's body as site_send() queues it, read back over a socket pair. */
static uint64_t site_body(struct site *site, const struct site_obj *o, char *tail, size_t ntail)
{
	struct side a = { 0 };
	struct loop *l;
	char buf[65536];
	uint64_t got = 0;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(conn_accept(&a.c, l, &quiet_ops, sv[0]), 0);
	site_send(site, o, &a.c);
	conn_shutdown(&a.c);
	for (int i = 0; i < 200; i++) {
		ssize_t n;

		assert_int_equal(loop_once(l, 10), 0);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0) {
			got += (uint64_t)n;
			if ((size_t)n >= ntail)
				memcpy(tail, buf + n - ntail, ntail);
		}
		if (n == 0)
			break;
	}
	conn_close(&a.c, 0);
	loop_free(l);
	close(sv[1]);
	return got;
}

static void site_pages_fetched(void **state)
{
	char *err = NULL, dyn_text[sizeof(site_model) + 32], tail[8];
	struct model *fixed = model_parse("t.model", site_model, sizeof(site_model) - 1, &err), *dyn;
	struct content ct;
	struct site *s1, *s2;
	struct site_obj o, css1, css2;
	uint64_t one = 0, lo = UINT64_MAX, hi = 0;
	double sum = 0;

	(void)state;
	snprintf(dyn_text, sizeof(dyn_text), "%sparam page_dynamic 20%%\n", site_model);
	dyn = model_parse("t.model", dyn_text, strlen(dyn_text), &err);
	if (!fixed || !dyn)
		fail_msg("%s", err);
	content_init(&ct, 5);
	s1 = site_new(fixed, &ct, 9);
	s2 = site_new(dyn, &ct, 9);
	/* without page_dynamic a page is the same bytes every time */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(site_lookup(s1, "/p/3.html", 9, &o), 0);
		if (i)
			assert_int_equal(o.size, one);
		one = o.size;
	}
	assert_int_equal(site_body(s1, &o, tail, 8), one);
	/* with it, each fetch its own size, averaging the same page */
	for (int i = 0; i < 400; i++) {
		assert_int_equal(site_lookup(s2, "/p/3.html", 9, &o), 0);
		sum += (double)o.size;
		lo = MIN(lo, o.size);
		hi = MAX(hi, o.size);
		if (i < 5) {
			/* and what is sent is what Content-Length will say */
			assert_int_equal(site_body(s2, &o, tail, 8), o.size);
			assert_memory_equal(tail, "</html>\n", 8);
		}
	}
	if (!(hi > lo + 2000 && fabs(sum / 400 / (double)one - 1) < 0.03))
		fail_msg("sizes %llu..%llu, mean %.0f, fixed page %llu", (unsigned long long)lo,
			 (unsigned long long)hi, sum / 400, (unsigned long long)one);
	/* objects stay the same bytes */
	assert_int_equal(site_lookup(s2, "/static/site.css", 16, &css1), 0);
	assert_int_equal(site_lookup(s2, "/static/site.css", 16, &css2), 0);
	assert_int_equal(css1.size, css2.size);
	site_free(s1);
	site_free(s2);
	content_free(&ct);
	model_free(fixed);
	model_free(dyn);
}

static void nop_cb(struct loop *l, struct timer *t)
{
	(void)l;
	(void)t;
}

/* The wait for the timers: rounded up to the millisecond, unless a
 * precise timer is armed; then to the nanosecond, even when a plain one
 * comes first (else the precise one would wait for the rounding too). */
static void precise_wait(void **state)
{
	struct loop *l;
	struct timer plain = { .cb = nop_cb }, exact = { .cb = nop_cb, .precise = true };
	uint64_t now;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	now = loop_now(l);
	assert_int_equal(loop__wait_ns(l, now, -1), -1);
	assert_int_equal(loop__wait_ns(l, now, 5000), 5000);
	loop_timer_start(l, &plain, 100000);
	assert_int_equal(loop__wait_ns(l, now, -1), 1000000);
	assert_int_equal(loop__wait_ns(l, now, 300000), 300000);
	loop_timer_start(l, &exact, 300000);
	assert_int_equal(loop__wait_ns(l, now, -1), 100000);
	loop_timer_stop(l, &plain);
	assert_int_equal(loop__wait_ns(l, now, -1), 300000);
	assert_int_equal(loop__wait_ns(l, now + 400000, -1), 0);       /* overdue */
	loop_timer_start(l, &exact, 250000);    /* re-armed: counted once */
	loop_timer_stop(l, &exact);
	loop_timer_start(l, &plain, 100000);
	assert_int_equal(loop__wait_ns(l, now, -1), 1000000);
	/* a precise timer that fires is no longer counted */
	loop_timer_start(l, &plain, 1000000000);
	loop_timer_start(l, &exact, 0);
	assert_int_equal(loop_once(l, 0), 0);
	assert_int_equal(loop__wait_ns(l, loop_now(l), -1) % 1000000, 0);
	loop_free(l);
}

/* ---- the bucket -------------------------------------------------------- */

/* A flow paid ahead (pace_charge) empties the bucket at once, but counts
 * as moved only what moves (pace_moved): the controller's overhead is
 * wire over moved bytes.  pace_take is both. */
static void pace_paid_ahead(void **state)
{
	struct loop *l;
	struct pace p;

	(void)state;
	assert_int_equal(loop_new(&l), 0);
	pace_init(&p, l);
	pace_set(&p, 1000);
	pace_charge(&p, 50000);
	assert_false(pace_ok(&p));
	assert_int_equal(p.used, 0);
	assert_true(pace_debt(&p) > 49.0 && pace_debt(&p) <= 50.0);
	pace_moved(&p, 1200);
	pace_moved(&p, 800);
	assert_int_equal(p.used, 2000);
	assert_true(pace_debt(&p) > 49.0);      /* moving costs no more */
	pace_take(&p, 500);
	assert_int_equal(p.used, 2500);
	assert_true(pace_debt(&p) > 49.5);
	/* per segment: a call of n bytes costs ceil(n / PACE_SEGMENT) */
	pace_init(&p, l);
	pace_per_segment(&p);
	pace_moved(&p, 3000);
	assert_int_equal(p.used, 3);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_in_order),
		cmocka_unit_test(rearm_zero),
		cmocka_unit_test(stopped_skipped),
		cmocka_unit_test(precise_wait),
		cmocka_unit_test(conn_lines_and_close),
		cmocka_unit_test(conn_input_bounded),
		cmocka_unit_test(conn_half_close),
		cmocka_unit_test(model_parses),
		cmocka_unit_test(model_quantiles),
		cmocka_unit_test(model_histogram),
		cmocka_unit_test(model_errors),
		cmocka_unit_test(shipped_models),
		cmocka_unit_test(content_reads),
		cmocka_unit_test(site_pages_fetched),
		cmocka_unit_test(pace_paid_ahead),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
