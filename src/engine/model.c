/* model.c - the behaviour model reader and its draws (see model.h).  The
 * reader works line by line on a bounded text; every error names
 * file:line:col and quotes the offending word. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "model.h"

enum dist_kind {
	D_CONST, D_UNIFORM, D_EXP, D_NORMAL, D_LOGNORMAL, D_PARETO, D_GEOMETRIC, D_QUANTILES,
	D_HISTOGRAM,
};

#define QUANTILES_MAX 101     /* points of a quantiles(...): every percent */
#define HISTOGRAM_MAX 1024    /* bins of a histogram(...): a clone's 16 a
			       * doubling span 64 doublings */

struct dist {
	enum dist_kind kind;
	double a, b, c;      /* c: pareto's bound, 0 for none */
	double *q;           /* quantiles: nq values at 0, 1/(nq-1), ..., 1;
			      * histogram: nq edges of nq - 1 bins */
	double *cum;         /* histogram: the weights of bins 0..i, summed */
	uint32_t nq;
	bool set;
};

struct edge {
	int to;              /* action index or MODEL_END */
	double p;
};

struct action {
	char *name;
	struct dist think;
	struct edge *next;
	size_t nnext, next_cap;
	bool declared;
	unsigned line;       /* where first named, for messages */
};

struct param {
	char *name;
	struct dist d;
};

struct model {
	char *name;
	struct action *acts;
	size_t nacts, acts_cap;
	struct param *params;
	size_t nparams, params_cap;
	int start;
};

static const struct {
	const char *name;
	enum dist_kind kind;
	int nargs, maxargs;
} dist_names[] = {
	{ "uniform", D_UNIFORM, 2, 2 }, { "exp", D_EXP, 1, 1 },
	{ "normal", D_NORMAL, 2, 2 },   { "lognormal", D_LOGNORMAL, 2, 2 },
	{ "pareto", D_PARETO, 2, 3 },   { "geometric", D_GEOMETRIC, 1, 1 },
	{ "quantiles", D_QUANTILES, 2, QUANTILES_MAX },
	{ "histogram", D_HISTOGRAM, 2, HISTOGRAM_MAX },
};

static const struct {
	const char *unit;
	double mult;
} units[] = {
	{ "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "min", 60 }, { "h", 3600 },
	{ "B", 1 }, { "KB", 1e3 }, { "KiB", 1024 }, { "MB", 1e6 }, { "MiB", 1048576 },
	{ "GB", 1e9 }, { "GiB", 1073741824.0 }, { "%", 0.01 },
	{ "bps", 1 }, { "kbps", 1e3 }, { "Mbps", 1e6 }, { "Gbps", 1e9 },
};

/* ---- the reader -------------------------------------------------------- */

struct rd {
	const char *file;
	const char *p, *end;    /* the current line, without its newline */
	const char *line0;
	unsigned line;
	char *err;
};

static bool fail(struct rd *r, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(struct rd *r, const char *at, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (r->err)
		return false;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	r->err = xasprintf("%s:%u:%u: %s", r->file, r->line, (unsigned)(at - r->line0) + 1, msg);
	free(msg);
	return false;
}

static void skip_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t'))
		r->p++;
}

static bool at_end(struct rd *r)
{
	skip_ws(r);
	return r->p == r->end || *r->p == '#';
}

/* A word: letters, digits, '_', '-', '.'; copied into w (up to 63). */
static bool word(struct rd *r, char *w, size_t wn)
{
	const char *s;
	size_t n;

	skip_ws(r);
	s = r->p;
	while (r->p < r->end && (isalnum((unsigned char)*r->p) || strchr("_-.", *r->p)))
		r->p++;
	n = (size_t)(r->p - s);
	if (!n)
		return fail(r, s, "expected a name");
	if (n >= wn)
		return fail(r, s, "name '%.*s' is too long", (int)n, s);
	memcpy(w, s, n);
	w[n] = 0;
	return true;
}

/* loose: a word after a space that is no unit ends the number (in
 * 'next' lines, where action names follow); else it is a bad unit. */
static bool number(struct rd *r, double *out, bool loose)
{
	const char *s;
	char buf[64], *e;
	size_t n;

	skip_ws(r);
	s = r->p;
	while (r->p < r->end && (isdigit((unsigned char)*r->p) || strchr(".eE+-", *r->p)))
		r->p++;
	n = (size_t)(r->p - s);
	if (!n || n >= sizeof(buf))
		return fail(r, s, n ? "number is too long" : "expected a number");
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	*out = strtod(buf, &e);
	if (*e || errno || !isfinite(*out) || *out < 0)
		return fail(r, s, "'%s' is not a number of zero or more", buf);
	/* An optional unit, with or without a space; after a space, a word
	 * that is no unit is the next thing on the line ("0.7 end"). */
	const char *num_end = r->p;

	skip_ws(r);
	s = r->p;
	while (r->p < r->end && (isalpha((unsigned char)*r->p) || *r->p == '%'))
		r->p++;
	n = (size_t)(r->p - s);
	if (!n)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i].unit) == n && !memcmp(units[i].unit, s, n)) {
			*out *= units[i].mult;
			return true;
		}
	if (loose && s != num_end) {
		r->p = num_end;
		return true;
	}
	return fail(r, s, "unknown unit '%.*s' (time: us ms s min h; size: B KB KiB MB MiB GB "
		    "GiB; rate: bps kbps Mbps Gbps)",
		    (int)n, s);
}

/* histogram(E1 U: W1, E2 U: W2, ..., Ek U: Wk, TOP U), after its '(':
 * bin i holds the values from Ei up to the next edge, with weight Wi
 * (any numbers of zero or more; a hole in the data is a bin of weight
 * 0); the last edge closes the top bin. */
static bool histogram(struct rd *r, struct dist *d, const char *s)
{
	double *edge = xreallocarray(NULL, HISTOGRAM_MAX + 1, sizeof(*edge));
	double *cum = xreallocarray(NULL, HISTOGRAM_MAX, sizeof(*cum)), w, sum = 0;
	uint32_t n = 0;

	for (;;) {
		const char *at;

		skip_ws(r);
		at = r->p;
		if (n > HISTOGRAM_MAX) {
			fail(r, at, "histogram takes at most %d bins", HISTOGRAM_MAX);
			goto bad;
		}
		if (!number(r, &edge[n], false))
			goto bad;
		if (n && edge[n] <= edge[n - 1]) {
			fail(r, at, "histogram(...) needs its edges in rising order (edge %u is not above edge %u)",
			     n + 1, n);
			goto bad;
		}
		n++;
		skip_ws(r);
		if (r->p < r->end && *r->p == ')') {
			r->p++;
			break;
		}
		if (r->p == r->end || *r->p != ':') {
			fail(r, r->p, n == 1 ? "expected ':' and the bin's weight after its lower edge"
					     : "expected ':' and the bin's weight, or ')' after the top edge");
			goto bad;
		}
		r->p++;
		if (n > HISTOGRAM_MAX) {
			fail(r, at, "histogram takes at most %d bins", HISTOGRAM_MAX);
			goto bad;
		}
		skip_ws(r);
		at = r->p;
		if (!number(r, &w, false))
			goto bad;
		sum += w;
		if (!isfinite(sum)) {
			fail(r, at, "histogram(...)'s weights sum to more than a double holds");
			goto bad;
		}
		cum[n - 1] = sum;
		skip_ws(r);
		if (r->p == r->end || *r->p != ',') {
			fail(r, r->p, "expected ',' and the next bin's edge (a histogram ends with its top edge)");
			goto bad;
		}
		r->p++;
	}
	if (n < 2) {
		fail(r, s, "histogram takes a bin at least: histogram(LOW: WEIGHT, TOP)");
		goto bad;
	}
	if (!(sum > 0)) {
		fail(r, s, "histogram(...) needs a weight above 0");
		goto bad;
	}
	d->kind = D_HISTOGRAM;
	d->q = edge;
	d->cum = cum;
	d->nq = n;
	d->a = edge[0];
	d->set = true;
	return true;
bad:
	free(edge);
	free(cum);
	return false;
}

static bool dist(struct rd *r, struct dist *d)
{
	const char *s;
	char w[64];
	double args[QUANTILES_MAX] = { 0 };
	int n = 0, i;

	skip_ws(r);
	s = r->p;
	if (r->p < r->end && (isdigit((unsigned char)*r->p) || *r->p == '.')) {
		d->kind = D_CONST;
		d->set = true;
		return number(r, &d->a, false);
	}
	if (!word(r, w, sizeof(w)))
		return false;
	for (i = 0; i < (int)ARRAY_SIZE(dist_names); i++)
		if (!strcmp(dist_names[i].name, w))
			break;
	if (i == (int)ARRAY_SIZE(dist_names))
		return fail(r, s, "unknown distribution '%s' (uniform, exp, normal, lognormal, pareto, "
			    "geometric, quantiles, histogram)", w);
	skip_ws(r);
	if (r->p == r->end || *r->p != '(')
		return fail(r, r->p, "expected '(' after '%s'", w);
	r->p++;
	if (dist_names[i].kind == D_HISTOGRAM)
		return histogram(r, d, s);
	for (;;) {
		if (n == dist_names[i].maxargs)
			return fail(r, r->p, "%s takes at most %d value%s", w, dist_names[i].maxargs,
				    dist_names[i].maxargs == 1 ? "" : "s");
		if (!number(r, &args[n++], false))
			return false;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ')') {
			r->p++;
			break;
		}
		return fail(r, r->p, "expected ',' or ')'");
	}
	if (n < dist_names[i].nargs && dist_names[i].maxargs > dist_names[i].nargs + 1)
		return fail(r, s, "%s takes %d to %d values", w, dist_names[i].nargs, dist_names[i].maxargs);
	if (n < dist_names[i].nargs)
		return fail(r, s, "%s takes %d values", w, dist_names[i].nargs);
	d->kind = dist_names[i].kind;
	d->a = args[0];
	d->b = args[1];
	d->c = args[2];
	d->set = true;
	if (d->kind == D_QUANTILES) {
		for (int k = 1; k < n; k++)
			if (args[k] < args[k - 1])
				return fail(r, s, "quantiles(...) needs values in rising order (value %d is below value %d)",
					    k + 1, k);
		d->q = xreallocarray(NULL, (size_t)n, sizeof(*d->q));
		memcpy(d->q, args, (size_t)n * sizeof(*d->q));
		d->nq = (uint32_t)n;
	}
	if (d->kind == D_UNIFORM && d->b < d->a)
		return fail(r, s, "uniform(A, B) needs A <= B");
	if (d->kind == D_PARETO && (d->a <= 0 || d->b <= 0 || (n == 3 && d->c < d->a)))
		return fail(r, s, "pareto(MIN, ALPHA, MAX) needs MIN > 0, ALPHA > 0 and MAX >= MIN");
	if (d->kind == D_LOGNORMAL && d->a <= 0)
		return fail(r, s, "lognormal(MEDIAN, SIGMA) needs MEDIAN > 0");
	return true;
}

static int action_ref(struct model *m, const char *name, unsigned line)
{
	struct action *a;

	if (!strcmp(name, "end"))
		return MODEL_END;
	for (size_t i = 0; i < m->nacts; i++)
		if (!strcmp(m->acts[i].name, name))
			return (int)i;
	a = VEC_PUSH(m->acts, m->nacts, m->acts_cap);
	a->name = xstrdup(name);
	a->line = line;
	return (int)(m->nacts - 1);
}

static bool line_action(struct rd *r, struct model *m)
{
	char w[64];
	const char *s;
	struct action *a;
	int i;

	skip_ws(r);
	s = r->p;
	if (!word(r, w, sizeof(w)))
		return false;
	if (!strcmp(w, "end"))
		return fail(r, s, "'end' is the end of a session, not an action");
	i = action_ref(m, w, r->line);
	a = &m->acts[i];
	if (a->declared)
		return fail(r, s, "action '%s' is declared twice", w);
	a->declared = true;
	a->line = r->line;
	if (at_end(r))
		return true;
	s = r->p;
	if (!word(r, w, sizeof(w)))
		return false;
	if (strcmp(w, "think"))
		return fail(r, s, "expected 'think' after the action's name");
	return dist(r, &m->acts[i].think);
}

static bool line_next(struct rd *r, struct model *m)
{
	char w[64];
	const char *s, *first;
	double sum = 0;
	int from;

	skip_ws(r);
	s = r->p;
	if (!word(r, w, sizeof(w)))
		return false;
	if (!strcmp(w, "end"))
		return fail(r, s, "nothing follows 'end'");
	from = action_ref(m, w, r->line);
	if (m->acts[from].nnext)
		return fail(r, s, "transitions from '%s' are given twice", w);
	skip_ws(r);
	first = r->p;
	while (!at_end(r)) {
		struct edge *e;
		int to;

		if (!word(r, w, sizeof(w)))
			return false;
		to = action_ref(m, w, r->line);
		e = VEC_PUSH(m->acts[from].next, m->acts[from].nnext, m->acts[from].next_cap);
		e->to = to;
		if (!number(r, &e->p, true))
			return false;
		sum += e->p;
	}
	if (!m->acts[from].nnext)
		return fail(r, first, "expected the next actions with their probabilities");
	if (fabs(sum - 1.0) > 1e-6)
		return fail(r, first, "probabilities sum to %g%%, not 100%%", sum * 100);
	return true;
}

static bool line_param(struct rd *r, struct model *m)
{
	char w[64];
	const char *s;
	struct param *p;

	skip_ws(r);
	s = r->p;
	if (!word(r, w, sizeof(w)))
		return false;
	for (size_t i = 0; i < m->nparams; i++)
		if (!strcmp(m->params[i].name, w))
			return fail(r, s, "param '%s' is given twice", w);
	p = VEC_PUSH(m->params, m->nparams, m->params_cap);
	p->name = xstrdup(w);
	return dist(r, &p->d);
}

static bool parse_line(struct rd *r, struct model *m, const char **start_at)
{
	char w[64];
	const char *s;

	if (at_end(r))
		return true;
	s = r->p;
	if (!word(r, w, sizeof(w)))
		return false;
	if (!strcmp(w, "action")) {
		if (!line_action(r, m))
			return false;
	} else if (!strcmp(w, "next")) {
		if (!line_next(r, m))
			return false;
	} else if (!strcmp(w, "param")) {
		if (!line_param(r, m))
			return false;
	} else if (!strcmp(w, "start")) {
		if (m->start >= 0)
			return fail(r, s, "'start' is given twice");
		skip_ws(r);
		*start_at = r->p;
		if (!word(r, w, sizeof(w)))
			return false;
		if (!strcmp(w, "end"))
			return fail(r, *start_at, "a session cannot start with 'end'");
		m->start = action_ref(m, w, r->line);
	} else {
		return fail(r, s, "unknown line '%s' (action, next, param, start)", w);
	}
	if (!at_end(r))
		return fail(r, r->p, "unexpected text at the end of the line");
	return true;
}

struct model *model_parse(const char *file, const char *text, size_t len, char **err)
{
	struct model *m = xcalloc(1, sizeof(*m));
	struct rd r = { .file = file, .p = text, .end = text };
	const char *base = strrchr(file, '/'), *dot, *start_at = NULL, *end = text + len;

	base = base ? base + 1 : file;
	dot = strstr(base, ".model");
	m->name = xstrndup(base, dot ? (size_t)(dot - base) : strlen(base));
	m->start = -2;
	if (len > MODEL_MAX_FILE) {
		r.err = xasprintf("%s: larger than %u bytes", file, MODEL_MAX_FILE);
		goto out;
	}
	m->start = -1;
	for (const char *p = text; p < end && !r.err;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		r.line++;
		r.line0 = r.p = p;
		r.end = nl ? nl : end;
		if (r.end > p && r.end[-1] == '\r')
			r.end--;
		for (const char *q = p; q < r.end; q++)
			if (!*q || (!isprint((unsigned char)*q) && *q != '\t' && !((unsigned char)*q & 0x80))) {
				fail(&r, q, "control character in the text");
				break;
			}
		if (!r.err)
			parse_line(&r, m, &start_at);
		p = nl ? nl + 1 : end;
	}
	if (r.err)
		goto out;
	r.line0 = r.p = r.end = text;
	if (m->start < 0) {
		r.line = 1;
		r.err = xasprintf("%s: no 'start' line: which action begins a session?", file);
		goto out;
	}
	for (size_t i = 0; i < m->nacts; i++) {
		struct action *a = &m->acts[i];

		if (!a->declared) {
			r.err = xasprintf("%s:%u: action '%s' is used but not declared", file, a->line, a->name);
			goto out;
		}
		if (!a->nnext) {
			r.err = xasprintf("%s:%u: action '%s' has no 'next' line (use 'next %s end 100%%' to end there)",
					  file, a->line, a->name, a->name);
			goto out;
		}
	}
out:
	if (r.err) {
		*err = r.err;
		model_free(m);
		return NULL;
	}
	return m;
}

struct model *model_load(const char *dir, const char *name, char **err)
{
	char *path = xasprintf("%s/%s.model", dir, name);
	struct model *m = model_load_file(path, err);

	free(path);
	return m;
}

struct model *model_load_file(const char *path, char **err)
{
	struct buf b = { 0 };
	struct model *m = NULL;
	FILE *f = fopen(path, "r");
	int r;

	if (!f) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		goto out;
	}
	r = buf_read_file(&b, f, MODEL_MAX_FILE);
	if (r == -EFBIG)
		*err = xasprintf("%s: larger than %u bytes; a model is small text", path,
				 (unsigned)MODEL_MAX_FILE);
	else if (r)
		*err = xasprintf("%s: %s", path, strerror(-r));
	else
		m = model_parse(path, b.p ? b.p : "", b.len, err);
	fclose(f);
out:
	buf_free(&b);
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nacts; i++) {
		free(m->acts[i].name);
		free(m->acts[i].next);
		free(m->acts[i].think.q);
		free(m->acts[i].think.cum);
	}
	for (size_t i = 0; i < m->nparams; i++) {
		free(m->params[i].name);
		free(m->params[i].d.q);
		free(m->params[i].d.cum);
	}
	free(m->acts);
	free(m->params);
	free(m->name);
	free(m);
}

const char *model_name(const struct model *m)
{
	return m->name;
}

char *model_check(const struct model *m, const char *const *actions, const char *const *params)
{
	for (size_t i = 0; i < m->nacts; i++) {
		const char *const *a = actions;

		while (*a && strcmp(*a, m->acts[i].name))
			a++;
		if (!*a) {
			struct buf b = { 0 };

			for (a = actions; *a; a++)
				buf_printf(&b, "%s%s", a == actions ? "" : ", ", *a);
			char *msg = xasprintf("model '%s', line %u: action '%s' is not one this agent can do (%s)",
					      m->name, m->acts[i].line, m->acts[i].name, b.p ? b.p : "none");
			buf_free(&b);
			return msg;
		}
	}
	for (const char *const *p = params; p && *p; p++)
		if (!model_has(m, *p))
			return xasprintf("model '%s' has no 'param %s'", m->name, *p);
	return NULL;
}

int model_action(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nacts; i++)
		if (!strcmp(m->acts[i].name, name))
			return (int)i;
	return -1;
}

const char *model_action_name(const struct model *m, int a)
{
	return a == MODEL_END ? "end" : m->acts[a].name;
}

int model_start(const struct model *m)
{
	return m->start;
}

int model_next(const struct model *m, int a, struct rng *r)
{
	const struct action *act = &m->acts[a];
	double u = rng_unit(r);

	for (size_t i = 0; i < act->nnext; i++) {
		if (u < act->next[i].p)
			return act->next[i].to;
		u -= act->next[i].p;
	}
	return act->next[act->nnext - 1].to;
}

/* A draw from a distribution given by its quantiles: u falls between two
 * of the points, and the value between theirs, geometrically when both
 * are above zero (sizes and times spread over decades, and the top
 * tenth of a heavy tail is no uniform spread), else linearly. */
static double quantile(const struct dist *d, double u)
{
	double x = u * (d->nq - 1), f, lo, hi;
	uint32_t k = (uint32_t)x;

	if (k >= d->nq - 1)
		return d->q[d->nq - 1];
	f = x - k;
	lo = d->q[k];
	hi = d->q[k + 1];
	if (lo > 0)
		return lo * pow(hi / lo, f);
	return lo + (hi - lo) * f;
}

/* A draw from a histogram: u picks a bin by its weight, and the rest of
 * u a place in it, spread geometrically when its lower edge is above
 * zero (the bins of a clone's histograms are log-spaced), else linearly. */
static double bin_draw(const struct dist *d, double u)
{
	uint32_t bins = d->nq - 1, lo = 0, hi = bins - 1;
	double x = u * d->cum[bins - 1], below, f, a, b;

	while (lo < hi) {               /* the first bin whose sum is above x */
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	below = lo ? d->cum[lo - 1] : 0;
	f = d->cum[lo] > below ? (x - below) / (d->cum[lo] - below) : 0;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	a = d->q[lo];
	b = d->q[lo + 1];
	if (a > 0)
		return a * pow(b / a, f);
	return a + (b - a) * f;
}

static double draw(const struct dist *d, struct rng *r)
{
	double v;

	switch (d->kind) {
	case D_CONST:
		return d->a;
	case D_UNIFORM:
		return d->a + (d->b - d->a) * rng_unit(r);
	case D_EXP:
		return rng_exp(r, d->a);
	case D_NORMAL:
		v = d->a + d->b * rng_normal(r);
		return v < 0 ? 0 : v;
	case D_LOGNORMAL:
		return d->a * exp(d->b * rng_normal(r));
	case D_PARETO:
		v = d->a / pow(1.0 - rng_unit(r), 1.0 / d->b);
		return d->c > 0 && v > d->c ? d->c : v;
	case D_GEOMETRIC:
		/* Failures before a success, with mean a: p = 1 / (1 + a). */
		return d->a <= 0 ? 0 : floor(log1p(-rng_unit(r)) / log1p(-1.0 / (1.0 + d->a)));
	case D_QUANTILES:
		return quantile(d, rng_unit(r));
	case D_HISTOGRAM:
		return bin_draw(d, rng_unit(r));
	}
	return 0;
}

double model_think(const struct model *m, int a, struct rng *r)
{
	return m->acts[a].think.set ? draw(&m->acts[a].think, r) : 0;
}

int model_has(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (!strcmp(m->params[i].name, name))
			return 1;
	return 0;
}

double model_draw(const struct model *m, const char *name, struct rng *r, double dflt)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (!strcmp(m->params[i].name, name))
			return draw(&m->params[i].d, r);
	return dflt;
}
