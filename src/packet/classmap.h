/* classmap.h - the table that puts what nDPI names into dynamo's classes
 * and protocols (data/clone/ndpi.map; its header says the format).  Pure:
 * parsed from text, looked up by name. */
#ifndef DYNAMO_CLASSMAP_H
#define DYNAMO_CLASSMAP_H

#include <stddef.h>

enum classmap_kind { CM_PROTOCOL, CM_CATEGORY };

struct classmap_entry {
	char name[48];
	unsigned char kind;        /* enum classmap_kind */
	unsigned char cls;         /* enum spec_class */
	unsigned char proto;       /* enum spec_proto */
};

struct classmap {
	struct classmap_entry *e;
	size_t n;
};

/* Parse text (len bytes, named name in errors) into m: 0, or -1 with
 * "NAME:LINE: what" in err. */
int classmap_parse(struct classmap *m, const char *name, const char *text, size_t len, char *err,
		   size_t errlen);
/* The entry of kind for name (exact, case-sensitive), or NULL. */
const struct classmap_entry *classmap_find(const struct classmap *m, enum classmap_kind kind,
					   const char *name);
void classmap_free(struct classmap *m);

#endif
