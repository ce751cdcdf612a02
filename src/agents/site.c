/* site.c - the generated web site (see site.h).  Everything about a page
 * or object is drawn from a generator seeded by the site's seed and the
 * path's numbers, so any path can be answered without state; only page
 * markup is kept once built, since a page is asked for again and again.
 * Sizes come from the model: page_size, objects_per_page, object_size
 * with a heavy tail (object_tail, object_tail_size), links_per_page,
 * downloads_per_page, download_size.  A page's HTML also holds a block
 * made for each fetch (page_dynamic), as a news site's front page does:
 * its objects are the same bytes every time, its HTML is not. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/conn.h"
#include "../lib/util.h"
#include "site.h"
#include "video.h"

#define SITE_MAX_PAGES 100000u
#define SITE_MAX_OBJS 120u         /* objects of one page, besides the shared three */
#define SITE_MAX_LINKS 100u
#define SITE_MAX_DL 8u
#define MAX_PAGE (4u << 20)        /* bytes of one page's HTML */
#define MIN_OBJ 64u                /* a GIF needs 32 bytes of frame */
#define MAX_OBJ (1ull << 30)
#define MAX_FILE (4ull << 30)
#define BLOB (128u << 10)          /* each of the CSS, script and GIF blobs */
#define PARA 1400u                 /* bytes of text per paragraph, about */
#define MAX_PARA 64u
#define MAX_CACHED 4096u           /* pages kept built: a few KiB each */

/* A piece of a page: markup of the page or text of the shared content. */
struct seg {
	const char *p;
	size_t n;
	bool markup;
};

struct page {
	uint64_t size;
	uint64_t target;           /* page_size's draw: what fetches average */
	size_t nseg, dyn_at;       /* the per-fetch block goes before seg[dyn_at] */
	struct seg seg[];          /* then the markup the segments point into */
};

struct site {
	const struct model *m;
	const struct content *ct;
	uint64_t seed;
	uint32_t npages;
	double tail;               /* chance an object is drawn from the tail */
	double dynamic;            /* page_dynamic: at most this much of a page is per fetch */
	struct rng r;              /* per-fetch draws */
	struct page **pages;       /* built on first lookup */
	uint32_t ncached;
	char *css, *js, *gif;      /* BLOB bytes each */
	struct video *video;       /* NULL: no videos */
};

/* Length bytes for GIF sub-blocks, referenced by queued output. */
static unsigned char gif_len[256];
static const unsigned char gif_end[2] = { 0x00, 0x3b }; /* block terminator, trailer */

static const char *const shared_path[3] = {
	"/static/site.css", "/static/app.js", "/static/logo.gif",
};
static const uint8_t shared_kind[3] = { SITE_CSS, SITE_JS, SITE_GIF };

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;

	z ^= (c + 0x632be59bd9b4e019ull) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	z *= 0xbf58476d1ce4e5b9ull;
	z ^= z >> 29;
	return z;
}

static uint32_t count(double x, uint32_t max)
{
	if (!(x > 0))
		return 0;
	if (x >= max)
		return max;
	return (uint32_t)(x + 0.5);
}

static uint64_t bytes(double x, uint64_t min, uint64_t max)
{
	if (!(x > (double)min))
		return min;
	if (x >= (double)max)
		return max;
	return (uint64_t)x;
}

/* ---- what a page holds ------------------------------------------------- */

struct counts {
	uint64_t size;
	uint32_t nobj, nlinks, ndl;
};

static void page_counts(const struct site *s, uint32_t n, struct counts *k)
{
	struct rng r;

	rng_seed(&r, mix(s->seed, n, 1));
	k->size = bytes(model_draw(s->m, "page_size", &r, 24576), 512, MAX_PAGE);
	k->nobj = count(model_draw(s->m, "objects_per_page", &r, 20), SITE_MAX_OBJS);
	k->nlinks = count(model_draw(s->m, "links_per_page", &r, 15), SITE_MAX_LINKS);
	k->ndl = count(model_draw(s->m, "downloads_per_page", &r, 0), SITE_MAX_DL);
}

static uint64_t obj_key(const struct site *s, uint32_t page, uint32_t i)
{
	return mix(s->seed, page, 0x10000u + i);
}

static uint8_t obj_kind(uint64_t key)
{
	unsigned u = (unsigned)(key >> 40) % 100;

	return u < 10 ? SITE_CSS : u < 28 ? SITE_JS : SITE_GIF;
}

static uint64_t obj_size(const struct site *s, uint64_t key)
{
	struct rng r;
	double x;

	rng_seed(&r, key);
	if (rng_unit(&r) < s->tail)
		x = model_draw(s->m, "object_tail_size", &r, 256 * 1024);
	else
		x = model_draw(s->m, "object_size", &r, 8192);
	return bytes(x, MIN_OBJ, MAX_OBJ);
}

static uint64_t file_size(const struct site *s, uint64_t key)
{
	struct rng r;

	rng_seed(&r, key);
	return bytes(model_draw(s->m, "download_size", &r, 4 << 20), 1024, MAX_FILE);
}

/* A page number drawn so that low numbers are linked most, as popular
 * pages are: log-uniform over [0, npages). */
static uint32_t pick_page(const struct site *s, struct rng *r)
{
	double x = exp(rng_unit(r) * log((double)s->npages + 1)) - 1;
	uint32_t p = (uint32_t)x;

	return p < s->npages ? p : s->npages - 1;
}

static void gif_dims(uint64_t key, uint64_t size, unsigned *w, unsigned *h)
{
	uint64_t hh;

	*w = 16 + (unsigned)(key % 785);
	hh = size * 2 / *w;
	*h = hh < 1 ? 1 : hh > 65535 ? 65535 : (unsigned)hh;
}

/* ---- page building ------------------------------------------------------- */

struct build {
	struct buf b;              /* markup */
	struct pseg {
		const char *text;  /* NULL: markup at off */
		size_t off, n;
	} *v;
	size_t nv, cap, mark;      /* markup not yet in a segment starts at mark */
};

static void b_cut(struct build *bd)
{
	struct pseg *g;

	if (bd->b.len == bd->mark)
		return;
	g = VEC_PUSH(bd->v, bd->nv, bd->cap);
	g->off = bd->mark;
	g->n = bd->b.len - bd->mark;
	bd->mark = bd->b.len;
}

static void b_text(struct build *bd, const char *p, size_t n)
{
	struct pseg *g;

	b_cut(bd);
	g = VEC_PUSH(bd->v, bd->nv, bd->cap);
	g->text = p;
	g->n = n;
}

static void page_href(char *out, size_t n, uint32_t p)
{
	if (p)
		snprintf(out, n, "/p/%u.html", p);
	else
		snprintf(out, n, "/");
}

static void words(char *out, size_t n, uint64_t key, unsigned k)
{
	size_t at = 0;

	out[0] = 0;
	for (unsigned i = 0; i < k; i++) {
		const char *w = content_word(key + i * 7919);
		int r = snprintf(out + at, n - at, "%s%s", i ? " " : "", w);

		if (r < 0 || (size_t)r >= n - at)
			break;
		if (!i && out[at] >= 'a' && out[at] <= 'z')
			out[at] = (char)(out[at] - 'a' + 'A');
		at += (size_t)r;
	}
}

static struct page *page_build(const struct site *s, uint32_t n)
{
	struct build bd = { 0 };
	struct counts k;
	struct rng r;
	struct page *pg;
	char title[96], w[64], href[32];
	uint8_t kinds[SITE_MAX_OBJS];
	uint32_t nimg = 0, img_at = 0, rank = 0;
	uint64_t text, markup_guess, size, fixed;
	size_t dyn_at;
	unsigned npara;
	char *mk;

	page_counts(s, n, &k);
	rng_seed(&r, mix(s->seed, n, 2));
	content_sentence(&r, title, sizeof(title), 2 + (unsigned)rng_below(&r, 5));
	if (title[0] && title[strlen(title) - 1] == '.')
		title[strlen(title) - 1] = 0;
	for (uint32_t i = 0; i < k.nobj; i++) {
		kinds[i] = obj_kind(obj_key(s, n, i));
		nimg += kinds[i] == SITE_GIF;
	}

	buf_printf(&bd.b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<title>%s</title>\n<link rel=\"stylesheet\" href=\"%s\">\n", title, shared_path[0]);
	for (uint32_t i = 0; i < k.nobj; i++)
		if (kinds[i] == SITE_CSS)
			buf_printf(&bd.b, "<link rel=\"stylesheet\" href=\"/css/%u-%u.css\">\n", n, i);
	buf_printf(&bd.b, "<script src=\"%s\" defer></script>\n", shared_path[1]);
	for (uint32_t i = 0; i < k.nobj; i++)
		if (kinds[i] == SITE_JS)
			buf_printf(&bd.b, "<script src=\"/js/%u-%u.js\" defer></script>\n", n, i);
	buf_printf(&bd.b, "</head>\n<body>\n<header><a href=\"/\"><img src=\"%s\" alt=\"logo\" "
		   "width=\"120\" height=\"40\"></a></header>\n<main>\n<h1>%s</h1>\n",
		   shared_path[2], title);

	/* The block made per fetch goes here, under the heading. */
	b_cut(&bd);
	dyn_at = bd.nv;
	/* Text fills what the markup and half the per-fetch block leave
	 * of the page's size, so fetches average page_size. */
	fixed = (uint64_t)((double)k.size * (1 - s->dynamic / 2));
	markup_guess = bd.b.len + nimg * 80 + k.nlinks * 64 + k.ndl * 80 + 120;
	text = fixed > markup_guess + 200 ? fixed - markup_guess : 200;
	npara = (unsigned)MIN(MAX_PARA, MAX(1, text / PARA));
	for (unsigned p = 0; p < npara; p++) {
		uint64_t len = text / npara + (p + 1 == npara ? text % npara : 0);

		buf_puts(&bd.b, "<p>");
		b_text(&bd, content_get(s->ct, CONTENT_TEXT, rng_next(&r), len), len);
		buf_puts(&bd.b, "</p>\n");
		/* Images spread evenly among the paragraphs. */
		for (; rank < nimg && (uint64_t)rank * npara < (uint64_t)(p + 1) * nimg; rank++, img_at++) {
			uint64_t key;
			unsigned gw, gh;

			while (kinds[img_at] != SITE_GIF)
				img_at++;
			key = obj_key(s, n, img_at);
			gif_dims(key, obj_size(s, key), &gw, &gh);
			words(w, sizeof(w), key, 1);
			buf_printf(&bd.b, "<img src=\"/img/%u-%u.gif\" alt=\"%s\" width=\"%u\" height=\"%u\">\n",
				   n, img_at, w, gw, gh);
		}
	}
	buf_puts(&bd.b, "</main>\n<nav>\n<ul>\n");
	for (uint32_t i = 0; i < k.nlinks; i++) {
		page_href(href, sizeof(href), pick_page(s, &r));
		words(w, sizeof(w), rng_next(&r), 1 + (unsigned)rng_below(&r, 4));
		buf_printf(&bd.b, "<li><a href=\"%s\">%s</a></li>\n", href, w);
	}
	buf_puts(&bd.b, "</ul>\n</nav>\n");
	for (uint32_t i = 0; i < k.ndl; i++) {
		uint32_t f = (uint32_t)rng_below(&r, s->npages);

		words(w, sizeof(w), rng_next(&r), 2);
		buf_printf(&bd.b, "<p class=\"download\"><a href=\"/dl/%u.bin\">Download %s</a></p>\n", f, w);
	}
	buf_printf(&bd.b, "<footer><p>%s</p></footer>\n</body>\n</html>\n", title);
	b_cut(&bd);

	pg = xmalloc(sizeof(*pg) + bd.nv * sizeof(pg->seg[0]) + bd.b.len);
	mk = (char *)&pg->seg[bd.nv];
	memcpy(mk, bd.b.p, bd.b.len);
	size = 0;
	for (size_t i = 0; i < bd.nv; i++) {
		pg->seg[i].p = bd.v[i].text ? bd.v[i].text : mk + bd.v[i].off;
		pg->seg[i].n = bd.v[i].n;
		pg->seg[i].markup = !bd.v[i].text;
		size += bd.v[i].n;
	}
	pg->nseg = bd.nv;
	pg->dyn_at = dyn_at;
	pg->size = size;
	pg->target = k.size;
	free(bd.v);
	buf_free(&bd.b);
	return pg;
}

/* ---- blobs --------------------------------------------------------------- */

static void hexcolor(struct rng *r, char *out, size_t n)
{
	snprintf(out, n, "#%06x", (unsigned)rng_below(r, 0x1000000));
}

static void make_css(char *blob, struct rng *r)
{
	static const char *const disp[] = { "block", "flex", "none", "inline-block", "grid" };
	static const char *const align[] = { "left", "center", "right", "justify" };
	size_t at = 0;
	char c[16];

	for (;;) {
		struct buf b = { 0 };
		const char *w1 = content_word(rng_next(r)), *w2 = content_word(rng_next(r));
		unsigned nprop = 2 + (unsigned)rng_below(r, 5);

		switch (rng_below(r, 5)) {
		case 0: buf_printf(&b, ".%s-%s {\n", w1, w2); break;
		case 1: buf_printf(&b, "#%s {\n", w1); break;
		case 2: buf_printf(&b, "%s .%s {\n", rng_below(r, 2) ? "main" : "nav", w1); break;
		case 3: buf_printf(&b, "h%u.%s {\n", 1 + (unsigned)rng_below(r, 4), w1); break;
		default: buf_printf(&b, "div.%s > p {\n", w1); break;
		}
		for (unsigned i = 0; i < nprop; i++) {
			hexcolor(r, c, sizeof(c));
			switch (rng_below(r, 9)) {
			case 0: buf_printf(&b, "  color: %s;\n", c); break;
			case 1: buf_printf(&b, "  background-color: %s;\n", c); break;
			case 2: buf_printf(&b, "  margin: %upx %upx;\n", (unsigned)rng_below(r, 32),
					   (unsigned)rng_below(r, 32)); break;
			case 3: buf_printf(&b, "  padding: %upx;\n", (unsigned)rng_below(r, 24)); break;
			case 4: buf_printf(&b, "  font-size: %upx;\n", 10 + (unsigned)rng_below(r, 22)); break;
			case 5: buf_printf(&b, "  display: %s;\n", disp[rng_below(r, ARRAY_SIZE(disp))]); break;
			case 6: buf_printf(&b, "  border: 1px solid %s;\n", c); break;
			case 7: buf_printf(&b, "  text-align: %s;\n", align[rng_below(r, ARRAY_SIZE(align))]); break;
			default: buf_printf(&b, "  line-height: 1.%u;\n", 2 + (unsigned)rng_below(r, 7)); break;
			}
		}
		buf_puts(&b, "}\n\n");
		if (at + b.len > BLOB) {
			buf_free(&b);
			break;
		}
		memcpy(blob + at, b.p, b.len);
		at += b.len;
		buf_free(&b);
	}
	memset(blob + at, '\n', BLOB - at);
}

static void make_js(char *blob, struct rng *r)
{
	size_t at = 0;
	char s[96];

	for (;;) {
		struct buf b = { 0 };
		const char *w1 = content_word(rng_next(r)), *w2 = content_word(rng_next(r));
		const char *w3 = content_word(rng_next(r));
		size_t len;

		content_sentence(r, s, sizeof(s), 3 + (unsigned)rng_below(r, 6));
		switch (rng_below(r, 3)) {
		case 0:
			buf_printf(&b, "function %s_%s(a, b) {\n  var %s = a + b * %u;\n  if (%s > %u) {\n"
				   "    return \"%s\";\n  }\n  return %s;\n}\n\n", w1, w2, w3,
				   (unsigned)rng_below(r, 100), w3, (unsigned)rng_below(r, 1000), s, w3);
			break;
		case 1:
			buf_printf(&b, "document.addEventListener(\"DOMContentLoaded\", function () {\n"
				   "  var el = document.getElementById(\"%s-%s\");\n  if (el) {\n"
				   "    el.textContent = \"%s\";\n  }\n});\n\n", w1, w2, s);
			break;
		default:
			buf_printf(&b, "var %s_%s = {\n  name: \"%s\",\n  count: %u,\n  items: [\"%s\", \"%s\"]\n};\n\n",
				   w1, w2, s, (unsigned)rng_below(r, 500), w2, w3);
			break;
		}
		len = b.len;
		if (at + len > BLOB) {
			buf_free(&b);
			break;
		}
		memcpy(blob + at, b.p, len);
		at += len;
		buf_free(&b);
	}
	memset(blob + at, '\n', BLOB - at);
}

/* Image data as GIF sub-blocks: a length byte of 255, then 255 bytes. */
static void make_gif(char *blob, const struct content *ct, uint64_t key)
{
	const char *bin = content_get(ct, CONTENT_BINARY, key, BLOB);

	for (size_t i = 0; i < BLOB; i += 256) {
		blob[i] = (char)0xff;
		memcpy(blob + i + 1, bin + i, 255);
	}
}

struct site *site_new(const struct model *m, const struct content *ct, uint64_t seed)
{
	struct site *s = xcalloc(1, sizeof(*s));
	struct rng r;

	for (unsigned i = 0; i < 256; i++)
		gif_len[i] = (unsigned char)i;
	s->m = m;
	s->ct = ct;
	s->seed = seed;
	rng_seed(&r, seed);
	s->npages = count(model_draw(m, "site_pages", &r, 1000), SITE_MAX_PAGES);
	if (!s->npages)
		s->npages = 1;
	s->tail = model_draw(m, "object_tail", &r, 0.05);
	s->dynamic = model_draw(m, "page_dynamic", &r, 0);
	s->dynamic = s->dynamic > 0 ? MIN(s->dynamic, 1.0) : 0;
	rng_seed(&s->r, rng_next(&r));
	s->pages = xcalloc(s->npages, sizeof(*s->pages));
	s->css = xmalloc(BLOB);
	s->js = xmalloc(BLOB);
	s->gif = xmalloc(BLOB);
	make_css(s->css, &r);
	make_js(s->js, &r);
	make_gif(s->gif, ct, rng_next(&r));
	s->video = video_new(m, rng_next(&r));
	return s;
}

void site_free(struct site *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->npages; i++)
		free(s->pages[i]);
	free(s->pages);
	free(s->css);
	free(s->js);
	free(s->gif);
	video_free(s->video);
	free(s);
}

uint32_t site_pages(const struct site *s)
{
	return s->npages;
}

struct video *site_video(const struct site *s)
{
	return s->video;
}

/* ---- lookup -------------------------------------------------------------- */

/* A decimal number at *p (no sign, no leading zero, at most 9 digits). */
static bool number(const char **p, const char *end, uint32_t *v)
{
	const char *s = *p;
	uint32_t x = 0;

	while (*p < end && **p >= '0' && **p <= '9' && *p - s < 9)
		x = x * 10 + (uint32_t)(*(*p)++ - '0');
	if (*p == s || (*p < end && **p >= '0' && **p <= '9') || (s[0] == '0' && *p - s > 1))
		return false;
	*v = x;
	return true;
}

static bool eat(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/* The block a fetch of a page adds: what changes between two fetches
 * (headlines, counters, ads), between none and page_dynamic of the page. */
static const char dyn_open[] = "<aside class=\"latest\"><p>", dyn_close[] = "</p></aside>\n";
#define DYN_MARKUP (sizeof(dyn_open) - 1 + sizeof(dyn_close) - 1)

static uint32_t dyn_bytes(struct site *s, const struct page *pg)
{
	double x = rng_unit(&s->r) * s->dynamic * (double)pg->target;

	return x > DYN_MARKUP + 1 && x < CONTENT_BLOB ? (uint32_t)x : 0;
}

static int lookup_page(struct site *s, uint32_t n, struct site_obj *o)
{
	struct page *pg;

	if (n >= s->npages)
		return -ENOENT;
	o->kind = SITE_PAGE;
	o->page = n;
	o->key = n;
	o->dkey = rng_next(&s->r);
	pg = s->pages[n];
	if (!pg) {
		/* Queued answers point into cached pages, so those stay
		 * for good; past the bound a page is built for its size
		 * here and again for its bytes in site_send(). */
		pg = page_build(s, n);
		if (s->ncached < MAX_CACHED) {
			s->pages[n] = pg;
			s->ncached++;
		} else {
			o->dyn = dyn_bytes(s, pg);
			o->size = pg->size + o->dyn;
			free(pg);
			return 0;
		}
	}
	o->dyn = dyn_bytes(s, pg);
	o->size = pg->size + o->dyn;
	o->cached = pg;
	return 0;
}

/* seg[from, to) of pg, as references when they stay (a cached page) */
static void page_segs(const struct page *pg, size_t from, size_t to, bool stays, struct conn *c)
{
	for (size_t i = from; i < to; i++) {
		if (stays || !pg->seg[i].markup)
			conn_write_ref(c, pg->seg[i].p, pg->seg[i].n);
		else
			conn_write(c, pg->seg[i].p, pg->seg[i].n);
	}
}

static void page_send(const struct site *s, const struct page *pg, const struct site_obj *o,
		      bool stays, struct conn *c)
{
	page_segs(pg, 0, pg->dyn_at, stays, c);
	if (o->dyn) {
		size_t n = o->dyn - DYN_MARKUP;

		conn_write_ref(c, dyn_open, sizeof(dyn_open) - 1);
		conn_write_ref(c, content_get(s->ct, CONTENT_TEXT, o->dkey, n), n);
		conn_write_ref(c, dyn_close, sizeof(dyn_close) - 1);
	}
	page_segs(pg, pg->dyn_at, pg->nseg, stays, c);
}

int site_lookup(struct site *s, const char *path, size_t n, struct site_obj *o)
{
	static const struct {
		const char *dir, *ext;
		uint8_t kind;
	} objs[] = {
		{ "/css/", ".css", SITE_CSS }, { "/js/", ".js", SITE_JS }, { "/img/", ".gif", SITE_GIF },
	};
	const char *p = path, *end = path + n;
	uint32_t a, b, c;

	memset(o, 0, sizeof(*o));
	if ((n == 1 && path[0] == '/') || (n == 11 && !memcmp(path, "/index.html", 11)))
		return lookup_page(s, 0, o);
	if (eat(&p, end, "/p/")) {
		if (!number(&p, end, &a) || !eat(&p, end, ".html") || p != end || !a)
			return -ENOENT;
		return lookup_page(s, a, o);
	}
	for (unsigned i = 0; i < 3; i++) {
		if (n == strlen(shared_path[i]) && !memcmp(path, shared_path[i], n)) {
			o->kind = shared_kind[i];
			o->shared = 1;
			o->page = UINT32_MAX;
			o->key = mix(s->seed, UINT32_MAX, i);
			o->size = obj_size(s, o->key);
			return 0;
		}
	}
	if (eat(&p, end, "/v/")) {
		if (!s->video || !number(&p, end, &a))
			return -ENOENT;
		if (eat(&p, end, "/master.m3u8") && p == end)
			return video_master(s->video, a, o);
		if (!eat(&p, end, "/") || !number(&p, end, &b) || !eat(&p, end, "k/"))
			return -ENOENT;
		if (eat(&p, end, "index.m3u8") && p == end)
			return video_media(s->video, a, b, o);
		if (eat(&p, end, "init.mp4") && p == end)
			return video_init(s->video, a, b, o);
		if (number(&p, end, &c) && eat(&p, end, ".m4s") && p == end)
			return video_segment(s->video, a, b, c, o);
		return -ENOENT;
	}
	if (eat(&p, end, "/dl/")) {
		if (!number(&p, end, &a) || !eat(&p, end, ".bin") || p != end || a >= s->npages)
			return -ENOENT;
		o->kind = SITE_FILE;
		o->page = a;
		o->key = mix(s->seed, a, 3);
		o->size = file_size(s, o->key);
		return 0;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(objs); i++) {
		struct counts k;

		p = path;
		if (!eat(&p, end, objs[i].dir))
			continue;
		if (!number(&p, end, &a) || !eat(&p, end, "-") || !number(&p, end, &b) ||
		    !eat(&p, end, objs[i].ext) || p != end || a >= s->npages)
			return -ENOENT;
		page_counts(s, a, &k);
		o->key = obj_key(s, a, b);
		if (b >= k.nobj || obj_kind(o->key) != objs[i].kind)
			return -ENOENT;
		o->kind = objs[i].kind;
		o->page = a;
		o->size = obj_size(s, o->key);
		return 0;
	}
	return -ENOENT;
}

const char *site_type(const struct site_obj *o)
{
	switch (o->kind) {
	case SITE_PAGE: return "text/html; charset=utf-8";
	case SITE_CSS: return "text/css";
	case SITE_JS: return "text/javascript";
	case SITE_GIF: return "image/gif";
	case SITE_MASTER:
	case SITE_MEDIA: return "application/vnd.apple.mpegurl";
	case SITE_INIT: return "video/mp4";
	case SITE_SEGMENT: return "video/iso.segment";
	default: return "application/octet-stream";
	}
}

/* ---- bodies -------------------------------------------------------------- */

/* n bytes of a text blob from a place chosen by key, at the start of a
 * top-level line (a rule or a function), wrapping round at its end. */
static void blob_send(const char *blob, struct conn *c, uint64_t key, uint64_t n)
{
	size_t off = (size_t)(key % BLOB);

	while (off > 0 && !(blob[off - 1] == '\n' && blob[off] != ' ' && blob[off] != '}' &&
			    blob[off] != '\n'))
		off--;
	while (n) {
		size_t take = (size_t)MIN(n, (uint64_t)(BLOB - off));

		conn_write_ref(c, blob + off, take);
		n -= take;
		off = 0;
	}
}

/* A GIF89a of exactly size bytes: header, a two-colour table, one image
 * whose data sub-blocks are random (nothing decodes LZW on the wire). */
static void gif_send(const struct site *s, struct conn *c, uint64_t key, uint64_t size)
{
	unsigned char h[30];
	unsigned w, hh;
	uint64_t d = size - 32, k = d / 256, t = d % 256;
	size_t at = (size_t)(key % (BLOB / 256)) * 256;

	gif_dims(key, size, &w, &hh);
	memcpy(h, "GIF89a", 6);
	h[6] = (unsigned char)w;
	h[7] = (unsigned char)(w >> 8);
	h[8] = (unsigned char)hh;
	h[9] = (unsigned char)(hh >> 8);
	h[10] = 0x80;              /* a global colour table of 2 entries */
	h[11] = 0;
	h[12] = 0;
	memcpy(h + 13, "\x00\x00\x00\xff\xff\xff", 6);
	h[19] = 0x2c;              /* image descriptor at 0,0 */
	memset(h + 20, 0, 4);
	h[24] = (unsigned char)w;
	h[25] = (unsigned char)(w >> 8);
	h[26] = (unsigned char)hh;
	h[27] = (unsigned char)(hh >> 8);
	h[28] = 0;
	h[29] = 2;                 /* LZW minimum code size */
	conn_write(c, h, sizeof(h));
	/* A lone byte left over cannot be a sub-block (a zero length ends
	 * the data): make the last full block and it two blocks instead. */
	if (t == 1)
		k--;
	while (k) {
		uint64_t take = MIN(k, (uint64_t)(BLOB - at) / 256);

		conn_write_ref(c, s->gif + at, (size_t)take * 256);
		k -= take;
		at = 0;
	}
	if (t == 1) {
		const char *bin = content_get(s->ct, CONTENT_BINARY, key, 255);

		conn_write_ref(c, &gif_len[127], 1);
		conn_write_ref(c, bin, 127);
		conn_write_ref(c, &gif_len[128], 1);
		conn_write_ref(c, bin + 127, 128);
	} else if (t) {
		conn_write_ref(c, &gif_len[t - 1], 1);
		conn_write_ref(c, content_get(s->ct, CONTENT_BINARY, key, t - 1), (size_t)t - 1);
	}
	conn_write_ref(c, gif_end, 2);
}

void site_send(const struct site *s, const struct site_obj *o, struct conn *c)
{
	const struct page *pg = o->cached;

	switch (o->kind) {
	case SITE_PAGE:
		if (!pg) {
			struct page *tmp = page_build(s, o->page);

			page_send(s, tmp, o, false, c);
			free(tmp);
			break;
		}
		page_send(s, pg, o, true, c);
		break;
	case SITE_CSS:
		blob_send(s->css, c, o->key, o->size);
		break;
	case SITE_JS:
		blob_send(s->js, c, o->key, o->size);
		break;
	case SITE_GIF:
		gif_send(s, c, o->key, o->size);
		break;
	case SITE_MASTER:
	case SITE_MEDIA:
	case SITE_INIT:
	case SITE_SEGMENT:
		video_send(s->video, s->ct, o, c);
		break;
	default:
		content_send(s->ct, c, CONTENT_BINARY, o->key, o->size);
		break;
	}
}
