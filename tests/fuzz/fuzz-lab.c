/* fuzz-lab.c - libFuzzer target for lab state files (src/control/lab.c):
 * any bytes must parse or be refused with a message, never crash. */
#include "../../src/control/lab.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lab l;
	char err[256];

	if (lab_parse((const char *)data, size, &l, err, sizeof(err)) == 0) {
		/* what parsed must be usable */
		for (size_t i = 0; i < l.nnodes; i++)
			if (strlen(l.nodes[i].name) >= sizeof(l.nodes[i].name))
				__builtin_trap();
		lab_free(&l);
	} else if (!err[0]) {
		__builtin_trap(); /* a refusal says why */
	}
	return 0;
}
