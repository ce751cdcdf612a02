/* hist.h - a histogram of non-negative values on log-spaced bins (16 per
 * doubling, so each bin is at most 4.4% wide; values below 16 have a
 * bin each), and the distances between two of them that clone and
 * compare report: Jensen-Shannon, Kolmogorov-Smirnov and earth mover's.
 * Fixed size (8 KiB), so memory stays bounded however much is added. */
#ifndef DYNAMO_HIST_H
#define DYNAMO_HIST_H

#include <stdint.h>

#define HIST_SUB 16
#define HIST_BINS (HIST_SUB * 60)

struct hist {
	uint64_t n;
	double sum;
	uint64_t bin[HIST_BINS];
};

void hist_add(struct hist *h, double v);
/* Add n times. */
void hist_add_n(struct hist *h, double v, uint64_t n);
void hist_merge(struct hist *into, const struct hist *from);
double hist_mean(const struct hist *h);
/* The q-quantile (0..1), as the middle of its bin; 0 when empty. */
double hist_quantile(const struct hist *h, double q);
/* A bin's lower edge and its middle. */
double hist_lo(int bin);
double hist_mid(int bin);
int hist_bin(double v);

/* Distances between a and b as distributions (each normalised); all
 * are 0 for equal ones.  Both empty: 0; one empty: the largest. */
double hist_js(const struct hist *a, const struct hist *b);   /* 0..1, base-2 distance */
double hist_ks(const struct hist *a, const struct hist *b);   /* 0..1 */
double hist_emd(const struct hist *a, const struct hist *b);  /* in the values' unit */

/* The Jensen-Shannon distance that a sample of n values drawn from b
 * itself shows from b, the mean of draws samples (a fixed seed: the same
 * figures every time); n is taken as HIST_FLOOR_MAX at most, which makes
 * it an upper bound above that.  A reference of n values is at least
 * about this far from b even if both came from the same process: the
 * part of hist_js(ref, b) that is the reference's own sampling. */
#define HIST_FLOOR_MAX 100000
double hist_js_floor(const struct hist *b, uint64_t n, unsigned draws);

#endif
