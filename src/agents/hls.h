/* hls.h - what a streaming user reads and decides: HLS playlists
 * (RFC 8216) parsed as pure functions on (buf, len), so that fuzz-hls can
 * drive them, the player's estimate of its throughput, and its choice of
 * a rung.  Nothing here allocates; URIs are offsets into buf. */
#ifndef DYNAMO_HLS_H
#define DYNAMO_HLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HLS_MAX_PLAYLIST (4u << 20)  /* bytes of a playlist, at most */
#define HLS_MAX_VARIANTS 16
#define HLS_MAX_SEGS 65536u

/* A variant of a master playlist (EXT-X-STREAM-INF and its URI line). */
struct hls_variant {
	uint64_t bandwidth;        /* BANDWIDTH: the peak, bits/s */
	uint64_t average;          /* AVERAGE-BANDWIDTH, 0 when not given */
	uint32_t off, len;         /* the URI, in buf */
};

/* A master playlist: its variants into v (the first max of them), in
 * the playlist's order.  Returns how many it holds (0: none, which a
 * media playlist has), or -1 with *line the line that is wrong and
 * *why what is wrong with it. */
int hls__master(const char *buf, size_t len, struct hls_variant *v, size_t max, unsigned *line,
		const char **why);

struct hls_seg {
	uint32_t off, len;         /* the URI, in buf */
	float dur;                 /* EXTINF, s */
};

struct hls_media {
	double target;             /* EXT-X-TARGETDURATION, s */
	uint32_t nseg;
	bool endlist;              /* EXT-X-ENDLIST: the whole title is here */
	bool map;                  /* EXT-X-MAP: an init segment */
	uint32_t map_off, map_len; /* its URI, in buf */
};

/* A media playlist: its segments into seg (at most max: more is an
 * error).  0, or -1 with *line and *why as for hls__master(). */
int hls__media(const char *buf, size_t len, struct hls_media *m, struct hls_seg *seg, size_t max,
	       unsigned *line, const char **why);

/* The player's throughput estimate: two moving averages of what each
 * segment's download achieved, weighted by its duration, a fast and a
 * slow one (half-lives of 3 and 9 s of downloading), of which the lower
 * is believed, as hls.js does. */
struct hls_est {
	double fast, slow;         /* bits/s, biased toward 0 at first */
	double total;              /* s of downloads sampled */
};

void hls__sample(struct hls_est *e, double secs, double bits);
/* The estimate, bits/s, or dflt before any sample. */
double hls__estimate(const struct hls_est *e, double dflt);

/* The rung to fetch next among n rising bitrates (bits/s), now at cur:
 * the highest that fits the estimate, 90 % of it to stay or step down,
 * 70 % to step up; never up while less than two segments are buffered. */
size_t hls__pick(const uint64_t *bps, size_t n, size_t cur, double est, double buffer, double seg);

#endif
