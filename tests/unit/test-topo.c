/* test-topo.c - the resolved network: implicit networks and gateway,
 * address plans, link conditions and routes. */
#include "unit.h"

static struct topo *topo_of(const char *text, struct spec **sp)
{
	struct spec *s = parse(text);
	struct topo *t;

	expect_errors(s, 0);
	t = topo_build(s);
	if (!t)
		dump(s);
	assert_non_null(t);
	*sp = s;
	return t;
}

static const struct topo_node *node(const struct topo *t, const char *name)
{
	size_t i = topo_node_find(t, name);

	if (i == TOPO_NONE)
		fail_msg("no node %s", name);
	return &t->nodes[i];
}

static void addr_is(uint32_t a, const char *want)
{
	char s[20];

	fmt_ipv4(s, sizeof(s), a);
	assert_string_equal(s, want);
}

static void seed_network(void **state)
{
	struct spec *s;
	struct topo *t = topo_of("generate web traffic from h1 to h2 with 100 Mbps ;"
				 "generate database traffic from h3 to external with 50 Mbps"
				 " using >= 5 flows ;", &s);
	const struct topo_node *gw, *h1, *ext;

	(void)state;
	assert_int_equal(t->nsubnets, 2);
	assert_string_equal(t->subnets[t->lan].name, "lan");
	addr_is(t->subnets[t->lan].addr, "10.0.0.0");
	assert_int_equal(t->subnets[t->lan].plen, 24);
	addr_is(t->subnets[t->external].addr, "198.18.0.0");
	assert_int_equal(t->subnets[t->external].plen, 15);

	gw = node(t, "gw");
	assert_int_equal(gw->kind, TOPO_ROUTER);
	assert_true(gw->implicit);
	assert_false(gw->nat);
	assert_int_equal(gw->nifaces, 2);
	addr_is(gw->ifaces[0].addr, "10.0.0.1");
	addr_is(gw->ifaces[1].addr, "198.18.0.1");
	assert_int_equal(gw->nroutes, 0); /* connected to both */

	h1 = node(t, "h1");
	addr_is(h1->ifaces[0].addr, "10.0.0.2");
	assert_string_equal(h1->ifaces[0].name, "eth0");
	assert_int_equal(h1->ifaces[0].mtu, 1500);
	assert_int_equal(h1->nroutes, 1);
	assert_int_equal(h1->routes[0].plen, 0);
	addr_is(h1->routes[0].via, "10.0.0.1");
	addr_is(node(t, "h3")->ifaces[0].addr, "10.0.0.4");

	ext = &t->nodes[t->gen_external[1]];
	assert_string_equal(ext->name, "ext1");
	assert_true(ext->external);
	addr_is(ext->ifaces[0].addr, "198.18.0.2");
	assert_int_equal(ext->nroutes, 1);
	addr_is(ext->routes[0].via, "198.18.0.1");
	assert_int_equal(t->gen_external[0], TOPO_NONE);

	topo_free(t);
	spec_free(s);
}

/* Three subnets, a core router, a NAT gateway: routes and NAT. */
static const char office[] =
	"subnet lan 10.1.0.0/24 ; subnet dmz 10.2.0.0/24 ; subnet branch ;\n"
	"host pc1, pc2 in lan ; host web1 in dmz address 10.2.0.10 ; host b1 in branch ;\n"
	"router core joins lan, dmz, branch ;\n"
	"router gw joins dmz, external nat ;\n"
	"generate web traffic from pc1 to external with 1 Mbps ;\n";

static void routes_and_nat(void **state)
{
	struct spec *s;
	struct topo *t = topo_of(office, &s);
	const struct topo_node *pc1 = node(t, "pc1"), *core = node(t, "core"), *gw = node(t, "gw");
	const struct topo_node *ext = node(t, "ext1");
	struct topo_hop hops[TOPO_MAX_HOPS];
	size_t n;

	(void)state;
	/* branch had no range: the first free /24 in 10/8 */
	addr_is(t->subnets[topo_subnet_find(t, "branch")].addr, "10.0.0.0");
	/* routers take the lowest addresses, fixed addresses are kept */
	addr_is(core->ifaces[0].addr, "10.1.0.1");
	addr_is(core->ifaces[1].addr, "10.2.0.1");
	addr_is(gw->ifaces[0].addr, "10.2.0.2");
	addr_is(node(t, "web1")->ifaces[0].addr, "10.2.0.10");
	addr_is(pc1->ifaces[0].addr, "10.1.0.2");

	/* pc1: one default route via core */
	assert_int_equal(pc1->nroutes, 1);
	addr_is(pc1->routes[0].via, "10.1.0.1");
	/* core: default toward the Internet via gw, nothing else needed */
	assert_int_equal(core->nroutes, 1);
	assert_int_equal(core->routes[0].plen, 0);
	addr_is(core->routes[0].via, "10.2.0.2");
	assert_string_equal(core->ifaces[core->routes[0].iface].name, "eth1");
	/* gw: lan and branch via core, no default */
	assert_int_equal(gw->nroutes, 2);
	for (size_t i = 0; i < gw->nroutes; i++) {
		assert_int_not_equal(gw->routes[i].plen, 0);
		addr_is(gw->routes[i].via, "10.2.0.1");
	}
	/* behind NAT: the Internet has no route to the inside */
	assert_int_equal(ext->nroutes, 0);

	/* the path pc1 -> ext1 crosses core and gw */
	n = topo_path(t, topo_node_find(t, "pc1"), topo_node_find(t, "ext1"), hops, NULL);
	assert_int_equal(n, 6);
	assert_string_equal(t->nodes[hops[0].node].name, "pc1");
	assert_string_equal(t->nodes[hops[1].node].name, "core");
	assert_string_equal(t->nodes[hops[2].node].name, "core");
	assert_string_equal(t->nodes[hops[3].node].name, "gw");
	assert_string_equal(t->nodes[hops[4].node].name, "gw");
	assert_string_equal(t->nodes[hops[5].node].name, "ext1");
	/* and back: no route in through the NAT */
	n = topo_path(t, topo_node_find(t, "ext1"), topo_node_find(t, "pc1"), hops, NULL);
	assert_int_equal(n, 0);

	topo_free(t);
	spec_free(s);
}

static void without_nat_external_routes_in(void **state)
{
	struct spec *s;
	struct topo *t = topo_of("subnet lan 10.1.0.0/24 ; host a in lan ;"
				 "router gw joins lan, external ;"
				 "generate web traffic from external to a with 1 Mbps ;", &s);
	const struct topo_node *ext = node(t, "ext1");
	struct topo_hop hops[TOPO_MAX_HOPS];

	(void)state;
	assert_int_equal(ext->nroutes, 1);
	addr_is(ext->routes[0].via, "198.18.0.1");
	assert_int_equal(topo_path(t, topo_node_find(t, "ext1"), topo_node_find(t, "a"), hops, NULL), 4);
	topo_free(t);
	spec_free(s);
}

/* Subnets without routers: one implicit router joins them all. */
static void implicit_router(void **state)
{
	struct spec *s;
	struct topo *t = topo_of("subnet a ; subnet b ; host x in a ; host y in b ;"
				 "generate web traffic from x to y with 1 Mbps ;", &s);
	const struct topo_node *gw = node(t, "gw");
	struct topo_hop hops[TOPO_MAX_HOPS];

	(void)state;
	addr_is(t->subnets[0].addr, "10.0.0.0");
	addr_is(t->subnets[1].addr, "10.0.1.0");
	assert_int_equal(gw->nifaces, 2);
	assert_int_equal(topo_path(t, topo_node_find(t, "x"), topo_node_find(t, "y"), hops, NULL), 4);
	topo_free(t);
	spec_free(s);
}

static void ranges_grow_with_hosts(void **state)
{
	struct spec *s;
	struct topo *t = topo_of("host h1..h600 ;", &s);

	(void)state;
	assert_int_equal(t->subnets[t->lan].plen, 22);
	addr_is(node(t, "h600")->ifaces[0].addr, "10.0.2.88");
	topo_free(t);
	spec_free(s);
}

static void full_subnet(void **state)
{
	struct spec *s = parse("subnet tiny 10.5.0.0/29 ; host h1..h7 in tiny ;");

	(void)state;
	expect_errors(s, 0);
	assert_null(topo_build(s));
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 13, "subnet tiny (10.5.0.0/29) has no room");
	spec_free(s);
}

static void conditions(void **state)
{
	struct spec *s;
	struct topo *t = topo_of("subnet lan 10.1.0.0/24 rate 1 Gbps delay 1 ms ;"
				 "host a in lan rate 100 Mbps ; host b in lan ;"
				 "link a -> lan rate 10 Mbps loss 1% ;"
				 "link lan -> b delay 30 ms jitter 3 ms ;"
				 "link b -- lan mtu 9000 ;", &s);
	const struct topo_iface *a = &node(t, "a")->ifaces[0], *b = &node(t, "b")->ifaces[0];

	(void)state;
	assert_int_equal(a->up.rate, 10000000);     /* link statement */
	assert_int_equal(a->down.rate, 100000000);  /* host declaration */
	assert_int_equal(a->up.loss_ppm, 10000);
	assert_int_equal(a->down.loss_ppm, 0);
	assert_int_equal(a->up.delay_us, 1000);     /* subnet default */
	assert_int_equal(b->up.rate, 1000000000);
	assert_int_equal(b->down.delay_us, 30000);
	assert_int_equal(b->down.jitter_us, 3000);
	assert_int_equal(b->up.delay_us, 1000);
	assert_int_equal(b->mtu, 9000);
	assert_int_equal(a->mtu, 1500);
	topo_free(t);
	spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_network),
		cmocka_unit_test(routes_and_nat),
		cmocka_unit_test(without_nat_external_routes_in),
		cmocka_unit_test(implicit_router),
		cmocka_unit_test(ranges_grow_with_hosts),
		cmocka_unit_test(full_subnet),
		cmocka_unit_test(conditions),
	};

	return cmocka_run_group_tests_name("topo", tests, NULL, NULL);
}
