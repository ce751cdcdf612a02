/* http-wire.c - the web agents' message parsers (http.h): request and
 * response heads, chunked bodies, the HTML scan for a page's URLs and
 * the reduction of a URL to a path on the same site.  Pure functions on
 * (buf, len), driven by fuzz-http. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../lib/util.h"
#include "http.h"

/* ---- parsers --------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* A field value byte: visible, space, tab or obs-text. */
static bool is_fchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool lit_eq(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && !strncasecmp(p, lit, n);
}

/* Does the comma-separated list [p, p+n) hold token tok (any case)? */
static bool list_has(const char *p, size_t n, const char *tok)
{
	const char *end = p + n;

	while (p < end) {
		const char *s, *e;

		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		s = p;
		while (p < end && *p != ',')
			p++;
		e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (lit_eq(s, (size_t)(e - s), tok))
			return true;
	}
	return false;
}

/* The last element of a comma-separated list. */
static bool list_last_is(const char *p, size_t n, const char *tok)
{
	const char *e = p + n, *s;

	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == ','))
		e--;
	s = e;
	while (s > p && s[-1] != ',')
		s--;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return lit_eq(s, (size_t)(e - s), tok);
}

/* Content-Length: digits only, at most 18 of them. */
static bool parse_length(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

/* A header field line [p, e): name and trimmed value; false if malformed. */
static bool field(const char *p, const char *e, const char **name, size_t *nlen, const char **val,
		  size_t *vlen)
{
	const char *s = p;

	while (p < e && is_tchar((unsigned char)*p))
		p++;
	if (p == s || p == e || *p != ':')
		return false;
	*name = s;
	*nlen = (size_t)(p - s);
	p++;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (const char *q = p; q < e; q++)
		if (!is_fchar((unsigned char)*q))
			return false;
	*val = p;
	*vlen = (size_t)(e - p);
	return true;
}

static const char *const method_names[] = {
	[HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD", [HTTP_POST] = "POST", [HTTP_PUT] = "PUT",
	[HTTP_DELETE] = "DELETE", [HTTP_OPTIONS] = "OPTIONS", [HTTP_PATCH] = "PATCH",
	[HTTP_TRACE] = "TRACE", [HTTP_CONNECT] = "CONNECT",
};

/* "HTTP/d.d" at p (8 bytes): 1 for 1.0/1.1 (minor in *minor), 0 for
 * another version, -1 when it is not a version at all. */
static int version(const char *p, size_t n, uint8_t *minor)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
	    p[7] < '0' || p[7] > '9')
		return -1;
	if (p[5] != '1' || p[7] > '1')
		return 0;
	*minor = (uint8_t)(p[7] - '0');
	return 1;
}

/* Request line [p, e). */
static long request_line(const char *p, const char *e, struct http_req *r)
{
	const char *sp1 = memchr(p, ' ', (size_t)(e - p)), *sp2, *t;
	size_t tn;

	if (!sp1 || sp1 == p)
		return -400;
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return -400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return -400;
	t = sp1 + 1;
	tn = (size_t)(sp2 - t);
	for (size_t i = 0; i < tn; i++)
		if (!is_vchar((unsigned char)t[i]))
			return -400;
	switch (version(sp2 + 1, (size_t)(e - sp2 - 1), &r->minor)) {
	case -1: return -400;
	case 0: return -505;
	}
	r->method = HTTP_OTHER;
	for (unsigned i = 0; i < ARRAY_SIZE(method_names); i++)
		if ((size_t)(sp1 - p) == strlen(method_names[i]) && !memcmp(p, method_names[i], (size_t)(sp1 - p)))
			r->method = (uint8_t)i;
	/* origin-form, or absolute-form reduced to its path; '*' and an
	 * authority (CONNECT) pass as they are for the method to refuse. */
	if (tn > 8 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
		const char *a = (const char *)memchr(t, ':', tn) + 3;
		const char *slash = memchr(a, '/', (size_t)(t + tn - a));

		if (slash) {
			tn -= (size_t)(slash - t);
			t = slash;
		} else {
			t = "/";
			tn = 1;
		}
	} else if (t[0] != '/' && !(tn == 1 && t[0] == '*') && r->method != HTTP_CONNECT) {
		return -400;
	}
	r->target = t;
	r->target_len = tn;
	return 0;
}

long http__parse_request(const char *buf, size_t len, struct http_req *r)
{
	const char *p = buf, *end = buf + len, *nl, *e;
	bool host = false, have_len = false, close = false, ka = false;
	size_t nfields = 0;
	long err;

	memset(r, 0, sizeof(*r));
	/* Empty lines before a request are to be ignored (RFC 9112 2.2). */
	while (p < end && (*p == '\r' || *p == '\n')) {
		if (++p - buf > 16)
			return -400;
	}
	if (p == end)
		return 0;
	nl = memchr(p, '\n', MIN((size_t)(end - p), (size_t)HTTP_MAX_LINE + 1));
	if (!nl) {
		/* Refuse garbage before it fills the buffer: what is in
		 * must begin as a method, then a target. */
		const char *q = p;

		while (q < end && is_tchar((unsigned char)*q))
			q++;
		if (q < end && (*q != ' ' || q == p))
			return -400;
		if ((size_t)(end - p) > HTTP_MAX_LINE)
			return -414;
		return 0;
	}
	e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	err = request_line(p, e, r);
	if (err)
		return err;
	for (;;) {
		const char *name, *val;
		size_t nn, vn;

		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return len > HTTP_MAX_HEAD ? -431 : 0;
		if (nl + 1 - buf > HTTP_MAX_HEAD)
			return -431;
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (e == p)
			break;
		if (++nfields > HTTP_MAX_FIELDS)
			return -431;
		/* A line folded onto the last (obs-fold) is refused. */
		if (!field(p, e, &name, &nn, &val, &vn))
			return -400;
		if (lit_eq(name, nn, "host")) {
			if (host)
				return -400;
			host = true;
		} else if (lit_eq(name, nn, "content-length")) {
			uint64_t v;

			if (!parse_length(val, vn, &v) || (have_len && v != r->body))
				return -400;
			have_len = true;
			r->body = v;
		} else if (lit_eq(name, nn, "transfer-encoding")) {
			return -501;
		} else if (lit_eq(name, nn, "connection")) {
			close |= list_has(val, vn, "close");
			ka |= list_has(val, vn, "keep-alive");
		}
	}
	if (r->minor == 1 && !host)
		return -400;
	r->keep_alive = !close && (r->minor == 1 || ka);
	return (long)(nl + 1 - buf);
}

long http__parse_response(const char *buf, size_t len, struct http_resp *r)
{
	const char *p = buf, *end = buf + len, *nl, *e;
	bool have_len = false, close = false, ka = false;
	size_t nfields = 0;

	memset(r, 0, sizeof(*r));
	nl = memchr(p, '\n', MIN(len, (size_t)HTTP_MAX_LINE + 1));
	if (!nl) {
		size_t k = MIN(len, (size_t)5);

		if (memcmp(p, "HTTP/", k) || len > HTTP_MAX_LINE)
			return -1;
		return 0;
	}
	e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (e - p < 12 || version(p, 8, &r->minor) != 1 || p[8] != ' ' || (e - p > 12 && p[12] != ' '))
		return -1;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		r->status = r->status * 10 + (p[i] - '0');
	}
	if (r->status < 100)
		return -1;
	for (const char *q = p + 12; q < e; q++)
		if (!is_fchar((unsigned char)*q))
			return -1;
	for (;;) {
		const char *name, *val;
		size_t nn, vn;

		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return len > HTTP_MAX_RESP_HEAD ? -1 : 0;
		if (nl + 1 - buf > HTTP_MAX_RESP_HEAD)
			return -1;
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (e == p)
			break;
		if (++nfields > HTTP_MAX_RESP_FIELDS || !field(p, e, &name, &nn, &val, &vn))
			return -1;
		if (lit_eq(name, nn, "content-length")) {
			uint64_t v;

			if (!parse_length(val, vn, &v) || (r->length && v != r->body))
				return -1;
			r->length = have_len = true;
			r->body = v;
		} else if (lit_eq(name, nn, "transfer-encoding")) {
			if (list_last_is(val, vn, "chunked"))
				r->chunked = true;
			else
				r->coded = true;
		} else if (lit_eq(name, nn, "connection")) {
			close |= list_has(val, vn, "close");
			ka |= list_has(val, vn, "keep-alive");
		} else if (lit_eq(name, nn, "content-type")) {
			r->html = vn >= 9 && !strncasecmp(val, "text/html", 9) &&
				  (vn == 9 || val[9] == ';' || val[9] == ' ' || val[9] == '\t');
		}
	}
	if (r->chunked && r->coded)
		r->chunked = false;     /* chunked, then another coding: read to close */
	if (r->chunked || r->coded)
		r->length = false;
	r->keep_alive = !close && !r->coded && (r->minor == 1 || ka);
	return (long)(nl + 1 - buf);
}

enum {
	CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LINE,
	CH_END_LF, CH_DONE,
};

#define CH_MAX_LINE 4096          /* a size line with its extensions */
#define CH_MAX_TRAILER 16384

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long http__chunked(struct http_chunked *s, const char *buf, size_t len, size_t *data, size_t *ndata,
		   bool *done)
{
	size_t i = 0;

	*data = *ndata = 0;
	*done = s->state == CH_DONE;
	if (s->state == CH_DATA && len) {
		size_t take = (size_t)MIN((uint64_t)len, s->left);

		*ndata = take;
		s->left -= take;
		if (!s->left)
			s->state = CH_DATA_CR;
		return (long)take;
	}
	for (; i < len && s->state != CH_DATA && s->state != CH_DONE; i++) {
		char c = buf[i];
		int h;

		switch (s->state) {
		case CH_SIZE:
			h = hexval(c);
			if (h >= 0) {
				if (++s->n > 15)
					return -1;
				s->left = s->left * 16 + (uint64_t)h;
			} else if (!s->n) {
				return -1;
			} else if (c == ';' || c == ' ' || c == '\t') {
				s->state = CH_EXT;
			} else if (c == '\r') {
				s->state = CH_SIZE_LF;
			} else if (c == '\n') {
				goto size_done;
			} else {
				return -1;
			}
			break;
		case CH_EXT:
			if (++s->n > CH_MAX_LINE)
				return -1;
			if (c == '\n')
				goto size_done;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
size_done:
			s->n = 0;
			s->state = s->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA_CR:
			if (c == '\r')
				s->state = CH_DATA_LF;
			else if (c == '\n')
				s->state = CH_SIZE;
			else
				return -1;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			s->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (c == '\r') {
				s->state = CH_END_LF;
				break;
			}
			if (c == '\n') {
				s->state = CH_DONE;
				break;
			}
			s->state = CH_TRAILER_LINE;
			/* fall through */
		case CH_TRAILER_LINE:
			if (++s->n > CH_MAX_TRAILER)
				return -1;
			if (c == '\n')
				s->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -1;
			s->state = CH_DONE;
			break;
		}
	}
	*done = s->state == CH_DONE;
	return (long)i;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

enum tag_kind { T_NONE, T_SRC, T_LINK, T_A };

/* One tag at buf[0] == '<', within lim bytes: its length, 0 when it
 * runs past lim, -1 when this '<' opens no tag. */
static long tag(const char *buf, size_t lim, http_url_fn *fn, void *arg)
{
	static const struct {
		const char *name;
		enum tag_kind kind;
	} tags[] = {
		{ "img", T_SRC }, { "script", T_SRC }, { "iframe", T_SRC }, { "embed", T_SRC },
		{ "source", T_SRC }, { "link", T_LINK }, { "a", T_A }, { "area", T_A },
	};
	const char *src = NULL, *href = NULL, *rel = NULL;
	size_t srcn = 0, hrefn = 0, reln = 0, i = 1, s;
	enum tag_kind kind = T_NONE;

	if (lim < 2)
		return 0;
	if (buf[1] == '/' || buf[1] == '!' || buf[1] == '?') {
		const char *gt = memchr(buf + 1, '>', lim - 1);

		return gt ? gt - buf + 1 : 0;
	}
	s = i;
	while (i < lim && ((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z') ||
			   (i > s && buf[i] >= '0' && buf[i] <= '9')))
		i++;
	if (i == s)
		return -1;
	if (i == lim)
		return 0;
	for (unsigned k = 0; k < ARRAY_SIZE(tags); k++)
		if (lit_eq(buf + s, i - s, tags[k].name))
			kind = tags[k].kind;
	for (;;) {
		const char *an, *av = NULL;
		size_t ann, avn = 0;

		while (i < lim && (is_space(buf[i]) || buf[i] == '/'))
			i++;
		if (i == lim)
			return 0;
		if (buf[i] == '>')
			break;
		an = buf + i;
		while (i < lim && !is_space(buf[i]) && buf[i] != '/' && buf[i] != '>' &&
		       (buf[i] != '=' || buf + i == an))
			i++;
		ann = (size_t)(buf + i - an);
		while (i < lim && is_space(buf[i]))
			i++;
		if (i == lim)
			return 0;
		if (buf[i] == '=') {
			i++;
			while (i < lim && is_space(buf[i]))
				i++;
			if (i == lim)
				return 0;
			if (buf[i] == '"' || buf[i] == '\'') {
				const char *q = memchr(buf + i + 1, buf[i], lim - i - 1);

				if (!q)
					return 0;
				av = buf + i + 1;
				avn = (size_t)(q - av);
				i = (size_t)(q - buf) + 1;
			} else {
				av = buf + i;
				while (i < lim && !is_space(buf[i]) && buf[i] != '>')
					i++;
				avn = (size_t)(buf + i - av);
			}
		}
		if (!av)
			continue;
		if (lit_eq(an, ann, "src") && !src) {
			src = av;
			srcn = avn;
		} else if (lit_eq(an, ann, "href") && !href) {
			href = av;
			hrefn = avn;
		} else if (lit_eq(an, ann, "rel") && !rel) {
			rel = av;
			reln = avn;
		}
	}
	if (kind == T_SRC && src) {
		fn(arg, HTTP_URL_OBJECT, src, srcn);
	} else if (kind == T_LINK && href && rel) {
		/* rel is a space-separated list: look for the words. */
		for (size_t k = 0; k < reln;) {
			size_t w = k;

			while (w < reln && !is_space(rel[w]))
				w++;
			if (lit_eq(rel + k, w - k, "stylesheet") || lit_eq(rel + k, w - k, "icon")) {
				fn(arg, HTTP_URL_OBJECT, href, hrefn);
				break;
			}
			k = w + 1;
		}
	} else if (kind == T_A && href) {
		fn(arg, HTTP_URL_LINK, href, hrefn);
	}
	return (long)i + 1;
}

size_t http__html_scan(const char *buf, size_t len, bool final, http_url_fn *fn, void *arg)
{
	size_t i = 0;

	while (i < len) {
		const char *lt = memchr(buf + i, '<', len - i);
		size_t at, lim;
		long r;

		if (!lt)
			return len;
		at = (size_t)(lt - buf);
		lim = MIN(len - at, (size_t)HTTP_MAX_TAG);
		r = tag(buf + at, lim, fn, arg);
		if (r > 0) {
			i = at + (size_t)r;
		} else if (r < 0) {
			i = at + 1;
		} else if (lim == HTTP_MAX_TAG) {
			i = at + HTTP_MAX_TAG;  /* too long to be a tag we want */
		} else if (final) {
			i = at + 1;
		} else {
			return at;
		}
	}
	return len;
}

int http__url_path(const char *url, size_t n, const char *host, const char *base, char *out,
		   size_t outlen)
{
	const char *p = url, *end, *hash, *path, *q;
	char tmp[HTTP_URL_MAX * 2];
	size_t tn = 0, o = 0, pathn;

	while (n && is_space(*p)) {
		p++;
		n--;
	}
	while (n && is_space(p[n - 1]))
		n--;
	hash = memchr(p, '#', n);
	end = hash ? hash : p + n;
	if (p == end || outlen < 2)
		return -1;
	/* A scheme: letters and such before the first ':', ahead of any
	 * '/', '?' or '#'. */
	q = p;
	while (q < end && *q != ':' && *q != '/' && *q != '?')
		q++;
	if (q < end && *q == ':') {
		if (!((q - p == 4 && !strncasecmp(p, "http", 4)) || (q - p == 5 && !strncasecmp(p, "https", 5))))
			return -1;
		p = q + 1;
		if (end - p < 2 || p[0] != '/' || p[1] != '/')
			return -1;
	}
	if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
		const char *a = p + 2, *ae = a, *hp;

		while (ae < end && *ae != '/' && *ae != '?')
			ae++;
		hp = memchr(a, ':', (size_t)(ae - a));
		if (memchr(a, '@', (size_t)(ae - a)) || !lit_eq(a, (size_t)((hp ? hp : ae) - a), host))
			return -1;
		p = ae;
		if (p == end || *p == '?')
			tmp[tn++] = '/';
	} else if (*p != '/') {
		/* Relative: the base's directory, then the URL. */
		const char *slash = base ? strrchr(base, '/') : NULL;
		size_t dn = slash ? (size_t)(slash - base) + 1 : 0;

		if (!dn || dn > sizeof(tmp) / 2)
			return -1;
		if (memchr(base, '?', dn))
			return -1;
		memcpy(tmp, base, dn);
		tn = dn;
	}
	if ((size_t)(end - p) > sizeof(tmp) - tn)
		return -1;
	memcpy(tmp + tn, p, (size_t)(end - p));
	tn += (size_t)(end - p);
	/* Remove dot segments from the path (RFC 3986 5.2.4, roughly). */
	path = tmp;
	q = memchr(tmp, '?', tn);
	pathn = q ? (size_t)(q - tmp) : tn;
	for (size_t i = 0; i < pathn;) {
		size_t j = i + 1, sn;

		while (j < pathn && path[j] != '/')
			j++;
		sn = j - i - 1;      /* the segment after path[i] == '/' */
		if (sn == 1 && path[i + 1] == '.') {
			if (j == pathn)
				out[o++] = '/';
		} else if (sn == 2 && path[i + 1] == '.' && path[i + 2] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			if (j == pathn)
				out[o++] = '/';
		} else {
			if (o + (j - i) >= outlen)
				return -1;
			memcpy(out + o, path + i, j - i);
			o += j - i;
		}
		i = j;
	}
	if (!o)
		out[o++] = '/';
	if (o + (tn - pathn) >= outlen)
		return -1;
	memcpy(out + o, tmp + pathn, tn - pathn);
	o += tn - pathn;
	out[o] = 0;
	for (size_t i = 0; i < o; i++)
		if (!is_vchar((unsigned char)out[i]))
			return -1;
	return (int)o;
}
