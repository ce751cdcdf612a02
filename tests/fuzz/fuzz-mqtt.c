/* fuzz-mqtt.c - libFuzzer target for the MQTT parsers (src/agents/mqtt.h):
 * the input is read as a stream of packets, each handed to the parser of
 * its type, as the broker and the client do; and, split at its first
 * newline, as a topic filter and a topic name whose match is checked
 * against a plain level-by-level reference. */
#include "../../src/agents/mqtt.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_body(const struct mqtt__hdr *h, const uint8_t *p)
{
	struct mqtt__connect c;
	struct mqtt__publish m;
	struct mqtt__str f;
	size_t off = 2, n;
	uint16_t id;
	uint8_t qos, rc;
	bool sp, failed;
	int r;

	switch (h->type) {
	case MQTT_CONNECT:
		if (mqtt__parse_connect(p, h->len, &c) == 0 &&
		    (c.client_id.p + c.client_id.n > (const char *)p + h->len ||
		     ((c.flags & MQTT_CF_WILL) && !mqtt__topic_valid(c.will_topic.p, c.will_topic.n))))
			__builtin_trap();
		break;
	case MQTT_PUBLISH:
		if (mqtt__parse_publish(h->flags, p, h->len, &m) == 0 &&
		    (m.payload + m.n != p + h->len || (m.qos && !m.id) ||
		     !mqtt__topic_valid(m.topic.p, m.topic.n)))
			__builtin_trap();
		break;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		if (h->len < 2)
			break;
		while ((r = mqtt__next_filter(p, h->len, &off, h->type == MQTT_SUBSCRIBE, &f, &qos)) > 0)
			if (!mqtt__filter_valid(f.p, f.n) || off > h->len)
				__builtin_trap();
		break;
	case MQTT_CONNACK:
		(void)mqtt__parse_connack(p, h->len, &sp, &rc);
		break;
	case MQTT_SUBACK:
		if (mqtt__parse_suback(p, h->len, &id, &n, &failed) == 0 && n + 2 != h->len)
			__builtin_trap();
		break;
	default:
		(void)mqtt__parse_id(p, h->len, &id);
		break;
	}
}

/* The reference: both split into levels, then compared level by level. */
static size_t split(const char *s, size_t n, const char **lv, size_t *ln)
{
	size_t k = 0, at = 0;

	for (size_t i = 0; i <= n && k < MQTT_MAX_LEVELS; i++) {
		if (i == n || s[i] == '/') {
			lv[k] = s + at;
			ln[k++] = i - at;
			at = i + 1;
		}
	}
	return k;
}

static bool ref_match(const char *f, size_t fn, const char *t, size_t tn)
{
	const char *fl[MQTT_MAX_LEVELS], *tl[MQTT_MAX_LEVELS];
	size_t fL[MQTT_MAX_LEVELS], tL[MQTT_MAX_LEVELS];
	size_t nf = split(f, fn, fl, fL), nt = split(t, tn, tl, tL);

	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (size_t i = 0; i < nf; i++) {
		if (fL[i] == 1 && fl[i][0] == '#')
			return true;
		if (i >= nt)
			return false;
		if (!(fL[i] == 1 && fl[i][0] == '+') && (fL[i] != tL[i] || memcmp(fl[i], tl[i], fL[i])))
			return false;
	}
	return nf == nt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t at = 0;

	while (at < size) {
		struct mqtt__hdr h;
		int r = mqtt__header(data + at, size - at, MQTT_MAX_PACKET, &h);

		if (r <= 0 || size - at - h.hlen < h.len)
			break;
		check_body(&h, data + at + h.hlen);
		at += h.hlen + h.len;
	}
	if (nl) {
		const char *f = (const char *)data, *t = (const char *)nl + 1;
		size_t fn = (size_t)(nl - data), tn = size - fn - 1;

		if (mqtt__filter_valid(f, fn) && mqtt__topic_valid(t, tn) &&
		    mqtt__match(f, fn, t, tn) != ref_match(f, fn, t, tn))
			__builtin_trap();
	}
	return 0;
}
