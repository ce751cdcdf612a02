/* test-catalog.c - the source catalog: entries that parse, every error
 * with its FILE:LINE message, format -> parse round trips, profile
 * replacement, and the shipped data/catalog against the agents and
 * programs dynamo has.  Run from the top of the tree (tests/run.sh). */
#include "unit.h"
#include "../../src/agents/agent.h"
#include "../../src/agents/program.h"
#include "../../src/catalog/catalog.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* The brief's example, profile included. */
static const char full[] =
	"# Built-in HTTP/1.1 agent: the generated site and browsing users.\n"
	"name         http\n"
	"description  \"Built-in HTTP/1.1 server; users \\\"browse\\\" as web.model \\\\ says\"\n"
	"class        web\n"
	"protocols    http                 # one or more\n"
	"kind         agent                # agent | program | project\n"
	"start        agent http\n"
	"knob         users default 8 min 1 max 4096      # concurrent users\n"
	"knob         think-scale default 1 min 0.01 max 100\n"
	"# --- written by `dynamo catalog measure` ---\n"
	"measured     \"dynamo catalog measure http --duration 20s\"  2026-11-24   # command, date\n"
	"profile      users 8 think-scale 1 duration 20\n"
	"rate         12345678\n"
	"rate-max     987654321\n"
	"packets      2345.6\n"
	"flows        9.5\n"
	"flows-max    14\n"
	"sessions     3.25\n"
	"packet-size  64:0.120 128:0.050 256:0.030 512:0.020 1024:0.030 1500:0.750\n"
	"flow-size    1024:0.1 16384:0.3 1048576:0.5 inf:0.1\n";

/* The least an entry has. */
#define MINIMAL "name x\nclass web\nprotocols http\nkind agent\nstart agent http\n"

static int parse_str(struct catalog_entry *e, const char *file, const char *text, char *err,
		     size_t errlen)
{
	return catalog_parse(e, file, text, strlen(text), err, errlen);
}

/* text must parse; fails the test with the message otherwise */
static void must_parse(struct catalog_entry *e, const char *file, const char *text)
{
	char err[512];

	if (parse_str(e, file, text, err, sizeof(err)))
		fail_msg("want it to parse, have: %s", err);
}

static void parses_the_example(void **state)
{
	struct catalog_entry e;
	const struct catalog_knob *k;

	(void)state;
	must_parse(&e, "cat/http.source", full);
	assert_string_equal(e.name, "http");
	assert_string_equal(e.description, "Built-in HTTP/1.1 server; users \"browse\" as web.model \\ says");
	assert_string_equal(e.file, "cat/http.source");
	assert_int_equal(e.cls, CLASS_WEB);
	assert_int_equal(e.protos, 1u << PROTO_HTTP);
	assert_int_equal(e.kind, CATALOG_AGENT);
	assert_string_equal(e.start, "http");
	assert_int_equal(e.nknobs, 2);
	k = catalog_knob(&e, "users");
	assert_non_null(k);
	assert_true(k->def == 8 && k->min == 1 && k->max == 4096);
	k = catalog_knob(&e, "think-scale");
	assert_non_null(k);
	assert_true(k->def == 1 && k->min == 0.01 && k->max == 100);
	assert_null(catalog_knob(&e, "instances"));
	assert_true(e.measured);
	assert_string_equal(e.measured_by, "dynamo catalog measure http --duration 20s");
	assert_string_equal(e.measured_on, "2026-11-24");
	assert_true(e.prof_users == 8 && e.prof_think_scale == 1 && e.prof_duration == 20);
	assert_int_equal(e.rate, 12345678);
	assert_int_equal(e.rate_max, 987654321);
	assert_true(e.packets == 2345.6 && e.flows == 9.5 && e.flows_max == 14 && e.sessions == 3.25);
	assert_int_equal(e.packet_size.n, 6);
	assert_int_equal(e.packet_size.upper[0], 64);
	assert_int_equal(e.packet_size.upper[5], 1500);
	assert_true(e.packet_size.frac[0] == 0.12 && e.packet_size.frac[5] == 0.75);
	assert_int_equal(e.flow_size.n, 4);
	assert_int_equal(e.flow_size.upper[2], 1048576);
	assert_true(e.flow_size.upper[3] == UINT64_MAX);
	assert_true(e.flow_size.frac[3] == 0.1);
	catalog_entry_free(&e);
	catalog_entry_free(&e); /* emptied: harmless twice */
	catalog_entry_free(NULL);
}

static void parses_the_least(void **state)
{
	struct catalog_entry e;

	(void)state;
	/* no trailing newline, CRLF lines, tabs, a quoted value, aliases */
	must_parse(&e, NULL, "name\tx\r\nclass \"database\"\r\n\tprotocols pgsql,resp\r\n"
		   "kind agent\r\nstart agent postgres");
	assert_null(e.description);
	assert_null(e.file);
	assert_int_equal(e.protos, (1u << PROTO_POSTGRESQL) | (1u << PROTO_REDIS));
	assert_string_equal(e.start, "postgresql"); /* the protocol's own name */
	assert_int_equal(e.nknobs, 0);
	assert_false(e.measured);
	catalog_entry_free(&e);

	must_parse(&e, "y.txt", "kind project\nstart project \"/srv/a b/#c\\\"d\\\\\"\n"
		   "class generic\nprotocols tcp\nname zz\n");
	assert_string_equal(e.start, "/srv/a b/#c\"d\\");
	catalog_entry_free(&e);
	must_parse(&e, "p.source", "name p\nclass web\nprotocols https,http\nkind program\n"
		   "start program nginx\n");
	assert_int_equal(e.kind, CATALOG_PROGRAM);
	assert_string_equal(e.start, "nginx");
	catalog_entry_free(&e);
}

struct bad {
	const char *text;
	unsigned line;
	const char *msg;
};

#define PROFILE "measured \"m\" 2026-01-01\nprofile users 8 think-scale 1 duration 20\n" \
	"rate 1\nrate-max 2\npackets 1\nflows 1\nflows-max 1\nsessions 1\n" \
	"packet-size 1500:1\nflow-size inf:1\n"

#define PROJECT "name x\nclass web\nprotocols http\nkind project\nstart project /p\n"

static const struct bad bads[] = {
	/* words and text */
	{ "name x\nclas web\n", 2, "unknown key 'clas' (did you mean 'class'?)" },
	{ "name x\nfrobnicate 1\n", 2, "unknown key 'frobnicate' (keys: name," },
	{ "name x\nname x\n", 2, "a second 'name' line (the first is line 1; each key once)" },
	{ "name x\ndescription \"abc\n", 2, "unterminated string" },
	{ "name x\ndescription \"a\\nb\"\n", 2, "unknown escape in a string" },
	{ "name x\ndescription \"ab\\", 2, "unknown escape in a string" },
	{ "name x\ndescription \"ab\"c\n", 2, "'c' right after a string" },
	{ "name x\ndescription ab\"c\"\n", 2, "'\"' inside a word" },
	{ "name x\ndescription abc\n", 2, "'description' takes a double-quoted string, not 'abc'" },
	{ "name x\ndescription \"\"\n", 2, "'description' is an empty string" },
	{ "name x\ndescription \""
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "x\"\n", 2, "the text of 'description' is 1025 bytes long (at most 1024)" },
	{ "name x\ndescription \"a\" \"b\"\n", 2, "'description' takes 1 value, not 2" },
	{ "name x\n\x01\n", 2, "control character 0x01" },
	{ "name x\n\"class\" web\n", 2, "a line starts with a key, a plain word, not a string" },
	{ "name x\nclass web\x7f\n", 2, "control character 0x7f" },
	{ "name x\n# \xff\xfe\n", 2, "bytes that are not UTF-8" },
	{ "name x\n# \xc0\xaf overlong\n", 2, "bytes that are not UTF-8" },
	{ "name x\n# \xed\xa0\x80 surrogate\n", 2, "bytes that are not UTF-8" },
	{ "name x\n# \xe2\x82\n", 2, "bytes that are not UTF-8" },
	/* names */
	{ "name X\n", 1, "bad name 'X' (lowercase letters" },
	{ "name -x\n", 1, "bad name '-x'" },
	{ "name a/b\n", 1, "bad name 'a/b'" },
	{ "name\n", 1, "'name' takes 1 value, not 0 (name NAME)" },
	{ "name "
	  "a1234567890123456789012345678901234567890123456789012345678901234\n", 1,
	  "bad name 'a123456789012345678901234567890123456789...'" },
	/* required, class, protocols */
	{ "name x\nclass web\nprotocols http\nkind agent\n\n# the end\n", 6,
	  "no 'start' line (every entry has name, class, protocols, kind and start)" },
	{ "", 1, "no 'name' line" },
	{ "name x\nclass wbe\n", 2, "unknown class 'wbe' (did you mean 'web'?)" },
	{ "name x\nclass zzzzzzzz\n", 2, "unknown class 'zzzzzzzz' (classes: web, mail, dns," },
	{ "name x\nclass web\nprotocols htp\n", 3, "unknown protocol 'htp' (did you mean 'http'?)" },
	{ "name x\nclass web\nprotocols http,,https\n", 3, "an empty protocol in the list" },
	{ "name x\nclass web\nprotocols http,\n", 3, "an empty protocol in the list" },
	{ "name x\nclass web\nprotocols http, https\n", 3,
	  "protocols are one comma-separated list without blanks, such as http,https" },
	{ "name x\nclass web\nprotocols http,http\n", 3, "protocol 'http' is listed twice" },
	{ "name x\nclass web\nprotocols http,smtp\nkind agent\nstart agent http\n", 3,
	  "protocol 'smtp' is not of class web (web: http,https)" },
	/* kind and start */
	{ "name x\nkind robot\n", 2, "unknown kind 'robot' (agent, program or project)" },
	{ "name x\nstart robot x\n", 2, "a source starts as an agent, a program or a project, not 'robot'" },
	{ "name x\nstart agent\n", 2, "'start' takes 2 values, not 1" },
	{ "name x\nstart agent go/pher\n", 2, "bad agent name 'go/pher'" },
	{ "name x\nstart program Nginx\n", 2, "bad program name 'Nginx'" },
	{ "name x\nstart project \"\"\n", 2, "an empty project path" },
	{ "name x\nclass web\nprotocols http\nkind program\nstart agent http\n", 5,
	  "kind program starts with 'start program ...', not 'start agent'" },
	{ "name x\nclass web\nprotocols http\nkind agent\nstart agent https\n", 5,
	  "the agent 'https' is not one of the entry's protocols" },
	/* knobs */
	{ "name x\nknob instances default 1 min 1 max 2\n", 2, "'instances' is not a knob: the planner" },
	{ "name x\nknob user default 1 min 1 max 2\n", 2, "unknown knob 'user' (did you mean 'users'?)" },
	{ "name x\nknob zzzzzzzzzz default 1 min 1 max 2\n", 2, "unknown knob 'zzzzzzzzzz' (knobs: users, think-scale)" },
	{ "name x\nknob\n", 2, "'knob' needs a name" },
	{ "name x\nknob users default 1 min 1\n", 2, "'knob' takes 7 values, not 5" },
	{ "name x\nknob users default 1 min 1 mix 2\n", 2, "'mix' is not a field of a knob" },
	{ "name x\nknob users default 1 min 1 min 2\n", 2, "'min' twice in the knob" },
	{ "name x\nknob users default 1 min 1 max 4\nknob users default 1 min 1 max 2\n", 3,
	  "a second knob 'users' (the first is on line 2; each knob once)" },
	{ "name x\nknob users default 9 min 1 max 4\n", 2,
	  "knob users: min 1, default 9, max 4 are out of order (min <= default <= max)" },
	{ "name x\nknob users default 1.5 min 1 max 4\n", 2,
	  "users default 1.5 is out of range (a whole number from 1 to 1000000)" },
	{ "name x\nknob users default 1 min 0 max 4\n", 2, "users min 0 is out of range" },
	{ "name x\nknob think-scale default 1 min 0 max 4\n", 2, "think-scale min 0 is out of range" },
	{ "name x\nknob users default nan min 1 max 4\n", 2, "default 'nan' is not a number" },
	{ "name x\nknob users default inf min 1 max 4\n", 2, "default 'inf' is not a number" },
	{ "name x\nknob users default 0x10 min 1 max 4\n", 2, "default '0x10' is not a number" },
	{ "name x\nknob users default 8k min 1 max 4\n", 2, "default '8k' is not a number" },
	{ "name x\nknob users default 1e min 1 max 4\n", 2, "default '1e' is not a number" },
	{ "name x\nknob users default . min 1 max 4\n", 2, "default '.' is not a number" },
	{ "name x\nknob users default 1 min 1 max 1e400\n", 2, "max '1e400' is out of range" },
	{ "name x\nknob think-scale default 1 min 1e-400 max 4\n", 2, "min '1e-400' is out of range" },
	/* the profile, all or nothing */
	{ MINIMAL "rate 5\n", 6, "'rate' without 'measured' (the profile is written whole" },
	{ MINIMAL "measured \"m\" 2026-01-01\n", 6, "measured, but no 'profile' line" },
	{ MINIMAL "measured m 2026-01-01\n", 6, "'measured' takes a double-quoted string, not 'm'" },
	{ MINIMAL "measured \"m\" 2026-02-29\n", 6, "'2026-02-29' is not a date (YYYY-MM-DD" },
	{ MINIMAL "measured \"m\" 2026-13-01\n", 6, "'2026-13-01' is not a date" },
	{ MINIMAL "measured \"m\" 26-1-1\n", 6, "'26-1-1' is not a date" },
	{ MINIMAL "profile users 8 think-scale 1\n", 6, "'profile' takes 6 values, not 4" },
	{ MINIMAL "profile users 8 think-scale 1 length 3\n", 6, "'length' is not a field of the profile" },
	{ MINIMAL "profile users 8 users 1 duration 3\n", 6, "'users' twice in the profile" },
	{ MINIMAL "profile users 8 think-scale 1 duration 0\n", 6, "duration 0 is out of range" },
	{ MINIMAL "profile users 0 think-scale 1 duration 5\n", 6, "the profile's users 0 is out of range (a whole number from 1 to 1000000)" },
	{ MINIMAL "knob users default 8 min 1 max 16\n" PROFILE "profile users 32 think-scale 1 duration 20\n", 17,
	  "a second 'profile' line" },
	{ MINIMAL "knob users default 8 min 1 max 16\n"
	  "measured \"m\" 2026-01-01\nprofile users 32 think-scale 1 duration 20\n"
	  "rate 1\nrate-max 2\npackets 1\nflows 1\nflows-max 1\nsessions 1\n"
	  "packet-size 1500:1\nflow-size inf:1\n", 8,
	  "the profile's users 32 is outside the knob's range (1 to 16)" },
	{ MINIMAL "rate 1.5\n", 6, "rate '1.5' is not a whole number" },
	{ MINIMAL "rate -1\n", 6, "rate '-1' is not a whole number" },
	{ MINIMAL "rate 18446744073709551616\n", 6, "rate '18446744073709551616' is too large" },
	{ MINIMAL "rate-max \"\"\n", 6, "rate-max is empty" },
	{ MINIMAL "packets -0.5\n", 6, "packets '-0.5' is negative" },
	{ MINIMAL "flows NaN\n", 6, "flows 'NaN' is not a number" },
	{ MINIMAL "sessions 1 2\n", 6, "'sessions' takes 1 value, not 2" },
	/* histograms */
	{ MINIMAL "packet-size\n", 6, "'packet-size' has no buckets" },
	{ MINIMAL "packet-size 1:0.03 2:0.03 3:0.03 4:0.03 5:0.03 6:0.03 7:0.03 8:0.03 9:0.03 10:0.03 "
	  "11:0.03 12:0.03 13:0.03 14:0.03 15:0.03 16:0.03 17:0.03 18:0.03 19:0.03 20:0.03 "
	  "21:0.03 22:0.03 23:0.03 24:0.03 25:0.03 26:0.03 27:0.03 28:0.03 29:0.03 30:0.03 "
	  "31:0.03 32:0.03 33:0.04\n", 6, "'packet-size' has 33 buckets (at most 32)" },
	{ MINIMAL "packet-size 64\n", 6, "bucket '64' has no ':'" },
	{ MINIMAL "flow-size inf:0.5 100:0.5\n", 6, "only the last bucket may be 'inf'" },
	{ MINIMAL "flow-size 100:0.5 100:0.5\n", 6, "bucket upper 100 is not above the one before it" },
	{ MINIMAL "flow-size 200:0.5 100:0.5\n", 6, "bucket upper 100 is not above the one before it" },
	{ MINIMAL "flow-size -1:1\n", 6, "bucket upper '-1' is not a whole number" },
	{ MINIMAL "flow-size Inf:1\n", 6, "bucket upper 'Inf' is not a whole number" },
	{ MINIMAL "flow-size 1:1.5\n", 6, "fraction 1.5 is not between 0 and 1" },
	{ MINIMAL "flow-size 1:-0.5 2:1.5\n", 6, "fraction -0.5 is not between 0 and 1" },
	{ MINIMAL "flow-size 1:0.5 2:0.489\n", 6, "the fractions of 'flow-size' sum to 0.989 (they sum to 1, within 0.01)" },
	{ MINIMAL "flow-size 1:0.5 2:0.52\n", 6, "sum to 1.02" },
	{ MINIMAL "flow-size 1:x\n", 6, "fraction 'x' is not a number" },
	{ MINIMAL "flow-size 1:\n", 6, "fraction '' is not a number" },
	/* a project's keys */
	{ MINIMAL "driver project\n", 6, "'driver' is for projects, not for kind agent" },
	{ MINIMAL "commit 0123456\n", 6, "'commit' is for projects, not for kind agent" },
	{ PROJECT "driver both\n", 6, "a project is driven by its own clients or by dynamo's users, "
	  "not 'both' (driver project|users)" },
	{ PROJECT "commit 0123ABC\n", 6, "bad commit '0123ABC' (7 to 64 lowercase hex digits" },
	{ PROJECT "commit 012345\n", 6, "bad commit '012345'" },
	{ PROJECT "repository \"\"\n", 6, "'repository' is an empty string (repository URL)" },
	{ PROJECT "subdir a b\n", 6, "'subdir' takes 1 value" },
	{ PROJECT "commit\n", 6, "'commit' takes 1 value" },
	{ PROJECT "driver\n", 6, "'driver' takes 1 value" },
	/* the file's name */
	{ "name y\nclass web\nprotocols http\nkind agent\nstart agent http\n", 1,
	  "the name 'y' is not the file's (x): a source NAME lives in NAME.source" },
};

static void errors_say_where(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		struct catalog_entry e;
		char err[1024], want[64];
		int r = parse_str(&e, "d/x.source", bads[i].text, err, sizeof(err));

		snprintf(want, sizeof(want), "d/x.source:%u: ", bads[i].line);
		if (r != -EINVAL || strncmp(err, want, strlen(want)) || !strstr(err, bads[i].msg))
			fail_msg("case %zu: want -EINVAL and '%s%s', have %d '%s'", i, want, bads[i].msg,
				 r, err);
		/* left empty */
		assert_null(e.name);
		assert_null(e.start);
		assert_false(e.measured);
		catalog_entry_free(&e);
	}
}

static void limits(void **state)
{
	struct catalog_entry e;
	char err[256], *big;
	size_t n;

	(void)state;
	/* a line of 4096 bytes is fine, 4097 is not */
	big = xmalloc(CATALOG_MAX_FILE + 2);
	n = (size_t)snprintf(big, CATALOG_MAX_FILE, MINIMAL "#");
	memset(big + n, 'a', 4096 - 1);
	big[n + 4095] = '\n';
	assert_int_equal(catalog_parse(&e, "x.source", big, n + 4096, err, sizeof(err)), 0);
	catalog_entry_free(&e);
	memset(big + n, 'a', 4096);
	big[n + 4096] = '\n';
	assert_int_equal(catalog_parse(&e, "x.source", big, n + 4097, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "x.source:6: the line is 4097 bytes long (at most 4096)");

	/* 64 KiB of comments is fine, a byte more is not */
	memset(big, '\n', CATALOG_MAX_FILE + 1);
	memcpy(big, MINIMAL, strlen(MINIMAL));
	assert_int_equal(catalog_parse(&e, "x.source", big, CATALOG_MAX_FILE, err, sizeof(err)), 0);
	catalog_entry_free(&e);
	assert_int_equal(catalog_parse(&e, "x.source", big, CATALOG_MAX_FILE + 1, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "x.source:1: the file is larger than 64 KiB (an entry is at most "
			    "65536 bytes)");
	/* a NUL is a control character, not the end */
	assert_int_equal(catalog_parse(&e, "x.source", MINIMAL "\0knob", strlen(MINIMAL) + 5, err,
				       sizeof(err)), -EINVAL);
	assert_string_equal(err, "x.source:6: control character 0x00 (text only: tabs and printable "
			    "UTF-8)");
	/* a short error buffer is cut, never overrun; none at all is fine */
	assert_int_equal(parse_str(&e, "x.source", "name X\n", err, 8), -EINVAL);
	assert_string_equal(err, "x.sourc");
	assert_int_equal(parse_str(&e, "x.source", "name X\n", NULL, 0), -EINVAL);
	free(big);
}

static void fractions_and_sums(void **state)
{
	static const struct {
		const char *line;
		size_t n;
		uint64_t last;
	} ok[] = {
		{ "flow-size inf:1\n", 1, UINT64_MAX },
		{ "flow-size 10:0.5 20:0.491\n", 2, 20 },          /* 0.991 */
		{ "flow-size 10:0 20:0.5 30:0.5099\n", 3, 30 },    /* 1.0099, a zero bucket */
		{ "flow-size 0:0.25 1:0.25 2:0.25 18446744073709551614:0.25\n", 4, UINT64_MAX - 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct catalog_entry e;
		struct buf b = { 0 };

		buf_printf(&b, MINIMAL "measured \"m\" 2026-01-01\n"
			   "profile users 8 think-scale 1 duration 20\nrate 1\nrate-max 2\n"
			   "packets 1\nflows 1\nflows-max 1\nsessions 1\npacket-size 1500:1\n%s",
			   ok[i].line);
		must_parse(&e, "x.source", b.p);
		assert_int_equal(e.flow_size.n, ok[i].n);
		assert_true(e.flow_size.upper[ok[i].n - 1] == ok[i].last);
		assert_int_equal(e.packet_size.n, 1);
		assert_true(e.packet_size.frac[0] == 1);
		catalog_entry_free(&e);
		buf_free(&b);
	}
}

static void round_trip(const char *file, const char *text)
{
	struct catalog_entry a, b;
	char *t1, *t2;

	must_parse(&a, file, text);
	t1 = catalog_format(&a);
	must_parse(&b, file, t1);
	if (!catalog_entry_equal(&a, &b))
		fail_msg("not equal after a round trip:\n%s", t1);
	t2 = catalog_format(&b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	catalog_entry_free(&a);
	catalog_entry_free(&b);
}

static void round_trips(void **state)
{
	(void)state;
	round_trip("http.source", full);
	round_trip("x.source", MINIMAL);
	round_trip(NULL, "name p\nclass generic\nprotocols udp,tcp\nkind project\n"
		   "start project \"/a b/\\\"c\\\\#d\"\nknob think-scale default 0.1 min 0.001 max 1000\n"
		   "description \"\xc3\xa9t\xc3\xa9 \\\\ \\\"q\\\"\t#not a comment\"\n");
	round_trip("x.source", PROJECT "driver project\nrepository \"https://h/a b.git\"\n"
		   "commit 0123456789abcdef0123456789abcdef01234567\nsubdir deploy/compose\n");
	round_trip("x.source", PROJECT "driver users\ncommit 0123abc\n");
	round_trip("x.source", MINIMAL "knob users default 3 min 1 max 3\n"
		   "measured \"a \\\"b\\\"\" 2024-02-29\nprofile duration 0.1 users 1 think-scale 1e-3\n"
		   "rate 18446744073709551615\nrate-max 0\npackets 0.1\nflows 1e-300\n"
		   "flows-max 1.7976931348623157e308\nsessions 0.30000000000000004\n"
		   "packet-size 18446744073709551615:1\n"
		   "flow-size 1:0.995\n");
	/* the longest texts, with every byte escaped when formatted, still fit
	 * a line */
	{
		struct buf b = { 0 };

		buf_puts(&b, "name p\nclass generic\nprotocols udp\nkind project\nstart project ");
		for (int i = 0; i < CATALOG_MAX_TEXT; i++)
			buf_putc(&b, '\\');
		buf_puts(&b, "\ndescription \"");
		for (int i = 0; i < CATALOG_MAX_TEXT; i++)
			buf_puts(&b, "\\\"");
		buf_puts(&b, "\"\n");
		round_trip("p.source", b.p);
		buf_free(&b);
	}
}

static void formats_plainly(void **state)
{
	struct catalog_entry e;
	char *t;

	(void)state;
	must_parse(&e, "http.source", full);
	t = catalog_format(&e);
	assert_string_equal(t,
		"name         http\n"
		"description  \"Built-in HTTP/1.1 server; users \\\"browse\\\" as web.model \\\\ says\"\n"
		"class        web\n"
		"protocols    http\n"
		"kind         agent\n"
		"start        agent http\n"
		"knob         users default 8 min 1 max 4096\n"
		"knob         think-scale default 1 min 0.01 max 100\n"
		"# written by 'dynamo catalog measure': the profile of one instance\n"
		"measured     \"dynamo catalog measure http --duration 20s\" 2026-11-24\n"
		"profile      users 8 think-scale 1 duration 20\n"
		"rate         12345678\n"
		"rate-max     987654321\n"
		"packets      2345.6\n"
		"flows        9.5\n"
		"flows-max    14\n"
		"sessions     3.25\n"
		"packet-size  64:0.12 128:0.05 256:0.03 512:0.02 1024:0.03 1500:0.75\n"
		"flow-size    1024:0.1 16384:0.3 1048576:0.5 inf:0.1\n");
	free(t);
	/* what the format cannot hold is replaced, not written raw */
	free(e.measured_by);
	e.measured_by = xstrdup("a\nb\x01\xff");
	t = catalog_format(&e);
	assert_non_null(strstr(t, "measured     \"a b ?\" 2026-11-24\n"));
	free(t);
	catalog_entry_free(&e);
}

static void replaces_the_profile(void **state)
{
	static const char head[] =
		"# my notes on this source\n"
		"name         http\n"
		"class        web   # web!\n"
		"protocols    http\n"
		"kind         agent\n"
		"start        agent http\n"
		"\n"
		"# more notes\n";
	struct catalog_entry e, m, back;
	struct buf b = { 0 };
	char *t, *prof;

	(void)state;
	must_parse(&m, "http.source", full);
	/* an unmeasured file gets the profile, and keeps its comments */
	buf_puts(&b, head);
	buf_puts(&b, "\n\n");
	t = catalog_replace_profile(b.p, b.len, &m);
	prof = catalog_format_profile(&m);
	assert_int_equal(strncmp(t, head, strlen(head)), 0);
	assert_int_equal(t[strlen(head)], '\n'); /* one blank line before it */
	assert_string_equal(t + strlen(head) + 1, prof);
	must_parse(&back, "http.source", t);
	assert_true(back.measured);
	assert_int_equal(back.rate, m.rate);
	catalog_entry_free(&back);

	/* measured again: the old profile goes, the new one comes */
	m.rate = 42;
	{
		char *t2 = catalog_replace_profile(t, strlen(t), &m);

		must_parse(&back, "http.source", t2);
		assert_int_equal(back.rate, 42);
		assert_int_equal(strncmp(t2, head, strlen(head)), 0);
		catalog_entry_free(&back);
		free(t);
		t = t2;
	}
	/* unmeasured: the profile goes, the rest is as it was (less the blank end) */
	must_parse(&e, "http.source", head);
	{
		char *t3 = catalog_replace_profile(t, strlen(t), &e);

		assert_string_equal(t3, head);
		free(t3);
	}
	free(prof);
	prof = catalog_format_profile(&e);
	assert_string_equal(prof, "");
	free(prof);
	free(t);
	buf_free(&b);
	catalog_entry_free(&e);
	catalog_entry_free(&m);
}

static void names_and_kinds(void **state)
{
	(void)state;
	assert_true(catalog_name_ok("a"));
	assert_true(catalog_name_ok("redis-server"));
	assert_true(catalog_name_ok("0.x_y-z"));
	assert_false(catalog_name_ok(""));
	assert_false(catalog_name_ok(".x"));
	assert_false(catalog_name_ok("_x"));
	assert_false(catalog_name_ok("a b"));
	assert_false(catalog_name_ok("A"));
	assert_true(catalog_name_ok("a123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(catalog_name_ok("a1234567890123456789012345678901234567890123456789012345678901234"));
	for (int k = CATALOG_AGENT; k <= CATALOG_PROJECT; k++)
		assert_int_equal(catalog_kind_find(catalog_kind_name((enum catalog_kind)k)), k);
	assert_int_equal(catalog_kind_find("Agent"), -1);
	assert_string_equal(catalog_kind_name((enum catalog_kind)7), "?");
}

/* Every shipped entry: parses, is named as its file, makes protocols of
 * its class, and starts something this dynamo has with those protocols. */
static void shipped_catalog(void **state)
{
	static const char *const want[] = {
		"bitcoin", "dns", "dnsmasq", "ftp", "generic", "hls", "http", "https", "imap", "mosquitto",
		"mqtt", "nginx", "postgres", "postgresql", "redis", "redis-server", "sip", "smtp", "ssh",
		"sshd", "vsftpd",
	};
	struct catalog c;
	char err[1024];

	(void)state;
	if (catalog_load_dir(&c, "data/catalog", err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(c.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < c.n; i++) {
		const struct catalog_entry *e = &c.v[i];
		char file[128];

		assert_string_equal(e->name, want[i]); /* sorted by name */
		snprintf(file, sizeof(file), "data/catalog/%s.source", e->name);
		assert_string_equal(e->file, file);
		assert_ptr_equal(catalog_find(&c, e->name), e);
		assert_non_null(e->description);
		assert_true(e->protos && !(e->protos & ~spec_class_protos(e->cls)));
		assert_non_null(catalog_knob(e, "users"));
		assert_non_null(catalog_knob(e, "think-scale"));
		if (e->kind == CATALOG_AGENT) {
			spec_protoset ps = spec_protos_carriers(e->protos);

			if (!agent_by_name(e->start))
				fail_msg("%s: no agent '%s'", e->name, e->start);
			assert_string_equal(e->name, e->start);
			/* what it lists is what its agents speak, or comes
			 * with it (a call's RTP and STUN with SIP) */
			for (int p = 0; p < PROTO__COUNT; p++)
				if (ps & (1u << p) && !agent_for(e->start, (enum spec_proto)p))
					fail_msg("%s: no agent '%s' speaks %s", e->name, e->start,
						 spec_proto_name((enum spec_proto)p));
		} else {
			const struct program_def *d = program_find(e->start);

			assert_int_equal(e->kind, CATALOG_PROGRAM);
			if (!d)
				fail_msg("%s: no program '%s'", e->name, e->start);
			assert_string_equal(e->name, e->start);
			assert_int_equal(e->protos, d->protos);
		}
	}
	/* every program dynamo can start has its entry */
	for (size_t i = 0; i < program_ndefs; i++)
		if (!catalog_find(&c, program_defs[i].name))
			fail_msg("no catalog entry for the program %s", program_defs[i].name);
	assert_null(catalog_find(&c, "nosuch"));
	catalog_free(&c);
	catalog_free(&c);
	catalog_free(NULL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void load_dir_errors(void **state)
{
	char dir[] = "/tmp/test-catalog-XXXXXX", err[1024], path[512];
	struct catalog c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* empty; other files are not entries */
	write_file(dir, "README", "not an entry");
	write_file(dir, "x.source~", "nor this");
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	catalog_free(&c);

	write_file(dir, "b.source", "name b\nclass dns\nprotocols dns\nkind agent\nstart agent dns\n");
	write_file(dir, "a.source", "name a\nclass dns\nprotocols dns\nkind program\nstart program dnsmasq\n");
	snprintf(path, sizeof(path), "%s/", dir); /* a trailing slash is fine */
	assert_int_equal(catalog_load_dir(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0].name, "a");
	assert_string_equal(c.v[1].name, "b");
	snprintf(path, sizeof(path), "%s/a.source", dir);
	assert_string_equal(c.v[0].file, path);
	catalog_free(&c);

	/* the first bad file, by name, with its line */
	write_file(dir, "d.source", "name d\nclass dns\nprotocols dns\nkind agent\nstart agent dnss\n");
	write_file(dir, "c.source", "name c\nclass dns\n\nprotocols http\nkind agent\nstart agent http\n");
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/c.source:4: protocol 'http' is not of class dns (dns: dns)", dir);
	assert_string_equal(err, path);
	assert_int_equal(c.n, 0);
	assert_null(c.v);
	snprintf(path, sizeof(path), "%s/c.source", dir);
	unlink(path);
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/d.source:5: unknown protocol 'dnss' (did you mean 'dns'?)", dir);
	assert_string_equal(err, path);
	snprintf(path, sizeof(path), "%s/d.source", dir);
	unlink(path);

	/* a name that is not the file's */
	write_file(dir, "e.source", "name f\nclass dns\nprotocols dns\nkind agent\nstart agent dns\n");
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/e.source:1: the name 'f' is not the file's (e): a source "
		 "NAME lives in NAME.source", dir);
	assert_string_equal(err, path);
	snprintf(path, sizeof(path), "%s/e.source", dir);
	unlink(path);

	/* a directory, a FIFO: not regular files (and no hang) */
	snprintf(path, sizeof(path), "%s/g.source", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "g.source: not a regular file"));
	rmdir(path);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "g.source: not a regular file"));
	unlink(path);

	/* too large: read no further than needed to say so */
	{
		char *big = xmalloc(200000);

		memset(big, '#', 200000 - 1);
		big[200000 - 1] = '\0';
		write_file(dir, "h.source", big);
		free(big);
		assert_int_equal(catalog_load_dir(&c, dir, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "h.source:1: the file is larger than 64 KiB"));
		snprintf(path, sizeof(path), "%s/h.source", dir);
		unlink(path);
	}

	/* a directory that is not there */
	snprintf(path, sizeof(path), "%s/nothere", dir);
	assert_int_equal(catalog_load_dir(&c, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nothere: No such file or directory"));
	assert_int_equal(c.n, 0);

	snprintf(path, sizeof(path), "%s/a.source", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.source", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/README", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x.source~", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* Every prefix of a good entry parses or says where it stopped. */
static void prefixes(void **state)
{
	(void)state;
	for (size_t n = 0; n <= strlen(full); n++) {
		struct catalog_entry e;
		char err[512];
		int r = catalog_parse(&e, "http.source", full, n, err, sizeof(err));

		if (r) {
			assert_int_equal(r, -EINVAL);
			assert_int_equal(strncmp(err, "http.source:", 12), 0);
		}
		catalog_entry_free(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_the_example),
		cmocka_unit_test(parses_the_least),
		cmocka_unit_test(errors_say_where),
		cmocka_unit_test(limits),
		cmocka_unit_test(fractions_and_sums),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(formats_plainly),
		cmocka_unit_test(replaces_the_profile),
		cmocka_unit_test(names_and_kinds),
		cmocka_unit_test(shipped_catalog),
		cmocka_unit_test(load_dir_errors),
		cmocka_unit_test(prefixes),
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
