/* fuzz-capture.c - libFuzzer target for everything a capture goes
 * through in clone and compare: libpcap's file reader, our frame decoder
 * (src/packet/decode.c), the flow table, nDPI's dissectors on the first
 * packets of each flow (src/packet/classify.c), the clone's analysis and
 * its spec.  Any bytes are read or refused with a message, never a
 * crash; whatever is read, the spec written for it is valid: it parses,
 * checks and resolves with no error.  Run from the top of the tree (it
 * reads data/clone/ndpi.map). */
#include "../../src/clone/clone.h"
#include "../../src/plan/plan.h"
#include "../../src/topo/topo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct classifier *cls;
	struct clone_opts o = { .mapfile = "data/clone/ndpi.map", .max_flows = 64 };
	bool playable[CLASS__COUNT];
	struct clone_result res;
	struct buf b = { 0 };
	struct reader *r;
	struct spec *s;
	uint64_t unplayable;
	char err[512];
	FILE *f;

	if (!size)
		return 0;
	/* nDPI's start takes 20 ms: once, for every input */
	if (!cls) {
		cls = classifier_new(o.mapfile, err, sizeof(err));
		if (!cls)
			__builtin_trap();
	}
	o.classifier = cls;
	f = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!f)
		return 0;
	r = reader_open_file(f, "fuzz", err, sizeof(err));
	if (!r) {
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	if (clone_read(r, &o, &res, err, sizeof(err)) && !err[0])
		__builtin_trap();
	for (int i = 0; i < CLASS__COUNT; i++)
		playable[i] = i != CLASS_GENERIC;
	if (res.packets) {
		clone_anonymize(&res, size % 2 ? "key" : NULL);
		clone_spec(&res, "fuzz", playable, &b, &unplayable);
		s = spec_parse("clone.dyn", b.p, b.len);
		if (!s)
			__builtin_trap();
		if (!s->errors) {
			struct plan *p = plan_build(s, topo_build(s));

			plan_free(p);
		}
		if (s->errors) {
			fprintf(stderr, "%.*s\n", (int)b.len, b.p);
			for (size_t i = 0; i < s->ndiags; i++) {
				char *t = spec_diag_render(s, &s->diags[i]);

				fprintf(stderr, "%s", t);
				free(t);
			}
			__builtin_trap();
		}
		spec_free(s);
	}
	buf_free(&b);
	clone_result_free(&res);
	reader_close(r);
	return 0;
}
