/* agent.h - built-in protocol agents: for each protocol, a server and a
 * client whose users follow a behaviour model (see engine/model.h).
 * One file per protocol (agents/http.c, agents/smtp.c, ...), each
 * exporting one struct agent; agent_find() looks them up.
 *
 * An agent runs inside a host's event loop: serve() starts listening,
 * client() starts env->users users, each of which walks the model's
 * chain session after session until host->stopping, then closes its
 * connections politely.  Neither prints; errors go into err. */
#ifndef DYNAMO_AGENT_H
#define DYNAMO_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/host.h"
#include "../engine/model.h"
#include "../spec/spec.h"

/* What one source instance's client side is given. */
struct agent_env {
	struct host *host;
	struct stats *st;          /* this statement's counters on this host */
	const struct model *model;
	uint32_t server;           /* the server's address (host order) */
	uint16_t port;             /* its port (the protocol's usual one) */
	const char *server_name;   /* its node name: Host:, SNI, EHLO, ... */
	uint32_t users;            /* concurrent users */
	double think_scale;        /* multiplies think times; 1 as modelled */
	uint32_t resolver;         /* the host's DNS resolver, or 0: users who
				    * look the server's name up before they
				    * connect (web) ask it first */
	const char *server_files;  /* the server is a real program (program.h):
				    * its directory, or NULL for a built-in one */
};

struct agent {
	const char *name;          /* its name: the protocol's, as in the spec,
				    * or the source's and a variant's */
	const char *source;        /* the catalog source it runs ('start agent
				    * NAME'), over proto; NULL: name */
	enum spec_proto proto;
	const char *model;         /* data/behaviours/MODEL.model */
	const char *const *actions;   /* what its users can do (NULL-ended) */
	const char *const *params;    /* params its model must define */
	/* Listen on port of h (0 or -errno). */
	int (*serve)(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen);
	/* Start env->users users (0 or -errno). */
	int (*client)(const struct agent_env *env, char *err, size_t errlen);
};

/* What the users multiply the model's think times by: the instance's
 * scale, times what the run's controller sets on the host view now. */
static inline double agent_think_scale(const struct agent_env *e)
{
	return e->think_scale * (e->host->think > 0 ? e->host->think : 1.0);
}

/* The model a's users (and server) follow: the file at path, or with
 * path NULL a's own, DATADIR/behaviours/<a->model>.model; checked
 * against the actions and params a knows.  NULL with an allocated
 * reason in *msg. */
struct model *agent_model(const struct agent *a, const char *datadir, const char *path, char **msg);
/* DATADIR/behaviours/NAME.model, allocated: where model NAME lives. */
char *agent_model_path(const char *datadir, const char *name);
const struct agent *agent_find(enum spec_proto p);
const struct agent *agent_by_name(const char *name);
/* The agent of catalog source 'start agent NAME' that speaks p, or NULL. */
const struct agent *agent_for(const char *name, enum spec_proto p);

/* Helpers agents share: a listening TCP socket on port (0 or -errno into
 * *fd), and a UDP socket bound to it. */
int agent_listen_tcp(uint16_t port, int *fd);
int agent_bind_udp(uint16_t port, int *fd);
/* MD5 of n bytes at p in lower-case hex (the digests of PostgreSQL's
 * and SIP's password logins). */
void agent_md5_hex(const void *p, size_t n, char out[33]);

#endif
