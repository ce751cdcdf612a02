/* stats.h - counters a host keeps per statement: what its sessions sent
 * and received at the socket layer, and how sessions went.  The run
 * reports wire figures from its own capture; these say what the agents
 * did, and why when traffic falls short. */
#ifndef DYNAMO_STATS_H
#define DYNAMO_STATS_H

#include <stdint.h>

struct pace;

struct stats {
	uint64_t tx, rx;          /* payload bytes (TLS: plaintext) */
	uint64_t conns;           /* connections opened or accepted */
	uint64_t conn_fail;       /* connects refused or timed out */
	uint64_t sessions;        /* user sessions started */
	uint64_t actions;         /* behaviour-model actions taken */
	uint64_t errors;          /* protocol errors (bad replies, peers) */
	int64_t active;           /* connections open now */
	struct pace *pace;        /* the group's bucket (pace.h), or NULL */
};

#endif
