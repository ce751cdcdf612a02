/* spec.h - the dynamo specification language: parse a spec file into an
 * AST, check its meaning, and collect every diagnostic with its location.
 * Nothing here prints or exits; callers render diagnostics with
 * spec_diag_render(). */
#ifndef DYNAMO_SPEC_H
#define DYNAMO_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits that keep every input bounded (documented in docs/language.md). */
#define SPEC_MAX_FILE    (16u << 20) /* bytes of spec text */
#define SPEC_MAX_ERRORS  50          /* diagnostics before giving up */
#define SPEC_MAX_NAME    32          /* bytes in a name */
#define SPEC_MAX_HOSTS   65536       /* hosts, declared or implied */
#define SPEC_MAX_SUBNETS 1024
#define SPEC_MAX_ROUTERS 1024
#define SPEC_MAX_JOINS   64          /* networks one router joins */
#define SPEC_MAX_STMTS   10000       /* generate statements */
#define SPEC_MAX_RATE    1000000000000ull /* 1 Tbps */
#define SPEC_MAX_PPS     100000000ull     /* 100 Mpps */
#define SPEC_MAX_FLOWS   1000000u
#define SPEC_MAX_TIME_US (366ull * 86400 * 1000000) /* a year */
#define SPEC_MAX_MTU     65535u
#define SPEC_MIN_MTU     576u

/* A place in the source: line and column count from 1, the column in
 * characters (a multi-byte UTF-8 character is one column); off and len
 * are bytes, for quoting the token. */
struct spec_loc {
	uint32_t line, col;
	uint32_t off, len;
};

enum spec_level { SPEC_ERROR, SPEC_WARNING, SPEC_NOTE };

struct spec_diag {
	enum spec_level level;
	struct spec_loc loc;
	char *msg;
	char *hint; /* NULL or one line of advice */
};

/* ---- classes and protocols ------------------------------------------ */

enum spec_class {
	CLASS_WEB, CLASS_MAIL, CLASS_DNS, CLASS_FILE_TRANSFER, CLASS_DATABASE,
	CLASS_MESSAGE_BROKER, CLASS_CRYPTO, CLASS_REMOTE_ACCESS, CLASS_REALTIME,
	CLASS_STREAMING, CLASS_GENERIC,
	CLASS__COUNT
};

enum spec_proto {
	PROTO_HTTP, PROTO_HTTPS, PROTO_SMTP, PROTO_IMAP, PROTO_DNS, PROTO_FTP,
	PROTO_SMB, PROTO_POSTGRESQL, PROTO_REDIS, PROTO_MQTT, PROTO_BITCOIN,
	PROTO_SSH, PROTO_SIP, PROTO_RTP, PROTO_STUN, PROTO_TCP,
	PROTO_UDP,
	PROTO__COUNT
};

typedef uint32_t spec_protoset; /* bit (1u << enum spec_proto) */

const char *spec_class_name(enum spec_class c);
int spec_class_find(const char *name); /* -1 if unknown */
spec_protoset spec_class_protos(enum spec_class c);
const char *spec_proto_name(enum spec_proto p);
/* The protocols of ps by name, in enum order, sep between them
 * ("http, https"); cut short to fit n. */
void spec_protos_text(char *out, size_t n, spec_protoset ps, const char *sep);
int spec_proto_find(const char *name); /* accepts aliases; -1 if unknown */
/* The protocols whose sources carry ps: RTP and STUN come with SIP's
 * calls, so a statement over them runs SIP's sources. */
spec_protoset spec_protos_carriers(spec_protoset ps);
uint16_t spec_proto_port(enum spec_proto p); /* its usual server port */
const char *spec_proto_transport(enum spec_proto p); /* "tcp" or "udp" */

/* ---- the AST ---------------------------------------------------------- */

/* Link conditions in each direction: [0] from the node into the subnet,
 * [1] from the subnet to the node.  Zero means "not set" for every field
 * but loss, which has its own set bit. */
enum { LINK_UP = 0, LINK_DOWN = 1 };
enum link_prop { LP_RATE, LP_DELAY, LP_JITTER, LP_LOSS, LP_MTU, LP__COUNT };
struct spec_link_props {
	uint64_t rate[2];      /* bits/s */
	uint64_t delay_us[2];
	uint64_t jitter_us[2];
	uint32_t loss_ppm[2];  /* 1% = 10000 */
	uint32_t mtu;
	unsigned set[2];       /* bit (1u << enum link_prop) per direction */
	struct spec_loc loc[2][LP__COUNT];
};

struct spec_subnet {
	char *name;
	struct spec_loc loc, cidr_loc;
	uint32_t addr;
	uint8_t plen;
	struct spec_link_props link;
};

struct spec_service {
	char *name;         /* a class or protocol name as written */
	int cls;            /* enum spec_class, or -1 */
	int proto;          /* enum spec_proto, or -1 */
	uint16_t port;      /* 0: the protocol's usual port */
	struct spec_loc loc;
};

struct spec_host {
	char *name;
	struct spec_loc loc;
	char *subnet;       /* NULL: placed by address, else the default LAN */
	struct spec_loc subnet_loc;
	uint32_t addr;      /* 0: assigned */
	struct spec_loc addr_loc;
	struct spec_service *services;
	size_t nservices;
	struct spec_link_props link;
	int subnet_idx;     /* set by the checks: index into subnets, or
			     * SPEC_DEFAULT_LAN or SPEC_EXTERNAL */
};

#define SPEC_DEFAULT_LAN (-1)
#define SPEC_EXTERNAL    (-2)
#define SPEC_DEFAULT_LAN_NAME "lan"
#define SPEC_EXTERNAL_CIDR_ADDR 0xc6120000u /* 198.18.0.0 */
#define SPEC_EXTERNAL_CIDR_PLEN 15

struct spec_name {
	char *name;
	struct spec_loc loc;
};

struct spec_router {
	char *name;
	struct spec_loc loc;
	struct spec_name *joins;
	size_t njoins;
	bool nat;
	struct spec_loc nat_loc;
};

struct spec_link {
	struct spec_name a, b;
	bool directed;      /* "a -> b": props apply from a toward b only */
	struct spec_loc loc;
	struct spec_link_props props; /* as written, direction [0] = a -> b */
};

/* mirror WHAT [-- NET] to HOST: copy a subnet's traffic (as it enters
 * the switch) or a link's (both ways) to a new interface of HOST. */
struct spec_mirror {
	struct spec_name what;  /* a network, or the node of a link */
	struct spec_name net;   /* the link's network; name NULL for a network */
	struct spec_name to;
	struct spec_loc loc;
};

enum spec_flow_op { FLOWS_ANY, FLOWS_GE, FLOWS_LE, FLOWS_EQ };

struct spec_mix_item {
	enum spec_class cls;
	spec_protoset protos; /* 0: any of the class */
	uint32_t share_ppm;   /* of the statement's rate; 60% = 600000 */
	struct spec_loc loc, share_loc;
};

struct spec_gen {
	struct spec_loc loc;        /* the word "generate" */
	bool mix;
	enum spec_class cls;        /* unless mix */
	struct spec_loc cls_loc;
	spec_protoset protos;       /* 0: any of the class */
	struct spec_loc protos_loc;
	char *source;               /* pinned catalog source, or NULL */
	struct spec_loc source_loc;
	char *model;                /* 'using model': a behaviour model, or NULL */
	bool model_file;            /* a "file" (from the spec's folder), not a name */
	struct spec_loc model_loc;
	struct spec_name *from, *to; /* ranges expanded; "external" kept */
	size_t nfrom, nto;
	struct spec_loc from_loc, to_loc;
	uint64_t rate;              /* bits/s, IP layer, both directions; or */
	bool packets;               /* packets/s, IP packets, both directions */
	struct spec_loc rate_loc;
	enum spec_flow_op flow_op;
	uint32_t flows;
	struct spec_loc flows_loc;
	uint64_t duration_us;       /* 0: the whole run */
	uint64_t offset_us;
	double session_rate;        /* new sessions per second; 0: auto */
	struct spec_loc session_loc;
	char *label;                /* NULL: the class name */
	struct spec_mix_item *items;
	size_t nitems;
	unsigned seen;              /* clauses given, to reject repeats */
};

/* Which kind of statement each entry of spec.order is. */
enum spec_stmt_kind { STMT_SUBNET, STMT_HOST, STMT_ROUTER, STMT_LINK, STMT_GENERATE, STMT_MIRROR };

struct spec {
	char *file;                 /* as given, for messages */
	char *text;                 /* the source, NUL-terminated */
	size_t len;

	struct spec_diag *diags;
	size_t ndiags, diags_cap;
	unsigned errors, warnings;
	bool truncated;             /* stopped after SPEC_MAX_ERRORS */
	bool topo_failed;           /* a topology statement did not parse */

	struct spec_subnet *subnets;
	size_t nsubnets, subnets_cap;
	struct spec_host *hosts;
	size_t nhosts, hosts_cap;
	struct spec_router *routers;
	size_t nrouters, routers_cap;
	struct spec_link *links;
	size_t nlinks, links_cap;
	struct spec_gen *gens;
	size_t ngens, gens_cap;
	struct spec_mirror *mirrors;
	size_t nmirrors, mirrors_cap;

	/* Set by the checks: hosts used by statements but never declared, in
	 * order of first use; they live on the default LAN. */
	struct spec_name *implicit;
	size_t nimplicit, implicit_cap;
};

/* Parse and check text (len bytes, need not be NUL-terminated).  Always
 * returns a spec; look at spec->errors.  file names the text in messages. */
struct spec *spec_parse(const char *file, const char *text, size_t len);
/* Read and parse a file ("-" is standard input).  Returns NULL only when
 * the file cannot be read, with *err set to an allocated message. */
struct spec *spec_parse_file(const char *path, char **err);
/* The same with extra statements after the file's text (from options
 * such as 'up --mirror'); diagnostics in them point past the file's end. */
struct spec *spec_parse_file_with(const char *path, const char *extra, char **err);
void spec_free(struct spec *s);

/* Add a diagnostic (used by later stages: topology, plan). */
void spec_diag(struct spec *s, enum spec_level lvl, struct spec_loc loc,
	       const char *hint, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Render diagnostic d as "FILE:LINE:COL: error: MSG", the source line,
 * a caret line and the hint; returns an allocated string. */
char *spec_diag_render(const struct spec *s, const struct spec_diag *d);

/* The netmask of a prefix length. */
static inline uint32_t spec_mask(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

/* True when the spec declares hosts itself (so undeclared ones are errors). */
bool spec_declares_hosts(const struct spec *s);

#endif
