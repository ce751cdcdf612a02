/* mqtt.h - the MQTT 3.1.1 packet parsers the broker, the client and the
 * fuzz target share: pure functions on (buf, len) that never read past
 * len, allocate nothing and keep pointers into buf. */
#ifndef DYNAMO_AGENTS_MQTT_H
#define DYNAMO_AGENTS_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	MQTT_CONNECT = 1, MQTT_CONNACK, MQTT_PUBLISH, MQTT_PUBACK, MQTT_PUBREC,
	MQTT_PUBREL, MQTT_PUBCOMP, MQTT_SUBSCRIBE, MQTT_SUBACK, MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK, MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT,
};

/* Bounds of what we accept: a packet's remaining length (it must fit in
 * the connection's input buffer, CONN_MAX_IN), a topic or filter, and
 * its levels (the broker's topic tree is walked recursively). */
#define MQTT_MAX_PACKET (768u << 10)
#define MQTT_MAX_TOPIC 1024
#define MQTT_MAX_LEVELS 64

struct mqtt__hdr {
	uint8_t type, flags;
	uint32_t hlen;          /* bytes of fixed header (1 + varint) */
	uint32_t len;           /* remaining length */
};

struct mqtt__str {
	const char *p;
	uint16_t n;
};

struct mqtt__connect {
	struct mqtt__str proto, client_id, will_topic, will_msg, user, pass;
	uint8_t level, flags;
	uint16_t keepalive;
};

/* CONNECT flags */
#define MQTT_CF_CLEAN 0x02
#define MQTT_CF_WILL 0x04
#define MQTT_CF_WILL_QOS(f) (((f) >> 3) & 3)
#define MQTT_CF_WILL_RETAIN 0x20
#define MQTT_CF_PASS 0x40
#define MQTT_CF_USER 0x80

struct mqtt__publish {
	struct mqtt__str topic;
	const uint8_t *payload;
	size_t n;
	uint16_t id;            /* 0 for QoS 0 */
	uint8_t qos;
	bool retain, dup;
};

/* The fixed header at buf: 1 with *h filled, 0 when more bytes are
 * needed, -EPROTO when malformed (reserved type, flags the type forbids,
 * a remaining length over 4 bytes or over max). */
int mqtt__header(const uint8_t *buf, size_t len, uint32_t max, struct mqtt__hdr *h);
/* A CONNECT body: 0, -EPROTO when malformed, -EPROTONOSUPPORT for a
 * well-formed CONNECT of a protocol level we do not speak (MQTT 5). */
int mqtt__parse_connect(const uint8_t *p, size_t len, struct mqtt__connect *c);
/* A PUBLISH body with the fixed header's flags: 0 or -EPROTO. */
int mqtt__parse_publish(uint8_t flags, const uint8_t *p, size_t len, struct mqtt__publish *m);
/* A body that is only a non-zero packet identifier (PUBACK, PUBREC,
 * PUBREL, PUBCOMP, UNSUBACK): 0 or -EPROTO. */
int mqtt__parse_id(const uint8_t *p, size_t len, uint16_t *id);
/* The next topic filter of a SUBSCRIBE (with_qos) or UNSUBSCRIBE body,
 * from *off (start at 2, past the packet id): 1 with *f (and *qos), 0
 * at the end, -EPROTO when malformed. */
int mqtt__next_filter(const uint8_t *p, size_t len, size_t *off, bool with_qos,
		      struct mqtt__str *f, uint8_t *qos);
/* A CONNACK body: 0 with the return code, or -EPROTO. */
int mqtt__parse_connack(const uint8_t *p, size_t len, bool *session_present, uint8_t *rc);
/* A SUBACK body: 0 with the id, the number of codes and whether any was
 * a failure (0x80), or -EPROTO. */
int mqtt__parse_suback(const uint8_t *p, size_t len, uint16_t *id, size_t *ncodes, bool *failed);

/* Topic names carry no wildcards; filters may ('+' a whole level, '#'
 * the whole last level).  Both: 1..MQTT_MAX_TOPIC bytes of UTF-8 with
 * no NUL, at most MQTT_MAX_LEVELS levels. */
bool mqtt__topic_valid(const char *t, size_t n);
bool mqtt__filter_valid(const char *f, size_t n);
/* Does filter match topic (both valid)?  Topics beginning with '$' are
 * not matched by a leading wildcard (MQTT 3.1.1, 4.7.2). */
bool mqtt__match(const char *filter, size_t fn, const char *topic, size_t tn);

/* The remaining-length encoding of v (< 2^28) into out[4]; its length. */
size_t mqtt__put_varint(uint8_t *out, uint32_t v);

#endif
