/* video.h - the video library the HTTP(S) server offers streaming users
 * (site.h serves it under /v/ when the model has a 'segment' param).
 * Titles are made up from a seed and the model's params; each is encoded
 * at every rung of a bitrate ladder as HLS with fragmented MP4 (CMAF)
 * segments, so the same path always names the same bytes and nothing is
 * stored:
 *
 *   /v/N/master.m3u8        title N's master playlist, a variant per rung
 *   /v/N/Rk/index.m3u8      its media playlist at R kbit/s (VOD)
 *   /v/N/Rk/init.mp4        the initialisation segment (ftyp, moov)
 *   /v/N/Rk/S.m4s           media segment S (styp, moof, mdat)
 *
 * Params: videos (titles in the library), video_length (a title's
 * length), segment (a segment's duration), rungs, rung_low and rung_high
 * (the ladder: rungs bitrates spaced evenly on a log scale, rounded as
 * encoders' ladders are), vbr (how much a segment's size strays from
 * its rung's bitrate: the sigma of a log-normal weight, the same for a
 * segment at every rung, as scenes are). */
#ifndef DYNAMO_VIDEO_H
#define DYNAMO_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/content.h"
#include "../engine/model.h"

#define VIDEO_MAX_RUNGS 12u
#define VIDEO_MAX_SEGS 20000u      /* segments of a title, at most */
#define VIDEO_HEAD_MAX 5120u       /* bytes of an init segment or a segment's boxes */

struct conn;
struct site_obj;
struct video;

/* The library for model m, or NULL when m has no 'segment' param. */
struct video *video_new(const struct model *m, uint64_t seed);
void video_free(struct video *v);  /* accepts NULL */

/* The ladder: n rungs' kbit/s, rising. */
const uint32_t *video_ladder(const struct video *v, uint32_t *n);
uint32_t video_titles(const struct video *v);

/* What a path names, by its numbers: title t, the rung of kbps k,
 * segment s.  0 and *o, or -ENOENT.  A playlist is built here, in the
 * library's own buffer, and stays valid until the next lookup. */
int video_master(struct video *v, uint32_t t, struct site_obj *o);
int video_media(struct video *v, uint32_t t, uint32_t k, struct site_obj *o);
int video_init(struct video *v, uint32_t t, uint32_t k, struct site_obj *o);
int video_segment(struct video *v, uint32_t t, uint32_t k, uint32_t s, struct site_obj *o);

/* The bytes of an init segment, or of a media segment's boxes before
 * its frames (styp, moof, the mdat's head), into buf: their length
 * (more than cap: nothing past cap was written). */
size_t video__head(const struct video *v, const struct site_obj *o, uint8_t *buf, size_t cap);
/* Queue o's body (o->size bytes) on c. */
void video_send(const struct video *v, const struct content *ct, const struct site_obj *o,
		struct conn *c);

#endif
