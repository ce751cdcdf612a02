/* fuzz-spec.c - libFuzzer target for the spec language: lexer, parser,
 * checks, topology, plan and the rendering of every diagnostic.  Any
 * input must end in a spec with diagnostics, never a crash or a hang. */
#include "../../src/plan/plan.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec *s = spec_parse("fuzz.dyn", (const char *)data, size);

	for (size_t i = 0; i < s->ndiags; i++)
		free(spec_diag_render(s, &s->diags[i]));
	if (!s->errors)
		plan_free(plan_build(s, topo_build(s)));
	for (size_t i = 0; i < s->ndiags; i++)
		free(spec_diag_render(s, &s->diags[i]));
	spec_free(s);
	return 0;
}
