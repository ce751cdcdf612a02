/* rng.h - a small, seeded generator (xoshiro256**) and the draws the
 * behaviour models need.  Each host has its own, seeded from the run's
 * seed and the host's name, so a run can be repeated. */
#ifndef DYNAMO_RNG_H
#define DYNAMO_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
double rng_exp(struct rng *r, double mean);
double rng_normal(struct rng *r);
/* A 64-bit hash of a string, for seeds and for content keyed by name. */
uint64_t rng_hash(const void *p, size_t n, uint64_t seed);

#endif
