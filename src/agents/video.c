/* video.c - the video library (video.h).  A title's length and each
 * segment's weight (how hard its scenes are to encode) are drawn from the
 * library's seed and the title's and segment's numbers, so a busy scene
 * makes a large segment at every rung, as a real encode does, and any
 * path is answered without state but the buffer of the playlist being
 * answered.  Segments are CMAF: an styp, a moof whose trun lists a
 * frame per 1/30 s (a key frame first, the sizes adding up to the mdat),
 * and the mdat of random bytes; the init segment is an ftyp and a moov
 * with one H.264 video track. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/conn.h"
#include "../lib/bytes.h"
#include "../lib/util.h"
#include "site.h"
#include "video.h"

#define MAX_TITLES 100000u
#define FPS 30u
#define TIMESCALE 90000u           /* of the video track: 3000 a frame */
#define SEG_MIN 1.0                /* s: a segment's duration, at least ... */
#define SEG_MAX 20.0               /* ... and at most */
#define MAX_FRAMES 601u             /* SEG_MAX * FPS, and one */
#define KEY_WEIGHT 8u              /* a key frame is this many others */
#define MAX_SEG (256ull << 20)     /* bytes of a segment, at most */

struct video {
	const struct model *m;
	uint64_t seed;
	uint32_t ntitles, nrungs;
	uint32_t kbps[VIDEO_MAX_RUNGS];
	double seg;                /* a segment's duration, s */
	double vbr;                /* the sigma of a segment's weight */
	struct buf text;           /* the playlist answered last */
};

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t k[3] = { a, b, c };

	return rng_hash(k, sizeof(k), 0x766964656fu);
}

/* kbit/s as ladders are written: 50 apart below 1 Mbit/s, 100 above */
static uint32_t round_rate(double kbps)
{
	double step = kbps < 1000 ? 50 : 100;

	return (uint32_t)MAX(step, round(kbps / step) * step);
}

struct video *video_new(const struct model *m, uint64_t seed)
{
	struct video *v;
	struct rng r;
	double lo, hi, n, x;

	if (!model_has(m, "segment"))
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v->m = m;
	v->seed = seed;
	rng_seed(&r, seed);
	x = model_draw(m, "videos", &r, 100);
	v->ntitles = x < 1 ? 1 : x > MAX_TITLES ? MAX_TITLES : (uint32_t)x;
	v->seg = MIN(SEG_MAX, MAX(SEG_MIN, model_draw(m, "segment", &r, 4)));
	v->vbr = MIN(1.0, MAX(0.0, model_draw(m, "vbr", &r, 0.3)));
	n = model_draw(m, "rungs", &r, 5);
	v->nrungs = n < 1 ? 1 : n > VIDEO_MAX_RUNGS ? VIDEO_MAX_RUNGS : (uint32_t)lround(n);
	lo = MIN(1e9, MAX(50e3, model_draw(m, "rung_low", &r, 400e3)));
	hi = MIN(1e9, MAX(lo, model_draw(m, "rung_high", &r, 6e6)));
	for (uint32_t i = 0; i < v->nrungs; i++) {
		double f = v->nrungs > 1 ? (double)i / (v->nrungs - 1) : 1;

		v->kbps[i] = round_rate(lo * pow(hi / lo, f) / 1000);
		if (i && v->kbps[i] <= v->kbps[i - 1])
			v->kbps[i] = v->kbps[i - 1] + (v->kbps[i - 1] < 1000 ? 50 : 100);
	}
	return v;
}

void video_free(struct video *v)
{
	if (!v)
		return;
	buf_free(&v->text);
	free(v);
}

const uint32_t *video_ladder(const struct video *v, uint32_t *n)
{
	*n = v->nrungs;
	return v->kbps;
}

uint32_t video_titles(const struct video *v)
{
	return v->ntitles;
}

/* ---- a title --------------------------------------------------------------- */

static double title_length(const struct video *v, uint32_t t)
{
	struct rng r;
	double len;

	rng_seed(&r, mix(v->seed, t, 1));
	len = model_draw(v->m, "video_length", &r, 600);
	return MIN(v->seg * VIDEO_MAX_SEGS, MAX(v->seg, len));
}

static uint32_t title_segs(const struct video *v, double len)
{
	return (uint32_t)MIN(VIDEO_MAX_SEGS, ceil(len / v->seg - 1e-6));
}

/* Segment s's duration; the last is what is left of the title. */
static double seg_dur(const struct video *v, double len, uint32_t n, uint32_t s)
{
	double d = s + 1 < n ? v->seg : len - v->seg * (n - 1);

	return MAX(1.0 / FPS, MIN(v->seg, d));
}

static unsigned seg_frames(double dur)
{
	long f = lround(dur * FPS);

	return (unsigned)MAX(1, MIN((long)MAX_FRAMES, f));
}

/* How hard segment s is to encode: log-normal with mean 1. */
static double seg_weight(const struct video *v, uint32_t t, uint32_t s)
{
	struct rng r;
	double w;

	rng_seed(&r, mix(v->seed, t, 2 + ((uint64_t)s << 8)));
	w = exp(v->vbr * rng_normal(&r) - v->vbr * v->vbr / 2);
	return MIN(4.0, MAX(0.25, w));
}

/* The boxes before the mdat's bytes: styp, moof (mfhd, traf: tfhd,
 * tfdt, trun with a duration and a size per frame), the mdat's head. */
#define STYP 24u
#define TRUN(n) (8u + 4 + 4 + 4 + 4 + 8u * (n))
#define MOOF(n) (8u + 16 + 8 + 20 + 20 + TRUN(n))
#define SEG_HEAD(n) (STYP + MOOF(n) + 8u)
_Static_assert(SEG_HEAD(MAX_FRAMES) <= VIDEO_HEAD_MAX, "VIDEO_HEAD_MAX holds a segment's head");

static uint64_t seg_bytes(const struct video *v, uint32_t t, uint32_t rung, double dur, uint32_t s)
{
	double b = v->kbps[rung] * 1000.0 / 8 * dur * seg_weight(v, t, s);
	unsigned n = seg_frames(dur);

	return MAX((uint64_t)SEG_HEAD(n) + 16u * n, (uint64_t)MIN(b, (double)MAX_SEG));
}

static int find_rung(const struct video *v, uint32_t k)
{
	for (uint32_t i = 0; i < v->nrungs; i++)
		if (v->kbps[i] == k)
			return (int)i;
	return -1;
}

/* Title t exists, and rung k of it: 0, or -ENOENT. */
static int title_obj(const struct video *v, uint32_t t, uint32_t k, bool any_rung, uint8_t kind,
		     struct site_obj *o)
{
	int r = any_rung ? 0 : find_rung(v, k);

	if (t >= v->ntitles || r < 0)
		return -ENOENT;
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->page = t;
	o->rung = (uint32_t)r;
	o->key = mix(v->seed, t, 3 + ((uint64_t)r << 8));
	return 0;
}

/* ---- playlists ----------------------------------------------------------- */

static void frame_size(uint32_t kbps, unsigned *w, unsigned *h)
{
	static const struct {
		uint32_t kbps;
		unsigned w, h;
	} sizes[] = {
		{ 300, 416, 234 }, { 700, 640, 360 }, { 1200, 768, 432 }, { 2000, 960, 540 },
		{ 3500, 1280, 720 }, { 7000, 1920, 1080 }, { 14000, 2560, 1440 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		if (kbps < sizes[i].kbps) {
			*w = sizes[i].w;
			*h = sizes[i].h;
			return;
		}
	*w = 3840;
	*h = 2160;
}

int video_master(struct video *v, uint32_t t, struct site_obj *o)
{
	double len;
	uint32_t n;
	double peak = 0;

	if (title_obj(v, t, 0, true, SITE_MASTER, o))
		return -ENOENT;
	len = title_length(v, t);
	n = title_segs(v, len);
	for (uint32_t s = 0; s < n; s++)
		peak = MAX(peak, seg_weight(v, t, s));
	v->text.len = 0;
	buf_printf(&v->text, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
	for (uint32_t i = 0; i < v->nrungs; i++) {
		unsigned w, h;

		frame_size(v->kbps[i], &w, &h);
		/* BANDWIDTH is the peak segment's rate, AVERAGE-BANDWIDTH the
		 * title's (RFC 8216 4.3.4.2); the bytes on the wire, in bits */
		buf_printf(&v->text,
			   "#EXT-X-STREAM-INF:BANDWIDTH=%.0f,AVERAGE-BANDWIDTH=%u,"
			   "CODECS=\"avc1.64001f\",RESOLUTION=%ux%u,FRAME-RATE=30.000\n%uk/index.m3u8\n",
			   ceil(v->kbps[i] * 1000.0 * peak), v->kbps[i] * 1000, w, h, v->kbps[i]);
	}
	o->cached = v->text.p;
	o->size = v->text.len;
	return 0;
}

int video_media(struct video *v, uint32_t t, uint32_t k, struct site_obj *o)
{
	double len;
	uint32_t n;

	if (title_obj(v, t, k, false, SITE_MEDIA, o))
		return -ENOENT;
	len = title_length(v, t);
	n = title_segs(v, len);
	v->text.len = 0;
	buf_printf(&v->text,
		   "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%.0f\n#EXT-X-MEDIA-SEQUENCE:0\n"
		   "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n",
		   ceil(v->seg));
	for (uint32_t s = 0; s < n; s++)
		buf_printf(&v->text, "#EXTINF:%.3f,\n%u.m4s\n", seg_dur(v, len, n, s), s);
	buf_printf(&v->text, "#EXT-X-ENDLIST\n");
	o->cached = v->text.p;
	o->size = v->text.len;
	return 0;
}

/* ---- MP4 boxes -------------------------------------------------------------- */

struct bw {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct bw *b, const void *p, size_t n)
{
	if (b->n + n <= b->cap)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void u8(struct bw *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16(struct bw *b, uint16_t v)
{
	uint8_t x[2];

	put_be16(x, v);
	put(b, x, 2);
}

static void u32(struct bw *b, uint32_t v)
{
	uint8_t x[4];

	put_be32(x, v);
	put(b, x, 4);
}

static void zeros(struct bw *b, size_t n)
{
	while (n--)
		u8(b, 0);
}

/* A box's head with its size to come; box_end() writes it. */
static size_t box(struct bw *b, const char *type)
{
	size_t at = b->n;

	u32(b, 0);
	put(b, type, 4);
	return at;
}

static size_t full_box(struct bw *b, const char *type, uint8_t version, uint32_t flags)
{
	size_t at = box(b, type);

	u32(b, (uint32_t)version << 24 | flags);
	return at;
}

static void box_end(struct bw *b, size_t at)
{
	if (at + 4 <= b->cap)
		put_be32(b->p + at, (uint32_t)(b->n - at));
}

static void matrix(struct bw *b)
{
	static const uint32_t unity[9] = { 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000 };

	for (int i = 0; i < 9; i++)
		u32(b, unity[i]);
}

/* An SPS and a PPS of High profile, level 3.1: what an encoder's
 * avcC holds (nothing on the wire decodes them). */
static const uint8_t sps[] = {
	0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
	0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
};
static const uint8_t pps[] = { 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0 };

static void init_boxes(struct bw *b, unsigned w, unsigned h)
{
	size_t moov, trak, mdia, minf, dinf, dref, stbl, stsd, avc1, avcc, mvex, at;
	static const char name[] = "VideoHandler";
	char compressor[32] = { 0 };

	at = box(b, "ftyp");
	put(b, "iso6", 4);
	u32(b, 0);
	put(b, "iso6cmfcavc1mp41", 16);
	box_end(b, at);
	moov = box(b, "moov");
	at = full_box(b, "mvhd", 0, 0);
	u32(b, 0);                      /* creation, modification */
	u32(b, 0);
	u32(b, 1000);                   /* timescale */
	u32(b, 0);                      /* duration: fragmented */
	u32(b, 0x00010000);             /* rate 1.0 */
	u16(b, 0x0100);                 /* volume 1.0 */
	zeros(b, 10);
	matrix(b);
	zeros(b, 24);
	u32(b, 2);                      /* next track */
	box_end(b, at);
	trak = box(b, "trak");
	at = full_box(b, "tkhd", 0, 3);  /* enabled, in movie */
	u32(b, 0);
	u32(b, 0);
	u32(b, 1);                      /* track 1 */
	u32(b, 0);
	u32(b, 0);                      /* duration */
	zeros(b, 8);
	u16(b, 0);                      /* layer, alternate group, volume */
	u16(b, 0);
	u16(b, 0);
	u16(b, 0);
	matrix(b);
	u32(b, w << 16);
	u32(b, h << 16);
	box_end(b, at);
	mdia = box(b, "mdia");
	at = full_box(b, "mdhd", 0, 0);
	u32(b, 0);
	u32(b, 0);
	u32(b, TIMESCALE);
	u32(b, 0);
	u16(b, 0x55c4);                 /* 'und' */
	u16(b, 0);
	box_end(b, at);
	at = full_box(b, "hdlr", 0, 0);
	u32(b, 0);
	put(b, "vide", 4);
	zeros(b, 12);
	put(b, name, sizeof(name));
	box_end(b, at);
	minf = box(b, "minf");
	at = full_box(b, "vmhd", 0, 1);
	zeros(b, 8);
	box_end(b, at);
	dinf = box(b, "dinf");
	dref = full_box(b, "dref", 0, 0);
	u32(b, 1);
	at = full_box(b, "url ", 0, 1);  /* the media is in this file */
	box_end(b, at);
	box_end(b, dref);
	box_end(b, dinf);
	stbl = box(b, "stbl");
	stsd = full_box(b, "stsd", 0, 0);
	u32(b, 1);
	avc1 = box(b, "avc1");
	zeros(b, 6);
	u16(b, 1);                      /* data reference */
	zeros(b, 16);
	u16(b, (uint16_t)w);
	u16(b, (uint16_t)h);
	u32(b, 0x00480000);             /* 72 dpi */
	u32(b, 0x00480000);
	u32(b, 0);
	u16(b, 1);                      /* a frame per sample */
	compressor[0] = 4;
	memcpy(compressor + 1, "x264", 4);
	put(b, compressor, sizeof(compressor));
	u16(b, 0x0018);                 /* depth */
	u16(b, 0xffff);
	avcc = box(b, "avcC");
	u8(b, 1);
	u8(b, sps[1]);                  /* profile, compatibility, level */
	u8(b, sps[2]);
	u8(b, sps[3]);
	u8(b, 0xff);                    /* 4-byte NAL lengths */
	u8(b, 0xe1);                    /* one SPS */
	u16(b, sizeof(sps));
	put(b, sps, sizeof(sps));
	u8(b, 1);
	u16(b, sizeof(pps));
	put(b, pps, sizeof(pps));
	box_end(b, avcc);
	box_end(b, avc1);
	box_end(b, stsd);
	at = full_box(b, "stts", 0, 0);
	u32(b, 0);
	box_end(b, at);
	at = full_box(b, "stsc", 0, 0);
	u32(b, 0);
	box_end(b, at);
	at = full_box(b, "stsz", 0, 0);
	u32(b, 0);
	u32(b, 0);
	box_end(b, at);
	at = full_box(b, "stco", 0, 0);
	u32(b, 0);
	box_end(b, at);
	box_end(b, stbl);
	box_end(b, minf);
	box_end(b, mdia);
	box_end(b, trak);
	mvex = box(b, "mvex");
	at = full_box(b, "trex", 0, 0);
	u32(b, 1);                      /* track */
	u32(b, 1);                      /* sample description */
	u32(b, 0);
	u32(b, 0);
	u32(b, 0);
	box_end(b, at);
	box_end(b, mvex);
	box_end(b, moov);
}

int video_init(struct video *v, uint32_t t, uint32_t k, struct site_obj *o)
{
	struct bw b = { 0 };
	unsigned w, h;

	if (title_obj(v, t, k, false, SITE_INIT, o))
		return -ENOENT;
	frame_size(k, &w, &h);
	init_boxes(&b, w, h);           /* counts the bytes */
	o->size = b.n;
	return 0;
}

int video_segment(struct video *v, uint32_t t, uint32_t k, uint32_t s, struct site_obj *o)
{
	double len;
	uint32_t n;

	if (title_obj(v, t, k, false, SITE_SEGMENT, o))
		return -ENOENT;
	len = title_length(v, t);
	n = title_segs(v, len);
	if (s >= n)
		return -ENOENT;
	o->seg = s;
	o->size = seg_bytes(v, t, o->rung, seg_dur(v, len, n, s), s);
	return 0;
}

/* styp, moof and the mdat's head of a segment of size bytes, its
 * frames' sizes drawn around a key frame of KEY_WEIGHT others. */
static void seg_boxes(struct bw *b, const struct video *v, const struct site_obj *o, double dur)
{
	unsigned n = seg_frames(dur), wsum = 0;
	uint64_t data = o->size - SEG_HEAD(n), left = data;
	uint8_t wt[MAX_FRAMES];
	size_t at, moof, traf;
	struct rng r;

	rng_seed(&r, o->key ^ o->seg);
	for (unsigned i = 0; i < n; i++) {
		wt[i] = i == 0 ? (uint8_t)(KEY_WEIGHT * 8) : (uint8_t)(4 + rng_below(&r, 9));
		wsum += wt[i];
	}
	at = box(b, "styp");
	put(b, "msdh", 4);
	u32(b, 0);
	put(b, "msdhmsix", 8);
	box_end(b, at);
	moof = box(b, "moof");
	at = full_box(b, "mfhd", 0, 0);
	u32(b, o->seg + 1);
	box_end(b, at);
	traf = box(b, "traf");
	at = full_box(b, "tfhd", 0, 0x020020);  /* default-base-is-moof, default flags */
	u32(b, 1);
	u32(b, 0x01010000);             /* depends on others, not a sync sample */
	box_end(b, at);
	at = full_box(b, "tfdt", 1, 0);
	u32(b, (uint32_t)((uint64_t)((double)o->seg * v->seg * TIMESCALE) >> 32));
	u32(b, (uint32_t)(uint64_t)((double)o->seg * v->seg * TIMESCALE));
	box_end(b, at);
	at = full_box(b, "trun", 0, 0x000305);  /* offset, first flags, durations, sizes */
	u32(b, n);
	u32(b, MOOF(n) + 8);            /* from the moof to the mdat's bytes */
	u32(b, 0x02000000);             /* the first is a sync sample */
	for (unsigned i = 0; i < n; i++) {
		uint64_t sz = i + 1 < n ? MAX(1, data * wt[i] / wsum) : left;

		sz = MIN(sz, left - (n - 1 - i));
		u32(b, TIMESCALE / FPS);
		u32(b, (uint32_t)sz);
		left -= sz;
	}
	box_end(b, at);
	box_end(b, traf);
	box_end(b, moof);
	u32(b, (uint32_t)(data + 8));
	put(b, "mdat", 4);
}

size_t video__head(const struct video *v, const struct site_obj *o, uint8_t *buf, size_t cap)
{
	struct bw b = { buf, 0, cap };
	unsigned w, h;
	double len;
	uint32_t n;

	switch (o->kind) {
	case SITE_INIT:
		frame_size(v->kbps[o->rung], &w, &h);
		init_boxes(&b, w, h);
		break;
	case SITE_SEGMENT:
		len = title_length(v, o->page);
		n = title_segs(v, len);
		seg_boxes(&b, v, o, seg_dur(v, len, n, o->seg));
		break;
	default:
		break;
	}
	return b.n;
}

void video_send(const struct video *v, const struct content *ct, const struct site_obj *o,
		struct conn *c)
{
	uint8_t buf[VIDEO_HEAD_MAX];
	size_t n;

	switch (o->kind) {
	case SITE_MASTER:
	case SITE_MEDIA:
		conn_write(c, o->cached, (size_t)o->size);
		break;
	case SITE_INIT:
	case SITE_SEGMENT:
		n = video__head(v, o, buf, sizeof(buf));
		conn_write(c, buf, n);
		if (o->kind == SITE_SEGMENT)
			content_send(ct, c, CONTENT_BINARY, o->key + o->seg, o->size - n);
		break;
	default:
		break;
	}
}
