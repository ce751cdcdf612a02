/* test-spec.c - the language: lexing, parsing, semantic checks and the
 * rendering of diagnostics. */
#include "unit.h"

static const char seed[] =
	"generate web traffic\n"
	"  from h1 to h2\n"
	"  with 100 Mbps ;\n"
	"generate database traffic\n"
	"  from h3 to external\n"
	"  with 50 Mbps\n"
	"  using >= 5 flows ;       # '\xe2\x89\xa5' is accepted too\n";

static void seed_statements(void **state)
{
	struct spec *s = parse(seed);

	(void)state;
	expect_errors(s, 0);
	assert_int_equal(s->ngens, 2);
	assert_int_equal(s->gens[0].cls, CLASS_WEB);
	assert_int_equal(s->gens[0].rate, 100000000);
	assert_int_equal(s->gens[0].flow_op, FLOWS_ANY);
	assert_int_equal(s->gens[1].cls, CLASS_DATABASE);
	assert_int_equal(s->gens[1].rate, 50000000);
	assert_int_equal(s->gens[1].flow_op, FLOWS_GE);
	assert_int_equal(s->gens[1].flows, 5);
	assert_string_equal(s->gens[1].to[0].name, "external");
	assert_int_equal(s->nimplicit, 3);
	assert_string_equal(s->implicit[0].name, "h1");
	assert_string_equal(s->implicit[2].name, "h3");
	spec_free(s);
}

/* The same statements in other layouts and with the Unicode operator. */
static void seed_layouts(void **state)
{
	static const char *const v[] = {
		"generate web traffic from h1 to h2 with 100 Mbps ;"
		"generate database traffic from h3 to external with 50 Mbps using >= 5 flows ;",
		"generate\tweb\ttraffic\r\nfrom\th1\r\nto h2 with 100 Mbps;\r\n"
		"generate database traffic from h3 to external with 50 Mbps using \xe2\x89\xa5 5 flows;",
		"generate web traffic from h1 to h2 with 100Mbps;generate database traffic from h3 "
		"to external with 50 Mbps using>=5 flows;",
		"\n\n  # comment\ngenerate web\n traffic from\n h1\n to\n h2\n with\n 100\n Mbps\n ;\n"
		"generate database traffic from h3 to external with 50 Mbit/s using \xe2\x89\xa5 5 flows ;\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct spec *s = parse(v[i]);

		expect_errors(s, 0);
		assert_int_equal(s->ngens, 2);
		assert_int_equal(s->gens[0].rate, 100000000);
		assert_int_equal(s->gens[1].rate, 50000000);
		assert_int_equal(s->gens[1].flow_op, FLOWS_GE);
		assert_int_equal(s->gens[1].flows, 5);
		spec_free(s);
	}
}

static uint64_t rate_of(const char *r)
{
	char text[128];
	struct spec *s;
	uint64_t v;

	snprintf(text, sizeof(text), "generate web traffic from a to b with %s ;", r);
	s = parse(text);
	expect_errors(s, 0);
	v = s->gens[0].rate;
	spec_free(s);
	return v;
}

static void rate_units(void **state)
{
	(void)state;
	assert_int_equal(rate_of("1 bps"), 1);
	assert_int_equal(rate_of("64 kbps"), 64000);
	assert_int_equal(rate_of("1.5 Mbps"), 1500000);
	assert_int_equal(rate_of("2 Gbps"), 2000000000ull);
	assert_int_equal(rate_of("10 kbit/s"), 10000);
	assert_int_equal(rate_of("10 Mbit/s"), 10000000);
	assert_int_equal(rate_of("0.25 Gbit/s"), 250000000);
	assert_int_equal(rate_of("1 Tbps"), 1000000000000ull);
	assert_int_equal(rate_of("0.000001 Mbps"), 1);
}

static void packet_rates(void **state)
{
	struct spec *s;

	(void)state;
	s = parse("generate database traffic from a to b with 10 kpps over redis ;"
		  "generate web traffic from a to b with 2.5 Mbps ;"
		  "generate mix from a to b with 1 Mpps: web 50%, mail 50% ;");
	expect_errors(s, 0);
	assert_int_equal(s->gens[0].rate, 10000);
	assert_true(s->gens[0].packets);
	assert_false(s->gens[1].packets);
	assert_int_equal(s->gens[2].rate, 1000000);
	assert_true(s->gens[2].packets);
	spec_free(s);
	s = parse("generate web traffic from a to b with 200 Mpps ;");
	expect_error_at(s, 0, 1, 39, "rate is above the limit of 100 Mpps");
	spec_free(s);
	s = parse("host a rate 10 kpps ;");
	expect_error_at(s, 0, 1, 13, "a link's rate cannot be in packets per second");
	spec_free(s);
	s = parse("generate web traffic from a to b with 10 kpsp ;");
	expect_error_at(s, 0, 1, 42, "unknown rate unit 'kpsp'");
	expect_hint(s, 0, "did you mean 'kpps'?");
	spec_free(s);
}

static uint64_t duration_of(const char *t)
{
	char text[128];
	struct spec *s;
	uint64_t v;

	snprintf(text, sizeof(text), "generate web traffic from a to b with 1 Mbps for %s ;", t);
	s = parse(text);
	expect_errors(s, 0);
	v = s->gens[0].duration_us;
	spec_free(s);
	return v;
}

static void time_units(void **state)
{
	(void)state;
	assert_int_equal(duration_of("250 ms"), 250000);
	assert_int_equal(duration_of("10 s"), 10000000);
	assert_int_equal(duration_of("10 min"), 600000000);
	assert_int_equal(duration_of("1.5 h"), 5400000000ull);
	assert_int_equal(duration_of("2 minutes"), 120000000);
	assert_int_equal(duration_of("1 hour"), 3600000000ull);
}

static void unit_typo(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 100 Mbsp ;");

	(void)state;
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 45, "unknown rate unit 'Mbsp'");
	expect_hint(s, 0, "did you mean 'Mbps'?");
	assert_int_equal(s->ngens, 0);
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 10 MB/s ;");
	expect_errors(s, 1);
	expect_hint(s, 0, "1 MB/s is 8 Mbps");
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 10 ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 44, "expected a rate unit after '10'");
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps for 10 secs ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 55, "unknown time unit 'secs'");
	expect_hint(s, 0, "did you mean 'sec'?");
	spec_free(s);
}

static void unknown_class(void **state)
{
	struct spec *s = parse("generate wbe traffic from h1 to h2 with 1 Mbps ;");

	(void)state;
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 10, "unknown traffic class 'wbe'");
	expect_hint(s, 0, "did you mean 'web'?");
	spec_free(s);

	/* the protocols of an unknown class are not judged against a guess */
	s = parse("generate wbe traffic over smtp from h1 to h2 with 1 Mbps ;\n"
		  "host a, b ; generate mix from a to b with 1 Mbps: wbe 50%, web 50% ;");
	expect_errors(s, 2);
	expect_error_at(s, 0, 1, 10, "unknown traffic class 'wbe'");
	expect_error_at(s, 1, 2, 51, "unknown traffic class 'wbe'");
	spec_free(s);

	s = parse("generate video traffic from h1 to h2 with 1 Mbps ;");
	expect_errors(s, 1);
	expect_hint(s, 0, "classes are: web, mail, dns, file-transfer, database, message-broker");
	spec_free(s);
}

static void missing_semicolon(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 1 Mbps\n"
			       "generate dns traffic from h1 to h2 with 1 Mbps ;");

	(void)state;
	expect_errors(s, 1);
	/* just after "Mbps" on line 1 */
	expect_error_at(s, 0, 1, 47, "expected ';' after the generate statement");
	/* both statements are kept: the first is complete */
	assert_int_equal(s->ngens, 2);
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 47, "expected ';'");
	spec_free(s);
}

/* The acceptance case: three errors, one pass, each where it is. */
static void three_errors(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 100 Mbsp ;\n"
			       "generate wbe traffic from h1 to h3 with 5 Mbps ;\n"
			       "generate dns traffic from h1 to h2 with 1 Mbps\n"
			       "generate mail traffic from h2 to h1 with 1 Mbps ;\n");

	(void)state;
	expect_errors(s, 3);
	expect_error_at(s, 0, 1, 45, "unknown rate unit");
	expect_error_at(s, 1, 2, 10, "unknown traffic class");
	expect_error_at(s, 2, 3, 47, "expected ';'");
	spec_free(s);
}

static void carets(void **state)
{
	struct spec *s = parse("# x\ngenerate web traffic from h1 to h2 with 100 Mbsp ;\n");
	char *r;

	(void)state;
	r = spec_diag_render(s, &s->diags[0]);
	assert_string_equal(r,
		"t.dyn:2:45: error: unknown rate unit 'Mbsp'\n"
		"    2 | generate web traffic from h1 to h2 with 100 Mbsp ;\n"
		"      |                                             ^~~~\n"
		"      = hint: did you mean 'Mbps'?\n");
	free(r);
	spec_free(s);

	/* a multi-byte character before the token is one column */
	s = parse("generate web traffic from h1 to h2 with 1 Mbps using \xe2\x89\xa5 5 flowz ;");
	expect_error_at(s, 0, 1, 58, "expected 'flows'");
	r = spec_diag_render(s, &s->diags[0]);
	assert_non_null(strstr(r, "\n      |                                                          ^~~~~\n"));
	free(r);
	spec_free(s);

	/* tabs stay tabs under the caret */
	s = parse("\tgenerate web traffic from h1 to h2 with 1 Mbsp ;");
	r = spec_diag_render(s, &s->diags[0]);
	assert_non_null(strstr(r, "      | \t                                          ^~~~\n"));
	free(r);
	spec_free(s);
}

static void long_lines_are_windowed(void **state)
{
	char *text = malloc(20100);
	struct spec *s;
	char *r;

	(void)state;
	memset(text, ' ', 20000);
	strcpy(text + 20000, "generate web traffic from a to b with 1 Mbsp ;");
	s = parse(text);
	expect_errors(s, 1);
	r = spec_diag_render(s, &s->diags[0]);
	assert_true(strlen(r) < 400);
	assert_non_null(strstr(r, "...")); /* cut on the left */
	assert_non_null(strstr(r, "^~~~"));
	free(r);
	spec_free(s);
	free(text);
}

static void protocols(void **state)
{
	struct spec *s = parse("generate web traffic over https from h1 to h2 with 1 Mbps ;"
			       "generate mail traffic over smtp, imap from h1 to h2 with 1 Mbps ;"
			       "generate database traffic over pgsql from h1 to h2 with 1 Mbps ;");

	(void)state;
	expect_errors(s, 0);
	assert_int_equal(s->gens[0].protos, 1u << PROTO_HTTPS);
	assert_int_equal(s->gens[1].protos, (1u << PROTO_SMTP) | (1u << PROTO_IMAP));
	assert_int_equal(s->gens[2].protos, 1u << PROTO_POSTGRESQL);
	spec_free(s);

	s = parse("generate web traffic over smtp from h1 to h2 with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 27, "protocol 'smtp' does not belong to class web");
	expect_hint(s, 0, "protocols of web are: http, https");
	spec_free(s);

	s = parse("generate web traffic over htps from h1 to h2 with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 27, "unknown protocol 'htps'");
	expect_hint(s, 0, "did you mean 'https'?");
	spec_free(s);
}

static void clauses(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 10 Mbps using = 3 flows"
			       " for 10 min after 30 s at 5 sessions per min label \"office web\""
			       " using source nginx ;");
	const struct spec_gen *g;

	(void)state;
	expect_errors(s, 0);
	g = &s->gens[0];
	assert_int_equal(g->flow_op, FLOWS_EQ);
	assert_int_equal(g->flows, 3);
	assert_int_equal(g->duration_us, 600000000);
	assert_int_equal(g->offset_us, 30000000);
	assert_true(g->session_rate > 0.0833 && g->session_rate < 0.0834);
	assert_string_equal(g->label, "office web");
	assert_string_equal(g->source, "nginx");
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps using <= 4 flows ;"
		  "generate web traffic from h1 to h2 with 1 Mbps using 7 flows ;");
	expect_errors(s, 0);
	assert_int_equal(s->gens[0].flow_op, FLOWS_LE);
	assert_int_equal(s->gens[1].flow_op, FLOWS_EQ);
	assert_int_equal(s->gens[1].flows, 7);
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps with 2 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 48, "'with' is given twice");
	spec_free(s);

	/* using model: a "file" from the spec's folder, or a name */
	s = parse("generate web traffic from h1 to h2 with 1 Mbps using model \"m/web-http.model\" ;"
		  "generate web traffic from h1 to h2 with 1 Mbps using model web using >= 2 flows ;");
	expect_errors(s, 0);
	assert_string_equal(s->gens[0].model, "m/web-http.model");
	assert_true(s->gens[0].model_file);
	assert_string_equal(s->gens[1].model, "web");
	assert_false(s->gens[1].model_file);
	assert_int_equal(s->gens[1].flows, 2);
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps using model a using model b ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 62, "'using model' is given twice");
	spec_free(s);

	s = parse("generate mix from h1 to h2 with 1 Mbps using model web : web 100% ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 52, "a model is for the users of one class; a mix has several");
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps using model ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 60, "expected a behaviour model");
	spec_free(s);

	s = parse("generate web traffic from h1 with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 1, "generate statement has no 'to'");
	spec_free(s);

	s = parse("generate web traffic form h1 to h2 with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 22, "unexpected 'form'");
	expect_hint(s, 0, "did you mean 'from'?");
	spec_free(s);

	s = parse("generate web traffic from h1 to h2 with 1 Mbps label \"a,b\" ;");
	expect_errors(s, 1);
	spec_free(s);
}

static void bad_numbers(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 0 Mbps ;\n"
			       "generate web traffic from h1 to h2 with -5 Mbps ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps using >= 0 flows ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps using >= -3 flows ;\n"
			       "generate web traffic from h1 to h2 with 2 Tbps ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps using 2.5 flows ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps for 0 s ;\n"
			       "generate web traffic from h1 to h2 with 99999999999999999999999 Gbps ;\n");

	(void)state;
	expect_errors(s, 8);
	expect_error_at(s, 0, 1, 41, "rate must be positive");
	expect_error_at(s, 1, 2, 41, "rate must be positive");
	expect_error_at(s, 2, 3, 57, "the number of flows must be between 1 and 1000000");
	expect_error_at(s, 3, 4, 57, "the number of flows must be between 1");
	expect_error_at(s, 4, 5, 41, "above the limit of 1 Tbps");
	expect_error_at(s, 5, 6, 54, "must be a whole number");
	expect_error_at(s, 6, 7, 52, "duration must be longer than zero");
	expect_error_at(s, 7, 8, 41, "above the limit");
	assert_int_equal(s->ngens, 0);
	spec_free(s);
}

static void mix(void **state)
{
	struct spec *s = parse("generate mix from lan to external with 200 Mbps: web 60%,\n"
			       " mail 10%, dns 5%, database 25% ;\nhost a, b ;");

	(void)state;
	expect_errors(s, 0);
	assert_true(s->gens[0].mix);
	assert_int_equal(s->gens[0].nitems, 4);
	assert_int_equal(s->gens[0].items[0].cls, CLASS_WEB);
	assert_int_equal(s->gens[0].items[0].share_ppm, 600000);
	assert_int_equal(s->gens[0].items[2].share_ppm, 50000);
	spec_free(s);

	s = parse("host a, b ; generate mix from a to b with 1 Mbps: web 60%, mail 30% ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 51, "shares add up to 90%, not 100%");
	spec_free(s);

	s = parse("host a, b ; generate mix from a to b with 1 Mbps: web over https 50%, web 50% ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 71, "class web is listed twice");
	spec_free(s);

	s = parse("host a, b ; generate mix from a to b with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 13, "a mix needs its classes");
	spec_free(s);
}

static void endpoints(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h1 with 1 Mbps ;");

	(void)state;
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 33, "'from' and 'to' are the same host, h1");
	spec_free(s);

	s = parse("generate web traffic from external to external with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 39, "both external");
	spec_free(s);

	s = parse("host web1 ; host pc1 ; generate web traffic from pc1 to webl with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 57, "unknown host 'webl'");
	expect_hint(s, 0, "did you mean 'web1'?");
	spec_free(s);

	s = parse("host a ; router r joins lan, external ; generate web traffic from a to r with 1 Mbps ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 72, "'r' is a router");
	spec_free(s);

	s = parse("generate web traffic from h1, h2, h3 to h4..h6 with 1 Mbps ;");
	expect_errors(s, 0);
	assert_int_equal(s->gens[0].nfrom, 3);
	assert_int_equal(s->gens[0].nto, 3);
	assert_string_equal(s->gens[0].to[2].name, "h6");
	assert_int_equal(s->nimplicit, 6);
	spec_free(s);
}

static void ranges(void **state)
{
	struct spec *s = parse("host pc1..pc20 in lan ; host s01..s03 ; subnet lan 10.9.0.0/24 ;");

	(void)state;
	expect_errors(s, 0);
	assert_int_equal(s->nhosts, 23);
	assert_string_equal(s->hosts[19].name, "pc20");
	assert_string_equal(s->hosts[20].name, "s01");
	assert_string_equal(s->hosts[22].name, "s03");
	spec_free(s);

	s = parse("host h5..h1 ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 6, "range runs backwards");
	spec_free(s);

	s = parse("host a1..b3 ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 6, "same prefix");
	spec_free(s);

	s = parse("host h1..h999999 ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 6, "range names 999999 hosts");
	spec_free(s);
}

static void declarations(void **state)
{
	struct spec *s = parse("subnet lan 10.1.0.0/24 rate 1 Gbps ;\n"
			       "subnet dmz ;\n"
			       "host web1 in dmz serves web, postgresql port 5433 ;\n"
			       "host pc1 address 10.1.0.77 rate 10 Mbps delay 5 ms ;\n"
			       "router gw joins lan, dmz, external nat ;\n"
			       "link gw -- external delay 20 ms jitter 2 ms loss 0.5% mtu 1400 ;\n"
			       "link pc1 -> lan rate 5 Mbps ;\n");

	(void)state;
	expect_errors(s, 0);
	assert_int_equal(s->nsubnets, 2);
	assert_int_equal(s->subnets[0].addr, 0x0a010000);
	assert_int_equal(s->subnets[0].plen, 24);
	assert_int_equal(s->subnets[0].link.rate[LINK_UP], 1000000000);
	assert_int_equal(s->subnets[1].plen, 0);
	assert_int_equal(s->hosts[0].nservices, 2);
	assert_int_equal(s->hosts[0].services[1].proto, PROTO_POSTGRESQL);
	assert_int_equal(s->hosts[0].services[1].port, 5433);
	assert_int_equal(s->hosts[1].subnet_idx, 0); /* placed by address */
	assert_int_equal(s->hosts[1].link.delay_us[LINK_DOWN], 5000);
	assert_true(s->routers[0].nat);
	assert_int_equal(s->links[0].props.loss_ppm[0], 5000);
	assert_int_equal(s->links[0].props.mtu, 1400);
	assert_true(s->links[1].directed);
	assert_int_equal(s->links[1].props.rate[0], 5000000);
	assert_int_equal(s->links[1].props.set[1], 0);
	spec_free(s);
}

static void duplicate_names(void **state)
{
	struct spec *s = parse("subnet a 10.1.0.0/24 ; host a ; host b, b ;");

	(void)state;
	expect_errors(s, 2);
	expect_error_at(s, 0, 1, 29, "'a' is declared twice");
	expect_hint(s, 0, "first declared as a subnet at line 1");
	expect_error_at(s, 1, 1, 41, "'b' is declared twice");
	spec_free(s);

	s = parse("host from ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 6, "'from' is a keyword");
	spec_free(s);
}

static void addresses(void **state)
{
	struct spec *s = parse("subnet a 10.1.0.0/24 ;\n"
			       "subnet b 10.1.0.128/25 ;\n"
			       "subnet c 10.2.0.5/24 ;\n"
			       "subnet d 198.18.4.0/24 ;\n"
			       "host h1 in a address 10.9.0.1 ;\n"
			       "host h2 in a address 10.1.0.0 ;\n"
			       "host h3 in a address 10.1.0.255 ;\n"
			       "host h4 in a address 10.1.0.7 ;\n"
			       "host h5 in a address 10.1.0.7 ;\n"
			       "host h6 address 172.16.0.1 ;\n"
			       "host h7 in a address 10.1.0.300 ;\n");

	(void)state;
	expect_errors(s, 9);
	expect_error_at(s, 0, 2, 10, "subnet b (10.1.0.128/25) overlaps subnet a");
	expect_error_at(s, 1, 3, 10, "'10.2.0.5/24' has host bits set");
	expect_hint(s, 1, "did you mean 10.2.0.0/24?");
	expect_error_at(s, 2, 4, 10, "overlaps the external region");
	expect_error_at(s, 3, 5, 22, "address 10.9.0.1 is outside a (10.1.0.0/24)");
	expect_error_at(s, 4, 6, 22, "10.1.0.0 is the network address");
	expect_error_at(s, 5, 7, 22, "10.1.0.255 is the broadcast address");
	expect_error_at(s, 6, 9, 22, "address 10.1.0.7 is taken");
	expect_hint(s, 6, "host h4 has it");
	expect_error_at(s, 7, 10, 17, "no declared subnet holds 172.16.0.1");
	expect_error_at(s, 8, 11, 22, "bad address '10.1.0.300'");
	spec_free(s);
}

static void routers_and_links(void **state)
{
	struct spec *s = parse("subnet a 10.1.0.0/24 ; subnet b 10.2.0.0/24 ;\n"
			       "host h1 in a ; host h2 in b ;\n"
			       "router r1 joins a ;\n"
			       "router r2 joins a, b nat ;\n"
			       "router r3 joins a, h1 ;\n"
			       "link h1 -- b delay 5 ms ;\n"
			       "link h1 -- h2 delay 5 ms ;\n"
			       "link h2 -- b rate 1 Mbps ; link b -- h2 rate 2 Mbps ;\n"
			       "link h2 -> b mtu 1400 ;\n");

	(void)state;
	expect_errors(s, 7);
	expect_error_at(s, 0, 3, 8, "router r1 joins one network");
	expect_error_at(s, 1, 4, 22, "NAT needs a router that joins external");
	expect_error_at(s, 2, 5, 20, "'h1' is a host, not a subnet");
	expect_error_at(s, 3, 6, 12, "h1 is not on b");
	expect_hint(s, 3, "h1 is on a");
	expect_error_at(s, 4, 7, 1, "a link joins a host or router to a subnet");
	expect_error_at(s, 5, 8, 41, "rate of link h2 -- b is set twice");
	expect_error_at(s, 6, 9, 14, "an MTU belongs to both directions");
	spec_free(s);
}

static void services(void **state)
{
	struct spec *s = parse("host c ; host d serves dns ;\n"
			       "generate web traffic from c to d with 1 Mbps ;\n"
			       "generate dns traffic from c to d with 1 Mbps ;\n"
			       "host e serves wbe ;\n");

	(void)state;
	expect_errors(s, 2);
	expect_error_at(s, 0, 2, 32, "d does not serve web traffic");
	expect_hint(s, 0, "d serves: dns; add web to them");
	expect_error_at(s, 1, 4, 15, "unknown service 'wbe'");
	spec_free(s);
}

static void lexical(void **state)
{
	struct spec *s = parse("generate web traffic from h1 to h2 with 1 Mbps label \"open ;\n"
			       "generate web traffic from h1 to h2 \xc3\xa9 with 1 Mbps ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps \xff ;\n"
			       "# \xc3\xa9t\xc3\xa9 in a comment is fine\n"
			       "generate web traffic from h1 to h2 with 1.2.3 Mbps ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps using > 3 flows ;\n");

	(void)state;
	expect_errors(s, 5);
	expect_error_at(s, 0, 1, 54, "unterminated string");
	expect_error_at(s, 1, 2, 36, "unexpected character '\xc3\xa9' (U+00E9)");
	expect_error_at(s, 2, 3, 48, "invalid UTF-8 byte 0xff");
	expect_error_at(s, 3, 5, 41, "malformed number or address");
	expect_error_at(s, 4, 6, 54, "unexpected character '>'");
	spec_free(s);
}

static void statement_recovery(void **state)
{
	struct spec *s = parse("genrate web traffic from h1 to h2 with 1 Mbps ;\n"
			       "generate web traffic from h1 to h2 with 1 Mbps ;\n"
			       "hello world ;\n");

	(void)state;
	expect_errors(s, 2);
	expect_error_at(s, 0, 1, 1, "expected a statement, found 'genrate'");
	expect_hint(s, 0, "did you mean 'generate'?");
	expect_error_at(s, 1, 3, 1, "expected a statement, found 'hello'");
	assert_int_equal(s->ngens, 1);
	spec_free(s);
}

static void error_limit(void **state)
{
	char *text = calloc(200, 64);
	struct spec *s;

	(void)state;
	for (int i = 0; i < 200; i++)
		strcat(text, "generate web traffic from a to b with 1 Mbsp ;\n");
	s = parse(text);
	assert_int_equal(s->errors, SPEC_MAX_ERRORS);
	assert_true(s->truncated);
	spec_free(s);
	free(text);
}

static void default_lan(void **state)
{
	struct spec *s = parse("subnet lan 192.168.1.0/24 ; host pc address 192.168.1.9 ;"
			       "host srv ; generate web traffic from x to srv with 1 Mbps ;");

	(void)state;
	/* x is not declared, and the spec declares hosts */
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 95, "unknown host 'x'");
	assert_int_equal(s->hosts[1].subnet_idx, 0); /* srv: the declared lan */
	spec_free(s);

	s = parse("host pc in lan address 10.0.0.9 ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 24, "the default LAN has no declared address range");
	spec_free(s);

	s = parse("");
	expect_errors(s, 0);
	assert_int_equal(s->warnings, 1);
	spec_free(s);
}

static void mirrors(void **state)
{
	struct spec *s = parse("host a, b, ids ; router gw joins lan, external ;\n"
			       "mirror lan to ids ; mirror a -- lan to b ; mirror gw -- external to ids ;");

	(void)state;
	expect_errors(s, 0);
	assert_int_equal(s->nmirrors, 3);
	assert_null(s->mirrors[0].net.name);
	assert_string_equal(s->mirrors[1].net.name, "lan");
	spec_free(s);

	s = parse("host a, b ; subnet dmz 10.5.0.0/24 ;\n"
		  "mirror dmz to a ;\n"
		  "mirror a -- dmz to b ;\n"
		  "mirror lan to nobody ;\n"
		  "mirror dmz to a ;\n");
	expect_errors(s, 3);
	expect_error_at(s, 0, 3, 13, "a is not on dmz");
	expect_error_at(s, 1, 4, 15, "unknown host 'nobody'");
	expect_error_at(s, 2, 5, 1, "the same mirror is given twice");
	spec_free(s);

	s = parse("mirror lan a ;");
	expect_errors(s, 1);
	expect_error_at(s, 0, 1, 12, "expected 'to'");
	spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_statements),
		cmocka_unit_test(seed_layouts),
		cmocka_unit_test(rate_units),
		cmocka_unit_test(packet_rates),
		cmocka_unit_test(time_units),
		cmocka_unit_test(unit_typo),
		cmocka_unit_test(unknown_class),
		cmocka_unit_test(missing_semicolon),
		cmocka_unit_test(three_errors),
		cmocka_unit_test(carets),
		cmocka_unit_test(long_lines_are_windowed),
		cmocka_unit_test(protocols),
		cmocka_unit_test(clauses),
		cmocka_unit_test(bad_numbers),
		cmocka_unit_test(mix),
		cmocka_unit_test(endpoints),
		cmocka_unit_test(ranges),
		cmocka_unit_test(declarations),
		cmocka_unit_test(duplicate_names),
		cmocka_unit_test(addresses),
		cmocka_unit_test(routers_and_links),
		cmocka_unit_test(services),
		cmocka_unit_test(lexical),
		cmocka_unit_test(statement_recovery),
		cmocka_unit_test(error_limit),
		cmocka_unit_test(default_lan),
		cmocka_unit_test(mirrors),
	};

	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
