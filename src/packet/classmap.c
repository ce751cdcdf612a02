/* classmap.c - parse and search the nDPI-to-dynamo table (classmap.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "../spec/spec.h"
#include "classmap.h"

#define FIELDS 4

int classmap_parse(struct classmap *m, const char *name, const char *text, size_t len, char *err,
		   size_t errlen)
{
	size_t cap = 0, lineno = 0;
	const char *p = text, *end = text + len;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		char line[256], *f[FIELDS + 1], *save = NULL;
		int nf = 0, cls, proto;
		struct classmap_entry *e;

		lineno++;
		if ((size_t)(le - p) >= sizeof(line)) {
			snprintf(err, errlen, "%s:%zu: line longer than %zu bytes", name, lineno,
				 sizeof(line) - 1);
			goto fail;
		}
		if (memchr(p, 0, (size_t)(le - p))) {
			snprintf(err, errlen, "%s:%zu: a NUL byte in the line", name, lineno);
			goto fail;
		}
		memcpy(line, p, (size_t)(le - p));
		line[le - p] = 0;
		p = nl ? nl + 1 : end;
		if (strchr(line, '#'))
			*strchr(line, '#') = 0;
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (nf == FIELDS) {
				snprintf(err, errlen, "%s:%zu: more than %d fields", name, lineno, FIELDS);
				goto fail;
			}
			f[nf++] = t;
		}
		if (!nf)
			continue;
		if (nf != FIELDS) {
			snprintf(err, errlen, "%s:%zu: want 'protocol|category NAME CLASS PROTOCOL'",
				 name, lineno);
			goto fail;
		}
		if (strcmp(f[0], "protocol") && strcmp(f[0], "category")) {
			snprintf(err, errlen, "%s:%zu: '%.40s' is neither 'protocol' nor 'category'",
				 name, lineno, f[0]);
			goto fail;
		}
		if (strlen(f[1]) >= sizeof(m->e->name)) {
			snprintf(err, errlen, "%s:%zu: name '%.40s...' is too long", name, lineno, f[1]);
			goto fail;
		}
		cls = spec_class_find(f[2]);
		if (cls < 0) {
			snprintf(err, errlen, "%s:%zu: '%.40s' is not a class", name, lineno, f[2]);
			goto fail;
		}
		proto = spec_proto_find(f[3]);
		if (proto < 0) {
			snprintf(err, errlen, "%s:%zu: '%.40s' is not a protocol", name, lineno, f[3]);
			goto fail;
		}
		if (classmap_find(m, f[0][0] == 'p' ? CM_PROTOCOL : CM_CATEGORY, f[1])) {
			snprintf(err, errlen, "%s:%zu: %s '%s' is mapped twice", name, lineno, f[0], f[1]);
			goto fail;
		}
		if (m->n == cap) {
			cap = cap ? cap * 2 : 64;
			m->e = xreallocarray(m->e, cap, sizeof(*m->e));
		}
		e = &m->e[m->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", f[1]);
		e->kind = f[0][0] == 'p' ? CM_PROTOCOL : CM_CATEGORY;
		e->cls = (unsigned char)cls;
		e->proto = (unsigned char)proto;
	}
	return 0;
fail:
	classmap_free(m);
	return -1;
}

const struct classmap_entry *classmap_find(const struct classmap *m, enum classmap_kind kind,
					   const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].kind == kind && !strcmp(m->e[i].name, name))
			return &m->e[i];
	return NULL;
}

void classmap_free(struct classmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}
