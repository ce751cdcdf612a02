/* fuzz-http.c - libFuzzer target for the web agents' parsers (src/agents/
 * http.h) and the site's path lookup (site.h): any bytes, read as a
 * request, a response, a chunked body and HTML, must parse or be
 * refused, never crash, and what parses must point inside the input. */
#include "../../src/agents/http.h"
#include "../../src/agents/site.h"
#include "../../src/lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model_text[] =
	"start open_page\naction open_page\nnext open_page end 100%\n"
	"param site_pages 50\nparam page_size lognormal(4 KiB, 0.5)\n"
	"param objects_per_page uniform(0, 12)\nparam object_size lognormal(2 KiB, 1)\n"
	"param links_per_page uniform(2, 8)\nparam downloads_per_page geometric(1)\n";

static struct site *site;
static struct model *model;
static struct content content;

static void check_in(const char *p, size_t n, const char *buf, size_t len)
{
	if (n && (p < buf || p + n > buf + len))
		__builtin_trap();
}

static void on_url(void *arg, enum http_url_kind kind, const char *url, size_t n)
{
	const char **span = arg;
	char out[HTTP_URL_MAX];
	int r;

	if (kind != HTTP_URL_OBJECT && kind != HTTP_URL_LINK)
		__builtin_trap();
	check_in(url, n, span[0], (size_t)(span[1] - span[0]));
	r = http__url_path(url, n, "localhost", "/p/3/x.html", out, sizeof(out));
	if (r >= 0 && ((size_t)r >= sizeof(out) || strlen(out) != (size_t)r || out[0] != '/'))
		__builtin_trap();
}

static void request(const char *buf, size_t len)
{
	struct http_req r;
	long n = http__parse_request(buf, len, &r);

	if (n > (long)len)
		__builtin_trap();
	if (n > 0 && site) {
		struct site_obj o;
		const char *q = memchr(r.target, '?', r.target_len);

		/* In buf, or "/" for an absolute URL without a path. */
		if (!(r.target_len == 1 && r.target[0] == '/'))
			check_in(r.target, r.target_len, buf, len);
		if (site_lookup(site, r.target, q ? (size_t)(q - r.target) : r.target_len, &o) == 0) {
			if (!site_type(&o) || (o.kind == SITE_PAGE && !o.size))
				__builtin_trap();
		}
	}
}

static void response(const char *buf, size_t len)
{
	struct http_resp r;
	long n = http__parse_response(buf, len, &r);

	if (n > (long)len || (n > 0 && (r.status < 100 || r.status > 999)))
		__builtin_trap();
}

/* The body as chunked, fed in pieces whose sizes the input picks. */
static void chunked(const char *buf, size_t len)
{
	struct http_chunked s = { 0 };
	size_t at = 0, step = len ? (unsigned char)buf[0] % 7 + 1 : 1;

	while (at < len) {
		size_t off, nd, piece = MIN(step, len - at);
		bool done;
		long n = http__chunked(&s, buf + at, piece, &off, &nd, &done);

		if (n < 0 || done)
			break;
		if ((size_t)n > piece || (nd && off + nd > (size_t)n))
			__builtin_trap();
		at += (size_t)n;
		if (!n)
			step++;   /* need more than the piece held */
	}
}

/* HTML as it would arrive: in two parts, the unscanned rest carried. */
static void html(const char *buf, size_t len)
{
	size_t cut = len / 2, used;
	const char *span[2] = { buf, buf + len };

	used = http__html_scan(buf, cut, false, on_url, span);
	if (used > cut)
		__builtin_trap();
	used += http__html_scan(buf + used, len - used, true, on_url, span);
	if (used != len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	if (!site) {
		char *err = NULL;

		model = model_parse("fuzz.model", model_text, sizeof(model_text) - 1, &err);
		if (!model)
			__builtin_trap();
		content_init(&content, 1);
		site = site_new(model, &content, 1);
	}
	request(buf, size);
	response(buf, size);
	chunked(buf, size);
	html(buf, size);
	return 0;
}
