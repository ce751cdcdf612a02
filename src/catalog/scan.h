/* scan.h - 'dynamo catalog scan': projects in code repositories that make
 * traffic when run, found by their compose files (docker-compose.yml,
 * compose.yaml and their override files), parsed with libyaml, and the
 * traffic classes each would make, with a confidence and the evidence
 * (FILE:LINE) for each: the images its services run, the ports they
 * serve, the words of their names, commands and environment, matched
 * against a map of what software makes what traffic
 * (data/scan/services.map, docs/scan.md).  A project drives itself when
 * one of its services is a client that drives the others (a load
 * generator, a collector) or a node that talks to peers; otherwise it
 * needs dynamo's users.  Nothing here prints. */
#ifndef DYNAMO_SCAN_H
#define DYNAMO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../spec/spec.h"

#define SCAN_MAX_FILE (1u << 20)   /* bytes of a compose file */
#define SCAN_MAX_SERVICES 256

/* What a rule of the map says about a service that matches it. */
enum scan_role { SCAN_SERVER, SCAN_CLIENT, SCAN_PEER };

/* A port a service serves, inside its container. */
struct scan_port {
	uint16_t lo, hi;
	uint8_t proto;                  /* IPPROTO_TCP or IPPROTO_UDP */
	bool df;                        /* in its Dockerfile, not its compose file */
	unsigned line;
};

/* Words to run, as compose gives them: a list as it is, a string split
 * as a shell splits words (quotes, backslashes; no expansions). */
struct scan_argv {
	char **v;
	size_t n;
	bool set;                       /* given, if empty */
};

struct scan_service {
	char *name, *image, *build;     /* image, build: NULL when not given */
	unsigned line, image_line;
	char **words;                   /* container_name, command, entrypoint,
					 * environment names: lowercase tokens */
	unsigned *word_line;
	bool *word_df;                  /* the word is in its Dockerfile */
	size_t nwords, nname;           /* the first nname words: its name's */
	size_t words_cap;
	char *dockerfile;               /* what it is built from, or NULL */
	bool image_df;                  /* its image is its Dockerfile's FROM */
	struct scan_port *ports;
	size_t nports;
	char *file;                     /* the compose file it is in */
	enum scan_role role;            /* by the rules it matched (scan_classify) */
	/* to run it: its command and entrypoint, environment (NAME=value,
	 * ${VAR:-default} as its default; a name without a value is left
	 * out, not taken from dynamo's environment), the services it
	 * depends on */
	struct scan_argv command, entrypoint, env, depends;
};

struct scan_evidence {
	char *file;
	unsigned line;
	char *why;                      /* "image eclipse-mosquitto (mosquitto)" */
	double weight;
};

struct scan_class {
	double confidence;              /* 0: not found */
	struct scan_evidence *ev;
	size_t nev;
};

struct scan_project {
	char *path;                     /* its directory, or its one file */
	char *repo, *commit, *subdir;   /* provenance from the checkout's .git:
					 * origin's URL (or NULL), HEAD's commit
					 * (40 hex), the path inside; all NULL
					 * outside a checkout */
	char **files;
	size_t nfiles;
	struct scan_service *svc;
	size_t nsvc;
	struct scan_class cls[CLASS__COUNT];
	bool drives;                    /* makes traffic on its own */
	char *drives_why;               /* "locust (client)", or NULL */
};

/* The map: rules 'image|word|port|code PATTERN CLASS[,CLASS] [client|peer]'. */
struct scan_rule {
	enum { RULE_IMAGE, RULE_WORD, RULE_PORT, RULE_CODE } kind;
	char *pattern;                  /* image, word, code (a module) */
	uint16_t port_lo, port_hi;      /* port */
	uint8_t proto;                  /* port: 0 either */
	unsigned classes;               /* 1 << enum spec_class */
	enum scan_role role;
	unsigned line;
};

struct scan_map {
	struct scan_rule *v;
	size_t n;
};

/* Parse the map (len bytes); 0, or -EINVAL with "FILE:LINE: ..." in err. */
int scan_map_parse(struct scan_map *m, const char *file, const char *text, size_t len, char *err,
		   size_t errlen);
int scan_map_load(struct scan_map *m, const char *path, char *err, size_t errlen);
/* A file of SCAN_MAX_FILE bytes at most into b; 0, or -errno with
 * "PATH: why" in err. */
struct buf;
int scan_read(const char *path, struct buf *b, char *err, size_t errlen);
void scan_map_free(struct scan_map *m);

/* Add the services of one compose file (len bytes of text) to p; 0, or
 * -EINVAL with "FILE:LINE:COL: what is wrong" in err (p keeps what it
 * had). */
int scan_compose(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
		 size_t errlen);
/* A Dockerfile (len bytes of text) for service, p's service of that name
 * (one built from it) or a new one (a folder with a Dockerfile and no
 * compose file): the image of its last FROM (a stage an earlier FROM ...
 * AS named gives that stage's), the ports it EXPOSEs, the words of its
 * CMD, ENTRYPOINT and ENV names.  A compose service's own image is
 * kept.  0, or -EINVAL with "FILE:LINE: ..." in err. */
int scan_dockerfile(struct scan_project *p, const char *service, const char *file, const char *text,
		    size_t len, char *err, size_t errlen);

/* The workloads of a Kubernetes manifest (len bytes, one or more YAML
 * documents): each container of a Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, ReplicationController, Job or CronJob as a
 * service (its image, containerPorts, command as the entrypoint and args
 * as the command, env).  0; -ENOENT when it holds no workload (a YAML
 * file of something else); -EINVAL with "FILE:LINE[:COL]: ..." in err. */
int scan_k8s(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
	     size_t errlen);
/* Does text look like a Kubernetes manifest (lines starting
 * "apiVersion:" and "kind:"), worth parsing? */
bool scan_is_k8s_text(const char *text, size_t len);
/* A Procfile: a service for each "NAME: COMMAND" line (no image; its
 * words and command).  0, or -EINVAL with "FILE:LINE: ..." in err. */
int scan_procfile(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
		  size_t errlen);

/* Add the evidence of one source file (len bytes; its language by its
 * name: .py, .js, .mjs, .cjs, .ts, .go, .java, .c, .h, .cc, .cpp): the
 * modules it imports that a 'code' rule names (psycopg2, paho.mqtt,
 * net/http, org.postgresql, curl/curl.h), each where it is imported.
 * Call after scan_classify(); false for a name of no known language. */
bool scan_code(struct scan_project *p, const struct scan_map *m, const char *file, const char *text,
	       size_t len);

bool scan_is_code_name(const char *name);

/* The classes of p's services by the map (p->cls, p->drives). */
void scan_classify(struct scan_project *p, const struct scan_map *m);
void scan_project_free(struct scan_project *p);

/* Where p->path comes from: the git checkout around it (p->repo,
 * p->commit, p->subdir), read from .git without running git (a worktree
 * or submodule's "gitdir:" file, packed refs, a detached HEAD).  Nothing
 * is set outside a checkout or when .git cannot be read. */
void scan_provenance(struct scan_project *p);

/* For tests and fuzzing: the commit of ref in a packed-refs file's text,
 * and the URL of [remote "origin"] in a git config's text (NULL when
 * none; caller frees). */
char *scan__packed_ref(const char *packed, const char *ref);
char *scan__origin_url(const char *config);

/* p as a catalog entry of kind project: its most confident class of at
 * least min, with the protocols of that class whose usual port one of
 * its services serves (else the class's first), named by its folder,
 * started from p->path, with its driver and provenance.  False when no
 * class reaches min.  Free e with catalog_entry_free(). */
struct catalog_entry;
bool scan_entry(const struct scan_project *p, double min, struct catalog_entry *e);

/* Is name a compose file's (docker-compose.yml, compose.override.yaml...)?
 * The names, the base files' before their overrides (the order compose
 * reads them in). */
bool scan_is_compose_name(const char *name);
extern const char *const scan_compose_names[];
extern const size_t scan_ncompose_names;
/* Does name end in .yml or .yaml? */
bool scan_is_yaml_name(const char *name);

#endif
