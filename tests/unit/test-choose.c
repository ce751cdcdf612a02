/* test-choose.c - the planner's choice of sources from a catalog: the
 * mix, one server per host and port, instances and knobs from the
 * profiles, and the refusals with their reasons. */
#include "unit.h"

#include <errno.h>
#include <math.h>

/* A measured entry: rate and rate-max in Mbps, flows and flows-max. */
static void entry(struct catalog *c, const char *name, const char *cls, const char *protos,
		  const char *kind, double mbps, double mbps_max, double flows, double flows_max)
{
	char text[1024], err[256];
	const char *first = protos;
	char start[64];
	size_t n = strcspn(protos, ",");

	if (!strcmp(kind, "program"))
		snprintf(start, sizeof(start), "program %s", name);
	else
		snprintf(start, sizeof(start), "agent %.*s", (int)n, first);
	snprintf(text, sizeof(text),
		 "name %s\nclass %s\nprotocols %s\nkind %s\nstart %s\n"
		 "knob users default 8 min 1 max 4096\n"
		 "knob think-scale default 1 min 0.01 max 100\n"
		 "%s"
		 "rate %.0f\nrate-max %.0f\npackets 100\nflows %g\nflows-max %g\nsessions 1\n"
		 "packet-size 64:0.5 1500:0.5\nflow-size 1024:0.5 inf:0.5\n",
		 name, cls, protos, kind, start,
		 mbps > 0 ? "measured \"test\" 2026-11-24\nprofile users 8 think-scale 1 duration 20\n" : "",
		 mbps * 1e6, mbps_max * 1e6, flows, flows_max);
	if (mbps <= 0) {
		/* not measured: no profile lines at all */
		char *cut = strstr(text, "rate ");

		*cut = '\0';
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	if (catalog_parse(&c->v[c->n], "test", text, strlen(text), err, sizeof(err)))
		fail_msg("entry %s: %s", name, err);
	c->n++;
}

static void catalog_web_db(struct catalog *c)
{
	memset(c, 0, sizeof(*c));
	entry(c, "http", "web", "http", "agent", 2, 200, 8, 8);
	entry(c, "https", "web", "https", "agent", 2, 100, 8, 8);
	entry(c, "nginx", "web", "http,https", "program", 2, 300, 8, 8);
	entry(c, "postgres", "database", "postgresql", "program", 1, 40, 8, 8);
	entry(c, "postgresql", "database", "postgresql", "agent", 1, 40, 8, 8);
	entry(c, "redis", "database", "redis", "agent", 0.5, 32, 8, 8);
	entry(c, "redis-server", "database", "redis", "program", 0.5, 32, 8, 8);
	entry(c, "smtp", "mail", "smtp", "agent", 0.1, 10, 4, 8);
	entry(c, "ftp", "file-transfer", "ftp", "agent", 0, 0, 0, 0);
}

static bool no_programs(const struct catalog_entry *e, char *why, size_t n, void *arg)
{
	(void)arg;
	if (e->kind == CATALOG_PROGRAM) {
		snprintf(why, n, "%s is not installed", e->name);
		return false;
	}
	return true;
}

/* Choose for text; the plan, or NULL with the error in err. */
static struct plan *chosen(const char *text, const struct catalog *c, plan_usable_fn fn, bool any,
			   struct spec **s, char *err, size_t n)
{
	struct plan *p = plan_of(text, s);

	err[0] = '\0';
	if (plan_choose(p, c, fn, NULL, any, err, n)) {
		plan_free(p);
		return NULL;
	}
	return p;
}

static const struct plan_source *src_named(const struct plan_part *pt, const char *name)
{
	for (size_t i = 0; i < pt->nsrcs; i++)
		if (!strcmp(pt->srcs[i].e->name, name))
			return &pt->srcs[i];
	return NULL;
}

static void web_mix_one_host(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;
	const struct plan_part *pt;

	(void)state;
	catalog_web_db(&c);
	p = chosen("generate web traffic from h1 to h2 with 100 Mbps ;", &c, NULL, false, &s, err,
		   sizeof(err));
	assert_non_null(p);
	pt = &p->stmts[0].parts[0];
	/* nginx holds 80 and 443 alone; two agents are the bigger mix */
	assert_int_equal(pt->nsrcs, 2);
	assert_non_null(src_named(pt, "http"));
	assert_non_null(src_named(pt, "https"));
	assert_true(src_named(pt, "http")->share == 0.5);
	assert_int_equal(pt->pick[PROTO_HTTP], src_named(pt, "http") - pt->srcs);
	assert_int_equal(pt->expect_rate, 100000000);
	/* 50 Mbps of https at 80% of 100 Mbps: one instance, hurried */
	assert_int_equal(src_named(pt, "https")->instances, 1);
	assert_true(src_named(pt, "https")->think_scale < 0.05);
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void database_mixes_kinds(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;
	const struct plan_part *pt;
	bool kinds[3] = { 0 };

	(void)state;
	catalog_web_db(&c);
	p = chosen("generate database traffic from h3 to external with 50 Mbps using >= 5 flows ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_non_null(p);
	pt = &p->stmts[0].parts[0];
	assert_int_equal(pt->nsrcs, 2);
	for (size_t i = 0; i < pt->nsrcs; i++)
		kinds[pt->srcs[i].e->kind] = true;
	assert_true(kinds[CATALOG_AGENT] && kinds[CATALOG_PROGRAM]);
	/* 25 Mbps each at 80% of 32 or 40 Mbps: one instance each */
	assert_true(pt->expect_flows >= 5);
	plan_free(p);
	spec_free(s);

	/* without programs, the agents */
	p = chosen("generate database traffic from h3 to h4 with 10 Mbps ;", &c, no_programs, false, &s,
		   err, sizeof(err));
	assert_non_null(p);
	pt = &p->stmts[0].parts[0];
	assert_int_equal(pt->nsrcs, 2);
	assert_non_null(src_named(pt, "postgresql"));
	assert_non_null(src_named(pt, "redis"));
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void more_hosts_more_sources(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;

	(void)state;
	catalog_web_db(&c);
	p = chosen("host a, b, c ; generate web traffic from a to b, c with 10 Mbps ;", &c, NULL, false,
		   &s, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->stmts[0].parts[0].nsrcs, 3);
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void one_server_per_port(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;

	(void)state;
	catalog_web_db(&c);
	/* nginx holds 443 on b: the second statement's https is nginx's */
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps over http using source nginx ;"
		   "generate web traffic from a to b with 1 Mbps over https ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->stmts[1].parts[0].nsrcs, 1);
	assert_string_equal(p->stmts[1].parts[0].srcs[0].e->name, "nginx");
	plan_free(p);
	spec_free(s);
	/* and a pinned https agent there cannot be */
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps over http using source nginx ;"
		   "generate web traffic from a to b with 1 Mbps using source https ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "statement 2: b cannot serve web traffic"));
	assert_non_null(strstr(err, "nginx on port 443"));
	spec_free(s);
	catalog_free(&c);
}

static void flows_at_most_refused(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;

	(void)state;
	catalog_web_db(&c);
	/* redis: 32 Mbps over 8 flows, 4 Mbps a flow; postgresql 5 */
	p = chosen("host a, b ; generate database traffic from a to b with 50 Mbps over redis using <= 5 flows ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "statement 1: 'using <= 5 flows' is too few for 50 Mbps of database"));
	assert_non_null(strstr(err, "at least 13"));
	spec_free(s);
	p = chosen("host a, b ; generate database traffic from a to b with 50 Mbps over redis using <= 13 flows ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_non_null(p);
	assert_true(p->stmts[0].parts[0].expect_flows <= 13);
	plan_free(p);
	spec_free(s);
	/* under a limit, the sources with more per flow come first:
	 * postgresql's 5 Mbps a flow, not redis's 4 */
	p = chosen("host a, b ; generate database traffic from a to b with 20 Mbps over postgresql using <= 6 flows ;",
		   &c, no_programs, false, &s, err, sizeof(err));
	assert_non_null(p);
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void flows_at_least_adds_instances(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;
	const struct plan_part *pt;

	(void)state;
	catalog_web_db(&c);
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps using >= 100 flows ;", &c, NULL,
		   false, &s, err, sizeof(err));
	assert_non_null(p);
	pt = &p->stmts[0].parts[0];
	assert_true(pt->expect_flows >= 100);
	assert_true(pt->srcs[0].instances >= 6);
	plan_free(p);
	spec_free(s);
	/* and a high rate, instances at 80% of rate-max */
	p = chosen("host a, b ; generate web traffic from a to b with 1 Gbps over http using source http ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->stmts[0].parts[0].srcs[0].instances, 7);   /* 1000 / 160 */
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void packet_rates(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;
	const struct plan_part *pt;

	(void)state;
	catalog_web_db(&c);
	/* http: 100 packets/s at 2 Mbps, so 10000 at its 200 Mbps rate-max:
	 * 20 kpps is 20000 / 8000 = 3 instances */
	p = chosen("host a, b ; generate web traffic from a to b with 20 kpps using source http ;", &c, NULL,
		   false, &s, err, sizeof(err));
	assert_non_null(p);
	pt = &p->stmts[0].parts[0];
	assert_true(pt->packets);
	assert_int_equal(pt->expect_rate, 20000);
	assert_int_equal(pt->srcs[0].instances, 3);
	/* 20000 / 3 a second each against 100 measured: hurried users */
	assert_true(pt->srcs[0].think_scale < 0.02);
	plan_free(p);
	spec_free(s);
	/* a packet limit per flow: 10000 / 8 = 1250 packets/s a flow */
	p = chosen("host a, b ; generate web traffic from a to b with 20 kpps using source http using <= 10 flows ;",
		   &c, NULL, false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "too few for 20 kpps of web traffic: it needs at least 16"));
	spec_free(s);
	catalog_free(&c);
}

/* Below one instance's rate, fewer users first, then slower ones. */
static void quiet_parts_fewer_users(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;
	const struct plan_source *ps;

	(void)state;
	catalog_web_db(&c);
	/* smtp: 8 users make 100 kbps; 25 kbps is two users at that pace */
	p = chosen("host a, b ; generate mail traffic from a to b with 25 kbps ;", &c, NULL, false, &s,
		   err, sizeof(err));
	assert_non_null(p);
	ps = &p->stmts[0].parts[0].srcs[0];
	assert_int_equal(ps->instances, 1);
	assert_int_equal(ps->users, 2);
	assert_true(ps->think_scale == 1);
	plan_free(p);
	spec_free(s);
	/* 1 kbps: one user, thinking 12.5 times as long */
	p = chosen("host a, b ; generate mail traffic from a to b with 1 kbps ;", &c, NULL, false, &s,
		   err, sizeof(err));
	assert_non_null(p);
	ps = &p->stmts[0].parts[0].srcs[0];
	assert_int_equal(ps->users, 1);
	assert_true(fabs(ps->think_scale - 12.5) < 1e-9);
	plan_free(p);
	spec_free(s);
	/* at the measured rate, as measured */
	p = chosen("host a, b ; generate mail traffic from a to b with 100 kbps ;", &c, NULL, false, &s,
		   err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->stmts[0].parts[0].srcs[0].users, 8);
	plan_free(p);
	spec_free(s);
	catalog_free(&c);
}

static void refusals_say_why(void **state)
{
	struct catalog c;
	struct spec *s;
	char err[512];
	struct plan *p;

	(void)state;
	catalog_web_db(&c);
	p = chosen("host a, b ; generate file-transfer traffic from a to b with 1 Mbps ;", &c, NULL, false, &s,
		   err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "statement 1: no source of file-transfer traffic can run: ftp "
				    "(not measured: run 'dynamo catalog measure ftp')"));
	spec_free(s);
	/* catalog measure runs what is not measured yet */
	p = chosen("host a, b ; generate file-transfer traffic from a to b with 1 Mbps ;", &c, NULL, true, &s,
		   err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(p->stmts[0].parts[0].srcs[0].instances, 1);
	plan_free(p);
	spec_free(s);
	p = chosen("host a, b ; generate mail traffic from a to b with 1 Mbps over imap ;", &c, NULL, false, &s,
		   err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "statement 1: the catalog has no source of mail traffic over imap"));
	spec_free(s);
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps using source nginx ;", &c,
		   no_programs, false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "nginx (nginx is not installed)"));
	spec_free(s);
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps using source nosuch ;", &c, NULL,
		   false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "no source is named 'nosuch' (sources: http, https, nginx,"));
	spec_free(s);
	p = chosen("host a, b ; generate web traffic from a to b with 1 Mbps using source redis ;", &c, NULL,
		   false, &s, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "source 'redis' makes database traffic (redis), not web"));
	spec_free(s);
	catalog_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(web_mix_one_host),
		cmocka_unit_test(database_mixes_kinds),
		cmocka_unit_test(more_hosts_more_sources),
		cmocka_unit_test(one_server_per_port),
		cmocka_unit_test(flows_at_most_refused),
		cmocka_unit_test(flows_at_least_adds_instances),
		cmocka_unit_test(packet_rates),
		cmocka_unit_test(quiet_parts_fewer_users),
		cmocka_unit_test(refusals_say_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
