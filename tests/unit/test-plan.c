/* test-plan.c - statements resolved against the topology: endpoints,
 * defaults, mix parts, and the capacity of the links on their paths. */
#include "unit.h"

static void seed_plan(void **state)
{
	struct spec *s;
	struct plan *p = plan_of("generate web traffic from h1 to h2 with 100 Mbps ;"
				 "generate database traffic from h3 to external with 50 Mbps"
				 " using >= 5 flows ;", &s);
	const struct plan_stmt *a = &p->stmts[0], *b = &p->stmts[1];

	(void)state;
	assert_int_equal(p->nstmts, 2);
	assert_int_equal(a->nfrom, 1);
	assert_string_equal(p->topo->nodes[a->from[0]].name, "h1");
	assert_string_equal(p->topo->nodes[a->to[0]].name, "h2");
	assert_int_equal(a->pairs, 1);
	assert_int_equal(a->parts[0].rate, 100000000);
	assert_int_equal(a->parts[0].protos, (1u << PROTO_HTTP) | (1u << PROTO_HTTPS));
	assert_string_equal(a->label, "web");
	assert_string_equal(p->topo->nodes[b->to[0]].name, "ext1");
	assert_int_equal(b->parts[0].rate, 50000000);
	assert_int_equal(b->gen->flow_op, FLOWS_GE);
	assert_int_equal(b->gen->flows, 5);
	assert_int_equal(a->bottleneck_node, TOPO_NONE); /* nothing limited */
	plan_free(p);
	spec_free(s);
}

static void mix_parts_add_up(void **state)
{
	struct spec *s;
	struct plan *p = plan_of("host a, b ; generate mix from a to b with 1000001 bps:"
				 " web 33.3333%, mail 33.3333%, dns over dns 33.3334% ;", &s);
	const struct plan_stmt *st = &p->stmts[0];

	(void)state;
	assert_int_equal(st->nparts, 3);
	assert_int_equal(st->parts[0].rate, 333333); /* 33.3333% is 333333 ppm */
	assert_int_equal(st->parts[1].rate, 333333);
	assert_int_equal(st->parts[2].rate, 333335);
	assert_int_equal(st->parts[0].rate + st->parts[1].rate + st->parts[2].rate, 1000001);
	assert_int_equal(st->parts[2].cls, CLASS_DNS);
	assert_int_equal(st->parts[1].protos, (1u << PROTO_SMTP) | (1u << PROTO_IMAP));
	assert_string_equal(st->label, "mix");
	plan_free(p);
	spec_free(s);
}

static void subnets_expand(void **state)
{
	struct spec *s;
	struct plan *p = plan_of("subnet office 10.1.0.0/24 ; host pc1..pc4 in office ;"
				 "host srv in office ;"
				 "generate web traffic from office to srv, pc1 with 1 Mbps ;", &s);
	const struct plan_stmt *st = &p->stmts[0];

	(void)state;
	assert_int_equal(st->nfrom, 5);
	assert_int_equal(st->nto, 2);
	/* 5 x 2 pairs, less srv->srv and pc1->pc1 */
	assert_int_equal(st->pairs, 8);
	plan_free(p);
	spec_free(s);
}

static void over_capacity(void **state)
{
	struct spec *s = parse("host a, b ;\n"
			       "link a -- lan rate 10 Mbps ;\n"
			       "generate web traffic from a to b with 50 Mbps ;\n");

	(void)state;
	expect_errors(s, 0);
	assert_null(plan_build(s, topo_build(s)));
	expect_errors(s, 1);
	expect_errors(s, 1); /* and no warning for the same link */
	assert_int_equal(s->warnings, 0);
	expect_error_at(s, 0, 3, 39,
			"statement needs 50 Mbps through link a -- lan, which carries at most 10 Mbps");
	spec_free(s);
}

/* The rate spreads over pairs: ten 10 Mbps senders carry 50 Mbps. */
static void spread_fits(void **state)
{
	struct spec *s;
	struct plan *p = plan_of("subnet lan 10.1.0.0/24 rate 10 Mbps ; host c1..c10 ;"
				 "host srv rate 1 Gbps ;"
				 "generate web traffic from c1..c10 to srv with 50 Mbps ;", &s);

	(void)state;
	assert_string_equal(p->topo->nodes[p->stmts[0].bottleneck_node].name, "c1");
	assert_int_equal(p->stmts[0].bottleneck_rate, 10000000);
	plan_free(p);
	spec_free(s);

	s = parse("subnet lan 10.1.0.0/24 rate 10 Mbps ; host c1..c10 ;"
		  "host srv rate 1 Gbps ;"
		  "generate web traffic from c1..c10 to srv with 101 Mbps ;");
	expect_errors(s, 0);
	assert_null(plan_build(s, topo_build(s)));
	expect_errors(s, 1);
	spec_free(s);
}

/* A router link shared by all pairs carries the whole statement. */
static void router_link_limits(void **state)
{
	struct spec *s = parse("host a, b ; router gw joins lan, external ;\n"
			       "link gw -- external rate 20 Mbps ;\n"
			       "generate web traffic from a, b to external with 30 Mbps ;\n");

	(void)state;
	expect_errors(s, 0);
	assert_null(plan_build(s, topo_build(s)));
	expect_errors(s, 1);
	expect_error_at(s, 0, 3, 49, "needs 30 Mbps through link gw -- external");
	spec_free(s);
}

static void shared_link_warns(void **state)
{
	struct spec *s;
	struct plan *p = plan_of("host a, b ; link a -- lan rate 10 Mbps ;\n"
				 "generate web traffic from a to b with 6 Mbps ;\n"
				 "generate dns traffic from a to b with 6 Mbps ;\n", &s);

	(void)state;
	assert_int_equal(s->warnings, 1);
	expect_diag(s, 0, SPEC_WARNING, 3, 39, "statements together need 12 Mbps through link a -- lan");
	plan_free(p);
	spec_free(s);
}

static void no_route(void **state)
{
	struct spec *s = parse("subnet x 10.1.0.0/24 ; subnet y 10.2.0.0/24 ; subnet z 10.3.0.0/24 ;\n"
			       "host a in x ; host b in z ;\n"
			       "router r joins x, y ;\n"
			       "generate web traffic from a to b with 1 Mbps ;\n");

	(void)state;
	expect_errors(s, 0);
	assert_null(plan_build(s, topo_build(s)));
	expect_errors(s, 1);
	expect_error_at(s, 0, 4, 32, "no route from a (x) to b (z)");
	spec_free(s);
}

static void no_pairs(void **state)
{
	struct spec *s = parse("subnet x 10.1.0.0/24 ; host a in x ;"
			       "generate web traffic from a to x with 1 Mbps ;");

	(void)state;
	expect_errors(s, 0);
	assert_null(plan_build(s, topo_build(s)));
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 68, "leave no pair of different hosts");
	spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_plan),
		cmocka_unit_test(mix_parts_add_up),
		cmocka_unit_test(subnets_expand),
		cmocka_unit_test(over_capacity),
		cmocka_unit_test(spread_fits),
		cmocka_unit_test(router_link_limits),
		cmocka_unit_test(shared_link_warns),
		cmocka_unit_test(no_route),
		cmocka_unit_test(no_pairs),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
