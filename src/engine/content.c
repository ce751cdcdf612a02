/* content.c - the shared payload blobs (see content.h).  Text is built
 * from common English words with a Zipf-like frequency, in sentences and
 * paragraphs, so it compresses and reads like prose, as mail and web
 * text do; binary is random, as images and archives are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "conn.h"
#include "content.h"

static const char *const words[] = {
	"the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with",
	"be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
	"but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
	"can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
	"so", "no", "she", "other", "its", "may", "these", "what", "them", "than", "some",
	"him", "time", "into", "only", "do", "could", "new", "about", "two", "first",
	"then", "our", "also", "any", "my", "like", "now", "over", "such", "people",
	"should", "after", "out", "report", "meeting", "project", "team", "week", "data",
	"network", "server", "please", "thanks", "update", "schedule", "review", "budget",
	"office", "client", "order", "invoice", "draft", "attached", "document", "plan",
	"question", "answer", "today", "tomorrow", "morning", "afternoon", "friday",
	"monday", "change", "release", "version", "test", "results", "system", "service",
	"customer", "account", "price", "market", "quarter", "sales", "design", "build",
	"support", "issue", "ticket", "call", "notes", "agenda", "summary", "proposal",
	"contract", "delivery", "shipment", "payment", "policy", "security", "access",
	"password", "training", "holiday", "lunch", "coffee", "room", "floor", "building",
	"city", "travel", "flight", "hotel", "conference", "slides", "presentation",
	"deadline", "status", "progress", "risk", "decision", "approval", "feedback",
	"research", "analysis", "figure", "table", "chapter", "section", "page", "line",
	"story", "history", "world", "country", "government", "school", "student",
	"teacher", "family", "friend", "house", "garden", "river", "mountain", "weather",
	"good", "great", "small", "large", "long", "little", "old", "high", "different",
	"important", "public", "early", "late", "young", "possible", "recent", "final",
	"make", "know", "take", "see", "come", "think", "look", "want", "give", "use",
	"find", "tell", "ask", "work", "seem", "feel", "try", "leave", "send", "read",
	"write", "keep", "begin", "show", "hear", "play", "run", "move", "live", "bring",
};

const char *content_word(uint64_t key)
{
	return words[key % ARRAY_SIZE(words)];
}

/* A word index with a Zipf-like law: rank r has weight about 1/r. */
static size_t zipf(struct rng *r)
{
	double n = (double)ARRAY_SIZE(words);
	size_t i = (size_t)(exp(rng_unit(r) * log(n + 1)) - 1);

	return i < ARRAY_SIZE(words) ? i : ARRAY_SIZE(words) - 1;
}

void content_sentence(struct rng *r, char *out, size_t len, unsigned n)
{
	size_t at = 0;

	if (!len)
		return;
	for (unsigned i = 0; i < n; i++) {
		const char *w = words[zipf(r)];
		size_t wl = strlen(w);

		if (at + wl + 3 > len)
			break;
		if (i)
			out[at++] = ' ';
		memcpy(out + at, w, wl);
		if (!i)
			out[at] = (char)(out[at] - 'a' + 'A');
		at += wl;
	}
	if (at + 1 < len && at)
		out[at++] = '.';
	out[at] = 0;
}

void content_init(struct content *c, uint64_t seed)
{
	struct rng r;
	size_t at = 0, words_in_sentence = 0, sentences = 0;

	rng_seed(&r, seed);
	c->text = xmalloc(CONTENT_BLOB);
	c->binary = xmalloc(CONTENT_BLOB);
	for (size_t i = 0; i < CONTENT_BLOB; i += 8) {
		uint64_t v = rng_next(&r);

		memcpy(c->binary + i, &v, 8);
	}
	while (at < CONTENT_BLOB) {
		const char *w = words[zipf(&r)];
		size_t wl = strlen(w);
		char sep = ' ';

		if (at + wl + 2 > CONTENT_BLOB) {
			memset(c->text + at, ' ', CONTENT_BLOB - at);
			break;
		}
		memcpy(c->text + at, w, wl);
		if (!words_in_sentence)
			c->text[at] = (char)(c->text[at] - 'a' + 'A');
		at += wl;
		if (++words_in_sentence > 6 + rng_below(&r, 14)) {
			c->text[at++] = '.';
			words_in_sentence = 0;
			/* Paragraphs of a few sentences, lines kept short
			 * enough for mail (a CRLF ends each). */
			if (++sentences % (2 + rng_below(&r, 4)) == 0) {
				c->text[at++] = '\r';
				sep = '\n';
			}
		} else if (rng_below(&r, 12) == 0) {
			c->text[at++] = ',';
		}
		if (at < CONTENT_BLOB)
			c->text[at++] = sep;
		/* Keep lines under 80 columns: break at the next word. */
		if (sep == ' ' && at >= 78) {
			size_t ls = at;

			while (ls > 0 && c->text[ls - 1] != '\n')
				ls--;
			if (at - ls > 70 && at + 1 < CONTENT_BLOB) {
				c->text[at - 1] = '\r';
				c->text[at++] = '\n';
			}
		}
	}
}

void content_free(struct content *c)
{
	if (!c)
		return;
	free(c->text);
	free(c->binary);
	c->text = c->binary = NULL;
}

const char *content_get(const struct content *c, enum content_kind kind, uint64_t key, size_t n)
{
	const char *blob = kind == CONTENT_TEXT ? c->text : c->binary;
	size_t room, off;

	if (n > CONTENT_BLOB)
		n = CONTENT_BLOB;
	room = CONTENT_BLOB - n;
	off = room ? (size_t)(key % (room + 1)) : 0;
	if (kind == CONTENT_TEXT) {
		/* Start at a line so the text reads from its start. */
		while (off > 0 && blob[off - 1] != '\n')
			off--;
	}
	return blob + off;
}

void content_send(const struct content *c, struct conn *conn, enum content_kind kind,
		  uint64_t key, uint64_t n)
{
	while (n) {
		size_t take = n > CONTENT_BLOB / 2 ? CONTENT_BLOB / 2 : (size_t)n;

		conn_write_ref(conn, content_get(c, kind, key, take), take);
		key = key * 6364136223846793005ull + 1442695040888963407ull;
		n -= take;
	}
}
