/* run.c - see run.h.  The supervisor builds the network, opens the
 * recorder's sockets inside each host's namespace, and forks one
 * process per host that has sources (more for a host with several client
 * tasks: shard_tasks()): it enters the host's namespace,
 * starts the servers, says it is ready, waits for the word go (the
 * supervisor closing a pipe, so every host starts its users at once),
 * runs its users, and on SIGTERM lets them finish politely, then writes
 * its counters to the supervisor and exits.  Every process is stopped by
 * its pid; a host that does not end in time is killed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <ftw.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../agents/agent.h"
#include "../agents/generic.h"
#include "../agents/sip.h"
#include "../agents/program.h"
#include "../lib/util.h"
#include "emul.h"
#include "project.h"
#include "run.h"
#include "steer.h"

#define GRACE_NS 1500000000ull    /* users finish what they do */
#define SERVER_LINGER_NS 500000000ull  /* and a host with servers outlives its clients */
#define KILL_AFTER_MS 8000        /* then a host that lingers is killed */
#define READY_MS 15000
#define FTP_DATA_LO 1024          /* FTP data connections: the server's side */
#define WARMUP_US 5000000ull      /* default warm-up */
#define TICK_MS 100               /* the controller's period */
#define HOST_TICK_NS 50000000ull  /* a host's look at its control slots */
#define PJ_READY_MS 30000         /* a project's server, to accept connections */
#define PJ_LINGER_S 120           /* a container outlives its run's length by this, at most */
#define GROUP_USERS 4             /* users per group, unless fewer are planned */
#define GROUPS_MAX 256            /* per task */
#define RESTARTS_MAX 5            /* of one program in a run */
#define HOST_PROCS_MAX 8          /* processes per host */

struct task {
	size_t node;
	bool server;
	const struct agent *a;
	const struct program_def *prog;  /* server: a real program, not the agent's */
	size_t stmt;
	uint32_t server_addr;
	uint16_t port;
	const char *server_name;
	uint32_t users;                 /* client: per group */
	uint64_t start_us, stop_us;     /* client: when to start and stop */
	uint32_t resolver;              /* client: its resolver, or 0 */
	size_t counter;                 /* client: the part it counts toward */
	size_t slot;                    /* client: its control slot */
	uint32_t groups0, groups_max;   /* client: groups at start, at most */
	const char *model;              /* its statement's model file, or NULL */
	double weight;                  /* client: its share of the part */
	double think0;                  /* client: think-scale to start with */
	unsigned shard;                 /* which of its host's processes runs it */
	const struct project *pj;       /* a project's: its client services, or
					 * (server) the others; a is NULL */
};

/* Shared between the supervisor and the host that runs a client task
 * (mapped before the fork): the supervisor sets the bucket's rate and
 * how many groups of users to run; the host says what they did.  Each
 * field is read and written whole, atomically. */
struct slot {
	uint64_t rate;          /* bytes/s at the sockets; 0: no limit */
	uint32_t groups;        /* groups wanted */
	uint32_t think_ppm;     /* users' think times, of the model's */
	uint32_t running;       /* groups running */
	uint64_t used;          /* bytes moved */
	uint64_t starved_ns;    /* time sessions waited for the bucket */
	int64_t active;         /* connections open */
	uint64_t sessions;
};


struct ctx {
	const struct plan *p;
	const struct run_opts *o;
	struct emul e;
	struct task *tasks;
	size_t ntasks, tasks_cap;
	struct record_rule *rules;
	size_t nrules, rules_cap;
	uint64_t duration_us;
	char *workdir;                  /* programs' files; removed at the end */
	struct project **pjs;           /* the projects the plan runs, loaded */
	size_t npjs;
	size_t *counter_base;           /* per statement: its first counter */
	char **models;                  /* per statement: its model's file, or NULL */
	size_t ncounters;               /* parts of all statements */
	struct slot *slots;             /* shared, one per client task */
	size_t nslots;
};

struct proc {
	size_t node;
	pid_t pid;
	int out;        /* its report pipe */
	size_t seen;    /* of report: notices taken up to here */
	bool ready, done, clean;
	struct buf report;
};

static uint32_t node_addr(const struct topo *t, size_t node)
{
	return t->nodes[node].nifaces ? t->nodes[node].ifaces[0].addr : 0;
}

/* Count flows from client to server on ports lo..hi, TCP and UDP (or
 * one transport), toward statement stmt, and label them so. */
static void add_rules(struct ctx *x, uint32_t client, uint32_t server, int l4, uint16_t lo,
		      uint16_t hi, size_t stmt, size_t counter, const char *cls,
		      const char *protocol, const char *source)
{
	for (int m = 0; m < 2; m++) {
		struct record_rule *u;

		if (l4 && l4 != (m ? 17 : 6))
			continue;
		u = VEC_PUSH(x->rules, x->nrules, x->rules_cap);
		*u = (struct record_rule){
			.client = client, .server = server, .proto = (uint8_t)(m ? 17 : 6),
			.port_lo = lo, .port_hi = hi, .stmt = (uint32_t)stmt,
			.counter = (uint32_t)counter, .cls = cls, .protocol = protocol, .source = source,
		};
	}
}

/* Web users look their server's name up first, as browsers do: with the
 * gateway of their host as its resolver (a DNS agent server on the
 * router, answering the emulation's names as NAME.example).  Returns the
 * resolver's address, or 0 when the host has no gateway or its port 53
 * is taken. */
static uint32_t add_resolver(struct ctx *x, size_t client, size_t stmt, size_t counter)
{
	const struct topo *t = x->p->topo;
	const struct topo_node *nd = &t->nodes[client];
	const struct agent *dns = agent_find(PROTO_DNS);
	uint32_t via = 0;
	size_t router;

	for (size_t i = 0; i < nd->nroutes && !via; i++)
		if (!nd->routes[i].plen)
			via = nd->routes[i].via;
	router = via ? topo_addr_owner(t, via, NULL) : TOPO_NONE;
	if (!dns || router == TOPO_NONE || t->nodes[router].kind != TOPO_ROUTER)
		return 0;
	for (size_t z = 0; z < x->ntasks; z++)
		if (x->tasks[z].server && x->tasks[z].node == router && x->tasks[z].port == 53) {
			if (x->tasks[z].a != dns || x->tasks[z].prog)
				return 0;
			goto rules;
		}
	{
		struct task *tk = VEC_PUSH(x->tasks, x->ntasks, x->tasks_cap);

		tk->node = router;
		tk->server = true;
		tk->a = dns;
		tk->port = 53;
	}
rules:
	add_rules(x, node_addr(t, client), via, 0, 53, 53, stmt, counter, "web", "dns", dns->name);
	return via;
}

/* Two tasks' model files (NULL: the agent's own) are the same one. */
static bool same_model(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The port the server of ag on node b listens on.  A protocol with a
 * usual port: the one b declares for it ('serves postgresql port 5433'),
 * else that.  Generic flows (tcp, udp): the model's 'port' (a clone
 * fits one model a port, and two statements to one host may play two
 * applications), else b's declared one, else GEN_PORT. */
static uint16_t task_port(const struct ctx *x, size_t b, const struct agent *ag, size_t s)
{
	const struct spec_host *d = x->p->topo->nodes[b].decl;
	uint16_t port = spec_proto_port(ag->proto);
	struct model *m = NULL;
	struct rng r;
	char *msg = NULL;
	double v = 0;

	if (!port) {
		/* a model that does not load is reported by run_check() */
		m = agent_model(ag, x->o->datadir, x->models[s], &msg);
		free(msg);
		rng_seed(&r, 1);
		if (m && model_has(m, "port"))
			v = model_draw(m, "port", &r, 0);
		model_free(m);
		if (v >= 1 && v <= 65535)
			return (uint16_t)v;
	}
	for (size_t i = 0; d && i < d->nservices; i++)
		if (d->services[i].proto == (int)ag->proto && d->services[i].port)
			return d->services[i].port;
	return port ? port : GEN_PORT;
}

/* A client task on host a toward server b, and b's server unless
 * another task already runs it. */
static int add_task(struct ctx *x, const struct plan_stmt *ps, size_t s, size_t counter, size_t a,
		    size_t b, const struct agent *ag, const struct program_def *prog, uint32_t users,
		    uint32_t groups, uint32_t gmax, double think0, enum spec_class cls, char *err,
		    size_t errlen)
{
	const struct topo *t = x->p->topo;
	bool web = ag->proto == PROTO_HTTP || ag->proto == PROTO_HTTPS;
	uint32_t resolver = web ? add_resolver(x, a, s, counter) : 0;
	struct task *tk = VEC_PUSH(x->tasks, x->ntasks, x->tasks_cap);
	const char *name = prog ? prog->name : ag->name;
	const struct task *have = NULL;
	uint16_t port;

	tk->resolver = resolver;
	tk->counter = counter;
	tk->slot = x->nslots++;
	tk->groups0 = groups;
	tk->groups_max = gmax;
	tk->weight = 1.0;
	tk->think0 = think0;
	tk->model = x->models[s];
	tk->node = a;
	tk->a = ag;
	tk->prog = prog;   /* its server, named in the report */
	tk->stmt = s;
	tk->server_addr = node_addr(t, b);
	tk->port = port = task_port(x, b, ag, s);
	tk->server_name = t->nodes[b].name;
	tk->users = users;
	tk->start_us = ps->gen->offset_us;
	tk->stop_us = ps->gen->duration_us ? tk->start_us + ps->gen->duration_us : 0;
	add_rules(x, node_addr(t, a), tk->server_addr, 0, port, port, s, counter, spec_class_name(cls),
		  ag->name, name);
	/* FTP's passive data connections: a server port the control
	 * connection named */
	if (ag->proto == PROTO_FTP)
		add_rules(x, node_addr(t, a), node_addr(t, b), 6, FTP_DATA_LO, RECORD_EPHEMERAL - 1, s,
			  counter, spec_class_name(cls), "ftp-data", name);
	/* a call's STUN, and its media on the ports the answer named */
	if (ag->proto == PROTO_SIP) {
		add_rules(x, node_addr(t, a), tk->server_addr, 17, SIP_STUN_PORT, SIP_STUN_PORT, s,
			  counter, spec_class_name(cls), "stun", name);
		add_rules(x, node_addr(t, a), tk->server_addr, 17, SIP_MEDIA_LO, SIP_MEDIA_HI, s, counter,
			  spec_class_name(cls), "rtp", name);
	}
	/* one server per (host, port); the planner made it so */
	for (size_t z = 0; z < x->ntasks && !have; z++)
		if (x->tasks[z].server && x->tasks[z].node == b && x->tasks[z].port == port)
			have = &x->tasks[z];
	if (have && (have->a != ag || have->prog != prog)) {
		snprintf(err, errlen, "statement %zu: %s would run two servers on port %u (%s and %s)",
			 ps->index, t->nodes[b].name, port, have->prog ? have->prog->name : have->a->name,
			 name);
		return -EINVAL;
	}
	/* a server makes its content from its model: one model a server */
	if (have && !same_model(have->model, tk->model)) {
		snprintf(err, errlen,
			 "statement %zu: the %s server on %s port %u would need two models (%s and %s); "
			 "give the statements the same model, or servers of their own",
			 ps->index, name, t->nodes[b].name, port, have->model ? have->model : "its own",
			 tk->model ? tk->model : "its own");
		return -EINVAL;
	}
	if (!have) {
		tk = VEC_PUSH(x->tasks, x->ntasks, x->tasks_cap);
		tk->node = b;
		tk->server = true;
		tk->a = ag;
		tk->prog = prog;
		tk->port = port;
		tk->model = x->models[s];
	}
	return 0;
}

/* The project of catalog entry e, loaded once for the run. */
static struct project *project_of(struct ctx *x, const struct catalog_entry *e, char *err,
				  size_t errlen)
{
	struct project *pj;
	struct scan_map map;
	char *path;
	int r;

	for (size_t i = 0; i < x->npjs; i++)
		if (!strcmp(x->pjs[i]->name, e->name))
			return x->pjs[i];
	path = xasprintf("%s/scan/services.map", x->o->datadir ? x->o->datadir : ".");
	r = scan_map_load(&map, path, err, errlen);
	free(path);
	if (r)
		return NULL;
	pj = xcalloc(1, sizeof(*pj));
	r = project_load(pj, e->name, e->start, &map, err, errlen);
	scan_map_free(&map);
	if (r) {
		free(pj);
		return NULL;
	}
	x->pjs = xreallocarray(x->pjs, x->npjs + 1, sizeof(*x->pjs));
	x->pjs[x->npjs++] = pj;
	return pj;
}

/* A project from a to b: its client services on a (a client task with
 * a slot, which the controller sees as any other), the others on b (a
 * server task); what flows between the two hosts to the ports its
 * servers serve (any port when they name none) counts toward the
 * statement. */
static int add_project_task(struct ctx *x, const struct plan_stmt *ps, size_t s, size_t counter,
			    size_t a, size_t b, const struct catalog_entry *e, enum spec_proto pr,
			    enum spec_class cls, char *err, size_t errlen)
{
	const struct topo *t = x->p->topo;
	struct project *pj = project_of(x, e, err, errlen);
	struct task *tk;
	bool ports = false;

	if (!pj)
		return -EINVAL;
	for (size_t z = 0; z < x->ntasks; z++)
		if (x->tasks[z].pj == pj && x->tasks[z].stmt == s && x->tasks[z].node == a &&
		    x->tasks[z].server_addr == node_addr(t, b) && !x->tasks[z].server)
			return 0;
	for (size_t k = 0; k < pj->nsvc; k++)
		for (size_t q = 0; q < pj->svc[k].nports && !pj->svc[k].client; q++) {
			const struct scan_port *pt = &pj->svc[k].ports[q];

			add_rules(x, node_addr(t, a), node_addr(t, b), pt->proto, pt->lo, pt->hi, s, counter,
				  spec_class_name(cls), spec_proto_name(pr), e->name);
			ports = true;
		}
	if (!ports)
		add_rules(x, node_addr(t, a), node_addr(t, b), 0, 1, 65535, s, counter,
			  spec_class_name(cls), spec_proto_name(pr), e->name);
	tk = VEC_PUSH(x->tasks, x->ntasks, x->tasks_cap);
	tk->pj = pj;
	tk->counter = counter;
	tk->slot = x->nslots++;
	tk->groups0 = tk->groups_max = 1;
	tk->weight = 1.0;
	tk->think0 = 1;
	tk->node = a;
	tk->stmt = s;
	tk->server_addr = node_addr(t, b);
	tk->server_name = t->nodes[b].name;
	tk->users = 1;
	tk->start_us = ps->gen->offset_us;
	tk->stop_us = ps->gen->duration_us ? tk->start_us + ps->gen->duration_us : 0;
	for (size_t z = 0; z < x->ntasks; z++)
		if (x->tasks[z].pj == pj && x->tasks[z].server && x->tasks[z].node == b)
			return 0;
	tk = VEC_PUSH(x->tasks, x->ntasks, x->tasks_cap);
	tk->pj = pj;
	tk->node = b;
	tk->server = true;
	tk->server_addr = node_addr(t, b);
	tk->stmt = s;
	return 0;
}

static void free_projects(struct ctx *x)
{
	for (size_t i = 0; i < x->npjs; i++) {
		project_free(x->pjs[i]);
		free(x->pjs[i]);
	}
	free(x->pjs);
	x->pjs = NULL;
	x->npjs = 0;
}

/* The model file a statement names with 'using model', made absolute:
 * a "file" is found from the spec's folder, a name in DATADIR/behaviours. */
static char *stmt_model(const struct ctx *x, const struct spec_gen *g)
{
	const char *file = x->p->spec->file, *slash;
	char *path, *abs;

	if (!g->model)
		return NULL;
	if (!g->model_file)
		path = agent_model_path(x->o->datadir, g->model);
	else if (g->model[0] == '/' || !file || !(slash = strrchr(file, '/')))
		path = xstrdup(g->model);
	else
		path = xasprintf("%.*s/%s", (int)(slash - file), file, g->model);
	/* host processes read it; keep it whole if it is not there (the
	 * load says so, with the name as given) */
	abs = realpath(path, NULL);
	if (abs) {
		free(path);
		return abs;
	}
	return path;
}

static int plan_tasks(struct ctx *x, char *err, size_t errlen)
{
	const struct plan *p = x->p;

	x->counter_base = xcalloc(p->nstmts + 1, sizeof(*x->counter_base));
	x->models = xcalloc(p->nstmts + 1, sizeof(*x->models));
	for (size_t s = 0; s < p->nstmts; s++)
		x->models[s] = stmt_model(x, p->stmts[s].gen);
	for (size_t s = 0; s < p->nstmts; s++) {
		x->counter_base[s] = x->ncounters;
		x->ncounters += p->stmts[s].nparts;
	}
	x->counter_base[p->nstmts] = x->ncounters;
	for (size_t s = 0; s < p->nstmts; s++) {
		const struct plan_stmt *ps = &p->stmts[s];

		for (size_t k = 0; k < ps->nparts; k++) {
			const struct plan_part *pt = &ps->parts[k];
			size_t counter = x->counter_base[s] + k;
			uint64_t want, tasks = 0;

			if (!pt->pick || !pt->nsrcs) {
				snprintf(err, errlen, "statement %zu: no sources were chosen for it", ps->index);
				return -EINVAL;
			}
			for (size_t q = 0; q < pt->nsrcs; q++)
				tasks += pt->srcs[q].tasks;
			/* Intensity at the start: the planner's instances in
			 * groups of GROUP_USERS users; with 'using <= N flows'
			 * or '= N', groups of one user, N of them at most. */
			want = ps->gen->flow_op == FLOWS_GE || ps->gen->flow_op == FLOWS_EQ ? ps->gen->flows : 1;
			want = (want + tasks - 1) / MAX(tasks, 1);
			for (size_t j = 0; j < ps->nto; j++)
				for (size_t i = 0; i < ps->nfrom; i++)
					for (int pr = 0; pr < PROTO__COUNT; pr++) {
						size_t a = ps->from[i], b = ps->to[j];
						uint8_t pick = pt->pick[j * PROTO__COUNT + (size_t)pr];
						const struct plan_source *src;
						const struct agent *ag;
						const struct program_def *prog = NULL;
						uint32_t users, groups, gmax = GROUPS_MAX;
						double think0 = 1;

						if (a == b || pick == PLAN_NOPICK)
							continue;
						src = &pt->srcs[pick];
						if (src->e->kind == CATALOG_PROJECT && src->e->driver_project) {
							if (add_project_task(x, ps, s, counter, a, b, src->e,
									     (enum spec_proto)pr, pt->cls, err,
									     errlen))
								return -EINVAL;
							continue;
						}
						ag = src->e->kind == CATALOG_AGENT
							? agent_for(src->e->start, (enum spec_proto)pr)
							: agent_find((enum spec_proto)pr);
						if (src->e->kind == CATALOG_PROGRAM)
							prog = program_find(src->e->start);
						if (!ag || (src->e->kind == CATALOG_PROGRAM && !prog) ||
						    src->e->kind == CATALOG_PROJECT) {
							snprintf(err, errlen, "statement %zu: source %s cannot run: %s",
								 ps->index, src->e->name,
								 !ag ? "no built-in users speak its protocol "
								       "(this dynamo has no such agent)"
								 : src->e->kind == CATALOG_PROJECT
								 ? "a project that needs dynamo's users "
								   "(driver users) does not run yet"
								 : "dynamo does not know how to start it");
							return -EINVAL;
						}
						if (x->o->open_loop) {
							users = x->o->users ? x->o->users
								: (uint32_t)MAX(1, MIN(UINT32_MAX, want));
							groups = gmax = 1;
						} else if (ps->gen->flow_op == FLOWS_LE || ps->gen->flow_op == FLOWS_EQ) {
							users = 1;
							gmax = (uint32_t)MAX(1, MIN(GROUPS_MAX, ps->gen->flows / tasks));
							groups = (uint32_t)MAX(1, MIN(gmax, want));
						} else {
							uint64_t u = ((uint64_t)src->instances * src->users + src->tasks - 1) /
								     MAX(src->tasks, 1);

							/* as few groups as GROUP_USERS allow, the
							 * users spread evenly over them (5: 3 and 3,
							 * not 4 and 4) */
							groups = (uint32_t)MAX(1, MIN(GROUPS_MAX, (u + GROUP_USERS - 1) / GROUP_USERS));
							users = (uint32_t)MAX(1, MIN(GROUP_USERS, (u + groups - 1) / groups));
							groups = (uint32_t)MAX(groups, MIN(GROUPS_MAX, (want + users - 1) / users));
							think0 = src->think_scale > 0 ? src->think_scale : 1;
						}
						if (add_task(x, ps, s, counter, a, b, ag, prog, users, groups, gmax,
							     think0, pt->cls, err, errlen))
							return -EINVAL;
					}
		}
	}
	return 0;
}

/* A host with several client tasks runs them in several processes, as
 * many as there are cores (at most HOST_PROCS_MAX), each with its own
 * event loop in the host's namespace: one loop is one core, and the
 * clients of a busy host would otherwise share it.  Servers stay in the
 * first. */
static void shard_tasks(struct ctx *x)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned per = (unsigned)MAX(1, MIN(HOST_PROCS_MAX, cpus));

	for (size_t node = 0; node < x->p->topo->nnodes; node++) {
		unsigned n = 0;

		for (size_t i = 0; i < x->ntasks; i++) {
			struct task *tk = &x->tasks[i];

			if (tk->node == node)
				tk->shard = tk->server ? 0 : n++ % per;
		}
	}
}

static void free_models(struct ctx *x)
{
	for (size_t s = 0; x->models && s < x->p->nstmts; s++)
		free(x->models[s]);
	free(x->models);
	x->models = NULL;
}

/* Add "AGENT" or "AGENT against PROGRAM" to the ", "-separated list in
 * buf, once (hls and hls-tls are two). */
static void list_add(char *buf, size_t n, const char *agent, const char *prog)
{
	char item[96];
	size_t l = strlen(buf), k;

	snprintf(item, sizeof(item), "%s%s%s", agent, prog ? " against " : "", prog ? prog : "");
	k = strlen(item);
	for (const char *p = buf; (p = strstr(p, item)); p += k)
		if ((p == buf || p[-1] == ' ') && (p[k] == '\0' || p[k] == ','))
			return;
	snprintf(buf + l, n - l, "%s%s", l ? ", " : "", item);
}

int run_check(const struct plan *p, const char *datadir, char *err, size_t errlen)
{
	struct run_opts o = { .datadir = datadir };
	struct ctx x = { .p = p, .o = &o };
	int r = plan_tasks(&x, err, errlen);

	for (size_t i = 0; !r && i < x.ntasks; i++) {
		char *msg = NULL;
		struct model *m;

		if (x.tasks[i].pj)
			continue;
		m = agent_model(x.tasks[i].a, datadir, x.tasks[i].model, &msg);

		if (!m) {
			r = -EINVAL;
			snprintf(err, errlen, "statement %zu: %s", x.p->stmts[x.tasks[i].stmt].index,
				 msg ? msg : "no model");
		}
		free(msg);
		model_free(m);
	}
	free_models(&x);
	free_projects(&x);
	free(x.counter_base);
	free(x.tasks);
	free(x.rules);
	return r;
}

/* ---- a host process --------------------------------------------------- */

/* A group of users of one client task: one call of the agent's client()
 * with its own view of the host (generator, stopping flag) and counters.
 * The controller adds groups while users ask for less than the rate
 * allows, and stops some when there are more flows than allowed. */
struct group {
	struct host view;
	struct agent_env env;
	struct stats st;
	struct tctl *tc;
	char *files;                    /* env.server_files */
	char err[256];
	bool failed, stopped;
};

/* A client task in its host: the bucket its groups share, and them. */
struct tctl {
	const struct task *tk;
	struct slot *slot;
	struct pace pace;
	uint64_t rate;                  /* the bucket's, as last set */
	struct group **g;               /* started, in order; kept to the end */
	size_t ng, live;
	const struct model *model;
	struct timer start, stop;
	bool started, ended;
};

struct node_run {
	struct host base;
	struct ctx *x;
	size_t node;
	int out;                        /* the report pipe */
	struct tctl *tcs;
	size_t ntcs;
	struct program *progs;
	const struct task **prog_tk;    /* the server task that started it */
	unsigned *prog_restarts;
	size_t nprogs;
	struct io sig;
	struct timer grace, tick;
	bool stopping;
	bool serves;                    /* runs a server or a program */
	/* projects' containers: the servers it runs, the clients, and the
	 * client tasks that start theirs */
	struct cids {
		char **v;
		size_t n;
	} pj_servers, pj_clients;
	struct pjc {
		const struct task *tk;
		struct timer start, stop;
		struct cids cids;
		unsigned failed;        /* containers that did not start */
	} *pjcs;
	size_t npjcs;
	/* the limits on what its project servers send, one per client task */
	struct project_limit *pjl;
	struct pjlim {
		struct slot *slot;
		size_t idx;
		uint64_t rate;          /* as last set */
	} *pjls;
	size_t npjls;
};

static struct node_run *the_node;

static void grace_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

static void stop_all(struct node_run *nr)
{
	if (nr->stopping)
		return;
	nr->stopping = true;
	nr->base.stopping = true;
	/* Users start nothing new and finish what they are doing, at the
	 * rate the buckets hold now: the end of a run is no burst, and
	 * what is still going after the grace is cut. */
	for (size_t i = 0; i < nr->ntcs; i++) {
		for (size_t k = 0; k < nr->tcs[i].ng; k++)
			nr->tcs[i].g[k]->view.stopping = true;
	}
	loop_timer_stop(nr->base.loop, &nr->tick);
	/* Clients go first: a server that went while its clients still
	 * spoke would be a fault to each of them, and none happened */
	for (size_t i = 0; i < nr->npjcs; i++) {
		loop_timer_stop(nr->base.loop, &nr->pjcs[i].start);
		loop_timer_stop(nr->base.loop, &nr->pjcs[i].stop);
	}
	project_stop(nr->pj_clients.v, nr->pj_clients.n);
	loop_timer_start(nr->base.loop, &nr->grace, GRACE_NS + (nr->serves ? SERVER_LINGER_NS : 0));
}

static void __attribute__((format(printf, 2, 3))) notice(struct node_run *nr, const char *fmt, ...);

static void cids_add(struct cids *c, const char *id)
{
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = xstrdup(id);
}

static void cids_free(struct cids *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* How a project's containers run on this host: in its namespace, named
 * after the supervisor and the host, each service's name pointing at the
 * host it runs on. */
static struct project_run pj_run(const struct node_run *nr, const struct task *tk, char *tag,
				 size_t taglen)
{
	const struct topo *t = nr->x->p->topo;
	struct project_run r = { .nspid = getpid(), .owner = getppid(), .tag = tag,
				 .engine_ns = nr->x->e.net.root_fd,
				 .timeout_s = (unsigned)(nr->x->duration_us / 1000000) + PJ_LINGER_S };

	snprintf(tag, taglen, "%ld-%s", (long)r.owner, t->nodes[nr->node].name);
	if (tk->server) {
		r.server = node_addr(t, nr->node);
		/* its clients are where a client task of the project is */
		for (size_t i = 0; i < nr->x->ntasks && !r.client; i++)
			if (nr->x->tasks[i].pj == tk->pj && !nr->x->tasks[i].server &&
			    nr->x->tasks[i].server_addr == r.server)
				r.client = node_addr(t, nr->x->tasks[i].node);
	} else {
		r.client = node_addr(t, nr->node);
		r.server = tk->server_addr;
	}
	return r;
}

/* A project's server services on this host, before the run: started,
 * and each accepting on the ports it serves. */
static int pj_serve(struct node_run *nr, const struct task *tk, char *err, size_t errlen)
{
	char tag[96], cid[128];
	struct project_run r = pj_run(nr, tk, tag, sizeof(tag));
	size_t first = nr->pj_servers.n;
	int e;

	for (size_t k = 0; k < tk->pj->nsvc; k++) {
		if (tk->pj->svc[k].client)
			continue;
		if ((e = project_start(tk->pj, k, &r, cid, sizeof(cid), err, errlen)))
			return e;
		cids_add(&nr->pj_servers, cid);
	}
	for (size_t k = 0, at = first; k < tk->pj->nsvc; k++) {
		if (tk->pj->svc[k].client)
			continue;
		if ((e = project_wait(tk->pj, k, r.server, nr->pj_servers.v[at++], PJ_READY_MS, err,
				      errlen)))
			return e;
	}
	/* a limit for each client task of the project that these serve */
	if (!nr->pjl &&
	    (e = project_limit_new(&nr->pjl, nr->x->p->topo->nodes[nr->node].ifaces[0].name, err, errlen)))
		return e;
	for (size_t i = 0; i < nr->x->ntasks; i++) {
		const struct task *c = &nr->x->tasks[i];

		if (c->pj != tk->pj || c->server || c->server_addr != r.server)
			continue;
		if ((e = project_limit_add(nr->pjl, tk->pj, node_addr(nr->x->p->topo, c->node), err,
					      errlen)) < 0)
			return e;
		nr->pjls = xreallocarray(nr->pjls, nr->npjls + 1, sizeof(*nr->pjls));
		nr->pjls[nr->npjls++] = (struct pjlim){ .slot = &nr->x->slots[c->slot], .idx = (size_t)e };
	}
	return 0;
}

/* The controller's rate for each project client task becomes its limit
 * (when it moved by more than 2 %), and what the limit let through is
 * what the task moved. */
static void pj_sync(struct node_run *nr)
{
	for (size_t i = 0; i < nr->npjls; i++) {
		struct pjlim *p = &nr->pjls[i];
		uint64_t rate = RELAXED_LOAD(p->slot->rate);
		char err[256];

		if (rate != p->rate && (!p->rate || !rate || rate > p->rate * 1.02 || rate < p->rate * 0.98)) {
			if (project_limit_set(nr->pjl, p->idx, (double)rate, err, sizeof(err)))
				notice(nr, "%s", err);
			p->rate = rate;
		}
		RELAXED_STORE(p->slot->used, project_limit_bytes(nr->pjl, p->idx));
	}
}

/* A project's client services: started when the statement starts,
 * stopped when it stops. */
static void pjc_start(struct loop *l, struct timer *t)
{
	struct pjc *c = container_of(t, struct pjc, start);
	struct node_run *nr = the_node;
	char tag[96], cid[128], err[512];
	struct project_run r = pj_run(nr, c->tk, tag, sizeof(tag));

	(void)l;
	for (size_t k = 0; k < c->tk->pj->nsvc; k++) {
		if (!c->tk->pj->svc[k].client)
			continue;
		if (project_start(c->tk->pj, k, &r, cid, sizeof(cid), err, sizeof(err))) {
			notice(nr, "statement %zu: %s", c->tk->stmt + 1, err);
			c->failed++;
			continue;
		}
		cids_add(&c->cids, cid);
		cids_add(&nr->pj_clients, cid);
	}
	/* for the controller: its one group runs */
	RELAXED_STORE(nr->x->slots[c->tk->slot].running, c->cids.n ? 1u : 0u);
}

static void pjc_stop(struct loop *l, struct timer *t)
{
	struct pjc *c = container_of(t, struct pjc, stop);

	(void)l;
	project_stop(c->cids.v, c->cids.n);
}

static void sig_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct signalfd_siginfo si;

	(void)l;
	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si))
		;
	stop_all(the_node);
}

/* Start one more group of users for tc. */
static void group_add(struct node_run *nr, struct tctl *tc)
{
	const struct task *tk = tc->tk;
	struct group *g = xcalloc(1, sizeof(*g));

	tc->g = xreallocarray(tc->g, tc->ng + 1, sizeof(*tc->g));
	tc->g[tc->ng++] = g;
	tc->live++;
	g->tc = tc;
	host_view(&g->view, &nr->base, nr->x->o->seed + tk->slot * 7919 + tc->ng * 104729);
	g->st.pace = &tc->pace;
	g->env.host = &g->view;
	g->env.st = &g->st;
	g->env.server = tk->server_addr;
	g->env.port = tk->port;
	g->env.server_name = tk->server_name;
	g->env.users = tk->users;
	g->env.think_scale = 1.0;
	g->env.resolver = tk->resolver;
	/* A real server's files, for a client that needs some (sshd's
	 * key): the directory program_start made on the server's host. */
	if (tk->prog)
		g->env.server_files = g->files = xasprintf("%s/%s-%s", nr->x->workdir,
							   tk->server_name, tk->prog->name);
	g->env.model = tc->model;
}

static void group_go(struct group *g)
{
	int r = g->tc->tk->a->client(&g->env, g->err, sizeof(g->err));

	if (r) {
		if (!g->err[0])
			snprintf(g->err, sizeof(g->err), "%s", strerror(-r));
		g->failed = true;
		g->stopped = true;
		g->tc->live--;
	}
}

/* Make the groups running what the supervisor wants, set the bucket,
 * and tell what happened. */
static void tctl_sync(struct node_run *nr, struct tctl *tc)
{
	struct slot *sl = tc->slot;
	uint64_t rate = RELAXED_LOAD(sl->rate), sessions = 0;
	uint32_t want = RELAXED_LOAD(sl->groups), think = RELAXED_LOAD(sl->think_ppm);
	int64_t active = 0;

	if (tc->started && !tc->ended && !nr->stopping) {
		if (rate != tc->rate) {
			pace_set(&tc->pace, (double)rate);
			tc->rate = rate;
		}
		while (tc->live < want && tc->ng < tc->tk->groups_max) {
			group_add(nr, tc);
			group_go(tc->g[tc->ng - 1]);
		}
		for (size_t k = 0; k < tc->ng; k++)
			tc->g[k]->view.think = think ? (double)think / 1e6 : 1.0;
		for (size_t k = tc->ng; k-- > 0 && tc->live > MAX(want, 1u);) {
			struct group *g = tc->g[k];

			if (g->stopped)
				continue;
			g->view.stopping = true;
			g->stopped = true;
			tc->live--;
		}
	}
	for (size_t k = 0; k < tc->ng; k++) {
		active += tc->g[k]->st.active;
		sessions += tc->g[k]->st.sessions;
	}
	RELAXED_STORE(sl->running, (uint32_t)tc->live);
	RELAXED_STORE(sl->used, tc->pace.used);
	RELAXED_STORE(sl->starved_ns, pace_starved(&tc->pace));
	RELAXED_STORE(sl->active, active);
	RELAXED_STORE(sl->sessions, sessions);
}

static void write_all(int fd, const char *p, size_t n);

/* A line for the supervisor now: it says it while the run goes. */
static void __attribute__((format(printf, 2, 3))) notice(struct node_run *nr, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	line[0] = 'N';
	line[1] = ' ';
	n = MIN(n, (int)sizeof(line) - 4) + 2;
	line[n++] = '\n';
	write_all(nr->out, line, (size_t)n);
}

static int prog_start(struct node_run *nr, size_t i, char *err, size_t errlen)
{
	const struct task *tk = nr->prog_tk[i];
	const struct topo *t = nr->x->p->topo;
	char *pdir = nr->prog_restarts[i]
		? xasprintf("%s/%s-%s.%u", nr->x->workdir, t->nodes[nr->node].name, tk->prog->name,
			    nr->prog_restarts[i])
		: xasprintf("%s/%s-%s", nr->x->workdir, t->nodes[nr->node].name, tk->prog->name);
	int r = program_start(tk->prog, pdir, t->nodes[nr->node].name, node_addr(t, nr->node), tk->port,
			      nr->x->o->datadir, tk->model, nr->x->o->seed, 10000, &nr->progs[i], err, errlen);

	free(pdir);
	return r;
}

/* A real program that died is started again, and the run says so;
 * one that keeps dying is given up after RESTARTS_MAX. */
static void progs_watch(struct node_run *nr)
{
	const char *host = nr->x->p->topo->nodes[nr->node].name;

	for (size_t i = 0; i < nr->nprogs; i++) {
		struct program *pg = &nr->progs[i];
		const char *name = nr->prog_tk[i]->prog->name;
		siginfo_t si;
		char how[96], err[256] = "";
		uint64_t t0 = loop_clock();

		memset(&si, 0, sizeof(si));
		if (pg->pid <= 0 ||
		    waitid(P_PID, (id_t)pg->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pg->pid)
			continue;
		if (si.si_code == CLD_EXITED)
			snprintf(how, sizeof(how), "exited with status %d", si.si_status);
		else
			snprintf(how, sizeof(how), "was killed by signal %d (%s)", si.si_status,
				 strsignal(si.si_status));
		program_stop(pg);
		if (nr->stopping)
			continue;
		if (nr->prog_restarts[i] >= RESTARTS_MAX) {
			notice(nr, "%s: %s %s; it died %u times, not started again", host, name, how,
			       RESTARTS_MAX + 1);
			continue;
		}
		nr->prog_restarts[i]++;
		if (prog_start(nr, i, err, sizeof(err))) {
			notice(nr, "%s: %s %s, and did not start again: %s", host, name, how, err);
			pg->pid = -1;
			continue;
		}
		notice(nr, "%s: %s %s; started it again in %.1f s (restart %u)", host, name, how,
		       (double)(loop_clock() - t0) / 1e9, nr->prog_restarts[i]);
	}
}

static void tick_cb(struct loop *l, struct timer *t)
{
	struct node_run *nr = container_of(t, struct node_run, tick);

	progs_watch(nr);
	for (size_t i = 0; i < nr->ntcs; i++)
		tctl_sync(nr, &nr->tcs[i]);
	pj_sync(nr);
	loop_timer_start(l, t, HOST_TICK_NS);
}

static void tctl_start(struct loop *l, struct timer *t)
{
	struct tctl *tc = container_of(t, struct tctl, start);

	(void)l;
	if (the_node->stopping || tc->ended)
		return;
	tc->started = true;
	/* the first group is made at setup, with the model */
	group_go(tc->g[0]);
	tctl_sync(the_node, tc);
}

static void tctl_stop(struct loop *l, struct timer *t)
{
	struct tctl *tc = container_of(t, struct tctl, stop);

	(void)l;
	tc->ended = true;
	for (size_t k = 0; k < tc->ng; k++)
		tc->g[k]->view.stopping = true;
	tc->live = 0;
	/* What is going on finishes at the statement's rate (the bucket
	 * keeps it), so its end is no burst either. */
}

static void report_stats(struct buf *b, char kind, size_t stmt, const struct stats *s)
{
	buf_printf(b, "%c %zu %llu %llu %llu %llu %llu %llu %llu\n", kind, stmt,
		   (unsigned long long)s->tx, (unsigned long long)s->rx,
		   (unsigned long long)s->conns, (unsigned long long)s->conn_fail,
		   (unsigned long long)s->sessions, (unsigned long long)s->actions,
		   (unsigned long long)s->errors);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void set_port_range(void)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* The recorder tells clients from servers by this range. */
	(void)!write(fd, "32768 60999", 11);
	close(fd);
}

static void __attribute__((noreturn, format(printf, 2, 3))) node_fail(int out, const char *fmt, ...)
{
	va_list ap;
	struct buf b = { 0 };
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	buf_printf(&b, "E %s\n", msg);
	write_all(out, b.p, b.len);
	_exit(1);
}

static void __attribute__((noreturn)) node_main(struct ctx *x, size_t node, unsigned shard, int out,
						 int go)
{
	const struct topo *t = x->p->topo;
	struct node_run nr = { .grace.cb = grace_cb, .tick.cb = tick_cb, .x = x, .node = node,
			       .out = out };
	struct stats srv = { 0 };
	const struct model **models = NULL;
	const struct task **model_of = NULL;   /* the first task of each */
	size_t nmodels = 0;
	sigset_t ss;
	char err[256] = "";
	struct buf b = { 0 };
	int r;

	the_node = &nr;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (net_enter(x->e.net.ns_fd[node]))
		node_fail(out, "cannot enter the namespace of %s", t->nodes[node].name);
	set_port_range();
	/* a host's other processes draw other numbers */
	if (host_init(&nr.base, t->nodes[node].name, node_addr(t, node), x->o->datadir,
		      x->o->seed ^ (0x9e3779b97f4a7c15ull * shard)))
		node_fail(out, "%s: cannot make an event loop", t->nodes[node].name);
	{
		/* the emulation's names, for a resolver on this node */
		const char **names = xcalloc(t->nnodes + 1, sizeof(*names));
		uint32_t *addrs = xcalloc(t->nnodes + 1, sizeof(*addrs));

		for (size_t i = 0; i < t->nnodes; i++) {
			names[i] = t->nodes[i].name;
			addrs[i] = node_addr(t, i);
		}
		nr.base.names = names;
		nr.base.name_addrs = addrs;
		nr.base.nnames = t->nnodes;
	}
	nr.sig.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	nr.sig.cb = sig_cb;
	if (nr.sig.fd < 0 || loop_io_set(nr.base.loop, &nr.sig, IO_IN))
		node_fail(out, "%s: cannot watch signals", t->nodes[node].name);
	for (size_t i = 0; i < x->ntasks; i++) {
		const struct task *tk = &x->tasks[i];
		size_t m;
		char *msg = NULL;
		struct model *md;

		if (tk->node != node || tk->shard != shard)
			continue;
		if (tk->pj && tk->server) {
			nr.serves = true;
			if ((r = pj_serve(&nr, tk, err, sizeof(err)))) {
				project_stop(nr.pj_servers.v, nr.pj_servers.n);
				node_fail(out, "%s: %s", t->nodes[node].name, err);
			}
			continue;
		}
		if (tk->pj) {
			nr.pjcs = xreallocarray(nr.pjcs, nr.npjcs + 1, sizeof(*nr.pjcs));
			memset(&nr.pjcs[nr.npjcs], 0, sizeof(nr.pjcs[0]));
			nr.pjcs[nr.npjcs++].tk = tk;
			continue;
		}
		/* one copy of each (agent, model file) on this process */
		for (m = 0; m < nmodels; m++)
			if (model_of[m]->a == tk->a && same_model(model_of[m]->model, tk->model))
				break;
		if (m == nmodels) {
			if (!(md = agent_model(tk->a, x->o->datadir, tk->model, &msg)))
				node_fail(out, "%s", msg);
			models = xreallocarray(models, nmodels + 1, sizeof(*models));
			model_of = xreallocarray(model_of, nmodels + 1, sizeof(*model_of));
			models[nmodels] = md;
			model_of[nmodels++] = tk;
		}
		nr.serves |= tk->server;
		if (tk->server && tk->prog) {
			bool up = false;

			/* One instance serves all its protocols (nginx: http, https). */
			for (size_t q = 0; q < nr.nprogs; q++)
				up |= nr.progs[q].def == tk->prog;
			if (up)
				continue;
			nr.progs = xreallocarray(nr.progs, nr.nprogs + 1, sizeof(*nr.progs));
			nr.prog_tk = xreallocarray(nr.prog_tk, nr.nprogs + 1, sizeof(*nr.prog_tk));
			nr.prog_restarts = xreallocarray(nr.prog_restarts, nr.nprogs + 1,
							 sizeof(*nr.prog_restarts));
			nr.prog_tk[nr.nprogs] = tk;
			nr.prog_restarts[nr.nprogs] = 0;
			r = prog_start(&nr, nr.nprogs, err, sizeof(err));
			if (r)
				node_fail(out, "%s: %s", t->nodes[node].name, err);
			nr.nprogs++;
		} else if (tk->server) {
			r = tk->a->serve(&nr.base, &srv, models[m], tk->port, err, sizeof(err));
			if (r)
				node_fail(out, "%s: %s server on port %u: %s", t->nodes[node].name,
					  tk->a->name, tk->port, err[0] ? err : strerror(-r));
		} else {
			nr.tcs = xreallocarray(nr.tcs, nr.ntcs + 1, sizeof(*nr.tcs));
			memset(&nr.tcs[nr.ntcs], 0, sizeof(nr.tcs[0]));
			nr.tcs[nr.ntcs].tk = tk;
			nr.tcs[nr.ntcs++].model = models[m];
		}
	}
	write_all(out, "R\n", 2);
	/* Wait for go: the supervisor closes the pipe once every host is
	 * ready (a byte would also do; EOF reaches every host at once). */
	{
		char c;

		while (read(go, &c, 1) < 0 && errno == EINTR)
			;
		close(go);
	}
	/* The array has stopped moving: buckets, first groups, timers. */
	for (size_t i = 0; i < nr.ntcs; i++) {
		struct tctl *tc = &nr.tcs[i];

		tc->slot = &x->slots[tc->tk->slot];
		pace_init(&tc->pace, nr.base.loop);
		if (x->p->stmts[tc->tk->stmt].gen->packets)
			pace_per_segment(&tc->pace);
		group_add(&nr, tc);
		tc->start.cb = tctl_start;
		tc->stop.cb = tctl_stop;
		loop_timer_start(nr.base.loop, &tc->start, tc->tk->start_us * 1000);
		if (tc->tk->stop_us)
			loop_timer_start(nr.base.loop, &tc->stop, tc->tk->stop_us * 1000);
	}
	for (size_t i = 0; i < nr.npjcs; i++) {
		struct pjc *c = &nr.pjcs[i];

		c->start.cb = pjc_start;
		c->stop.cb = pjc_stop;
		loop_timer_start(nr.base.loop, &c->start, c->tk->start_us * 1000);
		if (c->tk->stop_us)
			loop_timer_start(nr.base.loop, &c->stop, c->tk->stop_us * 1000);
	}
	if (nr.ntcs || nr.nprogs || nr.npjls)
		loop_timer_start(nr.base.loop, &nr.tick, HOST_TICK_NS);
	r = loop_run(nr.base.loop);
	for (size_t i = 0; i < nr.nprogs; i++)
		program_stop(&nr.progs[i]);
	project_stop(nr.pj_clients.v, nr.pj_clients.n);
	project_stop(nr.pj_servers.v, nr.pj_servers.n);
	project_limit_free(nr.pjl);
	free(nr.pjls);
	for (size_t i = 0; i < nr.npjcs; i++) {
		/* the containers each project statement started here */
		buf_printf(&b, "P %zu %zu %u\n", nr.pjcs[i].tk->stmt, nr.pjcs[i].cids.n, nr.pjcs[i].failed);
		cids_free(&nr.pjcs[i].cids);
	}
	cids_free(&nr.pj_clients);
	cids_free(&nr.pj_servers);
	for (size_t i = 0; i < nr.ntcs; i++) {
		const struct tctl *tc = &nr.tcs[i];

		for (size_t k = 0; k < tc->ng; k++) {
			const struct group *g = tc->g[k];

			/* the first group of a task that never started did nothing */
			if (!tc->started)
				continue;
			report_stats(&b, 'C', tc->tk->stmt, &g->st);
			if (g->failed)
				buf_printf(&b, "W statement %zu: %s: %s\n", tc->tk->stmt + 1,
					   t->nodes[node].name, g->err);
		}
	}
	report_stats(&b, 'S', 0, &srv);
	if (r)
		buf_printf(&b, "W %s: event loop: %s\n", t->nodes[node].name, strerror(-r));
	buf_puts(&b, "D\n");
	write_all(out, b.p, b.len);
	_exit(0);
}

/* ---- the supervisor --------------------------------------------------- */

struct rec_thread {
	struct recorder *rec;
	int stop;
	int err;
};

static void *rec_main(void *arg)
{
	struct rec_thread *rt = arg;

	rt->err = record_run(rt->rec, rt->stop);
	return NULL;
}

/* Turn off segmentation offloads on a host's interfaces, so packets on
 * the wire (and in the recording) are the sizes a real network carries
 * rather than 64 KiB GSO frames. */
static void wire_sized(const char *ifname)
{
	static const uint32_t cmds[] = { ETHTOOL_STSO, ETHTOOL_SGSO };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct ethtool_value ev = { .cmd = cmds[i], .data = 0 };
		struct ifreq ifr = { 0 };

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (char *)&ev;
		/* Best effort: an interface without the feature says so. */
		(void)!ioctl(fd, SIOCETHTOOL, &ifr);
	}
	close(fd);
}

static int open_recorder(struct ctx *x, struct recorder **rec, char *err, size_t errlen)
{
	const struct topo *t = x->p->topo;
	int r = record_new(rec, x->o->record, x->ncounters, x->rules, x->nrules);

	if (r) {
		snprintf(err, errlen, "%s: %s", x->o->record, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct topo_node *nd = &t->nodes[i];

		if (nd->kind != TOPO_HOST)
			continue;
		if ((r = net_enter(x->e.net.ns_fd[i]))) {
			snprintf(err, errlen, "cannot enter the namespace of %s: %s", nd->name, strerror(-r));
			goto out;
		}
		for (size_t f = 0; f < nd->nifaces && !r; f++) {
			char name[64];

			wire_sized(nd->ifaces[f].name);
			snprintf(name, sizeof(name), "%s-%s", nd->name, nd->ifaces[f].name);
			if ((r = record_add(*rec, nd->ifaces[f].name, name)))
				snprintf(err, errlen, "cannot record %s: %s", name, strerror(-r));
		}
		if (net_enter(x->e.net.root_fd))
			abort(); /* cannot happen with a valid fd */
		if (r)
			goto out;
	}
out:
	return r;
}

/* ---- labels: one row per flow -------------------------------------- */

struct labels {
	FILE *f;
	const struct plan *p;
	const struct recorder *rec;
};

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void label_row(const struct record_flow *fl, void *arg)
{
	struct labels *lb = arg;
	const struct record_rule *u = record_rule_of(lb->rec, fl);
	char a[16], b[16], proto[8];

	fmt_ipv4(a, sizeof(a), fl->a);
	fmt_ipv4(b, sizeof(b), fl->b);
	snprintf(proto, sizeof(proto), "%s", fl->proto == 6 ? "tcp" : fl->proto == 17 ? "udp"
					     : fl->proto == 1 ? "icmp" : "");
	if (!proto[0])
		snprintf(proto, sizeof(proto), "%u", fl->proto);
	fprintf(lb->f, "%llu.%09llu,%llu.%09llu,%s,%s,%u,%s,%u,%llu,%llu,%llu,%llu,",
		(unsigned long long)(fl->first_ns / 1000000000u),
		(unsigned long long)(fl->first_ns % 1000000000u),
		(unsigned long long)(fl->last_ns / 1000000000u),
		(unsigned long long)(fl->last_ns % 1000000000u), proto, a, fl->pa, b, fl->pb,
		(unsigned long long)fl->packets[0], (unsigned long long)fl->bytes[0],
		(unsigned long long)fl->packets[1], (unsigned long long)fl->bytes[1]);
	if (u) {
		const struct plan_stmt *ps = &lb->p->stmts[u->stmt];

		fprintf(lb->f, "%zu,", ps->index);
		csv_field(lb->f, ps->label ? ps->label : "");
		fprintf(lb->f, ",%s,%s,%s\n", u->cls, u->protocol, u->source);
	} else {
		fputs(",,,,\n", lb->f);
	}
}

static int write_labels(const struct plan *p, const struct recorder *rec, const char *path,
			char *err, size_t errlen)
{
	struct labels lb = { .p = p, .rec = rec };
	int r = 0;

	lb.f = fopen(path, "we");
	if (!lb.f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	fputs("start,end,transport,src,sport,dst,dport,packets_fwd,bytes_fwd,packets_rev,bytes_rev,"
	      "statement,label,class,protocol,source\n", lb.f);
	record_flows(rec, label_row, &lb);
	if (ferror(lb.f))
		r = -EIO;
	if (fclose(lb.f) && !r)
		r = -errno;
	if (r)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

/* The notices ("N text") a host wrote since the last look: said now
 * through o->notice, and kept in res. */
static void take_notices(struct proc *pr, struct run_result *res, const struct run_opts *o)
{
	while (pr->seen < pr->report.len) {
		char *line = pr->report.p + pr->seen;
		char *nl = memchr(line, '\n', pr->report.len - pr->seen);
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - line);
		pr->seen += n + 1;
		if (n < 2 || line[0] != 'N' || line[1] != ' ')
			continue;
		res->nnotices++;
		if (res->notices.len < RUN_NOTICES_MAX) {
			buf_put(&res->notices, line + 2, n - 2);
			buf_put(&res->notices, "\n", 1);
		}
		if (o->notice) {
			char *msg = xstrndup(line + 2, n - 2);

			o->notice(msg, o->tick_arg);
			free(msg);
		}
	}
}

static void parse_report(struct proc *pr, struct run_result *res, char *warn, size_t warnlen)
{
	char *line = pr->report.p, *nl;

	while (line && (nl = strchr(line, '\n'))) {
		unsigned long long v[7];
		size_t stmt;
		char kind;

		*nl = 0;
		if (sscanf(line, "%c %zu %llu %llu %llu %llu %llu %llu %llu", &kind, &stmt, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6]) == 9 &&
		    (kind == 'C' || kind == 'S')) {
			struct stats *s = kind == 'S' ? &res->servers
				       : stmt < res->nstmts ? &res->stmts[stmt].clients : NULL;

			if (s) {
				s->tx += v[0];
				s->rx += v[1];
				s->conns += v[2];
				s->conn_fail += v[3];
				s->sessions += v[4];
				s->actions += v[5];
				s->errors += v[6];
			}
		} else if (line[0] == 'P' && sscanf(line, "P %zu %llu %llu", &stmt, &v[0], &v[1]) == 3) {
			if (stmt < res->nstmts) {
				res->stmts[stmt].containers += (uint32_t)v[0];
				res->stmts[stmt].containers_failed += (uint32_t)v[1];
			}
		} else if ((line[0] == 'W' || line[0] == 'E') && line[1] == ' ' && !warn[0]) {
			snprintf(warn, warnlen, "%s", line + 2);
		} else if (line[0] == 'D') {
			pr->clean = true;
		}
		line = nl + 1;
	}
}

/* Read what the hosts say until each has said want ('R': ready) or
 * ended, or until ms pass (-1: no limit) or stop_fd fires. */
static int gather(struct proc *procs, size_t n, bool ready, int ms, int stop_fd)
{
	struct pollfd *pfd = xcalloc(n + 1, sizeof(*pfd));
	uint64_t end = ms < 0 ? UINT64_MAX : loop_clock() + (uint64_t)ms * 1000000;
	int r = -ETIMEDOUT;

	for (;;) {
		size_t waiting = 0;
		uint64_t now = loop_clock();
		int left;

		for (size_t i = 0; i < n; i++) {
			pfd[i].fd = procs[i].done || (ready && procs[i].ready) ? -1 : procs[i].out;
			pfd[i].events = POLLIN;
			waiting += pfd[i].fd >= 0;
		}
		if (!waiting) {
			r = 0;
			break;
		}
		if (now >= end)
			break;
		pfd[n].fd = stop_fd;
		pfd[n].events = POLLIN;
		left = end == UINT64_MAX ? -1 : (int)((end - now) / 1000000 + 1);
		if (poll(pfd, n + 1, left) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (stop_fd >= 0 && (pfd[n].revents & POLLIN)) {
			r = -EINTR;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char chunk[4096];
			ssize_t got;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(procs[i].out, chunk, sizeof(chunk));
			if (got <= 0) {
				procs[i].done = true;
				continue;
			}
			buf_put(&procs[i].report, chunk, (size_t)got);
			if (strstr(procs[i].report.p, "R\n") || strstr(procs[i].report.p, "E "))
				procs[i].ready = true;
		}
	}
	free(pfd);
	return r;
}

static uint64_t run_length(const struct plan *p, uint64_t asked)
{
	uint64_t longest = 0;

	if (asked)
		return asked;
	for (size_t i = 0; i < p->nstmts; i++) {
		const struct spec_gen *g = p->stmts[i].gen;

		if (!g->duration_us)
			return 10000000;
		longest = MAX(longest, g->offset_us + g->duration_us);
	}
	return longest ? longest : 10000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- the controller ---------------------------------------------------- */

/* Per part: its steer, and the tasks (slots) it drives. */
struct part_ctl {
	struct steer st;
	struct steer_task *tasks;
	size_t *slots;
	size_t ntasks;
	size_t stmt;
	uint64_t start_us, stop_us;      /* stop 0: the run's end */
	uint32_t groups_max;             /* most groups seen running */
	bool packets;                    /* its target is in packets/s */
};

struct ctl {
	struct part_ctl *parts;
	size_t nparts;
	struct run_live live;
	/* the last second of each statement: its bytes at each tick */
	uint64_t (*ring)[1000 / TICK_MS + 1];
	size_t ring_at;
};

static void ctl_init(struct ctl *c, struct ctx *x, const struct run_opts *o)
{
	const struct plan *p = x->p;

	c->nparts = x->ncounters;
	c->parts = xcalloc(c->nparts + 1, sizeof(*c->parts));
	for (size_t s = 0; s < p->nstmts; s++) {
		const struct plan_stmt *ps = &p->stmts[s];

		for (size_t k = 0; k < ps->nparts; k++) {
			struct part_ctl *pc = &c->parts[x->counter_base[s] + k];

			pc->stmt = s;
			pc->start_us = ps->gen->offset_us;
			pc->stop_us = ps->gen->duration_us ? pc->start_us + ps->gen->duration_us : 0;
		}
	}
	for (size_t i = 0; i < x->ntasks; i++) {
		const struct task *tk = &x->tasks[i];
		struct part_ctl *pc;
		struct steer_task *t;

		if (tk->server)
			continue;
		pc = &c->parts[tk->counter];
		pc->tasks = xreallocarray(pc->tasks, pc->ntasks + 1, sizeof(*pc->tasks));
		pc->slots = xreallocarray(pc->slots, pc->ntasks + 1, sizeof(*pc->slots));
		t = &pc->tasks[pc->ntasks];
		memset(t, 0, sizeof(*t));
		t->weight = tk->weight;
		t->groups_max = tk->groups_max;
		t->want = tk->groups0;
		t->think = o->open_loop && o->think_scale > 0 ? o->think_scale
			   : tk->think0 > 0 ? tk->think0 : 1;
		pc->slots[pc->ntasks++] = tk->slot;
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct part_ctl *pc = &c->parts[i];
		const struct plan_stmt *ps = &p->stmts[pc->stmt];
		const struct spec_gen *g = ps->gen;

		const struct plan_part *pt = &ps->parts[i - x->counter_base[pc->stmt]];

		steer_init(&pc->st, o->open_loop || pt->packets ? 0 : pt->rate,
			   o->open_loop ? FLOWS_ANY : g->flow_op,
			   /* a mix's flows spread over its parts */
			   (uint32_t)((g->flows + ps->nparts - 1) / ps->nparts), o->warmup_us * 1000,
			   pc->tasks, pc->ntasks);
		pc->packets = pt->packets;
		if (pt->packets && !o->open_loop) {
			/* the buckets count segments (pace_per_segment());
			 * a segment and about half an ACK per packet */
			steer_packets(&pc->st, (double)pt->rate, 1.5);
		}
		for (size_t k = 0; k < pc->ntasks; k++) {
			struct slot *sl = &x->slots[pc->slots[k]];

			RELAXED_STORE(sl->rate, pc->tasks[k].rate);
			RELAXED_STORE(sl->groups, pc->tasks[k].want);
			RELAXED_STORE(sl->think_ppm, (uint32_t)(pc->tasks[k].think * 1e6));
		}
	}
	c->live.nstmts = p->nstmts;
	c->live.stmts = xcalloc(p->nstmts + 1, sizeof(*c->live.stmts));
	c->ring = xcalloc(p->nstmts + 1, sizeof(*c->ring));
	c->live.warmup_us = o->warmup_us;
	c->live.duration_us = x->duration_us;
}

static void ctl_free(struct ctl *c)
{
	for (size_t i = 0; i < c->nparts; i++) {
		free(c->parts[i].tasks);
		free(c->parts[i].slots);
	}
	free(c->parts);
	free(c->live.stmts);
	free(c->ring);
}

/* One look at everything, us after the go. */
static void ctl_tick(struct ctl *c, struct ctx *x, struct recorder *rec, uint64_t us)
{
	const struct plan *p = x->p;
	size_t slots = ARRAY_SIZE(c->ring[0]);

	for (size_t s = 0; s < p->nstmts; s++) {
		struct run_live_stmt *ls = &c->live.stmts[s];

		ls->active = false;
		ls->target = ls->bytes = ls->packets = ls->open = 0;
		ls->groups = ls->users = 0;
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct part_ctl *pc = &c->parts[i];
		struct run_live_stmt *ls = &c->live.stmts[pc->stmt];
		bool active = us >= pc->start_us && (!pc->stop_us || us < pc->stop_us);
		struct record_count rc;
		uint32_t running = 0;

		record_count(rec, i, &rc);
		ls->bytes += rc.bytes;
		ls->packets += rc.packets;
		ls->is_packets = pc->packets;
		ls->open += rc.open;
		for (size_t k = 0; k < pc->ntasks; k++) {
			struct slot *sl = &x->slots[pc->slots[k]];
			struct steer_task *t = &pc->tasks[k];

			t->used = RELAXED_LOAD(sl->used);
			t->starved_ns = RELAXED_LOAD(sl->starved_ns);
			t->running = RELAXED_LOAD(sl->running);
			running += t->running;
		}
		pc->groups_max = MAX(pc->groups_max, running);
		ls->groups += running;
		if (!active)
			continue;
		ls->active = true;
		ls->target += (uint64_t)(pc->st.target * (pc->packets ? 1 : 8));
		steer_tick(&pc->st, (us - pc->start_us) * 1000, pc->packets ? rc.packets : rc.bytes, rc.open);
		for (size_t k = 0; k < pc->ntasks; k++) {
			struct slot *sl = &x->slots[pc->slots[k]];

			RELAXED_STORE(sl->rate, pc->tasks[k].rate);
			RELAXED_STORE(sl->groups, pc->tasks[k].want);
			RELAXED_STORE(sl->think_ppm, (uint32_t)(pc->tasks[k].think * 1e6));
		}
	}
	for (size_t i = 0; i < x->ntasks; i++)
		if (!x->tasks[i].server)
			c->live.stmts[x->tasks[i].stmt].users +=
				RELAXED_LOAD(x->slots[x->tasks[i].slot].running) * x->tasks[i].users;
	/* the rate over the last second, from the ring of byte counts */
	c->ring_at = (c->ring_at + 1) % slots;
	for (size_t s = 0; s < p->nstmts; s++) {
		uint64_t old = c->ring[s][(c->ring_at + 1) % slots];

		struct run_live_stmt *ls = &c->live.stmts[s];

		c->ring[s][c->ring_at] = ls->is_packets ? ls->packets : ls->bytes;
		ls->rate = us >= 1000000 ? (c->ring[s][c->ring_at] - old) * (ls->is_packets ? 1 : 8) : 0;
	}
	c->live.elapsed_us = us;
}

/* Flows open at the end of each second, per counter: a flow counts in
 * window w when its first packet is at or before the window's end and
 * its last at or after it. */
struct flow_series {
	const struct recorder *rec;
	uint64_t origin;
	int64_t **diff;     /* per counter, nwin + 1 */
	size_t nwin;
	uint64_t (*sizes)[RUN_FLOW_SIZES];   /* per counter */
};

const uint64_t run_flow_size_upper[RUN_FLOW_SIZES] = {
	1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20,
	UINT64_MAX,
};

static void flow_span(const struct record_flow *f, void *arg)
{
	struct flow_series *fs = arg;
	const struct record_rule *u = record_rule_of(fs->rec, f);
	uint64_t a, b, size = f->bytes[0] + f->bytes[1];

	if (u)
		for (int i = 0; i < RUN_FLOW_SIZES; i++)
			if (size <= run_flow_size_upper[i]) {
				fs->sizes[u->counter][i]++;
				break;
			}
	if (!u || f->last_ns < fs->origin + 1000000000u)
		return;
	/* windows whose end (origin + (w + 1) s) lies in [first, last] */
	a = f->first_ns <= fs->origin + 1000000000u ? 0
		: (f->first_ns - fs->origin - 1) / 1000000000u;
	b = (f->last_ns - fs->origin) / 1000000000u;   /* ends at or before last: w + 1 <= b */
	if (b == 0 || a >= b)
		return;
	if (a >= fs->nwin)
		return;
	b = MIN(b, fs->nwin);
	fs->diff[u->counter][a]++;
	fs->diff[u->counter][b]--;
}

/* The part's and its statement's results, from the recorder. */
static void ctl_results(struct ctl *c, struct ctx *x, struct recorder *rec, const struct run_opts *o,
			struct run_result *res)
{
	const struct plan *p = x->p;
	struct flow_series fs = { .rec = rec, .origin = record_origin_ns(rec) };
	uint64_t run_s = res->duration_us / 1000000;

	fs.nwin = run_s;
	fs.sizes = xcalloc(c->nparts + 1, sizeof(*fs.sizes));
	fs.diff = xcalloc(c->nparts + 1, sizeof(*fs.diff));
	for (size_t i = 0; i < c->nparts; i++)
		fs.diff[i] = xcalloc(fs.nwin + 2, sizeof(**fs.diff));
	if (fs.origin)
		record_flows(rec, flow_span, &fs);
	for (size_t s = 0; s < p->nstmts; s++) {
		struct run_stmt *rs = &res->stmts[s];
		const struct plan_stmt *ps = &p->stmts[s];

		rs->target = ps->gen->rate;
		rs->packets = ps->gen->packets;
		rs->nparts = ps->nparts;
		rs->parts = xcalloc(ps->nparts + 1, sizeof(*rs->parts));
		rs->nseries = fs.nwin;
		rs->series = xcalloc(fs.nwin + 1, sizeof(*rs->series));
		rs->start_us = ps->gen->offset_us;
		rs->end_us = ps->gen->duration_us ? MIN(rs->start_us + ps->gen->duration_us, res->duration_us)
						  : res->duration_us;
		memset(&rs->wire, 0, sizeof(rs->wire));
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct part_ctl *pc = &c->parts[i];
		struct run_stmt *rs = &res->stmts[pc->stmt];
		struct run_part *rp = &rs->parts[i - x->counter_base[pc->stmt]];
		const struct record_window *win;
		size_t nw;
		int64_t open = 0;
		/* whole seconds from the warm-up's end to the part's end */
		uint64_t from = (rs->start_us + o->warmup_us + 999999) / 1000000,
			 to = rs->end_us / 1000000;

		record_count(rec, i, &rp->wire);
		memcpy(rp->flow_sizes, fs.sizes[i], sizeof(rp->flow_sizes));
		rp->target = pc->packets ? p->stmts[pc->stmt].parts[i - x->counter_base[pc->stmt]].rate
					 : (uint64_t)(pc->st.target * 8 + 0.5);
		rp->groups_max = pc->groups_max;
		rs->groups_max += pc->groups_max;
		rs->wire.bytes += rp->wire.bytes;
		rs->wire.packets += rp->wire.packets;
		rs->wire.flows += rp->wire.flows;
		if (!rs->wire.first_ns || (rp->wire.first_ns && rp->wire.first_ns < rs->wire.first_ns))
			rs->wire.first_ns = rp->wire.first_ns;
		rs->wire.last_ns = MAX(rs->wire.last_ns, rp->wire.last_ns);
		win = record_series(rec, i, &nw);
		rp->nseries = fs.nwin;
		rp->series = xcalloc(fs.nwin + 1, sizeof(*rp->series));
		for (size_t w = 0; w < fs.nwin; w++) {
			open += fs.diff[i][w];
			rp->series[w].flows = (uint64_t)MAX(open, 0);
			if (w < nw) {
				rp->series[w].bytes = win[w].bytes;
				rp->series[w].packets = win[w].packets;
			}
			rs->series[w].bytes += rp->series[w].bytes;
			rs->series[w].packets += rp->series[w].packets;
			rs->series[w].flows += rp->series[w].flows;
			if (w >= from && w < to) {
				rp->held_bytes += rp->series[w].bytes;
				rp->held_packets += rp->series[w].packets;
				rp->held_us += 1000000;
			}
		}
		rs->held_bytes += rp->held_bytes;
		rs->held_packets += rp->held_packets;
		rs->held_us = rp->held_us;
	}
	for (size_t i = 0; i < c->nparts; i++)
		free(fs.diff[i]);
	free(fs.diff);
	free(fs.sizes);
}

int run_exec(const struct plan *p, const struct run_opts *o, struct run_result *res, char *err,
	     size_t errlen)
{
	struct ctx x = { .p = p, .o = o };
	struct recorder *rec = NULL;
	struct rec_thread rt = { .stop = -1 };
	struct proc *procs = NULL;
	size_t nprocs = 0, procs_cap = 0;
	struct ctl ctl = { 0 };
	bool ctl_up = false;
	struct run_opts oo = *o;
	pthread_t rtid;
	bool rec_running = false, emul_up = false;
	int go[2] = { -1, -1 }, r;
	char warn[512] = "";
	uint64_t t0;

	memset(res, 0, sizeof(*res));
	res->nstmts = p->nstmts;
	res->stmts = xcalloc(p->nstmts ? p->nstmts : 1, sizeof(*res->stmts));
	if (!oo.warmup_us)
		oo.warmup_us = WARMUP_US;
	o = &oo;
	x.o = o;
	x.duration_us = run_length(p, o->duration_us);
	res->warmup_us = o->warmup_us;
	if ((r = plan_tasks(&x, err, errlen)))
		goto out;
	shard_tasks(&x);
	/* the control slots, shared with the hosts' processes */
	x.slots = mmap(NULL, (x.nslots + 1) * sizeof(*x.slots), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x.slots == MAP_FAILED) {
		r = -errno;
		x.slots = NULL;
		snprintf(err, errlen, "cannot map the control slots: %s", strerror(-r));
		goto out;
	}
	ctl_init(&ctl, &x, o);
	ctl_up = true;
	for (size_t i = 0; i < x.ntasks; i++) {
		struct run_stmt *rs = &res->stmts[x.tasks[i].stmt];

		if (x.tasks[i].server)
			continue;
		rs->users = x.tasks[i].users;
		rs->instances++;
		if (x.tasks[i].pj) {
			char what[80];

			snprintf(what, sizeof(what), "project %s", x.tasks[i].pj->name);
			list_add(rs->protos, sizeof(rs->protos), what, NULL);
		} else {
			list_add(rs->protos, sizeof(rs->protos), x.tasks[i].a->name,
				 x.tasks[i].prog ? x.tasks[i].prog->name : NULL);
		}
	}
	/* Projects: an engine, their images, and nothing a killed run left. */
	if (x.npjs) {
		if ((r = project_engine(err, errlen)))
			goto out;
		project_sweep();
		for (size_t i = 0; i < x.npjs; i++)
			if ((r = project_images(x.pjs[i], err, errlen)))
				goto out;
	}
	{
		const char *tmp = getenv("TMPDIR");

		x.workdir = xasprintf("%s/dynamo-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(x.workdir)) {
			r = -errno;
			snprintf(err, errlen, "cannot make a directory for the run: %s: %s", x.workdir,
				 strerror(-r));
			free(x.workdir);
			x.workdir = NULL;
			goto out;
		}
	}
	if ((r = emul_start(&x.e, p->topo, 10000, err, errlen)))
		goto out;
	emul_up = true;
	if ((r = open_recorder(&x, &rec, err, errlen)))
		goto out;
	rt.rec = rec;
	rt.stop = eventfd(0, EFD_CLOEXEC);
	if (rt.stop < 0 || (r = -pthread_create(&rtid, NULL, rec_main, &rt))) {
		r = r ? r : -errno;
		snprintf(err, errlen, "cannot start recording: %s", strerror(-r));
		goto out;
	}
	rec_running = true;
	if (pipe2(go, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-r));
		goto out;
	}
	for (size_t at = 0; at < p->topo->nnodes * HOST_PROCS_MAX; at++) {
		size_t node = at / HOST_PROCS_MAX;
		unsigned shard = (unsigned)(at % HOST_PROCS_MAX);
		bool has = false;
		int out[2];
		struct proc *pr;

		for (size_t i = 0; i < x.ntasks && !has; i++)
			has = x.tasks[i].node == node && x.tasks[i].shard == shard;
		if (!has)
			continue;
		if (pipe2(out, O_CLOEXEC) < 0) {
			r = -errno;
			snprintf(err, errlen, "pipe: %s", strerror(-r));
			goto out;
		}
		pr = VEC_PUSH(procs, nprocs, procs_cap);
		pr->node = node;
		pr->out = out[0];
		pr->pid = fork();
		if (pr->pid == 0) {
			close(out[0]);
			close(go[1]);
			node_main(&x, node, shard, out[1], go[0]);
		}
		close(out[1]);
		if (pr->pid < 0) {
			r = -errno;
			nprocs--;
			close(out[0]);
			snprintf(err, errlen, "fork: %s", strerror(-r));
			goto out;
		}
	}
	close(go[0]);
	go[0] = -1;
	r = gather(procs, nprocs, true, READY_MS, o->stop_fd);
	for (size_t i = 0; i < nprocs; i++) {
		char *e = procs[i].report.p ? strstr(procs[i].report.p, "E ") : NULL;

		if (e || (!procs[i].ready && !r)) {
			char *nl = e ? strchr(e, '\n') : NULL;

			if (nl)
				*nl = 0;
			snprintf(err, errlen, "%s", e ? e + 2 : "a host ended before it was ready");
			r = -EINVAL;
			goto out;
		}
	}
	if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "hosts were not ready after %d s", READY_MS / 1000);
		goto out;
	}
	if (r == -EINTR) {
		res->stopped = true;
		r = 0;
		goto out;
	}
	/* Go: every host starts its users now. */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		record_origin(rec, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	}
	t0 = loop_clock();
	close(go[1]);
	go[1] = -1;
	/* Hold the targets until the end, the stop word, or every host
	 * gone. */
	for (uint64_t next = TICK_MS;;) {
		uint64_t now = (loop_clock() - t0) / 1000000;   /* ms */
		uint64_t until = MIN(next, x.duration_us / 1000);

		r = gather(procs, nprocs, false, until > now ? (int)(until - now) : 0, o->stop_fd);
		for (size_t i = 0; i < nprocs; i++)
			take_notices(&procs[i], res, o);
		now = (loop_clock() - t0) / 1000000;
		if (r != -ETIMEDOUT || now >= x.duration_us / 1000)
			break;
		if (now >= next) {
			ctl_tick(&ctl, &x, rec, now * 1000);
			if (o->tick)
				o->tick(&ctl.live, o->tick_arg);
			next = (now / TICK_MS + 1) * TICK_MS;
		}
	}
	res->stopped = r == -EINTR;
	res->duration_us = (loop_clock() - t0) / 1000;
	r = 0;
out:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	for (size_t i = 0; i < nprocs; i++)
		if (!procs[i].done)
			kill(procs[i].pid, SIGTERM);
	if (nprocs && gather(procs, nprocs, false, KILL_AFTER_MS, -1) == -ETIMEDOUT)
		for (size_t i = 0; i < nprocs; i++)
			if (!procs[i].done)
				kill(procs[i].pid, SIGKILL);
	for (size_t i = 0; i < nprocs; i++) {
		int st = 0;

		while (waitpid(procs[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		take_notices(&procs[i], res, o);
		parse_report(&procs[i], res, warn, sizeof(warn));
		if (!procs[i].clean || !WIFEXITED(st) || WEXITSTATUS(st))
			res->died++;
		close(procs[i].out);
		buf_free(&procs[i].report);
	}
	free(procs);
	if (rec_running) {
		uint64_t one = 1;

		(void)!write(rt.stop, &one, sizeof(one));
		pthread_join(rtid, NULL);
		if (ctl_up && res->duration_us)
			ctl_results(&ctl, &x, rec, o, res);
		res->packets = record_packets(rec);
		res->drops = record_drops(rec);
		if (o->labels) {
			int e = write_labels(p, rec, o->labels, err, errlen);

			if (!r && e)
				r = e;
		}
	}
	if (rt.stop >= 0)
		close(rt.stop);
	if (rec) {
		int e = record_close(rec);

		if (!r && e) {
			r = e;
			snprintf(err, errlen, "%s: %s", o->record, strerror(-e));
		}
	}
	if (!r && rt.err) {
		r = rt.err;
		snprintf(err, errlen, "recording failed: %s", strerror(-r));
	}
	if (emul_up)
		emul_stop(&x.e);
	if (x.workdir) {
		nftw(x.workdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(x.workdir);
	}
	if (ctl_up)
		ctl_free(&ctl);
	if (x.slots)
		munmap(x.slots, (x.nslots + 1) * sizeof(*x.slots));
	free_models(&x);
	free_projects(&x);
	free(x.counter_base);
	free(x.tasks);
	free(x.rules);
	snprintf(res->warning, sizeof(res->warning), "%s", warn);
	return r;
}

void run_result_free(struct run_result *res)
{
	for (size_t i = 0; res->stmts && i < res->nstmts; i++) {
		for (size_t k = 0; k < res->stmts[i].nparts; k++)
			free(res->stmts[i].parts[k].series);
		free(res->stmts[i].parts);
		free(res->stmts[i].series);
	}
	free(res->stmts);
	res->stmts = NULL;
	buf_free(&res->notices);
}
