/* unit.h - what every unit test file includes: cmocka, and helpers that
 * parse spec text and assert on its diagnostics, printing both sides. */
#ifndef DYNAMO_UNIT_H
#define DYNAMO_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lib/util.h"
#include "../../src/plan/plan.h"

static inline struct spec *parse(const char *text)
{
	return spec_parse("t.dyn", text, strlen(text));
}

/* All diagnostics of s, rendered, for failure messages. */
static inline void dump(const struct spec *s)
{
	for (size_t i = 0; i < s->ndiags; i++) {
		char *r = spec_diag_render(s, &s->diags[i]);

		print_message("%s", r);
		free(r);
	}
}

static inline void expect_errors(const struct spec *s, unsigned n)
{
	if (s->errors != n)
		dump(s);
	assert_int_equal(s->errors, n);
}

/* Diagnostic i is an error at line:col whose message contains msg. */
static inline void expect_diag(const struct spec *s, size_t i, enum spec_level lvl,
			       unsigned line, unsigned col, const char *msg)
{
	if (i >= s->ndiags) {
		dump(s);
		fail_msg("want diagnostic %zu, have %zu", i, s->ndiags);
	}
	if (!strstr(s->diags[i].msg, msg) || s->diags[i].loc.line != line ||
	    s->diags[i].loc.col != col || s->diags[i].level != lvl) {
		dump(s);
		fail_msg("want %u:%u '%s', have %u:%u '%s'", line, col, msg, s->diags[i].loc.line,
			 s->diags[i].loc.col, s->diags[i].msg);
	}
}

static inline void expect_error_at(const struct spec *s, size_t i, unsigned line, unsigned col,
				   const char *msg)
{
	expect_diag(s, i, SPEC_ERROR, line, col, msg);
}

static inline void expect_hint(const struct spec *s, size_t i, const char *hint)
{
	assert_true(i < s->ndiags);
	if (!s->diags[i].hint || !strstr(s->diags[i].hint, hint)) {
		dump(s);
		fail_msg("want hint '%s', have '%s'", hint,
			 s->diags[i].hint ? s->diags[i].hint : "(none)");
	}
}

/* Parse text that must be valid and resolve it. */
static inline struct plan *plan_of(const char *text, struct spec **sp)
{
	struct spec *s = parse(text);
	struct plan *p;

	expect_errors(s, 0);
	p = plan_build(s, topo_build(s));
	if (!p)
		dump(s);
	assert_non_null(p);
	*sp = s;
	return p;
}

#endif
