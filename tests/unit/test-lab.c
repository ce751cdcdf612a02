/* test-lab.c - lab state files: names, parsing, saving and loading. */
#include "unit.h"
#include "../../src/control/lab.h"

#include <errno.h>
#include <unistd.h>

static void names(void **state)
{
	(void)state;
	assert_true(lab_name_ok("office"));
	assert_true(lab_name_ok("lab-2_b.v1"));
	assert_false(lab_name_ok(""));
	assert_false(lab_name_ok(".hidden"));
	assert_false(lab_name_ok("a/b"));
	assert_false(lab_name_ok("with space"));
	assert_false(lab_name_ok("a23456789012345678901234567890123")); /* 33 */
}

static const char good[] =
	"dynamo-lab 1\n"
	"name office\n"
	"pid 4242\n"
	"rootless 1\n"
	"started 1763900000\n"
	"spec /home/me/my specs/office.dyn\n"
	"node pc1 host 10.1.0.2 7 4026532890\n"
	"node gw router 198.18.0.1 12 4026532999\n";

static void parse_good(void **state)
{
	struct lab l;
	char err[256] = "";

	(void)state;
	assert_int_equal(lab_parse(good, strlen(good), &l, err, sizeof(err)), 0);
	assert_string_equal(l.name, "office");
	assert_int_equal(l.pid, 4242);
	assert_true(l.rootless);
	assert_int_equal(l.started, 1763900000);
	assert_string_equal(l.spec, "/home/me/my specs/office.dyn");
	assert_int_equal(l.nnodes, 2);
	assert_string_equal(l.nodes[1].name, "gw");
	assert_true(l.nodes[1].router);
	assert_int_equal(l.nodes[1].addr, 0xc6120001);
	assert_int_equal(l.nodes[0].fd, 7);
	assert_int_equal(l.nodes[0].ino, 4026532890ull);
	lab_free(&l);
}

static void parse_bad(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "", "incomplete (no header)" },
		{ "dynamo-lab 2\n", "line 1 is malformed" },
		{ "dynamo-lab 1\nname x\n", "incomplete (no pid)" },
		{ "dynamo-lab 1\npid 3\n", "incomplete (no name)" },
		{ "dynamo-lab 1\nname x\npid -3\n", "line 3 is malformed" },
		{ "dynamo-lab 1\nname x\npid 3\nnode a host 10.0.0.300 3 4\n", "line 4" },
		{ "dynamo-lab 1\nname x\npid 3\nnode a switch 10.0.0.1 3 4\n", "line 4" },
		{ "dynamo-lab 1\nname x\npid 3\nnode a host 10.0.0.1 3\n", "line 4" },
		{ "dynamo-lab 1\nname x\npid 3\nnode a host 10.0.0.1 3 4x\n", "line 4" },
		{ "dynamo-lab 1\nname ../x\npid 3\n", "line 2" },
		{ "dynamo-lab 1\nname x\npid 3\nbogus\n", "line 4" },
	};
	char err[256];
	struct lab l;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(lab_parse(cases[i].text, strlen(cases[i].text), &l, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, cases[i].err))
			fail_msg("case %zu: want '%s', have '%s'", i, cases[i].err, err);
	}
	/* a NUL byte is refused */
	assert_int_equal(lab_parse("dynamo-lab 1\0", 13, &l, err, sizeof(err)), -EINVAL);
}

static void save_load(void **state)
{
	char dir[] = "/tmp/dynamo-test-lab-XXXXXX", err[256];
	struct lab a, b;
	char **v;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_parse(good, strlen(good), &a, err, sizeof(err)), 0);
	assert_int_equal(lab_save(dir, &a), 0);
	assert_int_equal(lab_load(dir, "office", &b, err, sizeof(err)), 0);
	assert_string_equal(b.spec, a.spec);
	assert_int_equal(b.nnodes, 2);
	assert_int_equal(b.nodes[0].ino, a.nodes[0].ino);
	assert_int_equal(lab_list(dir, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "office");
	free(v[0]);
	free(v);
	/* pid 4242 does not hold namespace 4026532890 */
	assert_false(lab_alive(&b));
	lab_remove(dir, "office");
	assert_int_equal(lab_load(dir, "office", &b, err, sizeof(err)), -ENOENT);
	assert_int_equal(rmdir(dir), 0);
	lab_free(&a);
	lab_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(parse_good),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(save_load),
	};

	return cmocka_run_group_tests_name("lab", tests, NULL, NULL);
}
