/* hls.c - HLS playlists, the throughput estimate and the choice of a
 * rung (hls.h).  Playlists are read a line at a time, as RFC 8216 lays
 * them out: the first line is #EXTM3U, a line that begins with #EXT is a
 * tag, another # line a comment, a blank line nothing, and any other a
 * URI, which belongs to the tag before it that waits for one
 * (EXT-X-STREAM-INF in a master playlist, EXTINF in a media one). */
#include <math.h>
#include <string.h>

#include "../lib/util.h"
#include "hls.h"

#define DUR_MAX 86400.0            /* s: a segment or a target, at most */

struct lines {
	const char *p, *end;
	unsigned no;
};

/* The next line (without CR LF) into s and n; false at the end. */
static bool next_line(struct lines *l, const char **s, size_t *n)
{
	const char *nl;

	if (l->p >= l->end)
		return false;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	*s = l->p;
	*n = (size_t)((nl ? nl : l->end) - l->p);
	l->p = nl ? nl + 1 : l->end;
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	l->no++;
	return true;
}

/* The next tag or URI line, past blank lines and comments. */
static bool next_item(struct lines *l, const char **s, size_t *n)
{
	while (next_line(l, s, n))
		if (*n && ((*s)[0] != '#' || (*n >= 4 && !memcmp(*s, "#EXT", 4))))
			return true;
	return false;
}

/* Line s is tag name: its value (after ':') into val and vn. */
static bool tag(const char *s, size_t n, const char *name, const char **val, size_t *vn)
{
	size_t k = strlen(name);

	if (n < k || memcmp(s, name, k) || (n > k && s[k] != ':'))
		return false;
	*val = n > k ? s + k + 1 : s + n;
	*vn = n > k ? n - k - 1 : 0;
	return true;
}

/* A decimal-integer: 1 to 20 digits, no more than UINT64_MAX. */
static bool dec_int(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* A decimal-floating-point: digits, and a fraction after a '.'. */
static bool dec_float(const char *s, size_t n, double *v)
{
	double x = 0, scale = 1;
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 12)
		x = x * 10 + (s[i++] - '0');
	if (!i)
		return false;
	if (i < n && s[i] == '.') {
		size_t f = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (i - f < 9) {
				scale /= 10;
				x += (s[i] - '0') * scale;
			}
			i++;
		}
		if (i == f)
			return false;
	}
	*v = x;
	return i == n;
}

/* Attribute name of an attribute list: 1 and its value (quotes
 * removed), 0 when the list has none, -1 when the list is malformed. */
static int attr(const char *s, size_t n, const char *name, const char **val, size_t *vn)
{
	size_t i = 0, k = strlen(name);
	int found = 0;

	while (i < n) {
		size_t a = i, v;

		while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
				 s[i] == '-'))
			i++;
		if (i == a || i >= n || s[i] != '=')
			return -1;
		bool match = i - a == k && !memcmp(s + a, name, k);

		v = ++i;
		if (i < n && s[i] == '"') {
			const char *q = memchr(s + i + 1, '"', n - i - 1);

			if (!q)
				return -1;
			if (match && !found) {
				*val = s + i + 1;
				*vn = (size_t)(q - s - i - 1);
				found = 1;
			}
			i = (size_t)(q - s) + 1;
		} else {
			while (i < n && s[i] != ',' && s[i] != '"')
				i++;
			if (i == v || (i < n && s[i] == '"'))
				return -1;
			if (match && !found) {
				*val = s + v;
				*vn = i - v;
				found = 1;
			}
		}
		if (i < n && s[i++] != ',')
			return -1;
		if (i == n && s[n - 1] == ',')
			return -1;
	}
	return found;
}

static int fail(unsigned *line, const char **why, unsigned no, const char *msg)
{
	*line = no;
	*why = msg;
	return -1;
}

/* The first line, and the playlist's size. */
static int begin(struct lines *l, const char *buf, size_t len, unsigned *line, const char **why)
{
	const char *s;
	size_t n;

	l->p = buf;
	l->end = buf + len;
	l->no = 0;
	if (len > HLS_MAX_PLAYLIST)
		return fail(line, why, 0, "the playlist is too large");
	if (!next_line(l, &s, &n) || n != 7 || memcmp(s, "#EXTM3U", 7))
		return fail(line, why, 1, "a playlist begins with #EXTM3U");
	return 0;
}

int hls__master(const char *buf, size_t len, struct hls_variant *v, size_t max, unsigned *line,
		const char **why)
{
	struct lines l;
	struct hls_variant cur = { 0 };
	const char *s, *val, *a;
	size_t n, vn, an, nv = 0;
	bool waiting = false;

	if (begin(&l, buf, len, line, why))
		return -1;
	while (next_item(&l, &s, &n)) {
		if (s[0] != '#') {
			if (waiting && nv < max) {
				cur.off = (uint32_t)(s - buf);
				cur.len = (uint32_t)n;
				v[nv++] = cur;
			}
			waiting = false;
			continue;
		}
		if (!tag(s, n, "#EXT-X-STREAM-INF", &val, &vn))
			continue;
		if (waiting)
			return fail(line, why, l.no, "EXT-X-STREAM-INF without a URI before it");
		memset(&cur, 0, sizeof(cur));
		switch (attr(val, vn, "BANDWIDTH", &a, &an)) {
		case 1:
			if (!dec_int(a, an, &cur.bandwidth) || !cur.bandwidth)
				return fail(line, why, l.no, "BANDWIDTH is not a number of bits/s");
			break;
		case 0:
			return fail(line, why, l.no, "EXT-X-STREAM-INF without BANDWIDTH");
		default:
			return fail(line, why, l.no, "a malformed attribute list");
		}
		if (attr(val, vn, "AVERAGE-BANDWIDTH", &a, &an) == 1 && !dec_int(a, an, &cur.average))
			return fail(line, why, l.no, "AVERAGE-BANDWIDTH is not a number of bits/s");
		waiting = true;
	}
	if (waiting)
		return fail(line, why, l.no, "EXT-X-STREAM-INF without a URI after it");
	return (int)nv;
}

int hls__media(const char *buf, size_t len, struct hls_media *m, struct hls_seg *seg, size_t max,
	       unsigned *line, const char **why)
{
	struct lines l;
	const char *s, *val, *a;
	size_t n, vn, an;
	double dur = 0;
	uint64_t target;
	bool waiting = false, have_target = false;

	memset(m, 0, sizeof(*m));
	if (begin(&l, buf, len, line, why))
		return -1;
	while (next_item(&l, &s, &n)) {
		if (s[0] != '#') {
			if (!waiting)
				return fail(line, why, l.no, "a segment URI without EXTINF before it");
			if (m->nseg >= max)
				return fail(line, why, l.no, "more segments than a player keeps");
			seg[m->nseg].off = (uint32_t)(s - buf);
			seg[m->nseg].len = (uint32_t)n;
			seg[m->nseg].dur = (float)dur;
			m->nseg++;
			waiting = false;
		} else if (tag(s, n, "#EXTINF", &val, &vn)) {
			const char *comma = memchr(val, ',', vn);

			if (waiting)
				return fail(line, why, l.no, "EXTINF without a URI before it");
			if (!dec_float(val, comma ? (size_t)(comma - val) : vn, &dur) || dur > DUR_MAX)
				return fail(line, why, l.no, "EXTINF's duration is not a number of seconds");
			waiting = true;
		} else if (tag(s, n, "#EXT-X-TARGETDURATION", &val, &vn)) {
			if (!dec_int(val, vn, &target) || target > DUR_MAX)
				return fail(line, why, l.no, "EXT-X-TARGETDURATION is not a number of seconds");
			m->target = (double)target;
			have_target = true;
		} else if (tag(s, n, "#EXT-X-MAP", &val, &vn)) {
			if (attr(val, vn, "URI", &a, &an) != 1 || !an)
				return fail(line, why, l.no, "EXT-X-MAP without a URI");
			m->map = true;
			m->map_off = (uint32_t)(a - buf);
			m->map_len = (uint32_t)an;
		} else if (tag(s, n, "#EXT-X-ENDLIST", &val, &vn)) {
			m->endlist = true;
		} else if (tag(s, n, "#EXT-X-STREAM-INF", &val, &vn)) {
			return fail(line, why, l.no, "a master playlist, not a media playlist");
		}
	}
	if (waiting)
		return fail(line, why, l.no, "EXTINF without a URI after it");
	if (!have_target)
		return fail(line, why, l.no, "no EXT-X-TARGETDURATION");
	return 0;
}

/* ---- the estimate and the choice -------------------------------------------- */

#define HALF_FAST 3.0
#define HALF_SLOW 9.0

void hls__sample(struct hls_est *e, double secs, double bits)
{
	double bps, af, as;

	if (!(secs > 0) || !(bits > 0) || !isfinite(secs) || !isfinite(bits))
		return;
	bps = bits / secs;
	af = pow(0.5, secs / HALF_FAST);
	as = pow(0.5, secs / HALF_SLOW);
	e->fast = bps * (1 - af) + af * e->fast;
	e->slow = bps * (1 - as) + as * e->slow;
	e->total += secs;
}

double hls__estimate(const struct hls_est *e, double dflt)
{
	double zf, zs;

	if (!(e->total > 0))
		return dflt;
	/* the averages start at 0: take that out */
	zf = 1 - pow(0.5, e->total / HALF_FAST);
	zs = 1 - pow(0.5, e->total / HALF_SLOW);
	return MIN(e->fast / zf, e->slow / zs);
}

size_t hls__pick(const uint64_t *bps, size_t n, size_t cur, double est, double buffer, double seg)
{
	size_t best = 0;

	for (size_t i = 0; i < n; i++)
		if ((double)bps[i] <= (i > cur ? 0.7 : 0.9) * est)
			best = i;
	if (best > cur && buffer < 2 * seg)
		best = cur;
	return best;
}
