/* site.h - the web site the HTTP(S) server serves: pages and the objects
 * they embed, made up from a seed and the model's params, so the same
 * path always names the same bytes (but for the block of a page that is
 * made per fetch, page_dynamic) and nothing is stored but a cache of
 * page markup.  Bodies are queued as references into shared blobs
 * (content.h and the site's own CSS, script and GIF blobs), never built
 * per request.
 *
 *   /, /index.html     the home page (page 0)
 *   /p/N.html          page N, 1 <= N < site_pages
 *   /static/site.css, /static/app.js, /static/logo.gif   on every page
 *   /css/N-I.css, /js/N-I.js, /img/N-I.gif   object I of page N
 *   /dl/N.bin          a download (application/octet-stream)
 *   /v/...             videos, when the model has them (video.h)
 */
#ifndef DYNAMO_SITE_H
#define DYNAMO_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/content.h"
#include "../engine/model.h"

struct conn;
struct site;

enum site_kind {
	SITE_PAGE, SITE_CSS, SITE_JS, SITE_GIF, SITE_FILE,
	SITE_MASTER, SITE_MEDIA, SITE_INIT, SITE_SEGMENT,      /* video.h */
};

/* What a path names. */
struct site_obj {
	uint8_t kind;              /* enum site_kind */
	uint8_t shared;            /* a /static/ object: cacheable for long */
	uint32_t page;             /* pages: the page; objects: the page it is on;
				    * videos: the title */
	uint32_t rung, seg;        /* videos: the rung's index, the segment */
	uint64_t key;              /* seeds its bytes */
	uint64_t size;             /* body bytes */
	const void *cached;        /* pages: the built page, NULL past the cache;
				    * playlists: their text */
	uint32_t dyn;              /* pages: bytes of this fetch's own block (in size) */
	uint64_t dkey;             /* pages: seeds that block */
};

/* A site for model m (its params) over content ct, which must outlive
 * it.  Never fails (out of memory aborts). */
struct site *site_new(const struct model *m, const struct content *ct, uint64_t seed);
void site_free(struct site *s);  /* accepts NULL */
uint32_t site_pages(const struct site *s);
/* Its video library (video.h), or NULL. */
struct video *site_video(const struct site *s);

/* What path (n bytes, no query) names: 0 and *o, or -ENOENT.  A page is
 * built on its first lookup and cached, up to a bound; past it, it is
 * built again by site_send(), which then copies its markup. */
int site_lookup(struct site *s, const char *path, size_t n, struct site_obj *o);
/* Its Content-Type. */
const char *site_type(const struct site_obj *o);
/* Queue o's body (o->size bytes) on c, as references where it can. */
void site_send(const struct site *s, const struct site_obj *o, struct conn *c);

#endif
