/* test-generic.c - the generic agents' schedule (src/agents/generic.c):
 * both ends walk the same packets from one seed; the first is the
 * client's, at 0, large enough for the seed; and over many flows the
 * packets follow the model: their number, directions, sizes (within a
 * segment over TCP, a datagram over UDP) and gaps. */
#include "unit.h"

#include <math.h>

#include "../../src/agents/generic.h"

static struct model *model_of(const char *text)
{
	char *err = NULL;
	struct model *m = model_parse("t.model", text, strlen(text), &err);

	assert_null(err);
	return m;
}

static const char plain[] =
	"start flow\naction flow\nnext flow end 100%\n"
	"param packets geometric(40)\nparam gap lognormal(20 ms, 1.2)\nparam down 60%\n"
	"param up_size lognormal(120 B, 0.6)\nparam down_size quantiles(40 B, 200 B, 600 B, 1200 B, 1448 B)\n";

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n ? v[n / 2] : 0;
}

static void both_ends_agree(void **state)
{
	struct model *m = model_of(plain);
	struct gen_walk a, b;
	size_t n = 0;

	(void)state;
	gen__begin(&a, m, 77, true);
	gen__begin(&b, m, 77, true);
	assert_false(a.down);
	assert_true(a.at == 0);
	assert_true(a.size >= GEN_SEED_BYTES);
	do {
		assert_int_equal(a.size, b.size);
		assert_int_equal(a.down, b.down);
		assert_true(a.at == b.at);
		n++;
	} while (gen__next(&a, m) && gen__next(&b, m));
	assert_false(gen__next(&b, m));
	/* another seed, another schedule */
	gen__begin(&b, m, 78, true);
	gen__begin(&a, m, 77, true);
	{
		bool differ = false;

		while (!differ && gen__next(&a, m) && gen__next(&b, m))
			differ = a.size != b.size || a.down != b.down || a.at != b.at;
		assert_true(differ);
	}
	assert_true(n >= 1);
	model_free(m);
}

static void follows_the_model(void **state)
{
	struct model *m = model_of(plain);
	static double gaps[400000], up[400000], down[400000];
	size_t ng = 0, nu = 0, nd = 0, packets = 0, flows = 2000;

	(void)state;
	for (uint64_t seed = 1; seed <= flows; seed++) {
		struct gen_walk w;
		double at = 0;

		gen__begin(&w, m, seed, true);
		do {
			if (w.at > 0 || packets) {
				if (ng < ARRAY_SIZE(gaps) && w.at != at)
					gaps[ng++] = w.at - at;
			}
			at = w.at;
			assert_true(w.size >= 1 && w.size <= GEN_MAX_TCP);
			if (w.down && nd < ARRAY_SIZE(down))
				down[nd++] = w.size;
			else if (!w.down && nu < ARRAY_SIZE(up))
				up[nu++] = w.size;
			packets++;
		} while (gen__next(&w, m));
	}
	/* geometric(40) whole numbers from 0, at least 1: about 40 a flow */
	assert_true(fabs((double)packets / flows - 40.5) < 3);
	/* 60 % the server's (the first of each flow is the client's) */
	assert_true(fabs((double)nd / (double)(nd + nu - flows) - 0.6) < 0.02);
	assert_true(fabs(median(up, nu) - 120) < 8);
	assert_true(fabs(median(down, nd) - 600) < 40);
	assert_true(fabs(median(gaps, ng) - 0.020) < 0.002);
	model_free(m);
}

static void bounds(void **state)
{
	struct model *m = model_of("start flow\naction flow\nnext flow end 100%\n"
				   "param packets 50\nparam gap 0\nparam down 50%\n"
				   "param up_size 0 B\nparam down_size 9000 B\n");
	struct gen_walk w;
	size_t n = 0;

	(void)state;
	/* TCP: a byte at least, a segment at most; UDP: empty datagrams,
	 * a 1500-byte packet at most; the first still holds the seed */
	gen__begin(&w, m, 5, true);
	assert_int_equal(w.size, GEN_SEED_BYTES);
	while (gen__next(&w, m)) {
		assert_int_equal(w.size, w.down ? GEN_MAX_TCP : 1);
		assert_true(w.at == 0);
		n++;
	}
	assert_int_equal(n, 49);
	gen__begin(&w, m, 5, false);
	assert_int_equal(w.size, GEN_SEED_BYTES);
	while (gen__next(&w, m))
		assert_int_equal(w.size, w.down ? GEN_MAX_UDP : 0);
	model_free(m);
	/* a flow of no packets is one packet: the client's first */
	m = model_of("start flow\naction flow\nnext flow end 100%\nparam packets 0\n");
	gen__begin(&w, m, 5, true);
	assert_false(gen__next(&w, m));
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_ends_agree),
		cmocka_unit_test(follows_the_model),
		cmocka_unit_test(bounds),
	};

	return cmocka_run_group_tests_name("generic", tests, NULL, NULL);
}
