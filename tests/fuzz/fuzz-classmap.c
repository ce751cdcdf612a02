/* fuzz-classmap.c - libFuzzer target for the nDPI-to-dynamo table
 * (src/packet/classmap.c): any bytes parse or are refused with a message
 * "NAME:LINE: ..." on one line; what parses finds each of its entries. */
#include "../../src/packet/classmap.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct classmap m;
	char err[512];

	if (classmap_parse(&m, "m", (const char *)data, size, err, sizeof(err))) {
		if (strncmp(err, "m:", 2) || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < m.n; i++)
		if (classmap_find(&m, m.e[i].kind, m.e[i].name) != &m.e[i])
			__builtin_trap();
	classmap_free(&m);
	return 0;
}
