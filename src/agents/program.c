/* program.c - see program.h.  Each program gets a configuration written
 * from here that keeps everything under its directory (no system files,
 * no system service), runs in the foreground, and listens on all the
 * host's addresses. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../engine/loop.h"
#include "../lib/util.h"
#include "program.h"

#define ARGS_MAX 32

static const char *const redis_paths[] = { "/usr/bin/redis-server", "/usr/local/bin/redis-server", NULL };
static const char *const mosquitto_paths[] = { "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", NULL };

const struct program_def program_defs[] = {
	{ "redis-server", PROTO_REDIS, redis_paths },
	{ "mosquitto", PROTO_MQTT, mosquitto_paths },
};
const size_t program_ndefs = ARRAY_SIZE(program_defs);

const struct program_def *program_find(const char *name)
{
	for (size_t i = 0; i < program_ndefs; i++)
		if (!strcmp(program_defs[i].name, name))
			return &program_defs[i];
	return NULL;
}

const char *program_path(const struct program_def *d)
{
	for (const char *const *p = d->paths; *p; p++)
		if (!access(*p, X_OK))
			return *p;
	return NULL;
}

static int write_file(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int write_file(const char *dir, const char *name, const char *fmt, ...)
{
	char *path = xasprintf("%s/%s", dir, name), *text;
	va_list ap;
	FILE *f = fopen(path, "we");
	int r = 0;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (!f || fputs(text, f) < 0)
		r = -errno;
	if (f && fclose(f) && !r)
		r = -errno;
	free(text);
	free(path);
	return r;
}

/* The program's command line and files; argv strings are allocated. */
static int configure(const struct program_def *d, const char *bin, const char *dir, uint16_t port,
		     char **argv)
{
	int n = 0, r = 0;

	argv[n++] = xstrdup(bin);
	switch (d->proto) {
	case PROTO_REDIS:
		argv[n++] = xasprintf("%s/redis.conf", dir);
		r = write_file(dir, "redis.conf",
			       "# written by dynamo: private to this run\n"
			       "port %u\nbind 0.0.0.0\nprotected-mode no\ndaemonize no\n"
			       "save \"\"\nappendonly no\ndir %s\nlogfile \"\"\n"
			       "maxmemory 64mb\nmaxmemory-policy allkeys-lru\n",
			       port, dir);
		break;
	case PROTO_MQTT:
		argv[n++] = xstrdup("-c");
		argv[n++] = xasprintf("%s/mosquitto.conf", dir);
		/* 'user root' keeps it from switching to a user that could
		 * not read this directory. */
		r = write_file(dir, "mosquitto.conf",
			       "# written by dynamo: private to this run\n"
			       "user root\nlistener %u 0.0.0.0\nallow_anonymous true\n"
			       "persistence false\nlog_dest stderr\nmax_keepalive 600\n",
			       port);
		break;
	default:
		r = -ENOTSUP;
	}
	argv[n] = NULL;
	return r;
}

/* Does addr:port accept a connection? */
static bool accepts(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void log_tail(const char *dir, char *out, size_t n)
{
	char *path = xasprintf("%s/log", dir), buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = 0;
	off_t size;

	free(path);
	out[0] = 0;
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0 && lseek(fd, size > 300 ? size - 300 : 0, SEEK_SET) >= 0)
		got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' && p[1])
			*p = ' ';
	buf[strcspn(buf, "\n")] = 0;
	snprintf(out, n, ": %.300s", buf);
}

int program_start(const struct program_def *d, const char *dir, uint32_t addr, uint16_t port,
		  const char *datadir, uint64_t seed, int timeout_ms, struct program *out,
		  char *err, size_t errlen)
{
	const char *bin = program_path(d);
	char *argv[ARGS_MAX] = { 0 }, tail[320];
	uint64_t end;
	int r;

	(void)datadir;
	(void)seed;
	memset(out, 0, sizeof(*out));
	out->def = d;
	out->pid = -1;
	if (!bin) {
		snprintf(err, errlen, "%s is not installed (looked in %s)", d->name, d->paths[0]);
		return -ENOENT;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	out->dir = xstrdup(dir);
	if ((r = configure(d, bin, dir, port, argv))) {
		snprintf(err, errlen, "%s: cannot write its configuration in %s: %s", d->name, dir,
			 strerror(-r));
		goto out;
	}
	out->pid = fork();
	if (out->pid == 0) {
		char *log = xasprintf("%s/log", dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		sigset_t none;

		/* It goes when its host process goes, however that goes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir(dir) < 0)
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	if (out->pid < 0) {
		r = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-r));
		goto out;
	}
	end = loop_clock() + (uint64_t)timeout_ms * 1000000;
	for (;;) {
		struct timespec ts = { 0, 20000000 };
		int st;

		if (accepts(addr, port))
			break;
		if (waitpid(out->pid, &st, WNOHANG) == out->pid) {
			out->pid = -1;
			log_tail(dir, tail, sizeof(tail));
			snprintf(err, errlen, "%s ended as it started%s", d->name, tail);
			r = -ECHILD;
			goto out;
		}
		if (loop_clock() > end) {
			log_tail(dir, tail, sizeof(tail));
			snprintf(err, errlen, "%s did not accept connections on port %u within %d ms%s",
				 d->name, port, timeout_ms, tail);
			r = -ETIMEDOUT;
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	r = 0;
out:
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
	if (r)
		program_stop(out);
	return r;
}

void program_stop(struct program *p)
{
	if (p->pid > 0) {
		uint64_t end = loop_clock() + 3000000000ull;
		int st;

		kill(p->pid, SIGTERM);
		while (waitpid(p->pid, &st, WNOHANG) == 0) {
			struct timespec ts = { 0, 10000000 };

			if (loop_clock() > end) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &st, 0);
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	p->pid = -1;
	free(p->dir);
	p->dir = NULL;
}
