/* program.c - see program.h.  Each program gets a configuration written
 * from here that keeps everything under its directory (no system files,
 * no system service), runs in the foreground, logs to DIR/log and
 * listens on all the host's addresses.  What it serves is made the way
 * the built-in server of its protocol makes it: nginx the generated web
 * site (site.h), dnsmasq the generated zone (dns.h), vsftpd a file tree
 * like the built-in FTP server's, postgres the schema the PostgreSQL
 * client assumes, sshd the SSH agent's pretend shell (dynamo fake-shell).
 *
 * Where a program insists on a system file (vsftpd's PAM service in
 * /etc/pam.d, sshd's privilege separation directory /run/sshd and its
 * login records), it runs in a mount namespace of its own in which our
 * files are bound over those paths: the machine's files are never
 * written.  As root, programs that refuse root (postgres) or drop to
 * another user (nginx's workers, vsftpd's anonymous sessions) use the
 * distribution's users; in a user namespace (a rootless run) only the
 * ids mapped into it exist, and the errors say so. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <shadow.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../engine/conn.h"
#include "../engine/content.h"
#include "../engine/loop.h"
#include "../engine/model.h"
#include "../lib/bytes.h"
#include "../lib/util.h"
#include "agent.h"
#include "dns.h"
#include "program.h"
#include "site.h"

#define ARGS_MAX 32
#define BINDS_MAX 8
#define TOOL_MS 120000                  /* initdb, a schema load */
#define STOP_MS 3000                    /* a program's own shutdown */
#define SITE_PREWRITE (32u << 20)       /* nginx: bytes of the site written before start */
#define FTP_BUDGET (512ull << 20)       /* vsftpd: bytes of its file tree */
#define FTP_MAX_FILE (256ull << 20)
#define FTP_PASV_MIN 30000              /* as the built-in FTP server's range */
#define FTP_PASV_MAX 30999
/* The built-in DNS server and its clients build their zone from this
 * seed (dns.c's DNS_ZONE_SEED): dnsmasq must serve the same names. */
#define DNS_ZONE_SEED 0x646e737a6f6e65ull

static const char *const redis_paths[] = {
	"/usr/bin/redis-server", "/usr/local/bin/redis-server", NULL,
};
static const char *const mosquitto_paths[] = {
	"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", NULL,
};
static const char *const nginx_paths[] = { "/usr/sbin/nginx", "/usr/local/sbin/nginx", NULL };
static const char *const dnsmasq_paths[] = { "/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq", NULL };
static const char *const vsftpd_paths[] = { "/usr/sbin/vsftpd", "/usr/local/sbin/vsftpd", NULL };
static const char *const postgres_paths[] = {
	"/usr/lib/postgresql/17/bin/postgres", "/usr/lib/postgresql/16/bin/postgres",
	"/usr/lib/postgresql/15/bin/postgres", "/usr/lib/postgresql/14/bin/postgres",
	"/usr/lib/postgresql/13/bin/postgres", "/usr/local/bin/postgres", NULL,
};
static const char *const sshd_paths[] = { "/usr/sbin/sshd", "/usr/local/sbin/sshd", NULL };

#define P(x) (1u << (x))

const struct program_def program_defs[] = {
	{ "redis-server", P(PROTO_REDIS), redis_paths, SIGTERM, "redis-server" },
	{ "mosquitto", P(PROTO_MQTT), mosquitto_paths, SIGTERM, "mosquitto" },
	{ "nginx", P(PROTO_HTTP) | P(PROTO_HTTPS), nginx_paths, SIGTERM, "nginx-light" },
	{ "dnsmasq", P(PROTO_DNS), dnsmasq_paths, SIGTERM, "dnsmasq-base" },
	{ "vsftpd", P(PROTO_FTP), vsftpd_paths, SIGTERM, "vsftpd" },
	/* SIGINT: fast shutdown; SIGTERM waits for clients to leave */
	{ "postgres", P(PROTO_POSTGRESQL), postgres_paths, SIGINT, "postgresql" },
	{ "sshd", P(PROTO_SSH), sshd_paths, SIGTERM, "openssh-server" },
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

void program_missing(const struct program_def *d, char *err, size_t errlen)
{
	struct buf b = { 0 };

	for (const char *const *p = d->paths; *p; p++)
		buf_printf(&b, "%s%s", p == d->paths ? "" : ", ", *p);
	snprintf(err, errlen, "%s is not installed (looked for %s; Debian's package %s has it)",
		 d->name, b.p ? b.p : "nothing", d->package);
	buf_free(&b);
}

/* ---- small helpers -------------------------------------------------------- */

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

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Is id (a uid, or a gid with gids) mapped into our user namespace? In
 * the initial namespace everything is. */
static bool id_mapped(unsigned long id, bool gids)
{
	FILE *f = fopen(gids ? "/proc/self/gid_map" : "/proc/self/uid_map", "re");
	unsigned long in, out, count;
	bool ok = false;

	if (!f)
		return true;
	while (!ok && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
		ok = id >= in && id - in < count;
	fclose(f);
	return ok;
}

/* Root in a user namespace of an unprivileged caller: a rootless run. */
static bool rootless(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long in, out, count;
	bool r = false;

	if (f && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
		r = !(in == 0 && out == 0 && count == 4294967295ul);
	if (f)
		fclose(f);
	return r;
}

/* A user to drop to: 0 and *pw, or -ENOENT / -EPERM with the reason. */
static int find_user(const char *name, const char *who, struct passwd *pw, char *err, size_t errlen)
{
	struct passwd *p = getpwnam(name);

	if (!p) {
		snprintf(err, errlen, "%s needs the user '%s' to run as, and it does not exist", who,
			 name);
		return -ENOENT;
	}
	if (!id_mapped(p->pw_uid, false) || !id_mapped(p->pw_gid, true)) {
		snprintf(err, errlen, "%s runs as the user '%s' (uid %u), which is not mapped into "
			 "this user namespace: in a rootless run only the caller is (run as root, or "
			 "map that id too)", who, name, (unsigned)p->pw_uid);
		return -EPERM;
	}
	*pw = *p;
	pw->pw_name = xstrdup(p->pw_name);
	pw->pw_dir = xstrdup(p->pw_dir);
	pw->pw_shell = xstrdup(p->pw_shell);
	pw->pw_passwd = NULL;
	pw->pw_gecos = NULL;
	return 0;
}

static void free_user(struct passwd *pw)
{
	free(pw->pw_name);
	free(pw->pw_dir);
	free(pw->pw_shell);
	memset(pw, 0, sizeof(*pw));
}

/* ---- starting a process --------------------------------------------------- */

/* How a program (or a tool it needs first) is started. */
struct launch {
	char *argv[ARGS_MAX];
	bool drop;                      /* switch to uid/gid before exec */
	uid_t uid;
	gid_t gid;
	const char *user;
	/* A mount namespace of its own with these bound over system paths. */
	int nbinds;
	char *bind_src[BINDS_MAX], *bind_dst[BINDS_MAX];
	bool run_tmpfs;                 /* a private, empty /run */
	char *stdin_file;               /* else /dev/null */
	pid_t pgid;                     /* join this group (0: a new one) */
};

static void launch_free(struct launch *L)
{
	for (int i = 0; L->argv[i]; i++)
		free(L->argv[i]);
	for (int i = 0; i < L->nbinds; i++) {
		free(L->bind_src[i]);
		free(L->bind_dst[i]);
	}
	free(L->stdin_file);
	memset(L, 0, sizeof(*L));
}

static void launch_bind(struct launch *L, const char *src, const char *dst)
{
	if (L->nbinds < BINDS_MAX) {
		L->bind_src[L->nbinds] = xstrdup(src);
		L->bind_dst[L->nbinds++] = xstrdup(dst);
	}
}

/* In the child: say why it cannot go on, into its log, and end. */
static void __attribute__((noreturn, format(printf, 1, 2))) child_fail(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b) - 1, fmt, ap);
	va_end(ap);
	if (n > 0) {
		n = MIN(n, (int)sizeof(b) - 2);
		b[n++] = '\n';
		(void)!write(2, b, (size_t)n);
	}
	_exit(125);
}

/* Fork and exec L in dir: its output appends to dir/log.  The child's
 * pid, or -errno. */
static pid_t spawn(const struct launch *L, const char *dir)
{
	char *log = xasprintf("%s/log", dir);
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int in = open(L->stdin_file ? L->stdin_file : "/dev/null", O_RDONLY | O_CLOEXEC);
		sigset_t none;

		/* It goes when its host process goes, however that goes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, L->pgid);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (in >= 0)
			dup2(in, 0);
		if (L->nbinds || L->run_tmpfs) {
			if (unshare(CLONE_NEWNS) < 0)
				child_fail("dynamo: cannot make a mount namespace for %s: %s",
					   L->argv[0], strerror(errno));
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
				child_fail("dynamo: cannot make mounts private: %s", strerror(errno));
			if (L->run_tmpfs &&
			    (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
			     mkdir("/run/sshd", 0755) < 0))
				child_fail("dynamo: cannot make a private /run: %s", strerror(errno));
			for (int i = 0; i < L->nbinds; i++)
				if (mount(L->bind_src[i], L->bind_dst[i], NULL, MS_BIND, NULL) < 0)
					child_fail("dynamo: cannot bind %s over %s: %s", L->bind_src[i],
						   L->bind_dst[i], strerror(errno));
		}
		if (L->drop && (setgroups(0, NULL) < 0 || setgid(L->gid) < 0 || setuid(L->uid) < 0))
			child_fail("dynamo: cannot switch to the user %s (uid %u): %s%s", L->user,
				   (unsigned)L->uid, strerror(errno),
				   rootless() ? " (a rootless run can only use the ids mapped into its "
						"user namespace)" : "");
		if (chdir(dir) < 0)
			child_fail("dynamo: cannot enter %s: %s", dir, strerror(errno));
		execv(L->argv[0], L->argv);
		child_fail("dynamo: cannot run %s: %s", L->argv[0], strerror(errno));
	}
	free(log);
	if (pid < 0)
		return -errno;
	/* Both sides set the group, so neither races the other. */
	setpgid(pid, L->pgid ? L->pgid : pid);
	return pid;
}

/* The end of the log, for errors: its last 300 bytes on one line. */
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
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	snprintf(out, n, ": %.300s", buf);
}

/* Run a tool to its end (initdb, a schema load): 0 when it exits 0,
 * else -errno with the reason in err. */
static int run_tool(const struct launch *L, const char *dir, const char *what, char *err,
		    size_t errlen)
{
	pid_t pid = spawn(L, dir);
	uint64_t end = loop_clock() + (uint64_t)TOOL_MS * 1000000;
	char tail[320];
	int st = 0, r = 0;

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror((int)-pid));
		return (int)pid;
	}
	for (;;) {
		struct timespec ts = { 0, 20000000 };
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (loop_clock() > end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			r = -ETIMEDOUT;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (!r && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = -EPROTO;
	if (r) {
		log_tail(dir, tail, sizeof(tail));
		snprintf(err, errlen, "%s failed%s%s", what, r == -ETIMEDOUT ? " (took too long)" : "",
			 tail);
	}
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

/* ---- what every program needs ---------------------------------------------- */

struct setup {
	const struct program_def *d;
	const char *bin, *dir, *host, *datadir;
	const char *model;       /* the statement's model file, or NULL */
	uint32_t addr;
	uint16_t port;
	uint64_t seed;
	struct launch L;
	pid_t helper;                   /* nginx: the site's writer */
	struct passwd pw;               /* a user it drops to, when it does */
};

static struct model *load_model(const struct setup *s, enum spec_proto proto, char *err,
				size_t errlen)
{
	const struct agent *a = agent_find(proto);
	char *msg = NULL;
	struct model *m = a ? agent_model(a, s->datadir, s->model, &msg) : NULL;

	if (!m)
		snprintf(err, errlen, "%s", msg ? msg : "no agent for the protocol");
	free(msg);
	return m;
}

static int setup_redis(struct setup *s, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	s->L.argv[1] = xasprintf("%s/redis.conf", s->dir);
	return write_file(s->dir, "redis.conf",
			  "# written by dynamo: private to this run\n"
			  "port %u\nbind 0.0.0.0\nprotected-mode no\ndaemonize no\n"
			  "save \"\"\nappendonly no\ndir %s\nlogfile \"\"\n"
			  "maxmemory 64mb\nmaxmemory-policy allkeys-lru\n",
			  s->port, s->dir);
}

static int setup_mosquitto(struct setup *s, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	s->L.argv[1] = xstrdup("-c");
	s->L.argv[2] = xasprintf("%s/mosquitto.conf", s->dir);
	/* 'user root' keeps it from switching to a user that could not
	 * read this directory. */
	return write_file(s->dir, "mosquitto.conf",
			  "# written by dynamo: private to this run\n"
			  "user root\nlistener %u 0.0.0.0\nallow_anonymous true\n"
			  "persistence false\nlog_dest stderr\nmax_keepalive 600\n",
			  s->port);
}

/* ---- nginx: the generated web site --------------------------------------- */

struct sitew {
	struct site *site;
	struct loop *loop;
	const char *root;               /* the docroot */
};

static void copy_readable(struct conn *c)
{
	conn_consume(c, c->in.len);
}

static const struct conn_ops copy_ops = { .readable = copy_readable };

/* o's bytes into fd, as site_send() queues them on a connection: site.c
 * writes to connections only, so one end of a socketpair plays one and
 * we read the other. */
static int site_copy(struct sitew *w, const struct site_obj *o, int fd)
{
	char buf[1 << 16];
	struct conn c;
	uint64_t got = 0;
	unsigned idle = 0;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	memset(&c, 0, sizeof(c));
	r = conn_accept(&c, w->loop, &copy_ops, sv[0]);
	if (!r && fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
		r = -errno;
	if (!r)
		site_send(w->site, o, &c);
	while (!r && got < o->size) {
		ssize_t n;

		if ((r = loop_once(w->loop, 50)))
			break;
		while ((n = read(sv[1], buf, sizeof(buf))) > 0) {
			if ((r = write_all(fd, buf, (size_t)n)))
				break;
			got += (uint64_t)n;
			idle = 0;
		}
		if (!r && n == 0)
			r = -EPIPE;
		else if (!r && n < 0 && errno != EAGAIN && errno != EINTR)
			r = -errno;
		else if (!r && ++idle > 200)
			r = -ETIMEDOUT;     /* 10 s without a byte */
	}
	conn_close(&c, 0);
	close(sv[1]);
	return r;
}

/* The file of the site's path (n bytes) under the docroot, written if
 * it is not there yet.  0 with its URI in uri (for X-Accel-Redirect),
 * -ENOENT when the site has no such path, or -errno. */
static int site_put(struct sitew *w, const char *path, size_t n, char *uri, size_t urilen,
		    uint64_t *bytes)
{
	struct site_obj o;
	char *file, *tmp;
	int fd, r;

	if (site_lookup(w->site, path, n, &o))
		return -ENOENT;
	if (n == 1)
		snprintf(uri, urilen, "/index.html");
	else
		snprintf(uri, urilen, "%.*s", (int)n, path);
	file = xasprintf("%s%s", w->root, uri);
	tmp = xasprintf("%s.%d.tmp", file, (int)getpid());
	if (!access(file, F_OK)) {
		r = 0;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = site_copy(w, &o, fd);
	if (close(fd) < 0 && !r)
		r = -errno;
	/* Whole files only: nginx may be reading the name already. */
	if (!r && rename(tmp, file) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	else if (bytes)
		*bytes += o.size;
out:
	free(tmp);
	free(file);
	return r;
}

/* The site's writer behind nginx: it answers each request nginx passes
 * on for a path not on disk yet by writing the file, then tells nginx to
 * serve it (X-Accel-Redirect), or 404.  One request per connection, one
 * at a time: nginx queues the rest. */
static void site_answer(struct sitew *w, int fd)
{
	struct timeval tv = { 10, 0 };
	char req[4096], uri[256];
	size_t n = 0;
	const char *p, *e;
	int r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1 && !memmem(req, n, "\r\n\r\n", 4)) {
		ssize_t got = read(fd, req + n, sizeof(req) - 1 - n);

		if (got <= 0)
			return;
		n += (size_t)got;
	}
	req[n] = 0;
	p = strchr(req, ' ');
	r = -EINVAL;
	if (p && (!strncmp(req, "GET ", 4) || !strncmp(req, "HEAD ", 5)) && p[1] == '/') {
		p++;
		for (e = p; *e && *e != ' ' && *e != '?' && *e != '\r'; e++)
			;
		r = site_put(w, p, (size_t)(e - p), uri, sizeof(uri), NULL);
	}
	if (!r)
		dprintf(fd, "HTTP/1.0 200 OK\r\nX-Accel-Redirect: %s\r\nContent-Length: 0\r\n\r\n", uri);
	else if (r == -ENOENT || r == -EINVAL)
		dprintf(fd, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	else
		dprintf(fd, "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
}

/* In a child of the host process, in nginx's process group (its
 * parent puts it there once nginx runs), until killed with it. */
static void __attribute__((noreturn)) site_writer(struct sitew *w, int lfd)
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		site_answer(w, fd);
		close(fd);
	}
}

/* A self-signed certificate for the host's name, as PEM files. */
static int write_cert(const char *dir, const char *cn)
{
	char *kpath = xasprintf("%s/key.pem", dir), *cpath = xasprintf("%s/cert.pem", dir);
	char *san = xasprintf("DNS:%s", cn);
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	FILE *kf = NULL, *cf = NULL;
	int kfd, r = -EPROTO;

	if (!key || !x)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_version(x, 2);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1) || X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	kfd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (kfd < 0 || !(kf = fdopen(kfd, "w")) || !(cf = fopen(cpath, "we"))) {
		r = -errno;
		if (kfd >= 0 && !kf)
			close(kfd);
		goto out;
	}
	if (PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) == 1 && PEM_write_X509(cf, x) == 1)
		r = 0;
out:
	if (kf && fclose(kf) && !r)
		r = -errno;
	if (cf && fclose(cf) && !r)
		r = -errno;
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(key);
	free(san);
	free(cpath);
	free(kpath);
	return r;
}

/* Pages and their objects in page order (the low pages are the most
 * linked), until the budget: the rest is written when first asked. */
static int site_prewrite(struct sitew *w)
{
	static const char *const objs[][2] = { { "css", "css" }, { "js", "js" }, { "img", "gif" } };
	static const char *const shared[] = { "/static/site.css", "/static/app.js", "/static/logo.gif" };
	uint64_t bytes = 0;
	char path[64], uri[64];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(shared) && !r; i++) {
		r = site_put(w, shared[i], strlen(shared[i]), uri, sizeof(uri), &bytes);
		r = r == -ENOENT ? 0 : r;
	}
	for (uint32_t pg = 0; pg < site_pages(w->site) && !r && bytes < SITE_PREWRITE; pg++) {
		if (pg)
			snprintf(path, sizeof(path), "/p/%u.html", pg);
		else
			snprintf(path, sizeof(path), "/");
		r = site_put(w, path, strlen(path), uri, sizeof(uri), &bytes);
		/* 120: site.c's most objects of one page */
		for (unsigned k = 0; k < 120 && !r && bytes < SITE_PREWRITE; k++)
			for (size_t j = 0; j < ARRAY_SIZE(objs) && !r; j++) {
				snprintf(path, sizeof(path), "/%s/%u-%u.%s", objs[j][0], pg, k, objs[j][1]);
				r = site_put(w, path, strlen(path), uri, sizeof(uri), &bytes);
				r = r == -ENOENT ? 0 : r;
			}
	}
	return r;
}

static int setup_nginx(struct setup *s, char *err, size_t errlen)
{
	static const char *const sub[] = { "www", "www/p", "www/css", "www/js", "www/img", "www/dl",
					   "www/static", "tmp" };
	struct sitew w = { 0 };
	struct content ct = { 0 };
	struct model *m = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *root = xasprintf("%s/www", s->dir), *sock = xasprintf("%s/site.sock", s->dir);
	char user[160] = "";
	int lfd = -1, r;

	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		char *p = xasprintf("%s/%s", s->dir, sub[i]);

		r = make_dir(p, 0755);
		free(p);
		if (r)
			goto out;
	}
	if ((r = write_cert(s->dir, s->host))) {
		snprintf(err, errlen, "nginx: cannot make its TLS certificate: %s", strerror(-r));
		goto out;
	}
	if (!(m = load_model(s, PROTO_HTTP, err, errlen))) {
		r = -EINVAL;
		goto out;
	}
	/* The site as the built-in web server makes it: from the web model,
	 * over content seeded for this host. */
	content_init(&ct, s->seed ^ rng_hash(s->host, strlen(s->host), 80));
	w.site = site_new(m, &ct, s->seed ^ rng_hash(s->host, strlen(s->host), 443));
	w.root = root;
	if ((r = loop_new(&w.loop)))
		goto out;
	if ((r = site_prewrite(&w))) {
		snprintf(err, errlen, "nginx: cannot write its web site in %s: %s", root, strerror(-r));
		goto out;
	}
	/* Workers drop to an unprivileged user, who must read the docroot
	 * and reach the writer's socket. */
	if (geteuid() == 0 && !rootless()) {
		struct passwd *pw = getpwnam("www-data");
		struct group *gr;

		if (!pw)
			pw = getpwnam("nobody");
		gr = pw ? getgrgid(pw->pw_gid) : NULL;
		if (!pw || !gr) {
			snprintf(err, errlen, "nginx: no user for its workers (www-data or nobody)");
			r = -ENOENT;
			goto out;
		}
		snprintf(user, sizeof(user), "user %s %s;\n", pw->pw_name, gr->gr_name);
	} else if (geteuid() == 0) {
		snprintf(user, sizeof(user), "user root root;\n");
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "nginx: the path of its site socket is too long: %s", sock);
		r = -ENAMETOOLONG;
		goto out;
	}
	strcpy(sa.sun_path, sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock, 0666) < 0 ||
	    listen(lfd, 256) < 0) {
		r = -errno;
		snprintf(err, errlen, "nginx: cannot listen on %s: %s", sock, strerror(-r));
		goto out;
	}
	s->L.argv[1] = xstrdup("-p");
	s->L.argv[2] = xasprintf("%s/", s->dir);
	s->L.argv[3] = xstrdup("-c");
	s->L.argv[4] = xasprintf("%s/nginx.conf", s->dir);
	s->L.argv[5] = xstrdup("-e");
	s->L.argv[6] = xstrdup("stderr");
	r = write_file(s->dir, "nginx.conf",
		"# written by dynamo: private to this run\n"
		"daemon off;\nmaster_process on;\nworker_processes 1;\n%s"
		"pid %s/nginx.pid;\nerror_log stderr warn;\n"
		"events { worker_connections 4096; }\n"
		"http {\n"
		"  types { text/html html; text/css css; text/javascript js; image/gif gif;\n"
		"          application/octet-stream bin; }\n"
		"  default_type application/octet-stream;\n"
		"  charset utf-8;\n"
		"  access_log off;\n  server_tokens on;\n"
		"  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n"
		"  keepalive_timeout 60s;\n  keepalive_requests 100000;\n"
		/* the compiled-in temp paths are under /var/lib/nginx */
		"  client_body_temp_path %s/tmp/body;\n  proxy_temp_path %s/tmp/proxy;\n"
		"  fastcgi_temp_path %s/tmp/fastcgi;\n  uwsgi_temp_path %s/tmp/uwsgi;\n"
		"  scgi_temp_path %s/tmp/scgi;\n"
		"  ssl_protocols TLSv1.3;\n"
		"  ssl_certificate %s/cert.pem;\n  ssl_certificate_key %s/key.pem;\n"
		"  server {\n"
		"    listen %u default_server;\n    listen %u ssl default_server;\n"
		"    server_name %s;\n    root %s;\n"
		"    location = / { try_files /index.html @site; }\n"
		"    location / { try_files $uri @site; }\n"
		/* a path not written yet: the writer writes it, then says where */
		"    location @site {\n"
		"      proxy_pass http://unix:%s:;\n"
		"      proxy_read_timeout 120s;\n"
		"    }\n"
		"  }\n"
		"}\n",
		user, s->dir, s->dir, s->dir, s->dir, s->dir, s->dir, s->dir, s->dir,
		spec_proto_port(PROTO_HTTP), spec_proto_port(PROTO_HTTPS), s->host, root, sock);
	if (r)
		goto out;
	s->helper = fork();
	if (s->helper == 0)
		site_writer(&w, lfd);
	if (s->helper < 0) {
		r = -errno;
		s->helper = 0;
	}
out:
	if (lfd >= 0)
		close(lfd);
	site_free(w.site);
	loop_free(w.loop);
	content_free(&ct);
	model_free(m);
	free(sock);
	free(root);
	return r;
}

/* ---- dnsmasq: the generated zone ----------------------------------------- */


/* A TXT record's strings as dnsmasq reads them: "a","b". */
static void txt_strings(struct buf *b, const uint8_t *p, size_t n)
{
	size_t at = 0;

	while (at < n) {
		size_t l = p[at++];

		buf_puts(b, ",\"");
		for (size_t i = 0; i < l && at + i < n; i++) {
			unsigned char c = p[at + i];

			if (c == '"' || c == '\\')
				buf_putc(b, '\\');
			if (c >= 0x20 && c < 0x7f)
				buf_putc(b, (char)c);
		}
		buf_putc(b, '"');
		at += l;
	}
}

/* The records the built-in server answers for (name, type), owned by
 * name itself, as dnsmasq configuration: A and AAAA into hosts, the rest
 * into conf.  NS targets are gathered into ns. */
static int zone_name(const struct dns__zone *z, const char *name, uint16_t type, uint8_t *q,
		     uint8_t *a, struct buf *hosts, struct buf *conf, struct buf *ns)
{
	size_t qlen = dns__build_query(q, 512, 1, name, type, false, 0), alen, off, next;
	struct dns__hdr h;
	char owner[DNS_NAME_TEXT], target[DNS_NAME_TEXT], addr[INET6_ADDRSTRLEN];
	int rcode;

	if (!qlen)
		return -EINVAL;
	alen = dns__answer(z, q, qlen, 0, a, &rcode);
	if (!alen || dns__parse_header(a, alen, &h) ||
	    dns__read_name(a, alen, DNS_HDR, &next, NULL, NULL, NULL))
		return -EBADMSG;
	off = next + 4;
	for (unsigned i = 0; i < h.an; i++) {
		struct dns__rr rr;

		if (dns__parse_rr(a, alen, &off, &rr) ||
		    dns__read_name(a, alen, rr.owner, &next, NULL, NULL, owner))
			return -EBADMSG;
		if (strcasecmp(owner, name) || rr.type != type)
			continue;
		switch (rr.type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			inet_ntop(rr.type == DNS_T_A ? AF_INET : AF_INET6, a + rr.rdata, addr, sizeof(addr));
			buf_printf(hosts, "%s %s\n", addr, name);
			break;
		case DNS_T_CNAME:
		case DNS_T_NS:
			if (dns__read_name(a, alen, rr.rdata, &next, NULL, NULL, target))
				return -EBADMSG;
			if (rr.type == DNS_T_CNAME)
				buf_printf(conf, "cname=%s,%s\n", name, target);
			else
				buf_printf(ns, "%s\n", target);
			break;
		case DNS_T_MX:
			if (rr.rdlen < 3 || dns__read_name(a, alen, rr.rdata + 2, &next, NULL, NULL, target))
				return -EBADMSG;
			buf_printf(conf, "mx-host=%s,%s,%u\n", name, target, be16(a + rr.rdata));
			break;
		case DNS_T_TXT:
			buf_printf(conf, "txt-record=%s", name);
			txt_strings(conf, a + rr.rdata, rr.rdlen);
			buf_putc(conf, '\n');
			break;
		default:
			break;
		}
	}
	return 0;
}

static int zone_files(const char *dir, const struct model *m, char *err, size_t errlen)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_CNAME, DNS_T_MX, DNS_T_TXT };
	struct buf hosts = { 0 }, conf = { 0 }, ns = { 0 };
	struct dns__zone *z;
	struct rng r;
	uint8_t *q = xmalloc(512), *a = xmalloc(DNS_MAX_MSG);
	char name[DNS_NAME_TEXT];
	int rc = 0;

	/* Drawn as dns.c's server draws them: fixed numbers in the model,
	 * which server and clients must agree on. */
	rng_seed(&r, DNS_ZONE_SEED);
	z = dns__zone_new((unsigned)model_draw(m, "domains", &r, 200),
			  model_draw(m, "big_share", &r, 0.15), DNS_ZONE_SEED);
	rc = zone_name(z, "example", DNS_T_NS, q, a, &hosts, &conf, &ns);
	for (unsigned d = 0; d < z->n && !rc; d++)
		for (int h = 0; h < DNS_H__COUNT && !rc; h++) {
			if (!(z->d[d].flags & DNS_D_HOST(h)))
				continue;
			dns__host_name(z, d, (enum dns_host)h, name, sizeof(name));
			for (size_t t = 0; t < ARRAY_SIZE(types) && !rc; t++)
				rc = zone_name(z, name, types[t], q, a, &hosts, &conf, &ns);
			if (!rc && h == DNS_H_APEX)
				rc = zone_name(z, name, DNS_T_NS, q, a, &hosts, &conf, &ns);
		}
	/* The name servers' own addresses, once each. */
	for (char *p = ns.p, *nl; !rc && p && (nl = strchr(p, '\n')); p = nl + 1) {
		size_t len = (size_t)(nl - p) + 1;
		bool seen = false;

		for (const char *q2 = ns.p; q2 < p && !seen; q2 = strchr(q2, '\n') + 1)
			seen = !strncmp(q2, p, len);
		if (seen)
			continue;
		*nl = 0;
		for (int t = 0; t < 2 && !rc; t++)
			rc = zone_name(z, p, t ? DNS_T_AAAA : DNS_T_A, q, a, &hosts, &conf, &ns);
		*nl = '\n';
	}
	if (rc) {
		snprintf(err, errlen, "dnsmasq: cannot read the zone back from the DNS agent: %s",
			 strerror(-rc));
		goto out;
	}
	if ((rc = write_file(dir, "hosts", "# written by dynamo: the zone's addresses\n%s",
			     hosts.p ? hosts.p : "")) ||
	    (rc = write_file(dir, "zone.conf", "# written by dynamo: the zone's other records\n%s",
			     conf.p ? conf.p : "")))
		snprintf(err, errlen, "dnsmasq: cannot write its zone in %s: %s", dir, strerror(-rc));
out:
	dns__zone_free(z);
	buf_free(&hosts);
	buf_free(&conf);
	buf_free(&ns);
	free(q);
	free(a);
	return rc;
}

static int setup_dnsmasq(struct setup *s, char *err, size_t errlen)
{
	struct model *m = load_model(s, PROTO_DNS, err, errlen);
	struct ifaddrs *ifs = NULL;
	struct buf auth = { 0 };
	int r;

	if (!m)
		return -EINVAL;
	r = zone_files(s->dir, m, err, errlen);
	model_free(m);
	if (r)
		return r;
	/* dnsmasq answers with authority (AA) only what arrives on the
	 * interfaces auth-server names: all of the host's. */
	if (getifaddrs(&ifs) < 0) {
		r = -errno;
		snprintf(err, errlen, "dnsmasq: cannot list the host's interfaces: %s", strerror(-r));
		return r;
	}
	buf_puts(&auth, "auth-server=ns1.example");
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		bool dup = false;

		for (struct ifaddrs *j = ifs; j != i && !dup; j = j->ifa_next)
			dup = !strcmp(i->ifa_name, j->ifa_name);
		if (!dup)
			buf_printf(&auth, ",%s", i->ifa_name);
	}
	freeifaddrs(ifs);
	s->L.argv[1] = xasprintf("--conf-file=%s/dnsmasq.conf", s->dir);
	/* Authoritative for example. (SOA, NS, AA, NXDOMAIN for names it
	 * lacks), nothing upstream, no DHCP, no /etc/hosts nor resolv.conf. */
	r = write_file(s->dir, "dnsmasq.conf",
			  "# written by dynamo: private to this run\n"
			  "port=%u\nkeep-in-foreground\nlog-facility=-\npid-file=%s/dnsmasq.pid\n"
			  /* empty: it stays who started it and leaves its groups
			   * alone (a user namespace may not set them) */
			  "user=\ngroup=\n"
			  "no-resolv\nno-poll\nno-hosts\naddn-hosts=%s/hosts\nconf-file=%s/zone.conf\n"
			  "local=/example/\n%s\nauth-zone=example\n"
			  "auth-ttl=300\nlocal-ttl=300\nauth-soa=2024010101,hostmaster.example\n"
			  "edns-packet-max=1232\ncache-size=0\n",
			  s->port, s->dir, s->dir, s->dir, auth.p);
	buf_free(&auth);
	return r;
}

/* ---- vsftpd: a file tree like the built-in FTP server's -------------------- */

struct ftree {
	const struct model *m;
	const struct content *ct;
	struct rng r;
	time_t now;
	uint64_t left;                  /* bytes the tree may still take */
};

static const char *const ftp_exts[] = {
	".tar.gz", ".zip", ".pdf", ".iso", ".jpg", ".png", ".deb",      /* binary */
	".txt", ".csv", ".log", ".md", ".html", ".conf", ".msg",        /* text */
};
#define FTP_TEXT_EXT 7

static int ftree_file(struct ftree *t, const char *path, uint64_t size, bool text, time_t age)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), r = 0;
	uint64_t key = rng_next(&t->r);
	struct timespec ts[2];

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	size = MIN(size, t->left);
	t->left -= size;
	while (size && !r) {
		size_t take = (size_t)MIN(size, (uint64_t)CONTENT_BLOB / 2);

		r = write_all(fd, content_get(t->ct, text ? CONTENT_TEXT : CONTENT_BINARY, key, take), take);
		key = key * 6364136223846793005ull + 1442695040888963407ull;
		size -= take;
	}
	ts[0].tv_sec = ts[1].tv_sec = t->now - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	futimens(fd, ts);
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

/* A directory's files: word[-word][-version].ext, sizes from file_size. */
static int ftree_fill(struct ftree *t, const char *dir, unsigned n, bool text_only)
{
	int r = 0;

	for (unsigned i = 0; i < n && !r; i++) {
		unsigned e = text_only ? FTP_TEXT_EXT + (unsigned)rng_below(&t->r, ARRAY_SIZE(ftp_exts) -
									      FTP_TEXT_EXT)
				       : (unsigned)rng_below(&t->r, ARRAY_SIZE(ftp_exts));
		uint64_t size = (uint64_t)MAX(0.0, model_draw(t->m, "file_size", &t->r, 64 << 10));
		time_t age = (time_t)(rng_unit(&t->r) * rng_unit(&t->r) * 3 * 365 * 86400.0);
		char *path;

		switch (rng_below(&t->r, 3)) {
		case 0:
			path = xasprintf("%s/%s%s", dir, content_word(rng_next(&t->r)), ftp_exts[e]);
			break;
		case 1:
			path = xasprintf("%s/%s-%s%s", dir, content_word(rng_next(&t->r)),
					 content_word(rng_next(&t->r)), ftp_exts[e]);
			break;
		default:
			path = xasprintf("%s/%s-%u.%u.%u%s", dir, content_word(rng_next(&t->r)),
					 (unsigned)rng_below(&t->r, 5), (unsigned)rng_below(&t->r, 20),
					 (unsigned)rng_below(&t->r, 10), ftp_exts[e]);
			break;
		}
		r = ftree_file(t, path, MIN(size, FTP_MAX_FILE), e >= FTP_TEXT_EXT, age);
		free(path);
	}
	return r;
}

static void set_age(const char *path, time_t when)
{
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };

	utimensat(AT_FDCWD, path, ts, 0);
}

static int ftree_build(const char *root, const struct model *m, const struct content *ct,
		       uint64_t seed)
{
	static const char *const subdirs[] = { "archive", "old", "releases", "v2", "extra", "backup" };
	struct ftree t = { .m = m, .ct = ct, .now = time(NULL), .left = FTP_BUDGET };
	char *pub = xasprintf("%s/pub", root), *docs = xasprintf("%s/docs", root), *p;
	unsigned ndirs;
	int r;

	rng_seed(&t.r, seed);
	ndirs = (unsigned)MAX(1.0, MIN(500.0, model_draw(m, "dirs", &t.r, 12)));
	if ((r = make_dir(pub, 0755)) || (r = make_dir(docs, 0755)))
		goto out;
	r = ftree_fill(&t, docs, (unsigned)MIN(200.0, MAX(1.0, model_draw(m, "dir_files", &t.r, 10))),
		       true);
	p = xasprintf("%s/README", root);
	if (!r)
		r = ftree_file(&t, p, 1500 + rng_below(&t.r, 3000), true, 30 * 86400);
	free(p);
	p = xasprintf("%s/welcome.msg", root);
	if (!r)
		r = ftree_file(&t, p, 200 + rng_below(&t.r, 400), true, 60 * 86400);
	free(p);
	for (unsigned i = 0; i < ndirs && !r; i++) {
		const char *w = content_word(rng_next(&t.r));
		char *d;

		if (strlen(w) < 3)
			continue;
		d = xasprintf("%s/%s", pub, w);
		if (!(r = make_dir(d, 0755)))
			r = ftree_fill(&t, d, (unsigned)MIN(200.0, MAX(0.0, model_draw(m, "dir_files", &t.r, 10))),
				       false);
		if (!r && rng_unit(&t.r) < 0.3) {
			char *sd = xasprintf("%s/%s", d, subdirs[rng_below(&t.r, ARRAY_SIZE(subdirs))]);

			if (!(r = make_dir(sd, 0755)))
				r = ftree_fill(&t, sd, (unsigned)MIN(200.0, MAX(0.0, model_draw(m, "dir_files", &t.r, 10))),
					       false);
			set_age(sd, t.now - (time_t)rng_below(&t.r, 900) * 86400);
			free(sd);
		}
		set_age(d, t.now - (time_t)rng_below(&t.r, 700) * 86400);
		free(d);
	}
	set_age(docs, t.now - 90 * 86400);
	set_age(pub, t.now - 200 * 86400);
out:
	free(docs);
	free(pub);
	return r;
}

static int setup_vsftpd(struct setup *s, char *err, size_t errlen)
{
	char *root = xasprintf("%s/tree", s->dir), *in = xasprintf("%s/tree/incoming", s->dir);
	char *pamd = xasprintf("%s/pam.d", s->dir), *empty = xasprintf("%s/empty", s->dir);
	struct content ct = { 0 };
	struct model *m = NULL;
	const char *anon = "ftp";
	int r;

	/* Anonymous sessions run as 'ftp' (else 'nobody'); named ones are
	 * guests mapped to the same user: no account of the machine is
	 * used, and any password is taken (PAM's pam_permit, from a PAM
	 * directory of our own bound over /etc/pam.d for vsftpd alone). */
	if (!getpwnam(anon))
		anon = "nobody";
	if ((r = find_user(anon, "vsftpd", &s->pw, err, errlen)))
		goto out;
	if (!(m = load_model(s, PROTO_FTP, err, errlen))) {
		r = -EINVAL;
		goto out;
	}
	if ((r = make_dir(root, 0755)) || (r = make_dir(in, 0755)) || (r = make_dir(pamd, 0755)) ||
	    (r = make_dir(empty, 0755)))
		goto fail;
	/* the drop box takes uploads, and deletions, from the sessions */
	if (geteuid() == 0 && chown(in, s->pw.pw_uid, s->pw.pw_gid) < 0) {
		r = -errno;
		goto fail;
	}
	content_init(&ct, s->seed ^ rng_hash(s->host, strlen(s->host), 21));
	if ((r = ftree_build(root, m, &ct, s->seed ^ rng_hash(s->host, strlen(s->host), 20))))
		goto fail;
	set_age(in, time(NULL) - 300 * 86400);
	set_age(root, time(NULL) - 400 * 86400);
	if ((r = write_file(pamd, "dynamo-ftp",
			    "# written by dynamo: vsftpd's logins in an emulated host\n"
			    "auth required pam_permit.so\naccount required pam_permit.so\n"
			    "session required pam_permit.so\n")))
		goto fail;
	launch_bind(&s->L, pamd, "/etc/pam.d");
	s->L.argv[1] = xasprintf("%s/vsftpd.conf", s->dir);
	r = write_file(s->dir, "vsftpd.conf",
		"# written by dynamo: private to this run\n"
		"listen=YES\nlisten_ipv6=NO\nlisten_port=%u\nbackground=NO\nseccomp_sandbox=NO\n"
		"anonymous_enable=YES\nno_anon_password=NO\nanon_root=%s\n"
		"local_enable=YES\nguest_enable=YES\nguest_username=%s\nftp_username=%s\n"
		"local_root=%s\nchroot_local_user=YES\npam_service_name=dynamo-ftp\n"
		"write_enable=YES\nanon_upload_enable=YES\nanon_other_write_enable=YES\n"
		"anon_mkdir_write_enable=NO\nanon_umask=022\n"
		"secure_chroot_dir=%s\n"
		"pasv_enable=YES\nport_enable=NO\npasv_min_port=%u\npasv_max_port=%u\n"
		"ascii_upload_enable=NO\nascii_download_enable=NO\n"
		"dirmessage_enable=NO\nhide_ids=YES\nuse_localtime=NO\n"
		"max_clients=500\nmax_per_ip=200\nidle_session_timeout=120\n"
		"xferlog_enable=YES\nvsftpd_log_file=%s/log\ndual_log_enable=NO\n",
		s->port, root, s->pw.pw_name, s->pw.pw_name, root, empty, FTP_PASV_MIN, FTP_PASV_MAX,
		s->dir);
fail:
	if (r && !err[0])
		snprintf(err, errlen, "vsftpd: cannot make its files in %s: %s", s->dir, strerror(-r));
out:
	content_free(&ct);
	model_free(m);
	free(empty);
	free(pamd);
	free(in);
	free(root);
	return r;
}

/* ---- postgres: the schema the PostgreSQL client assumes -------------------- */

/* See the top of postgresql.c: role app, database app, three tables. */
static const char pg_roles[] =
	"CREATE ROLE app LOGIN PASSWORD 'app';\n\n"
	"CREATE DATABASE app OWNER app;\n\n";
static const char pg_schema[] =
	"SET ROLE app;\n\n"
	"CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL,"
	" created_at timestamptz NOT NULL DEFAULT now());\n\n"
	"CREATE TABLE orders (id serial PRIMARY KEY, user_id integer NOT NULL,"
	" amount numeric(10,2) NOT NULL, status text NOT NULL,"
	" created_at timestamptz NOT NULL DEFAULT now());\n\n"
	"CREATE TABLE posts (id serial PRIMARY KEY, user_id integer NOT NULL, title text NOT NULL,"
	" body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n\n"
	"CREATE INDEX ON orders (user_id);\n\n"
	"INSERT INTO users (name, email) SELECT 'user ' || g, 'user' || g || '@example.com'"
	" FROM generate_series(1, 10000) g;\n\n"
	"INSERT INTO orders (user_id, amount, status) SELECT 1 + g % 10000, (g % 50000) / 100.0,"
	" 'paid' FROM generate_series(1, 50000) g;\n\n"
	"INSERT INTO posts (user_id, title, body) SELECT 1 + g % 10000, 'post ' || g,"
	" repeat('lorem ipsum ', 1 + g % 300) FROM generate_series(1, 20000) g;\n\n"
	"ANALYZE;\n\n";

static int pg_single(struct setup *s, const char *db, const char *sql, const char *what, char *err,
		     size_t errlen)
{
	struct launch L = { .drop = s->L.drop, .uid = s->L.uid, .gid = s->L.gid, .user = s->L.user };
	char *data = xasprintf("%s/data", s->dir);
	int r;

	L.stdin_file = xasprintf("%s/%s.sql", s->dir, db);
	r = write_file(s->dir, strrchr(L.stdin_file, '/') + 1, "%s", sql);
	L.argv[0] = xstrdup(s->bin);
	L.argv[1] = xstrdup("--single");
	L.argv[2] = xstrdup("-j");
	L.argv[3] = xstrdup("-D");
	L.argv[4] = xstrdup(data);
	L.argv[5] = xstrdup(db);
	if (r)
		snprintf(err, errlen, "postgres: cannot write %s: %s", L.stdin_file, strerror(-r));
	else
		r = run_tool(&L, s->dir, what, err, errlen);
	launch_free(&L);
	free(data);
	return r;
}

static int setup_postgres(struct setup *s, char *err, size_t errlen)
{
	struct launch L = { 0 };
	char real[PATH_MAX], *data = xasprintf("%s/data", s->dir), *initdb = NULL;
	int r;

	/* It refuses to run as root: as root it runs as 'postgres'. */
	if (geteuid() == 0) {
		if ((r = find_user("postgres", "postgres (it refuses to run as root)", &s->pw, err,
				   errlen)))
			goto out;
		s->L.drop = true;
		s->L.uid = s->pw.pw_uid;
		s->L.gid = s->pw.pw_gid;
		s->L.user = s->pw.pw_name;
		if (chown(s->dir, s->pw.pw_uid, s->pw.pw_gid) < 0) {
			r = -errno;
			snprintf(err, errlen, "postgres: cannot give %s to postgres: %s", s->dir,
				 strerror(-r));
			goto out;
		}
	}
	if (!realpath(s->bin, real)) {
		r = -errno;
		snprintf(err, errlen, "postgres: %s: %s", s->bin, strerror(-r));
		goto out;
	}
	initdb = xasprintf("%s/initdb", dirname(real));
	if (access(initdb, X_OK)) {
		snprintf(err, errlen, "postgres: initdb is not installed (looked for %s)", initdb);
		r = -ENOENT;
		goto out;
	}
	L = (struct launch){ .drop = s->L.drop, .uid = s->L.uid, .gid = s->L.gid, .user = s->L.user };
	L.argv[0] = xstrdup(initdb);
	L.argv[1] = xstrdup("-D");
	L.argv[2] = xstrdup(data);
	L.argv[3] = xstrdup("-U");
	L.argv[4] = xstrdup("postgres");
	L.argv[5] = xstrdup("-A");
	L.argv[6] = xstrdup("trust");
	L.argv[7] = xstrdup("-E");
	L.argv[8] = xstrdup("UTF8");
	L.argv[9] = xstrdup("--locale=C");
	L.argv[10] = xstrdup("--no-sync");
	if ((r = run_tool(&L, s->dir, "initdb", err, errlen)))
		goto out;
	/* The files initdb made are the postgres user's; appending and
	 * rewriting them keeps their owner. */
	{
		char *conf = xasprintf("%s/postgresql.conf", data);
		FILE *f = fopen(conf, "ae");

		if (f) {
			fprintf(f, "\n# written by dynamo: private to this run\n"
				   "listen_addresses = '*'\nport = %u\nunix_socket_directories = '%s'\n"
				   "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
				   "max_connections = 200\nshared_buffers = 32MB\n"
				   "logging_collector = off\nlog_destination = 'stderr'\n"
				   "password_encryption = 'scram-sha-256'\ntimezone = 'UTC'\n",
				s->port, s->dir);
			if (fclose(f))
				f = NULL;
		}
		r = f ? 0 : -errno;
		free(conf);
	}
	if (!r)
		r = write_file(data, "pg_hba.conf",
			       "# written by dynamo: the server socket trusts its own dir, the\n"
			       "# network logs in with a password\n"
			       "local all all trust\n"
			       "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n");
	if (r) {
		snprintf(err, errlen, "postgres: cannot write its configuration: %s", strerror(-r));
		goto out;
	}
	if ((r = pg_single(s, "postgres", pg_roles, "postgres: making role and database app", err,
			   errlen)) ||
	    (r = pg_single(s, "app", pg_schema, "postgres: making the schema of database app", err,
			   errlen)))
		goto out;
	s->L.argv[1] = xstrdup("-D");
	s->L.argv[2] = xstrdup(data);
out:
	launch_free(&L);
	free(initdb);
	free(data);
	return r;
}

/* ---- sshd: the SSH agent's pretend shell ------------------------------------ */

static int ssh_keyfile(ssh_key key, const char *path)
{
	int r = 0;

	unlink(path);
	/* libssh writes with the umask's mode: tighten it before. */
	{
		mode_t old = umask(077);

		if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) != SSH_OK)
			r = -EIO;
		umask(old);
	}
	if (!r && chmod(path, 0600) < 0)
		r = -errno;
	return r;
}

static int setup_sshd(struct setup *s, char *err, size_t errlen)
{
	static const char *const records[] = { "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog" };
	ssh_key host = NULL, client = NULL;
	char *pub = NULL, *hpath = xasprintf("%s/host_key", s->dir);
	char *cpath = xasprintf("%s/client_key", s->dir);
	char exe[PATH_MAX], *empty = xasprintf("%s/empty", s->dir);
	struct passwd *pw = getpwuid(geteuid());
	struct spwd *sp;
	ssize_t n;
	int r = 0;

	if (!pw) {
		snprintf(err, errlen, "sshd: the user running dynamo (uid %u) has no name",
			 (unsigned)geteuid());
		return -ENOENT;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen, "sshd needs root (or root in a user namespace) for its privilege "
			 "separation");
		r = -EPERM;
		goto out;
	}
	if (!getpwnam("sshd")) {
		snprintf(err, errlen, "sshd needs its privilege separation user 'sshd', which does "
			 "not exist");
		r = -ENOENT;
		goto out;
	}
	if (rootless() && !id_mapped(getpwnam("sshd")->pw_uid, false)) {
		snprintf(err, errlen, "sshd drops to the user 'sshd' before login, which is not "
			 "mapped into this user namespace: in a rootless run only the caller is");
		r = -EPERM;
		goto out;
	}
	/* The client logs in as the user running dynamo, with a key made
	 * here; whatever it types goes to dynamo fake-shell, which only
	 * pretends (ForceCommand).  sshd refuses an account whose password
	 * is locked when PAM is off. */
	sp = getspnam(pw->pw_name);
	if (sp && sp->sp_pwdp && sp->sp_pwdp[0] == '!') {
		snprintf(err, errlen, "sshd refuses logins to the locked account %s (its password in "
			 "/etc/shadow starts with '!'), which the client logs in as", pw->pw_name);
		r = -EPERM;
		goto out;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		r = -errno;
		snprintf(err, errlen, "sshd: cannot find dynamo's own binary: %s", strerror(-r));
		goto out;
	}
	exe[n] = 0;
	if (strpbrk(exe, "'\"\\\n ") || strpbrk(s->host, "'\"\\\n ")) {
		snprintf(err, errlen, "sshd: the path %s cannot be put in its ForceCommand", exe);
		r = -EINVAL;
		goto out;
	}
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &host) != SSH_OK ||
	    ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &client) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(client, &pub) != SSH_OK) {
		snprintf(err, errlen, "sshd: cannot make its keys");
		r = -EPROTO;
		goto out;
	}
	if ((r = ssh_keyfile(host, hpath)) || (r = ssh_keyfile(client, cpath)) ||
	    (r = write_file(s->dir, "authorized_keys", "restrict,pty ssh-ed25519 %s dynamo\n", pub)) ||
	    (r = write_file(s->dir, "client_user", "%s\n", pw->pw_name)) ||
	    (r = write_file(s->dir, "empty", "%s", "")) ||
	    (r = write_file(s->dir, "sshd_config",
		"# written by dynamo: private to this run\n"
		"Port %u\nListenAddress 0.0.0.0\nHostKey %s\nPidFile %s/sshd.pid\n"
		"AuthorizedKeysFile %s/authorized_keys\nStrictModes no\nAllowUsers %s\n"
		"PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
		"PermitRootLogin prohibit-password\nUsePAM no\nUseDNS no\n"
		"AllowTcpForwarding no\nAllowStreamLocalForwarding no\nAllowAgentForwarding no\n"
		"X11Forwarding no\nPermitTunnel no\nPermitUserEnvironment no\nPermitUserRC no\n"
		"PrintMotd no\nPrintLastLog no\nMaxStartups 200\nMaxSessions 20\nLogLevel INFO\n"
		/* whatever the client asks to run, this runs, and it only pretends */
		"ForceCommand exec %s fake-shell --host %s --seed %llu\n",
		s->port, hpath, s->dir, s->dir, pw->pw_name, exe, s->host,
		(unsigned long long)(s->seed ^ rng_hash(s->host, strlen(s->host), 22))))) {
		snprintf(err, errlen, "sshd: cannot write its files in %s: %s", s->dir, strerror(-r));
		goto out;
	}
	/* A mount namespace of its own: its privilege separation directory
	 * (/run/sshd, on a private /run when the machine has none) and the
	 * login records it writes (wtmp, btmp, lastlog; utmp is in /run),
	 * bound to files of ours; the login shell runs ForceCommand with
	 * -c, and the user's ~/.bashrc, which Debian's bash reads then, is
	 * hidden behind an empty file. */
	if (access("/run/sshd", F_OK)) {
		char real[PATH_MAX];

		if (realpath(s->dir, real) && !strncmp(real, "/run/", 5)) {
			snprintf(err, errlen, "sshd needs /run/sshd, which this machine lacks, and its "
				 "directory %s is under /run: set TMPDIR elsewhere", s->dir);
			r = -ENOENT;
			goto out;
		}
		s->L.run_tmpfs = true;
	} else if (!access("/run/utmp", F_OK)) {
		char *utmp = xasprintf("%s/utmp", s->dir);

		if (!(r = write_file(s->dir, "utmp", "%s", "")))
			launch_bind(&s->L, utmp, "/run/utmp");
		free(utmp);
		if (r)
			goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(records); i++) {
		const char *base = strrchr(records[i], '/') + 1;
		char *mine = xasprintf("%s/%s", s->dir, base);

		if (!access(records[i], F_OK) && !(r = write_file(s->dir, base, "%s", "")))
			launch_bind(&s->L, mine, records[i]);
		free(mine);
		if (r)
			goto out;
	}
	{
		char *rc = xasprintf("%s/.bashrc", pw->pw_dir);

		if (!access(rc, F_OK))
			launch_bind(&s->L, empty, rc);
		free(rc);
	}
	s->L.argv[1] = xstrdup("-D");
	s->L.argv[2] = xstrdup("-e");
	s->L.argv[3] = xstrdup("-f");
	s->L.argv[4] = xasprintf("%s/sshd_config", s->dir);
out:
	ssh_string_free_char(pub);
	ssh_key_free(host);
	ssh_key_free(client);
	free(empty);
	free(cpath);
	free(hpath);
	return r;
}

/* ---- start and stop --------------------------------------------------------- */

int program_start(const struct program_def *d, const char *dir, const char *host, uint32_t addr,
		  uint16_t port, const char *datadir, const char *model, uint64_t seed, int timeout_ms,
		  struct program *out, char *err, size_t errlen)
{
	struct setup s = { .d = d, .dir = dir, .host = host, .datadir = datadir, .model = model,
			   .addr = addr, .port = port, .seed = seed };
	char tail[320], *log;
	uint64_t end;
	int r, fd;

	memset(out, 0, sizeof(*out));
	out->def = d;
	out->pid = -1;
	err[0] = 0;
	s.bin = program_path(d);
	if (!s.bin) {
		program_missing(d, err, errlen);
		return -ENOENT;
	}
	/* Others than us (postgres, nginx's workers) pass through it: it
	 * may be passed, not listed; its secrets are 0600. */
	if ((mkdir(dir, 0711) < 0 && errno != EEXIST) || chmod(dir, 0711) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	out->dir = xstrdup(dir);
	/* ... and so is the run's directory above it. */
	{
		char *parent = xstrdup(dir), *slash = strrchr(parent, '/');

		if (slash && slash != parent) {
			*slash = 0;
			chmod(parent, 0711);
		}
		free(parent);
	}
	log = xasprintf("%s/log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	free(log);
	if (fd >= 0)
		close(fd);
	s.L.argv[0] = xstrdup(s.bin);
	switch (d->protos & -d->protos) {
	case P(PROTO_REDIS): r = setup_redis(&s, err, errlen); break;
	case P(PROTO_MQTT): r = setup_mosquitto(&s, err, errlen); break;
	case P(PROTO_HTTP): r = setup_nginx(&s, err, errlen); break;
	case P(PROTO_DNS): r = setup_dnsmasq(&s, err, errlen); break;
	case P(PROTO_FTP): r = setup_vsftpd(&s, err, errlen); break;
	case P(PROTO_POSTGRESQL): r = setup_postgres(&s, err, errlen); break;
	case P(PROTO_SSH): r = setup_sshd(&s, err, errlen); break;
	default: r = -ENOTSUP; break;
	}
	if (r) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot write its configuration in %s: %s", d->name,
				 dir, strerror(-r));
		goto out;
	}
	out->pid = spawn(&s.L, dir);
	if (out->pid < 0) {
		r = out->pid;
		out->pid = -1;
		snprintf(err, errlen, "fork: %s", strerror(-r));
		goto out;
	}
	if (s.helper > 0) {
		setpgid(s.helper, out->pid);
		out->helper = s.helper;
		s.helper = 0;
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
	if (s.helper > 0) {
		kill(s.helper, SIGKILL);
		waitpid(s.helper, NULL, 0);
	}
	launch_free(&s.L);
	free_user(&s.pw);
	if (r)
		program_stop(out);
	return r;
}

void program_stop(struct program *p)
{
	if (p->pid > 0) {
		uint64_t end = loop_clock() + (uint64_t)STOP_MS * 1000000;
		siginfo_t si;

		kill(p->pid, p->def->stop_signal);
		for (;;) {
			struct timespec ts = { 0, 10000000 };

			/* Exited, but not reaped: its group id stays ours. */
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
			    si.si_pid == p->pid || loop_clock() > end)
				break;
			nanosleep(&ts, NULL);
		}
		/* What is left of it: sessions, workers, nginx's site writer. */
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->helper > 0) {
		kill(p->helper, SIGKILL);
		waitpid(p->helper, NULL, 0);
	}
	p->pid = -1;
	p->helper = 0;
	free(p->dir);
	p->dir = NULL;
}
