/* spec.c - entry points of the spec module: read, parse, check, and the
 * diagnostics with their rendering ("FILE:LINE:COL: error: ...", the line,
 * a caret under the token, a hint). */
#include "spec-int.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Quoted source is cut to a window this wide around the caret. */
#define RENDER_WIDTH 100

void spec_diag(struct spec *s, enum spec_level lvl, struct spec_loc loc,
	       const char *hint, const char *fmt, ...)
{
	struct spec_diag *d;
	va_list ap;

	if (s->truncated)
		return;
	if (lvl == SPEC_ERROR && s->errors >= SPEC_MAX_ERRORS) {
		s->truncated = true;
		return;
	}
	d = VEC_PUSH(s->diags, s->ndiags, s->diags_cap);
	d->level = lvl;
	d->loc = loc;
	va_start(ap, fmt);
	d->msg = xvasprintf(fmt, ap);
	va_end(ap);
	d->hint = hint ? xstrdup(hint) : NULL;
	if (lvl == SPEC_ERROR)
		s->errors++;
	else if (lvl == SPEC_WARNING)
		s->warnings++;
}

/* Diagnostics in source order, errors before notes at one place; a stable
 * sort keeps each stage's order otherwise. */
static int diag_cmp(const void *a, const void *b)
{
	const struct spec_diag *x = a, *y = b;

	if (x->loc.line != y->loc.line)
		return x->loc.line < y->loc.line ? -1 : 1;
	if (x->loc.col != y->loc.col)
		return x->loc.col < y->loc.col ? -1 : 1;
	return 0;
}

static void sort_diags(struct spec *s)
{
	/* insertion sort: stable, and diagnostics are few and nearly sorted */
	for (size_t i = 1; i < s->ndiags; i++) {
		struct spec_diag d = s->diags[i];
		size_t j = i;

		while (j > 0 && diag_cmp(&s->diags[j - 1], &d) > 0) {
			s->diags[j] = s->diags[j - 1];
			j--;
		}
		s->diags[j] = d;
	}
}

struct spec *spec_parse(const char *file, const char *text, size_t len)
{
	struct spec *s = xcalloc(1, sizeof(*s));
	struct token *toks;
	size_t ntok;

	s->file = xstrdup(file);
	s->text = xstrndup(text, len);
	s->len = len;
	toks = lex_all(s, &ntok);
	spec__parse_tokens(s, toks, ntok);
	free(toks);
	spec__check(s);
	sort_diags(s);
	return s;
}

struct spec *spec_parse_file(const char *path, char **err)
{
	return spec_parse_file_with(path, NULL, err);
}

struct spec *spec_parse_file_with(const char *path, const char *extra, char **err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	struct buf b = { 0 };
	struct spec *s;
	int r;

	*err = NULL;
	if (!f) {
		*err = xasprintf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	r = buf_read_file(&b, f, SPEC_MAX_FILE);
	if (r == -EFBIG) {
		*err = xasprintf("%s: file is larger than %u MiB; a spec is small text",
				 path, SPEC_MAX_FILE >> 20);
		goto fail;
	}
	if (r) {
		*err = xasprintf("cannot read %s: %s", path, strerror(-r));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	if (extra) {
		buf_putc(&b, '\n');
		buf_puts(&b, extra);
	}
	s = spec_parse(strcmp(path, "-") ? path : "<stdin>", b.p ? b.p : "", b.len);
	buf_free(&b);
	return s;
fail:
	if (f != stdin)
		fclose(f);
	buf_free(&b);
	return NULL;
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ndiags; i++) {
		free(s->diags[i].msg);
		free(s->diags[i].hint);
	}
	free(s->diags);
	for (size_t i = 0; i < s->nsubnets; i++)
		free(s->subnets[i].name);
	free(s->subnets);
	for (size_t i = 0; i < s->nhosts; i++) {
		struct spec_host *h = &s->hosts[i];

		free(h->name);
		free(h->subnet);
		for (size_t k = 0; k < h->nservices; k++)
			free(h->services[k].name);
		free(h->services);
	}
	free(s->hosts);
	for (size_t i = 0; i < s->nrouters; i++) {
		free(s->routers[i].name);
		for (size_t k = 0; k < s->routers[i].njoins; k++)
			free(s->routers[i].joins[k].name);
		free(s->routers[i].joins);
	}
	free(s->routers);
	for (size_t i = 0; i < s->nlinks; i++) {
		free(s->links[i].a.name);
		free(s->links[i].b.name);
	}
	free(s->links);
	for (size_t i = 0; i < s->ngens; i++) {
		struct spec_gen *g = &s->gens[i];

		free(g->source);
		free(g->model);
		for (size_t k = 0; k < g->nfrom; k++)
			free(g->from[k].name);
		free(g->from);
		for (size_t k = 0; k < g->nto; k++)
			free(g->to[k].name);
		free(g->to);
		free(g->label);
		free(g->items);
	}
	free(s->gens);
	for (size_t i = 0; i < s->nmirrors; i++) {
		free(s->mirrors[i].what.name);
		free(s->mirrors[i].net.name);
		free(s->mirrors[i].to.name);
	}
	free(s->mirrors);
	for (size_t i = 0; i < s->nimplicit; i++)
		free(s->implicit[i].name);
	free(s->implicit);
	free(s->file);
	free(s->text);
	free(s);
}

bool spec_declares_hosts(const struct spec *s)
{
	return s->nhosts > 0;
}

/* Byte length of the character at p (at least 1). */
static size_t char_len(const char *p, const char *end)
{
	size_t n = 1;

	while (p + n < end && ((unsigned char)p[n] & 0xc0) == 0x80)
		n++;
	return n;
}

char *spec_diag_render(const struct spec *s, const struct spec_diag *d)
{
	static const char *const level[] = { "error", "warning", "note" };
	struct buf b = { 0 };
	const char *line, *end, *tok, *tok_end, *from, *to, *p;
	size_t off = MIN((size_t)d->loc.off, s->len);
	unsigned before, width, total;

	if (d->loc.line == 0) {
		/* about the whole file, not a place in it */
		buf_printf(&b, "%s: %s: %s\n", s->file, level[d->level], d->msg);
		goto hint;
	}
	buf_printf(&b, "%s:%u:%u: %s: %s\n", s->file, d->loc.line, d->loc.col,
		   level[d->level], d->msg);

	/* the whole line that holds the location */
	line = s->text + off;
	while (line > s->text && line[-1] != '\n')
		line--;
	end = s->text + off;
	while (end < s->text + s->len && *end != '\n')
		end++;
	if (end > line && end[-1] == '\r')
		end--;
	tok = s->text + off;
	tok_end = MIN(tok + d->loc.len, end);
	if (tok > end)
		tok = end;

	/* a window of RENDER_WIDTH characters that holds the caret */
	from = line;
	before = 0;
	for (p = line; p < tok; p += char_len(p, end))
		before++;
	total = before;
	for (; p < end; p += char_len(p, end))
		total++;
	/* cut only lines wider than the window, keeping the caret inside */
	while (total > RENDER_WIDTH && before > RENDER_WIDTH / 2) {
		from += char_len(from, end);
		before--;
		total--;
	}
	to = from;
	for (width = 0; to < end && width < RENDER_WIDTH; width++)
		to += char_len(to, end);

	buf_printf(&b, "%5u | %s", d->loc.line, from > line ? "..." : "");
	for (p = from; p < to; p++)
		buf_putc(&b, (*p == '\0' || *p == '\r') ? ' ' : *p);
	buf_printf(&b, "%s\n      | %s", to < end ? "..." : "", from > line ? "   " : "");
	/* tabs stay tabs so the caret lines up in any terminal */
	for (p = from; p < tok && p < to; p += char_len(p, end))
		buf_putc(&b, *p == '\t' ? '\t' : ' ');
	buf_putc(&b, '^');
	if (tok < tok_end) {
		for (p = tok + char_len(tok, tok_end); p < tok_end && p < to; p += char_len(p, tok_end))
			buf_putc(&b, '~');
	}
	buf_putc(&b, '\n');
hint:
	if (d->hint)
		buf_printf(&b, "      = hint: %s\n", d->hint);
	return buf_steal(&b);
}
