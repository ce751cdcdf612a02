/* project.c - see project.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "../net/nl.h"
#include "project.h"

#define OUT_KEEP 4096           /* bytes of podman's output kept for messages */
#define RUN_MS 60000            /* podman run -d, at most */
#define BUILD_MS 600000         /* podman build, at most */
#define STOP_MS 30000           /* podman rm, at most */
/* open files and processes of a container (runc refused 65536 processes
 * here, with a hard limit of 96365) */
#define ULIMIT_MAX 16384ull

/* ---- loading ----------------------------------------------------------------- */


static bool is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int add_file(struct project *pj, const char *path, bool dockerfile, char *err, size_t errlen)
{
	struct buf b = { 0 };
	int r = scan_read(path, &b, err, errlen);

	if (!r) {
		const char *base = strrchr(pj->dir, '/');

		r = dockerfile ? scan_dockerfile(&pj->sp, base && base[1] ? base + 1 : pj->dir, path,
						 b.p ? b.p : "", b.len, err, errlen)
			       : scan_compose(&pj->sp, path, b.p ? b.p : "", b.len, err, errlen);
	}
	buf_free(&b);
	return r;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The Kubernetes manifests of dir, in name order (YAML files of other
 * things are left alone). */
static int add_manifests(struct project *pj, const char *dir, size_t *files, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < 64) {
		if (e->d_name[0] != '.' && scan_is_yaml_name(e->d_name)) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xasprintf("%s/%s", dir, e->d_name);
		}
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		struct buf b = { 0 };

		if (!r && is_file(names[i]) && !scan_read(names[i], &b, err, errlen) &&
		    scan_is_k8s_text(b.p ? b.p : "", b.len)) {
			r = scan_k8s(&pj->sp, names[i], b.p, b.len, err, errlen);
			if (r == -ENOENT)
				r = 0;
			else if (!r)
				(*files)++;
		}
		buf_free(&b);
		free(names[i]);
	}
	free(names);
	return r;
}

/* A name podman takes for an image or a container: lowercase letters,
 * digits, '-', '.', '_'. */
static void podman_word(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*s);

		buf_putc(b, isalnum(c) || c == '.' || c == '_' || c == '-' ? (char)c : '-');
	}
}

static void merge(struct project *pj)
{
	for (size_t i = 0; i < pj->sp.nsvc; i++) {
		const struct scan_service *sv = &pj->sp.svc[i];
		struct project_svc *ps = NULL;

		for (size_t k = 0; k < pj->nsvc && !ps; k++)
			if (!strcmp(pj->svc[k].name, sv->name))
				ps = &pj->svc[k];
		if (!ps) {
			pj->svc = xreallocarray(pj->svc, pj->nsvc + 1, sizeof(*pj->svc));
			ps = &pj->svc[pj->nsvc++];
			memset(ps, 0, sizeof(*ps));
			ps->name = xstrdup(sv->name);
		}
		if (sv->image && !sv->image_df) {
			free(ps->image);
			ps->image = xstrdup(sv->image);
		}
		if (sv->build) {
			char *dir = xstrdup(sv->file), *slash = strrchr(dir, '/');

			if (slash)
				*slash = '\0';
			free(ps->context);
			ps->context = sv->build[0] == '/' ? xstrdup(sv->build)
				    : xasprintf("%s/%s", slash ? dir : ".", sv->build);
			free(dir);
		} else if (sv->image_df && sv->dockerfile && !strcmp(sv->file, sv->dockerfile)) {
			/* a folder with a Dockerfile alone */
			free(ps->context);
			ps->context = xstrdup(pj->dir);
		}
		if (sv->command.set)
			ps->command = &sv->command;
		if (sv->entrypoint.set)
			ps->entrypoint = &sv->entrypoint;
		for (size_t k = 0; k < sv->env.n; k++) {
			ps->env = xreallocarray(ps->env, ps->nenv + 1, sizeof(*ps->env));
			ps->env[ps->nenv++] = sv->env.v[k];
		}
		for (size_t k = 0; k < sv->nports; k++) {
			ps->ports = xreallocarray(ps->ports, ps->nports + 1, sizeof(*ps->ports));
			ps->ports[ps->nports++] = sv->ports[k];
		}
		ps->client |= sv->role != SCAN_SERVER;
	}
	/* a service built and not named runs as an image of dynamo's own */
	for (size_t k = 0; k < pj->nsvc; k++) {
		struct project_svc *ps = &pj->svc[k];

		if (!ps->image && ps->context) {
			struct buf b = { 0 };

			buf_puts(&b, "localhost/dynamo-");
			podman_word(&b, pj->name);
			buf_putc(&b, '-');
			podman_word(&b, ps->name);
			ps->image = buf_steal(&b);
		}
	}
}

int project_load(struct project *pj, const char *name, const char *start, const struct scan_map *map,
		 char *err, size_t errlen)
{
	struct stat st;
	size_t files = 0;
	int r = 0;

	memset(pj, 0, sizeof(*pj));
	pj->name = xstrdup(name);
	if (stat(start, &st)) {
		r = -errno;
		snprintf(err, errlen, "project %s: %s: %s", name, start, strerror(-r));
		project_free(pj);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		pj->dir = xstrdup(start);
		for (size_t i = 0; i < scan_ncompose_names && !r; i++) {
			char *path = xasprintf("%s/%s", start, scan_compose_names[i]);

			if (is_file(path)) {
				r = add_file(pj, path, false, err, errlen);
				files++;
			}
			free(path);
		}
		if (!files && !r) {
			char *path = xasprintf("%s/Dockerfile", start);

			if (is_file(path)) {
				r = add_file(pj, path, true, err, errlen);
				files++;
			}
			free(path);
		}
		if (!files && !r)
			r = add_manifests(pj, start, &files, err, errlen);
	} else {
		char *slash;

		pj->dir = xstrdup(start);
		slash = strrchr(pj->dir, '/');
		if (slash && slash != pj->dir)
			*slash = '\0';
		else
			snprintf(pj->dir, strlen(pj->dir) + 1, "%s", slash ? "/" : ".");
		r = add_file(pj, start, false, err, errlen);
		files++;
	}
	if (!r && !files) {
		snprintf(err, errlen, "project %s: %s has no compose file (docker-compose.yml, "
			 "compose.yaml, ...), no Dockerfile and no Kubernetes manifest", name, start);
		r = -ENOENT;
	}
	if (!r && !pj->sp.nsvc) {
		snprintf(err, errlen, "project %s: %s has no services", name, start);
		r = -ENOENT;
	}
	if (r) {
		project_free(pj);
		return r;
	}
	scan_classify(&pj->sp, map);
	merge(pj);
	for (size_t k = 0; k < pj->nsvc; k++)
		if (!pj->svc[k].image) {
			snprintf(err, errlen, "project %s: service %s has neither an image nor a build "
				 "context", name, pj->svc[k].name);
			project_free(pj);
			return -EINVAL;
		}
	return 0;
}

void project_free(struct project *pj)
{
	for (size_t k = 0; k < pj->nsvc; k++) {
		free(pj->svc[k].name);
		free(pj->svc[k].image);
		free(pj->svc[k].context);
		free(pj->svc[k].env);
		free(pj->svc[k].ports);
	}
	free(pj->svc);
	scan_project_free(&pj->sp);
	free(pj->name);
	free(pj->dir);
	memset(pj, 0, sizeof(*pj));
}

/* ---- podman -------------------------------------------------------------------- */

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL;
	bool found = false;

	dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, prog);

		found = !access(p, X_OK);
		free(p);
	}
	free(dirs);
	return found;
}

int project_engine(char *why, size_t n)
{
	if (!on_path("podman")) {
		snprintf(why, n, "no container engine: podman is not installed (Debian package "
			 "podman; docker cannot join a namespace by its path)");
		return -ENOENT;
	}
	if (!on_path("runc")) {
		snprintf(why, n, "podman runs containers here with --runtime runc, and runc is not "
			 "installed (Debian package runc)");
		return -ENOENT;
	}
	if (geteuid()) {
		snprintf(why, n, "projects run as root only: podman must join the emulation's "
			 "namespaces as their owner");
		return -EPERM;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run podman with args (args[0] is "podman"), its stdout and stderr
 * into out (the last OUT_KEEP bytes), for timeout_ms at most, in the
 * network namespace nsfd (-1: this one): its exit status, or -errno
 * (-ETIMEDOUT: it was killed). */
static int podman(char *const *args, int timeout_ms, struct buf *out, int nsfd)
{
	int fd[2], st, r = 0;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fd[0]);
		close(fd[1]);
		return r;
	}
	if (!pid) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		/* what the host process blocks and ignores is not podman's */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET))
			_exit(126);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		execvp(args[0], args);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		struct pollfd p = { .fd = fd[0], .events = POLLIN };
		uint64_t t = now_ms();
		char chunk[1024];
		ssize_t n;

		if (t >= end) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)MIN(end - t, 1000)) < 0 && errno != EINTR)
			break;
		n = read(fd[0], chunk, sizeof(chunk));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (n > 0 && out) {
			buf_put(out, chunk, (size_t)n);
			if (out->len > 2 * OUT_KEEP) {
				memmove(out->p, out->p + out->len - OUT_KEEP, OUT_KEEP);
				out->len = OUT_KEEP;
			}
		}
	}
	close(fd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out)
		buf_putc(out, '\0'), out->len--;
	if (r)
		return r;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -EINTR;
}

/* The last lines of podman's output, on one line, for a message. */
static const char *tail_of(struct buf *b)
{
	char *s;
	size_t n;

	if (!b->p)
		return "no output";
	while (b->len && isspace((unsigned char)b->p[b->len - 1]))
		b->p[--b->len] = '\0';
	s = b->p;
	n = b->len;
	if (n > 400)
		s += n - 400;
	for (char *c = s; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	return s;
}

int project_images(struct project *pj, char *err, size_t errlen)
{
	for (size_t k = 0; k < pj->nsvc; k++) {
		struct project_svc *ps = &pj->svc[k];
		char *exists[] = { "podman", "image", "exists", ps->image, NULL };
		char *build[] = { "podman", "build", "--pull=never", "--runtime", "runc", "-t", ps->image,
				  ps->context, NULL };
		struct buf out = { 0 };
		int r = podman(exists, RUN_MS, &out, -1);

		buf_free(&out);
		if (!r)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "project %s: podman: %s", pj->name, strerror(-r));
			return r;
		}
		if (!ps->context) {
			snprintf(err, errlen, "project %s: service %s: image %s is not on this machine, and "
				 "it has no build context (there is no registry here: build it, or load it "
				 "with 'podman load' or 'podman import')", pj->name, ps->name, ps->image);
			return -ENOENT;
		}
		r = podman(build, BUILD_MS, &out, -1);
		if (r) {
			snprintf(err, errlen, "project %s: service %s: 'podman build' of %s from %s %s: %s",
				 pj->name, ps->name, ps->image, ps->context,
				 r < 0 ? strerror(-r) : "failed", tail_of(&out));
			buf_free(&out);
			return r < 0 ? r : -EIO;
		}
		buf_free(&out);
	}
	return 0;
}

/* When process pid started (clock ticks after boot), 0 when it is not
 * there or is a zombie: with its pid, it names a process for good. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], text[1024], *p;
	unsigned long long t = 0;
	char state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* after the name in parentheses (which may hold anything): state,
	 * then 18 fields, then the start time */
	if (!(p = strrchr(text, ')')) || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
						"%*s %*s %*s %*s %*s %*s %*s %*s %llu", &state, &t) != 2 ||
	    state == 'Z')
		return 0;
	return t;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

char **project_run_argv(const struct project *pj, size_t i, const struct project_run *r)
{
	static const char *const fixed[] = {
		"podman", "run", "--detach", "--rm", "--pull=never", "--runtime", "runc",
	};
	const struct project_svc *ps = &pj->svc[i];
	struct buf name = { 0 };
	char **v = NULL;
	size_t n = 0;

	for (size_t k = 0; k < ARRAY_SIZE(fixed); k++)
		push(&v, &n, xstrdup(fixed[k]));
	/* podman's defaults fail here (runc may not raise a limit past
	 * ours without CAP_SYS_RESOURCE): ours, at most ULIMIT_MAX */
	for (int k = 0; k < 2; k++) {
		struct rlimit rl;
		unsigned long long lim = ULIMIT_MAX;

		if (!getrlimit(k ? RLIMIT_NPROC : RLIMIT_NOFILE, &rl) && rl.rlim_max != RLIM_INFINITY)
			lim = MIN(lim, (unsigned long long)rl.rlim_max);
		push(&v, &n, xstrdup("--ulimit"));
		push(&v, &n, xasprintf("%s=%llu:%llu", k ? "nproc" : "nofile", lim, lim));
	}
	if (r->timeout_s) {
		push(&v, &n, xstrdup("--timeout"));
		push(&v, &n, xasprintf("%u", r->timeout_s));
	}
	buf_printf(&name, "dynamo-%s-", r->tag);
	podman_word(&name, ps->name);
	push(&v, &n, xstrdup("--name"));
	push(&v, &n, buf_steal(&name));
	push(&v, &n, xstrdup("--label"));
	push(&v, &n, xasprintf("dynamo.owner=%ld:%llu", (long)r->owner, start_time(r->owner)));
	push(&v, &n, xstrdup("--label"));
	push(&v, &n, xasprintf("dynamo.project=%s", pj->name));
	push(&v, &n, xstrdup("--network"));
	push(&v, &n, xasprintf("ns:/proc/%ld/ns/net", (long)r->nspid));
	for (size_t k = 0; k < pj->nsvc; k++) {
		struct in_addr a = { htonl(pj->svc[k].client ? r->client : r->server) };

		push(&v, &n, xstrdup("--add-host"));
		push(&v, &n, xasprintf("%s:%s", pj->svc[k].name, inet_ntoa(a)));
	}
	for (size_t k = 0; k < ps->nenv; k++) {
		push(&v, &n, xstrdup("--env"));
		push(&v, &n, xstrdup(ps->env[k]));
	}
	if (ps->entrypoint) {
		json_t *a = json_array();

		for (size_t k = 0; k < ps->entrypoint->n; k++)
			json_array_append_new(a, json_string(ps->entrypoint->v[k]));
		push(&v, &n, xstrdup("--entrypoint"));
		push(&v, &n, json_dumps(a, JSON_COMPACT));
		json_decref(a);
	}
	push(&v, &n, xstrdup(ps->image));
	if (ps->command)
		for (size_t k = 0; k < ps->command->n; k++)
			push(&v, &n, xstrdup(ps->command->v[k]));
	push(&v, &n, NULL);
	return v;
}

void project_argv_free(char **argv)
{
	for (size_t k = 0; argv && argv[k]; k++)
		free(argv[k]);
	free(argv);
}

int project_start(const struct project *pj, size_t i, const struct project_run *r, char *cid,
		  size_t cidlen, char *err, size_t errlen)
{
	char **argv = project_run_argv(pj, i, r);
	struct buf out = { 0 };
	int st = podman(argv, RUN_MS, &out, r->engine_ns);
	const char *id = out.p ? out.p : "";
	size_t len;

	project_argv_free(argv);
	/* the id is its last line */
	while (out.len && isspace((unsigned char)out.p[out.len - 1]))
		out.p[--out.len] = '\0';
	if (out.p && strrchr(out.p, '\n'))
		id = strrchr(out.p, '\n') + 1;
	len = strspn(id, "0123456789abcdef");
	if (st || len < 12 || id[len]) {
		snprintf(err, errlen, "project %s: service %s: 'podman run' %s: %s", pj->name,
			 pj->svc[i].name, st < 0 ? strerror(-st) : "failed", tail_of(&out));
		buf_free(&out);
		return st < 0 ? st : -EIO;
	}
	snprintf(cid, cidlen, "%s", id);
	buf_free(&out);
	return 0;
}

static bool accepts(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0;
	socklen_t el = sizeof(e);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	bool ok = false;

	if (fd < 0)
		return false;
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		ok = true;
	else if (errno == EINPROGRESS && poll(&p, 1, 200) == 1 &&
		 !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) && !e)
		ok = true;
	close(fd);
	return ok;
}

int project_wait(const struct project *pj, size_t i, uint32_t addr, const char *cid, int timeout_ms,
		 char *err, size_t errlen)
{
	const struct project_svc *ps = &pj->svc[i];
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	for (size_t k = 0; k < ps->nports; k++) {
		if (ps->ports[k].proto != IPPROTO_TCP)
			continue;
		while (!accepts(addr, ps->ports[k].lo)) {
			if (now_ms() >= end) {
				char *logs[] = { "podman", "logs", "--tail", "5", (char *)cid, NULL };
				struct buf out = { 0 };

				podman(logs, 10000, &out, -1);
				snprintf(err, errlen, "project %s: service %s does not accept connections "
					 "on port %u after %d s; its last output: %s", pj->name, ps->name,
					 ps->ports[k].lo, timeout_ms / 1000, tail_of(&out));
				buf_free(&out);
				return -ETIMEDOUT;
			}
			usleep(100000);
		}
	}
	return 0;
}

void project_stop(char *const *cids, size_t n)
{
	char **argv = NULL;
	size_t k = 0;

	if (!n)
		return;
	push(&argv, &k, "podman");
	push(&argv, &k, "rm");
	push(&argv, &k, "--force");
	push(&argv, &k, "--time");
	push(&argv, &k, "1");
	for (size_t i = 0; i < n; i++)
		push(&argv, &k, cids[i]);
	push(&argv, &k, NULL);
	podman(argv, STOP_MS, NULL, -1);
	free(argv);
}

void project_sweep(void)
{
	char *ps[] = { "podman", "ps", "--all", "--filter", "label=dynamo.owner", "--format",
		       "{{.ID}} {{index .Labels \"dynamo.owner\"}}", NULL };
	struct buf out = { 0 };
	char **gone = NULL, *save = NULL;
	size_t n = 0;

	if (project_engine((char[256]){ 0 }, 256) || podman(ps, RUN_MS, &out, -1) || !out.p) {
		buf_free(&out);
		return;
	}

	for (char *line = strtok_r(out.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char id[80];
		long pid;
		unsigned long long t;

		/* its owner gone, a zombie, or its pid another process's now */
		if (sscanf(line, "%79s %ld:%llu", id, &pid, &t) == 3 && pid > 0 &&
		    start_time((pid_t)pid) != t)
			push(&gone, &n, xstrdup(id));
	}
	project_stop(gone, n);
	for (size_t i = 0; i < n; i++)
		free(gone[i]);
	free(gone);
	buf_free(&out);
}

/* ---- the limit ------------------------------------------------------------------ */

/* Shaped, not policed: an htb class per limit on the host's way out,
 * which takes the packets whose priority an nftables rule set to the
 * class's id (counting them): what the project's servers send to that
 * client (this kernel has no fw classifier, and htb needs none).  A changed rate
 * keeps the class's queue and tokens; a policer's bucket (nftables'
 * limit) starts full, a second of its rate, whenever it is made again,
 * and a run whose rate moved 19 times went 70 % over. */
#define LIMIT_BURST_S 0.02      /* the class's burst: this much of its rate, */
#define LIMIT_BURST_MIN 131072.0 /* at least two of the largest segments */
#define LIMIT_NONE 1250000000.0 /* bytes/s: "no limit" (10 Gbit/s) */
#define LIMIT_CLASS 0x10u       /* classes 1:10, 1:11, ... */

struct project_limit {
	struct nft_ctx *nft;
	struct nl *nl;
	int ifindex;
	bool htb;                       /* the root qdisc is ours */
	struct {
		uint32_t client;
		double rate;
		char *ports;            /* "th sport { 80, 443 } ", or "" */
	} *v;
	size_t n;
};

static int nft_do(struct project_limit *pl, const char *cmd, char *err, size_t errlen)
{
	if (!nft_run_cmd_from_buffer(pl->nft, cmd))
		return 0;
	if (err) {
		const char *e = nft_ctx_get_error_buffer(pl->nft);

		snprintf(err, errlen, "nftables: %s", e && *e ? e : "a command failed");
		for (char *c = err; *c; c++)
			if (*c == '\n')
				*c = ' ';
	}
	return -EINVAL;
}

static struct tcmsg *tc_msg(struct project_limit *pl, uint16_t type, uint16_t flags, uint32_t handle,
			    uint32_t parent, const char *kind, struct nlmsghdr **h)
{
	struct tcmsg *tcm;

	*h = nl_msg(pl->nl, type, flags);
	tcm = mnl_nlmsg_put_extra_header(*h, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = pl->ifindex;
	tcm->tcm_handle = handle;
	tcm->tcm_parent = parent;
	mnl_attr_put_strz(*h, TCA_KIND, kind);
	return tcm;
}

/* Class i at its rate (create: a new one). */
static void htb_class(struct project_limit *pl, size_t i, bool create)
{
	double rate = pl->v[i].rate > 0 ? MIN(pl->v[i].rate, LIMIT_NONE) : LIMIT_NONE;
	double burst = MAX(LIMIT_BURST_MIN, rate * LIMIT_BURST_S);
	struct tc_htb_opt o = { 0 };
	struct nlmsghdr *h;
	struct nlattr *nest;

	tc_msg(pl, RTM_NEWTCLASS, create ? NLM_F_CREATE | NLM_F_EXCL : 0,
	       TC_H_MAKE(1u << 16, LIMIT_CLASS + (uint32_t)i), 1u << 16, "htb", &h);
	o.rate.linklayer = o.ceil.linklayer = TC_LINKLAYER_ETHERNET;   /* no rate table */
	o.rate.rate = o.ceil.rate = (uint32_t)rate;
	/* the buffer is the burst's time, in ticks of 64 ns */
	o.buffer = o.cbuffer = (uint32_t)(burst / rate * 1e9 / 64);
	nest = mnl_attr_nest_start(h, TCA_OPTIONS);
	mnl_attr_put(h, TCA_HTB_PARMS, sizeof(o), &o);
	mnl_attr_nest_end(h, nest);
}

int project_limit_new(struct project_limit **out, const char *ifname, char *err, size_t errlen)
{
	struct project_limit *pl = xcalloc(1, sizeof(*pl));
	struct tc_htb_glob g = { .version = 3, .rate2quantum = 10 };  /* defcls 0: unshaped */
	struct nlmsghdr *h;
	struct nlattr *nest;
	int r;

	*out = NULL;
	pl->ifindex = (int)if_nametoindex(ifname);
	r = pl->ifindex ? nl_open(&pl->nl) : -errno;
	if (r) {
		snprintf(err, errlen, "%s: %s", ifname, strerror(-r));
		free(pl);
		return r;
	}
	tc_msg(pl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 1u << 16, TC_H_ROOT, "htb", &h);
	nest = mnl_attr_nest_start(h, TCA_OPTIONS);
	mnl_attr_put(h, TCA_HTB_INIT, sizeof(g), &g);
	mnl_attr_nest_end(h, nest);
	if ((r = nl_commit(pl->nl, err, errlen))) {
		if (r == -EEXIST)
			snprintf(err, errlen, "a project's shaper needs the root queue of %s, which the "
				 "link's own rate or delay holds (a project's server host takes a link "
				 "without conditions, for now)", ifname);
		project_limit_free(pl);
		return r;
	}
	pl->htb = true;
	if (!(pl->nft = nft_ctx_new(NFT_CTX_DEFAULT))) {
		project_limit_free(pl);
		snprintf(err, errlen, "cannot start nftables");
		return -ENOMEM;
	}
	nft_ctx_buffer_error(pl->nft);
	nft_ctx_buffer_output(pl->nft);
	if (nft_do(pl, "add table ip dynamo_project\n"
		   "add chain ip dynamo_project out "
		   "{ type filter hook output priority 0 ; policy accept ; }\n", err, errlen)) {
		project_limit_free(pl);
		return -EINVAL;
	}
	*out = pl;
	return 0;
}

int project_limit_add(struct project_limit *pl, const struct project *pj, uint32_t client, char *err,
		      size_t errlen)
{
	struct buf ports = { 0 }, cmd = { 0 };
	struct in_addr a = { htonl(client) };
	char ip[INET_ADDRSTRLEN];
	size_t i = pl->n;
	int r;

	for (size_t k = 0; k < pl->n; k++)
		if (pl->v[k].client == client)
			return (int)k;
	/* what its servers send from the ports they serve, when they say */
	for (size_t k = 0; k < pj->nsvc; k++)
		for (size_t q = 0; q < pj->svc[k].nports && !pj->svc[k].client; q++) {
			const struct scan_port *pt = &pj->svc[k].ports[q];

			buf_printf(&ports, "%s%u", ports.len ? ", " : "th sport { ", pt->lo);
			if (pt->hi > pt->lo)
				buf_printf(&ports, "-%u", pt->hi);
		}
	if (ports.len)
		buf_puts(&ports, " } ");
	pl->v = xreallocarray(pl->v, pl->n + 1, sizeof(*pl->v));
	pl->v[i].client = client;
	pl->v[i].rate = 0;
	pl->v[i].ports = ports.p ? buf_steal(&ports) : xstrdup("");
	pl->n++;
	htb_class(pl, i, true);
	if ((r = nl_commit(pl->nl, err, errlen))) {
		pl->n--;
		free(pl->v[i].ports);
		return r;
	}
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	/* htb takes a packet whose priority names one of its classes to it */
	buf_printf(&cmd, "add counter ip dynamo_project c%zu\n"
		   "add rule ip dynamo_project out ip daddr %s %scounter name \"c%zu\" "
		   "meta priority set 0x%x\n", i, ip, pl->v[i].ports, i,
		   TC_H_MAKE(1u << 16, LIMIT_CLASS + (uint32_t)i));
	r = nft_do(pl, cmd.p, err, errlen);
	buf_free(&cmd);
	return r ? r : (int)i;
}

int project_limit_set(struct project_limit *pl, size_t i, double bytes_per_s, char *err,
		      size_t errlen)
{
	if (i >= pl->n)
		return -EINVAL;
	pl->v[i].rate = bytes_per_s > 0 ? bytes_per_s : 0;
	htb_class(pl, i, false);
	return nl_commit(pl->nl, err, errlen);
}

uint64_t project_limit_bytes(struct project_limit *pl, size_t i)
{
	char cmd[64];
	const char *out, *at;

	snprintf(cmd, sizeof(cmd), "list counter ip dynamo_project c%zu\n", i);
	if (nft_do(pl, cmd, NULL, 0))
		return 0;
	out = nft_ctx_get_output_buffer(pl->nft);
	at = out ? strstr(out, " bytes ") : NULL;
	return at ? strtoull(at + 7, NULL, 10) : 0;
}

void project_limit_free(struct project_limit *pl)
{
	if (!pl)
		return;
	if (pl->nft) {
		(void)nft_do(pl, "delete table ip dynamo_project\n", NULL, 0);
		nft_ctx_free(pl->nft);
	}
	if (pl->nl && pl->htb) {
		struct nlmsghdr *h;
		char err[128];

		/* the root qdisc back to the default */
		tc_msg(pl, RTM_DELQDISC, 0, 1u << 16, TC_H_ROOT, "htb", &h);
		if (nl_commit(pl->nl, err, sizeof(err)))
			err[0] = 0;   /* gone with the namespace anyway */
	}
	if (pl->nl)
		nl_close(pl->nl);
	for (size_t i = 0; i < pl->n; i++)
		free(pl->v[i].ports);
	free(pl->v);
	free(pl);
}
