/* fuzz-model.c - libFuzzer target for behaviour model files
 * (src/engine/model.c): any bytes parse or are refused with a message
 * that names the place, never a crash; what parses can be walked. */
#include "../../src/engine/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct model *m = model_parse("f.model", (const char *)data, size, &err);
	struct rng r;

	if (!m) {
		if (!err || strncmp(err, "f.model", 7))
			__builtin_trap(); /* a refusal says where */
		free(err);
		return 0;
	}
	rng_seed(&r, size);
	/* walk a few sessions; every state reached must be a real one */
	for (int s = 0; s < 4; s++) {
		int a = model_start(m);

		for (int i = 0; i < 64 && a != MODEL_END; i++) {
			if (!model_action_name(m, a))
				__builtin_trap();
			double t = model_think(m, a, &r);

			if (t != t || t < 0)
				__builtin_trap();       /* a draw is a number */
			a = model_next(m, a, &r);
		}
	}
	model_free(m);
	return 0;
}
