/* model.h - behaviour models: what a user of an agent does, as a Markov
 * chain of actions with think times, and the distributions of sizes and
 * counts the agent draws from.  Models are text files in
 * data/behaviours/NAME.model that a user can read and edit:
 *
 *   # web.model - a person browsing a web site
 *   start open_page
 *   action open_page  think lognormal(2 s, 1.0)
 *   action fetch_objects
 *   next open_page  fetch_objects 100%
 *   next fetch_objects  open_page 70%  end 30%
 *   param page_size  lognormal(20 KiB, 0.8)
 *
 * 'end' ends the session.  Distributions: a plain value, uniform(A, B),
 * exp(MEAN), normal(MEAN, SD), lognormal(MEDIAN, SIGMA), pareto(MIN,
 * ALPHA[, MAX]), geometric(MEAN) (whole numbers from 0), quantiles(Q0,
 * Q1, ..., QN) (2 to 101 values in rising order: the minimum, the values
 * at 1/N, 2/N, ... of the way, the maximum; between two of them a draw
 * is spread geometrically, or linearly from 0), histogram(E1: W1, E2: W2,
 * ..., Ek: Wk, TOP) (up to 1024 bins in rising order, each from its
 * lower edge Ei up to the next, drawn with its weight Wi, spread inside
 * as quantiles' are; a hole is a bin of weight 0).  Values take
 * units of time (us, ms, s, min, h), size (B, KB, KiB, MB, MiB, GB,
 * GiB) or bit rate (bps, kbps, Mbps, Gbps), kept in seconds, bytes and
 * bits per second; probabilities are fractions or
 * percentages and must sum to 1 per action.  Errors name file:line:col. */
#ifndef DYNAMO_MODEL_H
#define DYNAMO_MODEL_H

#include <stddef.h>

#include "rng.h"

#define MODEL_END (-1)
#define MODEL_MAX_FILE (1u << 20)

struct model;

/* Parse text; on error returns NULL and an allocated message in *err. */
struct model *model_parse(const char *file, const char *text, size_t len, char **err);
/* Read DIR/NAME.model. */
struct model *model_load(const char *dir, const char *name, char **err);
/* Read the file at path (a model's name is its file's, less '.model'). */
struct model *model_load_file(const char *path, char **err);
void model_free(struct model *m);
const char *model_name(const struct model *m);

/* Check that the model uses only the actions an agent knows (NULL-
 * terminated) and defines every param it needs; returns an allocated
 * message naming the first problem, or NULL. */
char *model_check(const struct model *m, const char *const *actions, const char *const *params);

int model_action(const struct model *m, const char *name); /* -1 unknown */
const char *model_action_name(const struct model *m, int a);
int model_start(const struct model *m);
/* The action after a, or MODEL_END. */
int model_next(const struct model *m, int a, struct rng *r);
/* Think time after action a, seconds (0 when it has none). */
double model_think(const struct model *m, int a, struct rng *r);

/* Draw param name (seconds, bytes or a plain number); dflt when the
 * model does not define it. */
double model_draw(const struct model *m, const char *name, struct rng *r, double dflt);
int model_has(const struct model *m, const char *name);

#endif
