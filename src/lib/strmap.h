/* strmap.h - a string-keyed hash map of pointers (open addressing).
 * Keys are borrowed: they must outlive the map. */
#ifndef DYNAMO_STRMAP_H
#define DYNAMO_STRMAP_H

#include <stddef.h>

struct strmap {
	struct strmap_slot {
		const char *key;
		void *val;
	} *slots;
	size_t n, cap;
};

/* Returns the value stored under key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Store val under key unless present; returns the existing value (and
 * stores nothing) or NULL when val was stored.  val must not be NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
void strmap_free(struct strmap *m);

#endif
