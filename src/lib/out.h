/* out.h - one code path for human text and JSON output (iproute2's
 * print_*(PRINT_ANY, ...)): each call names a JSON key and a text format;
 * in JSON mode the key and value are written, in text mode the format. */
#ifndef DYNAMO_OUT_H
#define DYNAMO_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out;

struct out *out_new(FILE *f, bool json);
void out_free(struct out *o); /* ends the JSON document */
bool out_is_json(const struct out *o);

/* Objects and arrays exist only in JSON; key is NULL inside arrays. */
void out_obj_open(struct out *o, const char *key);
void out_obj_close(struct out *o);
void out_arr_open(struct out *o, const char *key);
void out_arr_close(struct out *o);

/* A NULL fmt prints nothing in text mode; a NULL key nothing in JSON. */
void out_str(struct out *o, const char *key, const char *fmt, const char *val);
void out_uint(struct out *o, const char *key, const char *fmt, uint64_t v);
void out_bool(struct out *o, const char *key, const char *fmt, bool v);
void out_null(struct out *o, const char *key, const char *fmt, const char *text);
/* JSON gets SI base units (bits/s, seconds, fraction); text gets "%s" of
 * a human quantity ("100 Mbps", "20 ms", "1%"). */
void out_rate(struct out *o, const char *key, const char *fmt, uint64_t bps);
/* A statement's rate: bits/s, or packets/s when packets ("10 kpps"). */
void out_target(struct out *o, const char *key, const char *fmt, uint64_t v, bool packets);
void out_time(struct out *o, const char *key, const char *fmt, uint64_t us);
void out_ppm(struct out *o, const char *key, const char *fmt, uint32_t ppm);
void out_double(struct out *o, const char *key, const char *fmt, double v);
/* Text only. */
void out_text(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
