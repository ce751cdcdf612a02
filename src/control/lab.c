/* lab.c - state files of labs (see lab.h).  The format is lines of
 * words, the first a keyword:
 *
 *   dynamo-lab 1
 *   name office
 *   pid 4242
 *   rootless 0
 *   started 1763900000
 *   spec /home/me/office.dyn
 *   node pc1 host 10.1.0.2 7 4026532890
 *   ...
 *
 * Every line is checked; anything else is an error naming the line. */
#include "lab.h"
#include "../lib/util.h"
#include "../topo/topo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAB_MAX_NODES 200000
#define LAB_MAX_FILE (64u << 20)

int lab_rundir(char *out, size_t n, bool create)
{
	const char *env = getenv("DYNAMO_RUNDIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(out, n, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, n, "/run/dynamo");
	else if (xdg && *xdg)
		snprintf(out, n, "%s/dynamo", xdg);
	else
		snprintf(out, n, "/tmp/dynamo-%u", (unsigned)geteuid());
	if (create && mkdir(out, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

bool lab_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > LAB_MAX_NAME || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}

void lab_path(char *out, size_t n, const char *dir, const char *name, const char *ext)
{
	snprintf(out, n, "%s/%s.%s", dir, name, ext);
}

int lab_save(const char *dir, const struct lab *l)
{
	char path[4096], tmp[4200];
	FILE *f;
	int r = 0;

	lab_path(path, sizeof(path), dir, l->name, "lab");
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "dynamo-lab 1\nname %s\npid %d\nrootless %d\nstarted %ld\nspec %s\n", l->name,
		(int)l->pid, l->rootless, l->started, l->spec);
	for (size_t i = 0; i < l->nnodes; i++) {
		const struct lab_node *nd = &l->nodes[i];
		char a[20];

		fmt_ipv4(a, sizeof(a), nd->addr);
		fprintf(f, "node %s %s %s %d %llu\n", nd->name, nd->router ? "router" : "host", a,
			nd->fd, (unsigned long long)nd->ino);
	}
	if (fflush(f) || ferror(f))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* Split a line into at most max words; returns the count. */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
	unsigned a, b, c, d;
	char tail;

	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return false;
	*out = a << 24 | b << 16 | c << 8 | d;
	return true;
}

int lab_parse(const char *text, size_t len, struct lab *l, char *err, size_t errlen)
{
	char *copy = xstrndup(text, len), *line, *save = NULL;
	size_t cap = 0, lineno = 0;
	bool header = false, have_pid = false;
	int r = 0;

	memset(l, 0, sizeof(*l));
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "state file holds a NUL byte");
		free(copy);
		return -EINVAL;
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w[8];
		size_t n;
		long v;

		lineno++;
		/* the spec's path runs to the end of the line, spaces and all */
		if (header && !strncmp(line, "spec ", 5) && line[5]) {
			snprintf(l->spec, sizeof(l->spec), "%s", line + 5);
			continue;
		}
		n = words(line, w, 7);
		if (n == 0)
			continue;
		if (!header) {
			if (n != 2 || strcmp(w[0], "dynamo-lab") || strcmp(w[1], "1"))
				goto bad;
			header = true;
		} else if (!strcmp(w[0], "name") && n == 2 && lab_name_ok(w[1])) {
			snprintf(l->name, sizeof(l->name), "%s", w[1]);
		} else if (!strcmp(w[0], "pid") && n == 2 && parse_long(w[1], 1, 1L << 30, &v)) {
			l->pid = (pid_t)v;
			have_pid = true;
		} else if (!strcmp(w[0], "rootless") && n == 2 && parse_long(w[1], 0, 1, &v)) {
			l->rootless = v;
		} else if (!strcmp(w[0], "started") && n == 2 &&
			   parse_long(w[1], 0, 1L << 40, &v)) {
			l->started = v;
		} else if (!strcmp(w[0], "node") && n == 6) {
			struct lab_node *nd;
			unsigned long long ino;
			char *end;
			long fd;

			if (strlen(w[1]) >= sizeof(nd->name) || l->nnodes >= LAB_MAX_NODES ||
			    (strcmp(w[2], "host") && strcmp(w[2], "router")))
				goto bad;
			nd = VEC_PUSH(l->nodes, l->nnodes, cap);
			snprintf(nd->name, sizeof(nd->name), "%s", w[1]);
			nd->router = !strcmp(w[2], "router");
			if (!parse_ipv4(w[3], &nd->addr) || !parse_long(w[4], 0, 1 << 30, &fd))
				goto bad;
			nd->fd = (int)fd;
			errno = 0;
			ino = strtoull(w[5], &end, 10);
			if (errno || *end || end == w[5])
				goto bad;
			nd->ino = ino;
		} else {
			goto bad;
		}
	}
	if (!header || !have_pid || !l->name[0]) {
		snprintf(err, errlen, "state file is incomplete (no %s)",
			 !header ? "header" : !have_pid ? "pid" : "name");
		r = -EINVAL;
	}
	free(copy);
	if (r)
		lab_free(l);
	return r;
bad:
	snprintf(err, errlen, "state file line %zu is malformed", lineno);
	free(copy);
	lab_free(l);
	return -EINVAL;
}

int lab_load(const char *dir, const char *name, struct lab *l, char *err, size_t errlen)
{
	char path[4096];
	struct buf b = { 0 };
	FILE *f;
	int r;

	lab_path(path, sizeof(path), dir, name, "lab");
	f = fopen(path, "r");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = buf_read_file(&b, f, LAB_MAX_FILE);
	fclose(f);
	if (r) {
		buf_free(&b);
		snprintf(err, errlen, "%s: %s", path, r == -EFBIG ? "too large" : strerror(-r));
		return r;
	}
	r = lab_parse(b.p ? b.p : "", b.len, l, err, errlen);
	buf_free(&b);
	return r;
}

void lab_free(struct lab *l)
{
	if (!l)
		return;
	free(l->nodes);
	l->nodes = NULL;
	l->nnodes = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lab_list(const char *dir, char ***v, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*v = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *name;

		if (len < 5 || strcmp(e->d_name + len - 4, ".lab"))
			continue;
		name = xstrndup(e->d_name, len - 4);
		if (!lab_name_ok(name)) {
			free(name);
			continue;
		}
		*VEC_PUSH(*v, *n, cap) = name;
	}
	closedir(d);
	if (*n)
		qsort(*v, *n, sizeof(**v), cmp_str);
	return 0;
}

/* The inode of the namespace that link path points to ("net:[123]"). */
static uint64_t ns_ino(const char *path)
{
	char target[64];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	unsigned long long ino;

	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (sscanf(target, "net:[%llu]", &ino) != 1)
		return 0;
	return ino;
}

bool lab_alive(const struct lab *l)
{
	char path[64];

	if (kill(l->pid, 0) && errno == ESRCH)
		return false;
	if (!l->nnodes)
		return true;
	/* the pid could be someone else's now: it must still hold the lab */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)l->pid, l->nodes[0].fd);
	return ns_ino(path) == l->nodes[0].ino;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int lab_kill_inside(const struct lab *l, int sig)
{
	uint64_t *inos = xcalloc(l->nnodes + 1, sizeof(*inos));
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;

	for (size_t i = 0; i < l->nnodes; i++)
		inos[i] = l->nodes[i].ino;
	qsort(inos, l->nnodes, sizeof(*inos), cmp_u64);
	while (d && (e = readdir(d))) {
		char path[64];
		uint64_t ino;
		long pid;

		if (!parse_long(e->d_name, 1, 1L << 30, &pid) || pid == getpid() || pid == l->pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		ino = ns_ino(path);
		if (ino && l->nnodes && bsearch(&ino, inos, l->nnodes, sizeof(*inos), cmp_u64) &&
		    kill((pid_t)pid, sig) == 0)
			count++;
	}
	if (d)
		closedir(d);
	free(inos);
	return count;
}

void lab_remove(const char *dir, const char *name)
{
	char path[4096];

	lab_path(path, sizeof(path), dir, name, "lab");
	unlink(path);
	lab_path(path, sizeof(path), dir, name, "hosts");
	unlink(path);
}

int lab_write_hosts(const char *dir, const char *name, const struct topo *t)
{
	char path[4096];
	FILE *f;
	int r = 0;

	lab_path(path, sizeof(path), dir, name, "hosts");
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "127.0.0.1\tlocalhost\n");
	for (size_t i = 0; i < t->nnodes; i++) {
		for (size_t k = 0; k < t->nodes[i].nifaces; k++) {
			char a[20];

			fmt_ipv4(a, sizeof(a), t->nodes[i].ifaces[k].addr);
			fprintf(f, "%s\t%s%s%s\n", a, t->nodes[i].name, k ? "-" : "",
				k ? t->nodes[i].ifaces[k].name : "");
		}
	}
	if (fclose(f))
		r = -errno;
	return r;
}
