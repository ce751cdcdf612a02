/* util.c - see util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn)) oom(void)
{
	fputs("dynamo: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total))
		oom();
	p = realloc(p, total ? total : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	char *p;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		oom();
	p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void *vec_push(void **arr, size_t *n, size_t *cap, size_t size)
{
	char *slot;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*arr = xreallocarray(*arr, *cap, size);
	}
	slot = (char *)*arr + *n * size;
	memset(slot, 0, size);
	(*n)++;
	return slot;
}

static void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	while (b->len + extra + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 64;
	b->p = xreallocarray(b->p, b->cap, 1);
}

void buf_put(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_puts(b, s);
	free(s);
}

char *buf_steal(struct buf *b)
{
	char *p = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

int buf_read_file(struct buf *b, FILE *f, size_t max)
{
	char chunk[65536];
	size_t n, start = b->len;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len - start + n > max)
			return -EFBIG;
		buf_put(b, chunk, n);
	}
	return ferror(f) ? -(errno ? errno : EIO) : 0;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Costs are doubled so that a change of case alone can cost 1. */
unsigned str_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	unsigned *d, r;

	if (la > 64 || lb > 64)
		return ~0u;
	d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (i = 0; i <= la; i++)
		D(i, 0) = (unsigned)i * 2;
	for (j = 0; j <= lb; j++)
		D(0, j) = (unsigned)j * 2;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned sub = a[i - 1] == b[j - 1] ? 0
				: tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 1 : 2;
			unsigned v = MIN(D(i - 1, j) + 2, D(i, j - 1) + 2);

			v = MIN(v, D(i - 1, j - 1) + sub);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				v = MIN(v, D(i - 2, j - 2) + 2);
			D(i, j) = v;
		}
	}
	r = D(la, lb);
#undef D
	free(d);
	return r;
}

const char *str_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned bestd = ~0u, limit;
	size_t i, len = strlen(word);

	/* Allow about one edit in three characters, at least one edit. */
	limit = (unsigned)(len < 3 ? 2 : 2 * ((len + 2) / 3));
	for (i = 0; i < n; i++) {
		unsigned dist = str_distance(word, cands[i]);

		if (dist < bestd) {
			bestd = dist;
			best = cands[i];
		}
	}
	return bestd <= limit && bestd > 0 ? best : NULL;
}

/* Print v / div with up to three decimals, trailing zeros trimmed. */
static void fmt_scaled(char *out, size_t n, uint64_t v, uint64_t div, const char *unit)
{
	uint64_t whole = v / div, frac = v % div;
	char f[32] = "";

	if (frac) {
		/* three significant decimals of the fraction, rounded down */
		uint64_t milli = (uint64_t)((double)frac * 1000.0 / (double)div);
		size_t l;

		snprintf(f, sizeof(f), ".%03llu", (unsigned long long)milli);
		l = strlen(f);
		while (l > 1 && f[l - 1] == '0')
			f[--l] = '\0';
		if (l == 1)
			f[0] = '\0';
	}
	snprintf(out, n, "%llu%s %s", (unsigned long long)whole, f, unit);
}

void fmt_rate(char *out, size_t n, uint64_t bps)
{
	if (bps >= 1000000000000ull)
		fmt_scaled(out, n, bps, 1000000000000ull, "Tbps");
	else if (bps >= 1000000000ull)
		fmt_scaled(out, n, bps, 1000000000ull, "Gbps");
	else if (bps >= 1000000ull)
		fmt_scaled(out, n, bps, 1000000ull, "Mbps");
	else if (bps >= 1000ull)
		fmt_scaled(out, n, bps, 1000ull, "kbps");
	else
		fmt_scaled(out, n, bps, 1, "bps");
}

void fmt_pps(char *out, size_t n, uint64_t pps)
{
	if (pps >= 1000000ull)
		fmt_scaled(out, n, pps, 1000000ull, "Mpps");
	else if (pps >= 1000ull)
		fmt_scaled(out, n, pps, 1000ull, "kpps");
	else
		fmt_scaled(out, n, pps, 1, "pps");
}

void fmt_target(char *out, size_t n, uint64_t v, bool packets)
{
	if (packets)
		fmt_pps(out, n, v);
	else
		fmt_rate(out, n, v);
}

void fmt_time_us(char *out, size_t n, uint64_t us)
{
	if (us == 0)
		snprintf(out, n, "0 s");
	else if (us >= 3600000000ull && us % 3600000000ull == 0)
		fmt_scaled(out, n, us, 3600000000ull, "h");
	else if (us >= 60000000ull && us % 60000000ull == 0)
		fmt_scaled(out, n, us, 60000000ull, "min");
	else if (us >= 1000000ull)
		fmt_scaled(out, n, us, 1000000ull, "s");
	else if (us >= 1000ull)
		fmt_scaled(out, n, us, 1000ull, "ms");
	else
		fmt_scaled(out, n, us, 1, "us");
}

void fmt_ppm_percent(char *out, size_t n, uint32_t ppm)
{
	/* 1% is 10000 ppm */
	fmt_scaled(out, n, ppm, 10000, "%");
	/* "1 %" reads worse than "1%" */
	{
		char *sp = strrchr(out, ' ');

		if (sp)
			memmove(sp, sp + 1, strlen(sp + 1) + 1);
	}
}

void fmt_ipv4(char *out, size_t n, uint32_t a)
{
	snprintf(out, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}
