/* pcapng.h - write captures in pcapng: one section, an interface block
 * per recorded interface (named, nanosecond timestamps), and enhanced
 * packet blocks.  Buffered; errors are sticky and reported by
 * pcapng_close(). */
#ifndef DYNAMO_PCAPNG_H
#define DYNAMO_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcapng {
	FILE *f;
	uint32_t nifaces;
	int err;               /* first -errno seen */
};

int pcapng_open(struct pcapng *w, const char *path, const char *app)
	__attribute__((warn_unused_result));
/* Add an interface (link type Ethernet); returns its id. */
uint32_t pcapng_iface(struct pcapng *w, const char *name, uint32_t snaplen);
void pcapng_packet(struct pcapng *w, uint32_t iface, uint64_t ts_ns, const void *p,
		   uint32_t caplen, uint32_t len);
/* Flush and close; 0 or the first -errno.  (pcapng_open closes the file
 * itself when it fails.) */
int pcapng_close(struct pcapng *w) __attribute__((warn_unused_result));

#endif
