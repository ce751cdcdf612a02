/* fuzz-catalog.c - libFuzzer target for catalog entries
 * (src/catalog/catalog.c): any bytes parse or are refused with a message
 * "FILE:LINE: ..." on one line, never a crash; what parses formats to
 * text that parses back to an equal entry, and keeps doing so when its
 * profile is replaced in the original text. */
#include "../../src/catalog/catalog.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text parses, as file, to an entry equal to want */
static void same(const char *file, const char *text, const struct catalog_entry *want)
{
	struct catalog_entry e;
	char err[512];

	if (catalog_parse(&e, file, text, strlen(text), err, sizeof(err)) ||
	    !catalog_entry_equal(&e, want))
		__builtin_trap();
	catalog_entry_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* "f" takes any name; "f.source" only the name f */
	static const char *const files[] = { "f", "f.source" };
	const char *text = (const char *)data;

	for (size_t i = 0; i < 2; i++) {
		struct catalog_entry e;
		char err[512], *t, *t2;
		size_t fl = strlen(files[i]);
		int r = catalog_parse(&e, files[i], text, size, err, sizeof(err));

		if (r) {
			/* a refusal says where, on one line */
			if (r != -EINVAL || strncmp(err, files[i], fl) || err[fl] != ':' ||
			    strchr(err, '\n') || e.name || e.start)
				__builtin_trap();
			continue;
		}
		t = catalog_format(&e);
		same(files[i], t, &e);
		t2 = catalog_replace_profile(text, size, &e);
		if (strlen(t2) <= CATALOG_MAX_FILE) /* a longer profile may not fit */
			same(files[i], t2, &e);
		free(t2);
		/* and with the profile taken away, or put back */
		if (e.measured) {
			struct catalog_entry bare = e;

			bare.measured = false;
			t2 = catalog_replace_profile(t, strlen(t), &bare);
			same(files[i], t2, &bare);
			free(t2);
		}
		free(t);
		catalog_entry_free(&e);
	}
	return 0;
}
