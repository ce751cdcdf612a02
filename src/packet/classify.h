/* classify.h - which class and protocol a flow is, by nDPI (libndpi) on
 * its first packets, through the table of classmap.h; by its server port
 * when nDPI cannot tell; generic otherwise.
 *
 * Each flow carries a struct cls_state (zeroed when the flow is made);
 * nDPI's own state is allocated only while it still looks, and freed
 * as soon as it has decided, so a table of millions of flows does not
 * hold millions of nDPI flows. */
#ifndef DYNAMO_CLASSIFY_H
#define DYNAMO_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "flow.h"

struct ndpi_flow_struct;

struct cls_state {
	struct ndpi_flow_struct *nd;
	uint16_t master, app, category;
	uint8_t seen;             /* packets given to nDPI */
	bool done;
};

enum cls_how { CLS_DPI, CLS_PORT, CLS_NONE };

struct cls_result {
	uint8_t cls;              /* enum spec_class */
	uint8_t proto;            /* enum spec_proto */
	uint8_t how;              /* enum cls_how */
	char name[48];            /* nDPI's: "TLS.Google", "Unknown" */
};

struct classifier;

/* Load the table at mapfile and start nDPI; NULL with err set. */
struct classifier *classifier_new(const char *mapfile, char *err, size_t errlen);
/* A packet of the flow that holds st. */
void classifier_packet(struct classifier *c, struct cls_state *st, const struct pkt *k,
		       uint64_t ts_ns);
/* Has it decided? (Then packets need not be given to it.) */
static inline bool classifier_done(const struct cls_state *st)
{
	return st->done;
}
/* Every TCP packet with payload, decided or not: FTP control replies
 * and commands that announce a data connection (227, 229, PORT, EPRT),
 * whose flow is then file-transfer over ftp, as tshark's ftp-data. */
void classifier_ftp(struct classifier *c, const struct pkt *k);
/* Decide now (nDPI gives up and guesses if it must) and say what f is.
 * Frees nDPI's state; st may be given again (it says the same). */
void classifier_result(struct classifier *c, struct cls_state *st, const struct flow *f,
		       struct cls_result *r);
void classifier_free(struct classifier *c);

#endif
