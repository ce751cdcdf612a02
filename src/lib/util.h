/* util.h - allocation that cannot fail, growable arrays and strings,
 * and the small text helpers every module shares. */
#ifndef DYNAMO_UTIL_H
#define DYNAMO_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* A counter one thread (or process, in shared memory) writes while
 * another reads it: each access whole, no ordering beyond that. */
#define RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Out of memory aborts here, in one place (tmux's xmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Append one zeroed element to a growable array and return it.
 * arr, n and cap are lvalues; arr is reallocated as needed. */
#define VEC_PUSH(arr, n, cap) \
	((__typeof__(arr))vec_push((void **)&(arr), &(n), &(cap), sizeof(*(arr))))
void *vec_push(void **arr, size_t *n, size_t *cap, size_t size);

/* A growable, always NUL-terminated string. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_putc(struct buf *b, char c);
void buf_put(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *buf_steal(struct buf *b); /* caller owns the result; b is emptied */
void buf_free(struct buf *b);
/* Append what f holds, to its end: 0, -EFBIG when it is more than max
 * bytes (what was read stays in b), or -errno when reading fails. */
int buf_read_file(struct buf *b, FILE *f, size_t max);

/* Edit distance (optimal string alignment), case-insensitive letters
 * costing half: used only to rank "did you mean" suggestions. */
unsigned str_distance(const char *a, const char *b);
/* The candidate closest to word, or NULL when none is close enough. */
const char *str_suggest(const char *word, const char *const *cands, size_t n);

/* Formatting of SI quantities for humans: "100 Mbps", "20 ms", "1.5 s". */
void fmt_rate(char *out, size_t n, uint64_t bps);
/* "10 kpps" */
void fmt_pps(char *out, size_t n, uint64_t pps);
/* A statement's rate: bits/s, or packets/s when packets. */
void fmt_target(char *out, size_t n, uint64_t v, bool packets);
void fmt_time_us(char *out, size_t n, uint64_t us);
void fmt_ppm_percent(char *out, size_t n, uint32_t ppm);
void fmt_ipv4(char *out, size_t n, uint32_t addr);

#endif
