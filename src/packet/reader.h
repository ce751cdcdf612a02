/* reader.h - packets from a pcap or pcapng file (through libpcap), or
 * from a live interface, decoded (decode.h), with what could not be
 * read counted by reason.  A file cut short (a capture that was killed),
 * or with a record libpcap cannot read (it cannot find the next one
 * after it), ends the packets with a warning, not an error: what came
 * before is kept. */
#ifndef DYNAMO_READER_H
#define DYNAMO_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode.h"

struct reader_counts {
	uint64_t frames;         /* read from the file */
	uint64_t ip;             /* decoded */
	uint64_t not_ip;
	uint64_t truncated;      /* headers cut by the capture */
	uint64_t bad;            /* headers that cannot be right */
	uint64_t wire_bytes;     /* frame lengths, as sent */
	uint64_t first_ns, last_ns;
	/* The first frame that could not be decoded, and why */
	uint64_t first_bad_frame;
	const char *first_bad_why;
};

struct reader;

/* Open path ("-": standard input); NULL with err set on failure. */
struct reader *reader_open(const char *path, char *err, size_t errlen);
/* Read from f, named name in errors; the reader closes f. */
struct reader *reader_open_file(FILE *f, const char *name, char *err, size_t errlen);
/* Capture on iface (a lab host's, inside its namespace) for at most
 * seconds, or until stopped. */
struct reader *reader_open_live(const char *iface, double seconds, char *err, size_t errlen);
/* The next IP packet into *k with its timestamp: 1, or 0 at the end
 * (then reader_warning() may say why it ended early), or -1 on an error
 * (err says where). Frames that are not IP, or not decodable, are
 * counted and skipped. */
int reader_next(struct reader *r, struct pkt *k, uint64_t *ts_ns, char *err, size_t errlen);
/* The bytes of the current frame (valid until the next call). */
const uint8_t *reader_frame(const struct reader *r, uint32_t *caplen);
/* Stop a live capture from a signal handler. */
void reader_break(struct reader *r);
const char *reader_warning(const struct reader *r);
int reader_link(const struct reader *r);
void reader_counts(const struct reader *r, struct reader_counts *c);
void reader_close(struct reader *r);

#endif
