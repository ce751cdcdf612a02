/* fuzz-profile.c - libFuzzer target for the profile reader
 * (src/compare/profile.c): any bytes are read or refused with a message
 * "p..." on one line; what is read compares with itself at distance 0. */
#include "../../src/compare/compare.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clone_result r;
	struct cmp_result *c;
	char err[512];

	if (profile_parse("p", (const char *)data, size, &r, err, sizeof(err))) {
		if (err[0] != 'p' || (err[1] != ':' && err[1] != ' ') || strchr(err, '\n'))
			__builtin_trap();
		return 0;
	}
	c = xcalloc(1, sizeof(*c));
	compare_results(&r, &r, c);
	for (int m = 0; m < CMP__COUNT; m++)
		if (c->all[m].js != 0 || c->all[m].ks != 0)
			__builtin_trap();
	if (c->mix_error != 0 || c->rate_ref != c->rate_gen || c->hosts_covered != c->hosts_ref)
		__builtin_trap();
	free(c);
	clone_result_free(&r);
	return 0;
}
