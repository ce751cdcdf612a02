/* reader.c - libpcap underneath (it reads pcap and pcapng, both byte
 * orders, micro- and nanosecond stamps); decode.c on top.  Timestamps
 * are asked for in nanoseconds, which libpcap scales from whatever the
 * file holds. */
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/util.h"
#include "reader.h"

struct reader {
	pcap_t *p;
	int link;
	bool live;
	volatile sig_atomic_t stop; /* reader_break() was called */
	uint64_t deadline_ns;       /* live: monotonic; 0 none */
	const u_char *frame;
	uint32_t caplen;
	char warning[PCAP_ERRBUF_SIZE + 64];
	void *map;                  /* a mapped file, or NULL */
	size_t map_len;
	struct reader_counts c;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct reader *opened(pcap_t *p, const char *name, char *err, size_t errlen)
{
	struct reader *r;
	int link = pcap_datalink(p);

	if (!decode_link_name(link)) {
		const char *ln = pcap_datalink_val_to_name(link);

		snprintf(err, errlen, "%s: link type %s (%d) is not one dynamo reads (Ethernet, Linux cooked v1/v2, raw IP, loopback)",
			 name, ln ? ln : "?", link);
		pcap_close(p);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->link = link;
	return r;
}

/* A regular file is mapped and read through a memory stream: libpcap
 * then copies packets out of the page cache once, where through read()
 * the kernel copies them into stdio's buffer first (a third of the time
 * on a large capture). */
static struct reader *open_mapped(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct reader *r;
	void *map;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 24) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return NULL;
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL | MADV_WILLNEED);
	f = fmemopen(map, (size_t)st.st_size, "rb");
	if (!f) {
		munmap(map, (size_t)st.st_size);
		return NULL;
	}
	r = reader_open_file(f, path, err, errlen);
	if (!r) {
		munmap(map, (size_t)st.st_size);
		return NULL;
	}
	r->map = map;
	r->map_len = (size_t)st.st_size;
	return r;
}

struct reader *reader_open(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct reader *r;
	pcap_t *p;

	if (strcmp(path, "-")) {
		err[0] = 0;
		r = open_mapped(path, err, errlen);
		if (r || err[0])
			return r;
	}
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!p) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return NULL;
	}
	return opened(p, path, err, errlen);
}

struct reader *reader_open_file(FILE *f, const char *name, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);

	if (!p) {
		snprintf(err, errlen, "%s: %s", name, ebuf);
		fclose(f);
		return NULL;
	}
	return opened(p, name, err, errlen);
}

struct reader *reader_open_live(const char *iface, double seconds, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct reader *r;
	pcap_t *p = pcap_create(iface, ebuf);
	int e;

	if (!p) {
		snprintf(err, errlen, "%s: %s", iface, ebuf);
		return NULL;
	}
	/* Headers are what clone needs; 256 bytes keep nDPI's view of a
	 * flow's first payloads too */
	if (pcap_set_snaplen(p, 2048) || pcap_set_timeout(p, 100) ||
	    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) ||
	    pcap_set_buffer_size(p, 32 << 20)) {
		snprintf(err, errlen, "%s: %s", iface, pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	e = pcap_activate(p);
	if (e < 0) {
		snprintf(err, errlen, "%s: %s", iface,
			 e == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(e));
		pcap_close(p);
		return NULL;
	}
	if (pcap_setnonblock(p, 1, ebuf) || pcap_get_selectable_fd(p) < 0) {
		snprintf(err, errlen, "%s: %s", iface, ebuf[0] ? ebuf : "cannot poll it");
		pcap_close(p);
		return NULL;
	}
	if (!decode_link_name(pcap_datalink(p))) {
		snprintf(err, errlen, "%s: link type %d is not one dynamo reads", iface, pcap_datalink(p));
		pcap_close(p);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->link = pcap_datalink(p);
	r->live = true;
	if (seconds > 0)
		r->deadline_ns = mono_ns() + (uint64_t)(seconds * 1e9);
	return r;
}

int reader_next(struct reader *r, struct pkt *k, uint64_t *ts_ns, char *err, size_t errlen)
{
	for (;;) {
		struct pcap_pkthdr *h;
		const char *why;
		enum decode_res res;
		int e = pcap_next_ex(r->p, &h, &r->frame);

		if (e == 0) {           /* live: nothing there now */
			uint64_t now = mono_ns();
			struct pollfd pfd = { .fd = pcap_get_selectable_fd(r->p), .events = POLLIN };
			int ms = 100;

			if (r->stop || (r->deadline_ns && now >= r->deadline_ns))
				return 0;
			if (r->deadline_ns && r->deadline_ns - now < 100000000ull)
				ms = (int)((r->deadline_ns - now) / 1000000) + 1;
			/* The kernel wakes a TPACKET_V3 reader only for a block
			 * with packets: on a silent interface a blocking read
			 * never returns, so it is non-blocking, with a poll of
			 * our own that times out */
			(void)poll(&pfd, 1, ms);
			continue;
		}
		if (e == PCAP_ERROR_BREAK)
			return 0;
		if (e == PCAP_ERROR) {
			const char *msg = pcap_geterr(r->p);

			/* A file cut short, or a record libpcap cannot read (it
			 * cannot find the next one after it): keep what was read,
			 * and say where it stopped */
			if (!r->live) {
				snprintf(r->warning, sizeof(r->warning), "after frame %llu: %s",
					 (unsigned long long)r->c.frames, msg);
				return 0;
			}
			snprintf(err, errlen, "after frame %llu: %s", (unsigned long long)r->c.frames, msg);
			return -1;
		}
		if (e != 1)
			return 0;
		r->c.frames++;
		r->caplen = h->caplen;
		r->c.wire_bytes += h->len;
		*ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		if (r->live && r->deadline_ns && mono_ns() >= r->deadline_ns)
			return 0;
		res = decode_frame(r->link, r->frame, h->caplen, h->len, k, &why);
		if (res == DECODE_OK) {
			r->c.ip++;
			if (!r->c.first_ns || *ts_ns < r->c.first_ns)
				r->c.first_ns = *ts_ns;
			r->c.last_ns = MAX(r->c.last_ns, *ts_ns);
			return 1;
		}
		if (res == DECODE_NOT_IP) {
			r->c.not_ip++;
			continue;
		}
		if (res == DECODE_TRUNCATED)
			r->c.truncated++;
		else
			r->c.bad++;
		if (!r->c.first_bad_frame) {
			r->c.first_bad_frame = r->c.frames;
			r->c.first_bad_why = why;
		}
	}
}

const uint8_t *reader_frame(const struct reader *r, uint32_t *caplen)
{
	*caplen = r->caplen;
	return r->frame;
}

void reader_break(struct reader *r)
{
	r->stop = 1;
	pcap_breakloop(r->p);
}

const char *reader_warning(const struct reader *r)
{
	return r->warning[0] ? r->warning : NULL;
}

int reader_link(const struct reader *r)
{
	return r->link;
}

void reader_counts(const struct reader *r, struct reader_counts *c)
{
	*c = r->c;
}

void reader_close(struct reader *r)
{
	if (!r)
		return;
	pcap_close(r->p);
	if (r->map)
		munmap(r->map, r->map_len);
	free(r);
}
