/* fuzz-scan.c - libFuzzer target for what 'catalog scan' reads
 * (src/catalog/scan.c): compose files, the map of rules when the first
 * byte is odd, a checkout's packed-refs and config when it is 2 mod 4,
 * source code (the second byte picks the language) when it is 4 mod 8,
 * a Dockerfile when it is 8, a Kubernetes manifest when 16, a Procfile
 * when 24.  Any bytes parse or are refused with a message that names the
 * file, never a crash or a hang; what parses is classified, and a compose
 * file's catalog entry reads back as it was written. */
#include "../../src/catalog/catalog.h"
#include "../../src/catalog/scan.h"
#include "../../src/lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] = "image nginx web\nport 1883 message-broker\nword db database\n"
			    "image bitcoind crypto peer\nport 10000-20000/udp realtime\n";

static const char code_rules[] = "code flask web\ncode pg database\ncode net/http web\n"
				 "code org.postgresql database\ncode curl/curl.h web client\n"
				 "code github.com/eclipse/paho.mqtt.golang message-broker\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_project p = { 0 };
	struct scan_map m;
	char err[512];

	if (size > 1 && data[0] % 8 == 4) {
		/* source code in one of the languages */
		static const char *const files[] = { "a.py", "a.js", "a.go", "a.java", "a.c", "a.ts" };

		if (scan_map_parse(&m, "r.map", code_rules, sizeof(code_rules) - 1, err, sizeof(err)))
			__builtin_trap();
		if (!scan_code(&p, &m, files[data[1] % 6], (const char *)data + 2, size - 2))
			__builtin_trap();
		for (int c = 0; c < CLASS__COUNT; c++)
			if (!(p.cls[c].confidence >= 0 && p.cls[c].confidence <= 1))
				__builtin_trap();
		scan_project_free(&p);
		scan_map_free(&m);
		return 0;
	}
	if (size && data[0] % 4 == 2) {
		/* a checkout's .git files: packed-refs, then config */
		char *t = strndup((const char *)data + 1, size - 1), *r;

		if (!t)
			return 0;
		free(scan__packed_ref(t, "refs/heads/main"));
		r = scan__origin_url(t);
		if (r && (!*r || strchr(r, '\n')))
			__builtin_trap();       /* a URL is one line */
		free(r);
		free(t);
		return 0;
	}
	if (size && data[0] & 1) {
		if (scan_map_parse(&m, "f.map", (const char *)data + 1, size - 1, err, sizeof(err)) == 0)
			scan_map_free(&m);
		else if (strncmp(err, "f.map:", 6))
			__builtin_trap();       /* a refusal says where */
		return 0;
	}
	if (scan_map_parse(&m, "r.map", rules, sizeof(rules) - 1, err, sizeof(err)))
		__builtin_trap();
	if (size && (data[0] == 16 || data[0] == 24)) {
		/* a Kubernetes manifest, or a Procfile: said where when refused */
		bool k8s = data[0] == 16;
		const char *f = k8s ? "k.yaml" : "Procfile";
		int r = k8s ? scan_k8s(&p, f, (const char *)data + 1, size - 1, err, sizeof(err))
			    : scan_procfile(&p, f, (const char *)data + 1, size - 1, err, sizeof(err));

		if (!r) {
			scan_classify(&p, &m);
			if (!p.nsvc || p.nfiles != 1)
				__builtin_trap();
		} else if (strncmp(err, f, strlen(f)) || err[strlen(f)] != ':' || p.nsvc) {
			__builtin_trap();
		}
		scan_project_free(&p);
		scan_map_free(&m);
		return 0;
	}
	if (size && data[0] == 8) {
		/* a Dockerfile, for a service of its own */
		if (scan_dockerfile(&p, "svc", "Dockerfile", (const char *)data + 1, size - 1, err,
				    sizeof(err)) == 0) {
			scan_classify(&p, &m);
			if (p.nsvc != 1 || !p.svc[0].image)
				__builtin_trap();
		} else if (strncmp(err, "Dockerfile:", 11)) {
			__builtin_trap();
		}
		scan_project_free(&p);
		scan_map_free(&m);
		return 0;
	}
	p.path = xstrdup("/r/app");
	if (scan_compose(&p, "f.yml", (const char *)data, size, err, sizeof(err)) == 0) {
		struct catalog_entry e, back;

		scan_classify(&p, &m);
		for (int c = 0; c < CLASS__COUNT; c++)
			if (!(p.cls[c].confidence >= 0 && p.cls[c].confidence <= 1))
				__builtin_trap();
		/* what --write makes of it is an entry the catalog reads back
		 * as it is */
		if (scan_entry(&p, 0.5, &e)) {
			char *text = catalog_format(&e);

			if (catalog_parse(&back, NULL, text, strlen(text), err, sizeof(err)) ||
			    !catalog_entry_equal(&e, &back))
				__builtin_trap();
			free(text);
			catalog_entry_free(&back);
			catalog_entry_free(&e);
		}
	} else if (strncmp(err, "f.yml:", 6)) {
		__builtin_trap();
	}
	scan_project_free(&p);
	scan_map_free(&m);
	return 0;
}
