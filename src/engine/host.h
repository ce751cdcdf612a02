/* host.h - what the agents on one emulated host share: its event loop,
 * random generator, payload content and TLS contexts.  One per host
 * process; nothing in it is shared across hosts. */
#ifndef DYNAMO_HOST_H
#define DYNAMO_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "content.h"
#include "loop.h"
#include "rng.h"
#include "stats.h"

struct host {
	struct loop *loop;
	struct rng rng;
	struct content content;
	const char *name;         /* the node's name */
	uint32_t addr;            /* its first address (host order) */
	const char *datadir;      /* data/: behaviours, corpora */
	SSL_CTX *tls_server, *tls_client;  /* made on first use */
	/* The emulation's nodes and their addresses, for the resolvers
	 * that answer NAME.example (not owned; may be empty). */
	const char *const *names;
	const uint32_t *name_addrs;
	size_t nnames;
	double think;             /* live multiplier of think times (set by the
				   * run's controller on a view); 0: 1 */
	bool stopping;            /* the run is ending: finish, start nothing */
	bool shared;              /* a view of another host (host_view) */
};

/* Set up h with a new loop; 0 or -errno. */
int host_init(struct host *h, const char *name, uint32_t addr, const char *datadir,
	      uint64_t seed) __attribute__((warn_unused_result));
/* A view of base for one group of sessions (a statement's clients):
 * the same loop, content and TLS contexts, its own generator, name and
 * stopping flag.  Finish views before their base. */
void host_view(struct host *h, const struct host *base, uint64_t seed);
void host_fini(struct host *h);
/* TLS contexts, made on first use; NULL if OpenSSL fails. */
SSL_CTX *host_tls_server(struct host *h);
SSL_CTX *host_tls_client(struct host *h);

/* Seconds to loop-clock nanoseconds, bounded to a day. */
uint64_t host_ns(double seconds);

#endif
