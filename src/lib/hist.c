/* hist.c - log-binned histograms and distances (see hist.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "util.h"

int hist_bin(double v)
{
	uint64_t u;
	int e, b;

	if (!(v >= 0))          /* negatives and NaN go with 0 */
		return 0;
	if (v < HIST_SUB)
		return (int)v;
	if (v >= 0x1p63)
		return HIST_BINS - 1;
	/* octave e (v in [2^e, 2^(e+1))), then its top 4 bits below the
	 * leading one: the same as from frexp, without floating point */
	u = (uint64_t)v;
	e = 63 - __builtin_clzll(u);
	b = (e - 4) * HIST_SUB + (int)(u >> (e - 4));
	return b >= HIST_BINS ? HIST_BINS - 1 : b;
}

double hist_lo(int bin)
{
	if (bin < HIST_SUB)
		return bin;
	bin -= HIST_SUB;
	return ldexp(1 + (double)(bin % HIST_SUB) / HIST_SUB, 4 + bin / HIST_SUB);
}

double hist_mid(int bin)
{
	if (bin < HIST_SUB)
		return bin + 0.5;
	return (hist_lo(bin) + hist_lo(bin + 1)) / 2;
}

void hist_add_n(struct hist *h, double v, uint64_t n)
{
	h->bin[hist_bin(v)] += n;
	h->n += n;
	h->sum += (v > 0 ? v : 0) * (double)n;
}

void hist_add(struct hist *h, double v)
{
	hist_add_n(h, v, 1);
}

void hist_merge(struct hist *into, const struct hist *from)
{
	for (int i = 0; i < HIST_BINS; i++)
		into->bin[i] += from->bin[i];
	into->n += from->n;
	into->sum += from->sum;
}

double hist_mean(const struct hist *h)
{
	return h->n ? h->sum / (double)h->n : 0;
}

double hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	want = (uint64_t)ceil(q * (double)h->n);
	if (!want)
		want = 1;
	for (int i = 0; i < HIST_BINS; i++) {
		seen += h->bin[i];
		if (seen >= want)
			return hist_mid(i);
	}
	return hist_mid(HIST_BINS - 1);
}

double hist_js(const struct hist *a, const struct hist *b)
{
	double d = 0;

	if (!a->n || !b->n)
		return a->n == b->n ? 0 : 1;
	for (int i = 0; i < HIST_BINS; i++) {
		double p = (double)a->bin[i] / (double)a->n, q = (double)b->bin[i] / (double)b->n;
		double m = (p + q) / 2;

		if (p > 0)
			d += p * log2(p / m) / 2;
		if (q > 0)
			d += q * log2(q / m) / 2;
	}
	return d > 0 ? sqrt(d > 1 ? 1 : d) : 0;
}

double hist_js_floor(const struct hist *b, uint64_t n, unsigned draws)
{
	uint64_t cum[HIST_BINS], x = 0x9e3779b97f4a7c15ull;
	struct hist *s;
	double sum = 0;
	int last = 0;

	if (!b->n || !n || !draws)
		return 0;
	n = n > HIST_FLOOR_MAX ? HIST_FLOOR_MAX : n;
	for (int i = 0; i < HIST_BINS; i++) {
		cum[i] = (i ? cum[i - 1] : 0) + b->bin[i];
		if (b->bin[i])
			last = i;
	}
	s = xcalloc(1, sizeof(*s));
	for (unsigned d = 0; d < draws; d++) {
		memset(s, 0, sizeof(*s));
		for (uint64_t k = 0; k < n; k++) {
			uint64_t r;
			int lo = 0, hi = last;

			/* xorshift64*, then a value below b->n from its high
			 * bits (multiply-shift: its low bits are the weak ones,
			 * and a modulo of a small count takes only those) */
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			r = (uint64_t)(((unsigned __int128)(x * 0x2545f4914f6cdd1dull) * b->n) >> 64);
			while (lo < hi) {
				int mid = (lo + hi) / 2;

				if (cum[mid] > r)
					hi = mid;
				else
					lo = mid + 1;
			}
			s->bin[lo]++;
			s->n++;
		}
		sum += hist_js(s, b);
	}
	free(s);
	return sum / draws;
}

/* The CDFs from cumulative counts, so that both reach exactly 1: the
 * last bins are wide, and a rounding error there would weigh. */
double hist_ks(const struct hist *a, const struct hist *b)
{
	uint64_t ca = 0, cb = 0;
	double worst = 0;

	if (!a->n || !b->n)
		return a->n == b->n ? 0 : 1;
	for (int i = 0; i < HIST_BINS; i++) {
		double d;

		ca += a->bin[i];
		cb += b->bin[i];
		d = fabs((double)ca / (double)a->n - (double)cb / (double)b->n);
		if (d > worst)
			worst = d;
	}
	return worst;
}

double hist_emd(const struct hist *a, const struct hist *b)
{
	uint64_t ca = 0, cb = 0;
	double d = 0;

	if (!a->n || !b->n) {
		if (a->n == b->n)
			return 0;
		return !a->n ? hist_mean(b) : hist_mean(a);
	}
	/* The area between the two CDFs, the mass at each bin's middle */
	for (int i = 0; i + 1 < HIST_BINS && (ca < a->n || cb < b->n); i++) {
		ca += a->bin[i];
		cb += b->bin[i];
		d += fabs((double)ca / (double)a->n - (double)cb / (double)b->n) *
		     (hist_mid(i + 1) - hist_mid(i));
	}
	return d;
}
