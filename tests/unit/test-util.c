/* test-util.c - shared helpers: suggestions, quantities, the JSON/text
 * printer and the string map. */
#include "unit.h"
#include "../../src/lib/out.h"
#include "../../src/lib/strmap.h"

static void suggestions(void **state)
{
	static const char *const units[] = { "bps", "kbps", "Mbps", "Gbps" };
	static const char *const classes[] = { "web", "mail", "dns", "database" };

	(void)state;
	assert_int_equal(str_distance("Mbps", "Mbps"), 0);
	assert_int_equal(str_distance("mbps", "Mbps"), 1);      /* case costs half */
	assert_int_equal(str_distance("Mbsp", "Mbps"), 2);      /* one transposition */
	assert_string_equal(str_suggest("Mbsp", units, 4), "Mbps");
	assert_string_equal(str_suggest("mbps", units, 4), "Mbps");
	assert_string_equal(str_suggest("wbe", classes, 4), "web");
	assert_string_equal(str_suggest("databse", classes, 4), "database");
	assert_null(str_suggest("video", classes, 4));
	assert_null(str_suggest("web", classes, 4));            /* exact is no suggestion */
}

static void quantities(void **state)
{
	char b[32];

	(void)state;
	fmt_rate(b, sizeof(b), 100000000);
	assert_string_equal(b, "100 Mbps");
	fmt_rate(b, sizeof(b), 1500000);
	assert_string_equal(b, "1.5 Mbps");
	fmt_rate(b, sizeof(b), 999);
	assert_string_equal(b, "999 bps");
	fmt_rate(b, sizeof(b), 2000000000);
	assert_string_equal(b, "2 Gbps");
	fmt_time_us(b, sizeof(b), 0);
	assert_string_equal(b, "0 s");
	fmt_time_us(b, sizeof(b), 20000);
	assert_string_equal(b, "20 ms");
	fmt_time_us(b, sizeof(b), 600000000);
	assert_string_equal(b, "10 min");
	fmt_time_us(b, sizeof(b), 90000000);
	assert_string_equal(b, "90 s");
	fmt_ppm_percent(b, sizeof(b), 5000);
	assert_string_equal(b, "0.5%");
	fmt_ipv4(b, sizeof(b), 0xc6120001);
	assert_string_equal(b, "198.18.0.1");
}

static char *render(bool json)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);
	struct out *o = out_new(f, json);

	out_obj_open(o, NULL);
	out_str(o, "name", "name %s\n", "a \"quoted\"\tname\n");
	out_rate(o, "rate", "rate %s\n", 100000000);
	out_time(o, "delay", "delay %s\n", 20000);
	out_null(o, "flows", "flows %s\n", "any");
	out_arr_open(o, "hosts");
	out_str(o, NULL, " %s", "h1");
	out_str(o, NULL, " %s", "h2");
	out_arr_close(o);
	out_str(o, NULL, "text only\n", "x");
	out_arr_open(o, "empty");
	out_arr_close(o);
	out_obj_close(o);
	out_free(o);
	fclose(f);
	return p;
}

static void printer(void **state)
{
	char *j = render(true), *t = render(false);

	(void)state;
	assert_string_equal(j,
		"{\n"
		"  \"name\": \"a \\\"quoted\\\"\\tname\\n\",\n"
		"  \"rate\": 100000000,\n"
		"  \"delay\": 0.02,\n"
		"  \"flows\": null,\n"
		"  \"hosts\": [\n"
		"    \"h1\",\n"
		"    \"h2\"\n"
		"  ],\n"
		"  \"empty\": []\n"
		"}\n");
	assert_string_equal(t,
		"name a \"quoted\"\tname\n\n"
		"rate 100 Mbps\n"
		"delay 20 ms\n"
		"flows any\n"
		" h1 h2text only\n");
	free(j);
	free(t);
}

static void map(void **state)
{
	struct strmap m = { 0 };
	char keys[1000][16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		assert_null(strmap_put(&m, keys[i], &keys[i]));
	}
	assert_ptr_equal(strmap_put(&m, "k5", keys[0]), &keys[5]); /* kept */
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(strmap_get(&m, keys[i]), &keys[i]);
	assert_null(strmap_get(&m, "k1000"));
	strmap_free(&m);
	strmap_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suggestions),
		cmocka_unit_test(quantities),
		cmocka_unit_test(printer),
		cmocka_unit_test(map),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
