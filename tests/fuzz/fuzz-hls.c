/* fuzz-hls.c - libFuzzer target for what a streaming user reads (src/
 * agents/hls.h) and the video paths the server answers (video.h through
 * site.h): any bytes, read as a master and a media playlist, must parse
 * or be refused with a line inside the input, and what parses must point
 * inside the input; read as a path, they must name a video's part or
 * nothing, and what they name must be buildable. */
#include "../../src/agents/hls.h"
#include "../../src/agents/site.h"
#include "../../src/agents/video.h"
#include "../../src/lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model_text[] =
	"start watch\naction watch\nnext watch end 100%\n"
	"param videos 20\nparam video_length lognormal(3 min, 1.5)\nparam segment 2 s\n"
	"param rungs 4\nparam rung_low 200 kbps\nparam rung_high 3 Mbps\n";

static struct site *site;
static struct model *model;
static struct content content;
static struct hls_seg seg[4096];

static void check_in(uint32_t off, uint32_t n, size_t len)
{
	if ((uint64_t)off + n > len)
		__builtin_trap();
}

static void lines_in(const char *buf, size_t len, unsigned line)
{
	unsigned lines = 1;

	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if (line > lines)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *why = NULL;
	struct hls_variant v[HLS_MAX_VARIANTS];
	struct hls_media m;
	struct site_obj o;
	unsigned line = 0;
	int n;

	if (!site) {
		char *err = NULL;

		model = model_parse("fuzz.model", model_text, sizeof(model_text) - 1, &err);
		if (!model)
			__builtin_trap();
		content_init(&content, 1);
		site = site_new(model, &content, 2);
	}
	n = hls__master(buf, size, v, HLS_MAX_VARIANTS, &line, &why);
	if (n < 0) {
		if (!why)
			__builtin_trap();
		lines_in(buf, size, line);
	}
	for (int i = 0; i < n; i++) {
		check_in(v[i].off, v[i].len, size);
		if (!v[i].bandwidth)
			__builtin_trap();
	}
	why = NULL;
	if (hls__media(buf, size, &m, seg, ARRAY_SIZE(seg), &line, &why)) {
		if (!why)
			__builtin_trap();
		lines_in(buf, size, line);
	} else {
		if (m.nseg > ARRAY_SIZE(seg))
			__builtin_trap();
		for (uint32_t i = 0; i < m.nseg; i++)
			check_in(seg[i].off, seg[i].len, size);
		if (m.map)
			check_in(m.map_off, m.map_len, size);
	}
	/* as a path on the server */
	if (site_lookup(site, buf, size, &o) == 0 && o.kind >= SITE_MASTER) {
		uint8_t head[VIDEO_HEAD_MAX];

		if ((o.kind == SITE_MASTER || o.kind == SITE_MEDIA) && !o.cached)
			__builtin_trap();
		if ((o.kind == SITE_INIT || o.kind == SITE_SEGMENT)) {
			size_t h = video__head(site_video(site), &o, head, sizeof(head));

			if (h > sizeof(head) || h > o.size || (o.kind == SITE_INIT && h != o.size))
				__builtin_trap();
		}
	}
	return 0;
}
