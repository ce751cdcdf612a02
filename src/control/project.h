/* project.h - a project from a repository (catalog kind project) run as
 * a source: its compose file's services as containers of the podman
 * engine, each joined to an emulated host's network namespace
 * (--network ns:/proc/PID/ns/net), so that what they send crosses the
 * emulated network and nothing else.  Its client services (a load
 * generator, by the scan map's 'client' and 'peer' rules) run on the
 * statement's client host, the others on its server host; every
 * service's name resolves to the address of the host it runs on.
 *
 * Podman here: --runtime runc, explicit --ulimit values, images only
 * from this machine (there is no registry: a service's image must be
 * there, or be built from its build context, whose base must be).
 * Containers are stopped by their ids; each is labelled with the
 * supervisor's pid, so that a run killed before it could stop them has
 * them removed by the next (project_sweep).  Nothing here prints. */
#ifndef DYNAMO_PROJECT_H
#define DYNAMO_PROJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../catalog/scan.h"

#define PROJECT_WUR __attribute__((warn_unused_result))

/* One service as it runs: its definitions in the compose files merged
 * (a later file's image, build, command and entrypoint win; environment
 * and ports add up). */
struct project_svc {
	char *name;
	char *image;                    /* to run (built: localhost/dynamo-...) */
	char *context;                  /* its build context (absolute), or NULL */
	bool client;                    /* runs on the client host */
	const struct scan_argv *command, *entrypoint;   /* NULL: the image's */
	char **env;
	size_t nenv;
	struct scan_port *ports;        /* inside its container */
	size_t nports;
};

struct project {
	char *name;                     /* the catalog entry's */
	char *dir;                      /* the folder of its compose files */
	struct scan_project sp;         /* as scanned */
	struct project_svc *svc;
	size_t nsvc;
};

/* The project at start (a folder with compose files, or else a
 * Dockerfile, or else Kubernetes manifests; or one compose file) with
 * its services' roles by the map.  0 or
 * -errno with "FILE:LINE: ..." or what is missing in err. */
int project_load(struct project *pj, const char *name, const char *start, const struct scan_map *map,
		 char *err, size_t errlen) PROJECT_WUR;
void project_free(struct project *pj);

/* Can projects run here?  0, or -ENOENT/-EPERM with what is missing
 * (podman, runc, root) and the package that has it. */
int project_engine(char *why, size_t n) PROJECT_WUR;

/* Make every service's image there: one the machine has, or one built
 * from its context.  0 or -errno with the service, the image and why
 * (podman's last lines). */
int project_images(struct project *pj, char *err, size_t errlen) PROJECT_WUR;

/* Where a project runs: the process whose network namespace its
 * containers join, and where each service's name points: the address
 * (host order) of the host it runs on, servers at server, clients at
 * client.  owner (the supervisor's pid) labels its containers, tag
 * names them ("dynamo-TAG-SERVICE"). */
struct project_run {
	pid_t nspid, owner;
	int engine_ns;                  /* where podman itself runs: a network
					 * namespace other than the one its
					 * containers join (there, runc takes it
					 * for the machine's own and refuses
					 * podman's default sysctls); -1: here */
	uint32_t client, server;
	const char *tag;
	unsigned timeout_s;             /* podman kills a container this long
					 * after it started, should the run be
					 * killed before it could (0: never) */
};

/* Start service i as r says; its id into cid.  0 or -errno with why
 * (podman's last lines). */
int project_start(const struct project *pj, size_t i, const struct project_run *r, char *cid,
		  size_t cidlen, char *err, size_t errlen) PROJECT_WUR;
/* Wait until the TCP ports service i serves accept connections at addr
 * (host order), or timeout_ms; then 0, else -ETIMEDOUT with the
 * container's last lines of output. */
int project_wait(const struct project *pj, size_t i, uint32_t addr, const char *cid, int timeout_ms,
		 char *err, size_t errlen) PROJECT_WUR;
/* Stop and remove the containers of ids cids[0..n-1] (a second to stop,
 * then killed). */
void project_stop(char *const *cids, size_t n);
/* Remove containers that a dynamo whose process is gone left. */
void project_sweep(void);

/* A project drives itself as fast as it goes; the run holds its rate
 * by shaping what its servers send to each client host: an htb class
 * on the server host's way out, fed by the mark that an nftables rule
 * sets on the project's packets to that client (counting them, which the
 * controller reads as the bytes the project moved).  What waits in the
 * class's queue slows the servers' TCP as a slower link would. */
struct project_limit;

/* The shaper on interface ifname of the current namespace; 0 or -errno
 * with why. */
int project_limit_new(struct project_limit **out, const char *ifname, char *err, size_t errlen)
	PROJECT_WUR;
/* A limit on what pj's servers send to client (host order) from the
 * ports they serve (all, when they name none), none at first; returns
 * its index, or -errno with why. */
int project_limit_add(struct project_limit *pl, const struct project *pj, uint32_t client, char *err,
		      size_t errlen) PROJECT_WUR;
/* Set limit i to bytes_per_s (0: none). */
int project_limit_set(struct project_limit *pl, size_t i, double bytes_per_s, char *err,
		      size_t errlen) PROJECT_WUR;
/* Bytes let through to limit i's client so far. */
uint64_t project_limit_bytes(struct project_limit *pl, size_t i);
void project_limit_free(struct project_limit *pl);

/* For tests: the podman run arguments for service i (NULL-terminated;
 * free with project_argv_free). */
char **project_run_argv(const struct project *pj, size_t i, const struct project_run *r);
void project_argv_free(char **argv);

#endif
