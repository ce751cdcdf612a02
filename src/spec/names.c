/* names.c - the traffic classes and protocols the language knows, with
 * the aliases users write (DESIGN.md, "Traffic classes and sources"). */
#include "spec.h"

#include <stdio.h>
#include <string.h>

#define P(x) (1u << (x))

static const struct {
	const char *name;
	spec_protoset protos;
} classes[CLASS__COUNT] = {
	[CLASS_WEB]            = { "web", P(PROTO_HTTP) | P(PROTO_HTTPS) },
	[CLASS_MAIL]           = { "mail", P(PROTO_SMTP) | P(PROTO_IMAP) },
	[CLASS_DNS]            = { "dns", P(PROTO_DNS) },
	[CLASS_FILE_TRANSFER]  = { "file-transfer", P(PROTO_FTP) | P(PROTO_SMB) },
	[CLASS_DATABASE]       = { "database", P(PROTO_POSTGRESQL) | P(PROTO_REDIS) },
	[CLASS_MESSAGE_BROKER] = { "message-broker", P(PROTO_MQTT) },
	[CLASS_CRYPTO]         = { "crypto", P(PROTO_BITCOIN) },
	[CLASS_REMOTE_ACCESS]  = { "remote-access", P(PROTO_SSH) },
	[CLASS_REALTIME]       = { "realtime", P(PROTO_SIP) | P(PROTO_RTP) | P(PROTO_STUN) },
	[CLASS_STREAMING]      = { "streaming", P(PROTO_HTTP) | P(PROTO_HTTPS) },
	[CLASS_GENERIC]        = { "generic", P(PROTO_TCP) | P(PROTO_UDP) },
};

static const struct {
	const char *name;
	uint16_t port;
	const char *transport;
} protos[PROTO__COUNT] = {
	[PROTO_HTTP]       = { "http", 80, "tcp" },
	[PROTO_HTTPS]      = { "https", 443, "tcp" },
	[PROTO_SMTP]       = { "smtp", 25, "tcp" },
	[PROTO_IMAP]       = { "imap", 143, "tcp" },
	[PROTO_DNS]        = { "dns", 53, "udp" },
	[PROTO_FTP]        = { "ftp", 21, "tcp" },
	[PROTO_SMB]        = { "smb", 445, "tcp" },
	[PROTO_POSTGRESQL] = { "postgresql", 5432, "tcp" },
	[PROTO_REDIS]      = { "redis", 6379, "tcp" },
	[PROTO_MQTT]       = { "mqtt", 1883, "tcp" },
	[PROTO_BITCOIN]    = { "bitcoin", 8333, "tcp" },
	[PROTO_SSH]        = { "ssh", 22, "tcp" },
	[PROTO_SIP]        = { "sip", 5060, "udp" },
	[PROTO_RTP]        = { "rtp", 0, "udp" },
	[PROTO_STUN]       = { "stun", 3478, "udp" },
	[PROTO_TCP]        = { "tcp", 0, "tcp" },
	[PROTO_UDP]        = { "udp", 0, "udp" },
};

/* Other names for the same protocol, as tools and people write them. */
static const struct {
	const char *alias;
	enum spec_proto proto;
} aliases[] = {
	{ "pgsql", PROTO_POSTGRESQL },
	{ "postgres", PROTO_POSTGRESQL },
	{ "resp", PROTO_REDIS },
	{ "smb2", PROTO_SMB },
};

const char *spec_class_name(enum spec_class c)
{
	return (unsigned)c < CLASS__COUNT ? classes[c].name : "?";
}

int spec_class_find(const char *name)
{
	for (int i = 0; i < CLASS__COUNT; i++)
		if (!strcmp(classes[i].name, name))
			return i;
	return -1;
}

spec_protoset spec_class_protos(enum spec_class c)
{
	return (unsigned)c < CLASS__COUNT ? classes[c].protos : 0;
}

const char *spec_proto_name(enum spec_proto p)
{
	return (unsigned)p < PROTO__COUNT ? protos[p].name : "?";
}

void spec_protos_text(char *out, size_t n, spec_protoset ps, const char *sep)
{
	size_t len = 0;

	if (!n)
		return;
	out[0] = '\0';
	for (int i = 0; i < PROTO__COUNT && len < n; i++)
		if (ps & (1u << i))
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? sep : "", protos[i].name);
}

int spec_proto_find(const char *name)
{
	for (int i = 0; i < PROTO__COUNT; i++)
		if (!strcmp(protos[i].name, name))
			return i;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(aliases[i].alias, name))
			return (int)aliases[i].proto;
	return -1;
}

spec_protoset spec_protos_carriers(spec_protoset ps)
{
	/* a call's media and its STUN travel with its SIP */
	if (ps & (P(PROTO_RTP) | P(PROTO_STUN)))
		ps = (ps & ~(P(PROTO_RTP) | P(PROTO_STUN))) | P(PROTO_SIP);
	return ps;
}

uint16_t spec_proto_port(enum spec_proto p)
{
	return (unsigned)p < PROTO__COUNT ? protos[p].port : 0;
}

const char *spec_proto_transport(enum spec_proto p)
{
	return (unsigned)p < PROTO__COUNT ? protos[p].transport : "?";
}
