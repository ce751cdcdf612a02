/* test-hls.c - the streaming agents' pure parts: HLS playlists as the
 * player reads them (src/agents/hls.c), its throughput estimate and
 * choice of a rung, and the video library the server makes
 * (src/agents/video.c): its ladder, playlists read back by the player's
 * parser, segment sizes at the ladder's bitrates, and the MP4 boxes of
 * init and media segments. */
#include "unit.h"

#include <errno.h>
#include <math.h>

#include "../../src/agents/hls.h"
#include "../../src/agents/site.h"
#include "../../src/agents/video.h"
#include "../../src/lib/bytes.h"

#define S(lit) lit, sizeof(lit) - 1

static bool uri_is(const char *buf, uint32_t off, uint32_t len, const char *w)
{
	return len == strlen(w) && !memcmp(buf + off, w, len);
}

static void master_playlists(void **state)
{
	static const char good[] =
		"#EXTM3U\r\n"
		"# a comment\r\n"
		"#EXT-X-VERSION:7\r\n"
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"iframes.m3u8\"\r\n"
		"\r\n"
		"#EXT-X-STREAM-INF:BANDWIDTH=2400000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720\r\n"
		"hi/index.m3u8\r\n"
		"#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=500000,BANDWIDTH=640000\n"
		"https://cdn.example/lo/index.m3u8";
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} bad[] = {
		{ "#EXTM3\nx\n", 1, "begins with #EXTM3U" },
		{ "", 1, "begins with #EXTM3U" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\na\n", 2, "without BANDWIDTH" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=12x\na\n", 2, "not a number" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=0\na\n", 2, "not a number" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=99999999999999999999999\na\n", 2, "not a number" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"avc1,BANDWIDTH=1\na\n", 2, "malformed attribute" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,\na\n", 2, "malformed attribute" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:bandwidth=1\na\n", 2, "malformed attribute" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\na\n", 3,
		  "without a URI before it" },
		{ "#EXTM3U\n\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", 3, "without a URI after it" },
	};
	struct hls_variant v[HLS_MAX_VARIANTS];
	const char *why = NULL;
	unsigned line = 0;

	(void)state;
	assert_int_equal(hls__master(S(good), v, HLS_MAX_VARIANTS, &line, &why), 2);
	assert_int_equal(v[0].bandwidth, 2400000);
	assert_int_equal(v[0].average, 0);
	assert_true(uri_is(good, v[0].off, v[0].len, "hi/index.m3u8"));
	assert_int_equal(v[1].bandwidth, 640000);
	assert_int_equal(v[1].average, 500000);
	assert_true(uri_is(good, v[1].off, v[1].len, "https://cdn.example/lo/index.m3u8"));
	/* the first max only */
	assert_int_equal(hls__master(S(good), v, 1, &line, &why), 1);
	/* a media playlist holds no variants */
	assert_int_equal(hls__master(S("#EXTM3U\n#EXTINF:4,\na.ts\n"), v, 4, &line, &why), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(hls__master(bad[i].text, strlen(bad[i].text), v, 4, &line, &why), -1);
		assert_int_equal(line, bad[i].line);
		assert_non_null(strstr(why, bad[i].why));
	}
}

static void media_playlists(void **state)
{
	static const char good[] =
		"#EXTM3U\n"
		"#EXT-X-TARGETDURATION:6\n"
		"#EXT-X-MAP:BYTERANGE=\"1@0\",URI=\"init.mp4\"\n"
		"#EXTINF:5.005,a title, with a comma\n"
		"s0.m4s\n"
		"#EXT-X-DISCONTINUITY\n"
		"#EXTINF:6\n"
		"/abs/s1.m4s\n"
		"#EXTINF:0.5,\n"
		"s2.m4s\n"
		"#EXT-X-ENDLIST\n";
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} bad[] = {
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\na.ts\n", 3, "without EXTINF" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:x,\na.ts\n", 3, "not a number" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:-1,\na.ts\n", 3, "not a number" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.,\na.ts\n", 3, "not a number" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:100000\na.ts\n", 3, "not a number" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4\n#EXTINF:4\na\n", 4, "before it" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4\n", 3, "after it" },
		{ "#EXTM3U\n#EXTINF:4\na.ts\n", 3, "no EXT-X-TARGETDURATION" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4.5\n", 2, "TARGETDURATION is not" },
		{ "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n", 3, "EXT-X-MAP without" },
		{ "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx\n", 2, "a master playlist" },
	};
	struct hls_seg seg[4];
	struct hls_media m;
	const char *why = NULL;
	unsigned line = 0;
	char many[200] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n";

	(void)state;
	assert_int_equal(hls__media(S(good), &m, seg, 4, &line, &why), 0);
	assert_int_equal(m.nseg, 3);
	assert_true(m.target == 6);
	assert_true(m.endlist);
	assert_true(m.map);
	assert_true(uri_is(good, m.map_off, m.map_len, "init.mp4"));
	assert_true(uri_is(good, seg[0].off, seg[0].len, "s0.m4s"));
	assert_true(fabs(seg[0].dur - 5.005) < 1e-6);
	assert_true(uri_is(good, seg[1].off, seg[1].len, "/abs/s1.m4s"));
	assert_true(seg[1].dur == 6);
	assert_true(seg[2].dur == 0.5f);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(hls__media(bad[i].text, strlen(bad[i].text), &m, seg, 4, &line, &why), -1);
		assert_int_equal(line, bad[i].line);
		assert_non_null(strstr(why, bad[i].why));
	}
	/* more segments than the caller keeps is an error, not a cut */
	for (int i = 0; i < 5; i++)
		strcat(many, "#EXTINF:1\nx\n");
	assert_int_equal(hls__media(many, strlen(many), &m, seg, 4, &line, &why), -1);
	assert_int_equal(line, 12);
	assert_non_null(strstr(why, "more segments"));
}

static void estimate_and_pick(void **state)
{
	static const uint64_t ladder[] = { 300000, 700000, 1500000, 3000000, 6000000 };
	struct hls_est e = { 0 };

	(void)state;
	assert_true(hls__estimate(&e, 500e3) == 500e3);
	/* a steady link is believed exactly, whatever the first weights */
	hls__sample(&e, 0.5, 2e6);
	assert_true(fabs(hls__estimate(&e, 0) - 4e6) < 1);
	for (int i = 0; i < 20; i++)
		hls__sample(&e, 0.5, 2e6);
	assert_true(fabs(hls__estimate(&e, 0) - 4e6) < 1);
	/* a drop shows soon (the fast average), a rise late (the slow) */
	hls__sample(&e, 2, 2e6);                /* 1 Mbit/s for 2 s */
	{
		/* 10.5 s at 4, 2 s at 1: the fast average, with its start
		 * at 0 taken out */
		double a = pow(0.5, 2 / 3.0), before = 4e6 * (1 - pow(0.5, 10.5 / 3));
		double fast = (1e6 * (1 - a) + a * before) / (1 - pow(0.5, 12.5 / 3));

		assert_true(fabs(hls__estimate(&e, 0) - fast) < 1);
		assert_true(fast < 3e6);
	}
	for (int i = 0; i < 10; i++)
		hls__sample(&e, 0.1, 2e6);      /* 20 Mbit/s for 1 s */
	assert_true(hls__estimate(&e, 0) < 6e6);
	/* nothing taken from a sample that cannot be */
	e = (struct hls_est){ 0 };
	hls__sample(&e, 0, 1e6);
	hls__sample(&e, NAN, 1e6);
	hls__sample(&e, 1, -5);
	assert_true(hls__estimate(&e, 7) == 7);

	/* 90 % to stay or go down, 70 % to go up */
	assert_int_equal(hls__pick(ladder, 5, 2, 1.6e6, 30, 4), 1);
	assert_int_equal(hls__pick(ladder, 5, 2, 1.7e6, 30, 4), 2);
	assert_int_equal(hls__pick(ladder, 5, 2, 4.2e6, 30, 4), 2);
	assert_int_equal(hls__pick(ladder, 5, 2, 4.3e6, 30, 4), 3);
	assert_int_equal(hls__pick(ladder, 5, 0, 100e6, 30, 4), 4);
	/* not up on a thin buffer; down whatever the buffer */
	assert_int_equal(hls__pick(ladder, 5, 0, 100e6, 7.9, 4), 0);
	assert_int_equal(hls__pick(ladder, 5, 4, 1e6, 0, 4), 1);
	/* the lowest when nothing fits, or the estimate is not a number */
	assert_int_equal(hls__pick(ladder, 5, 3, 1e3, 30, 4), 0);
	assert_int_equal(hls__pick(ladder, 5, 3, NAN, 30, 4), 0);
}

static const char streaming_model[] =
	"start watch\naction watch\nnext watch end 100%\n"
	"param videos 50\nparam video_length lognormal(10 min, 0.8)\nparam segment 4 s\n"
	"param rungs 5\nparam rung_low 300 kbps\nparam rung_high 6 Mbps\nparam vbr 0.3\n";

static struct model *model_of(const char *text)
{
	char *err = NULL;
	struct model *m = model_parse("t.model", text, strlen(text), &err);

	assert_null(err);
	return m;
}

/* The boxes of an MP4 at p: each one's size adds up, and the types in
 * order are want's (4 characters each, nested boxes flattened). */
static void boxes(const uint8_t *p, size_t n, const char *want)
{
	static const char *const parents = "moov trak mdia minf stbl dinf mvex moof traf ";
	char got[400] = "";
	size_t at = 0, stack[8], depth = 0, end[8];

	end[0] = n;
	while (at < n) {
		uint32_t size;
		char type[5] = { 0 };

		while (depth && at == end[depth])
			depth--;
		assert_true(at + 8 <= end[depth]);
		size = be32(p + at);
		memcpy(type, p + at + 4, 4);
		strcat(got, type);
		if (!strcmp(type, "mdat"))
			break;          /* the frames follow the head */
		assert_true(size >= 8 && at + size <= end[depth]);
		if (strstr(parents, type) && depth < 7) {
			stack[++depth] = at;
			end[depth] = at + size;
			at += 8;
		} else {
			at += size;
		}
	}
	(void)stack;
	assert_string_equal(got, want);
}

static void video_library(void **state)
{
	struct model *m = model_of(streaming_model), *web = model_of("start a\naction a\nnext a end 100%\n");
	struct video *v = video_new(m, 42);
	struct hls_variant var[HLS_MAX_VARIANTS];
	static struct hls_seg seg[VIDEO_MAX_SEGS];
	struct hls_media med;
	struct site_obj o;
	const uint32_t *ladder;
	uint32_t n;
	const char *why;
	unsigned line;
	char *text;
	double bytes = 0, secs = 0;
	uint8_t head[VIDEO_HEAD_MAX];

	(void)state;
	assert_null(video_new(web, 1));
	assert_non_null(v);
	ladder = video_ladder(v, &n);
	assert_int_equal(n, 5);
	/* 300 kbps to 6 Mbps, even on a log scale, rounded */
	assert_int_equal(ladder[0], 300);
	assert_int_equal(ladder[1], 650);
	assert_int_equal(ladder[2], 1300);
	assert_int_equal(ladder[3], 2800);
	assert_int_equal(ladder[4], 6000);

	/* the master playlist, as the player reads it */
	assert_int_equal(video_master(v, 7, &o), 0);
	assert_int_equal(o.kind, SITE_MASTER);
	text = strndup(o.cached, o.size);
	assert_int_equal(hls__master(text, o.size, var, HLS_MAX_VARIANTS, &line, &why), 5);
	for (uint32_t i = 0; i < 5; i++) {
		char uri[32];

		snprintf(uri, sizeof(uri), "%uk/index.m3u8", ladder[i]);
		assert_true(uri_is(text, var[i].off, var[i].len, uri));
		assert_int_equal(var[i].average, ladder[i] * 1000);
		assert_true(var[i].bandwidth >= var[i].average);
	}
	free(text);
	assert_int_equal(video_master(v, 50, &o), -ENOENT);

	/* the media playlist: the title's length in segments of 4 s */
	assert_int_equal(video_media(v, 7, 1300, &o), 0);
	text = strndup(o.cached, o.size);
	assert_int_equal(hls__media(text, o.size, &med, seg, VIDEO_MAX_SEGS, &line, &why), 0);
	assert_true(med.endlist && med.map && med.target == 4);
	assert_true(uri_is(text, med.map_off, med.map_len, "init.mp4"));
	assert_true(med.nseg >= 2);
	for (uint32_t s = 0; s + 1 < med.nseg; s++) {
		char uri[32];

		snprintf(uri, sizeof(uri), "%u.m4s", s);
		assert_true(uri_is(text, seg[s].off, seg[s].len, uri));
		assert_true(seg[s].dur == 4);
	}
	assert_true(seg[med.nseg - 1].dur > 0 && seg[med.nseg - 1].dur <= 4);
	free(text);
	assert_int_equal(video_media(v, 7, 1301, &o), -ENOENT);
	assert_int_equal(video_segment(v, 7, 1300, med.nseg, &o), -ENOENT);

	/* a segment at every rung weighs the same: sizes go as the rates */
	for (uint32_t s = 0; s + 1 < med.nseg; s++) {
		struct site_obj lo, hi;

		assert_int_equal(video_segment(v, 7, 300, s, &lo), 0);
		assert_int_equal(video_segment(v, 7, 6000, s, &hi), 0);
		assert_true(fabs((double)hi.size / (double)lo.size - 20) < 0.2);
	}
	/* over many segments a rung averages its bitrate */
	for (uint32_t t = 0; t < 50; t++) {
		assert_int_equal(video_media(v, t, 2800, &o), 0);
		text = strndup(o.cached, o.size);
		assert_int_equal(hls__media(text, o.size, &med, seg, VIDEO_MAX_SEGS, &line, &why), 0);
		free(text);
		for (uint32_t s = 0; s < med.nseg; s++) {
			assert_int_equal(video_segment(v, t, 2800, s, &o), 0);
			bytes += (double)o.size;
			secs += seg[s].dur;
		}
	}
	assert_true(fabs(bytes * 8 / secs / 2.8e6 - 1) < 0.05);

	/* init: ftyp and a moov with one video track */
	assert_int_equal(video_init(v, 7, 1300, &o), 0);
	assert_int_equal(video__head(v, &o, head, sizeof(head)), o.size);
	boxes(head, (size_t)o.size, "ftypmoovmvhdtraktkhdmdiamdhdhdlrminfvmhddinfdrefstbl"
				    "stsdsttsstscstszstcomvextrex");
	/* a segment: styp, moof (mfhd, traf: tfhd, tfdt, trun), mdat */
	assert_int_equal(video_segment(v, 7, 1300, 3, &o), 0);
	n = (uint32_t)video__head(v, &o, head, sizeof(head));
	assert_true(n < o.size);
	boxes(head, n, "stypmoofmfhdtraftfhdtfdttrunmdat");
	{
		/* the mdat holds the rest of the body; trun's frames fill it,
		 * 4 s at 30 a second, a key frame first and largest */
		const uint8_t *moof = head + 24, *trun = moof + 8 + 16 + 8 + 20 + 20;
		uint32_t frames = be32(trun + 12), sum = 0, first = be32(trun + 28), most = 0;

		assert_int_equal(be32(head + n - 8), o.size - n + 8);
		assert_int_equal(frames, 120);
		assert_int_equal(be32(trun + 16), be32(moof) + 8);
		for (uint32_t i = 0; i < frames; i++) {
			uint32_t sz = be32(trun + 24 + 8 * i + 4);

			assert_int_equal(be32(trun + 24 + 8 * i), 3000);
			sum += sz;
			if (i)
				most = MAX(most, sz);
		}
		assert_int_equal(sum, o.size - n);
		assert_true(first > most);
	}
	video_free(v);
	model_free(m);
	model_free(web);
}

static void site_paths(void **state)
{
	struct model *m = model_of(streaming_model);
	struct content ct;
	struct site *s;
	struct site_obj o;
	static const char *const missing[] = {
		"/v/", "/v/x/master.m3u8", "/v/50/master.m3u8", "/v/7/master.m3u8x", "/v/07/master.m3u8",
		"/v/7/1300/index.m3u8", "/v/7/1301k/index.m3u8", "/v/7/1300k/init.mp", "/v/7/1300k/99999.m4s",
		"/v/7/1300k/1.m4", "/v/7/1300k/", "/v/7/1300k/-1.m4s",
	};

	(void)state;
	content_init(&ct, 5);
	s = site_new(m, &ct, 9);
	assert_int_equal(site_lookup(s, S("/v/7/master.m3u8"), &o), 0);
	assert_string_equal(site_type(&o), "application/vnd.apple.mpegurl");
	assert_int_equal(site_lookup(s, S("/v/7/1300k/index.m3u8"), &o), 0);
	assert_string_equal(site_type(&o), "application/vnd.apple.mpegurl");
	assert_int_equal(site_lookup(s, S("/v/7/1300k/init.mp4"), &o), 0);
	assert_string_equal(site_type(&o), "video/mp4");
	assert_int_equal(site_lookup(s, S("/v/7/1300k/0.m4s"), &o), 0);
	assert_string_equal(site_type(&o), "video/iso.segment");
	/* the web site is still there */
	assert_int_equal(site_lookup(s, S("/"), &o), 0);
	for (size_t i = 0; i < ARRAY_SIZE(missing); i++)
		assert_int_equal(site_lookup(s, missing[i], strlen(missing[i]), &o), -ENOENT);
	site_free(s);
	model_free(m);
	/* a site without videos has none */
	m = model_of("start a\naction a\nnext a end 100%\n");
	s = site_new(m, &ct, 9);
	assert_int_equal(site_lookup(s, S("/v/0/master.m3u8"), &o), -ENOENT);
	site_free(s);
	model_free(m);
	content_free(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(master_playlists),
		cmocka_unit_test(media_playlists),
		cmocka_unit_test(estimate_and_pick),
		cmocka_unit_test(video_library),
		cmocka_unit_test(site_paths),
	};

	return cmocka_run_group_tests_name("hls", tests, NULL, NULL);
}
