/* ssh.c - the remote-access agent: an SSH server that plays a Debian
 * host's login shell, and users who log in with a password, type
 * commands one key at a time, read the output, now and then copy a file
 * down or up, and log out.  The protocol is libssh's (0.10), client and
 * server, in non-blocking mode inside the host's event loop.
 *
 * How libssh is driven.  libssh reads and writes the socket itself, and
 * only after its own poll() said the descriptor is ready (socket.c), so
 * it can share the descriptor with our loop.  The server accepts and
 * hands the socket over (ssh_bind_accept_fd); the client lets
 * ssh_connect() make its own, non-blocking.  Either way libssh owns and
 * closes it, and we watch the same descriptor with a struct io.  When
 * it is ready we "pump": a zero-timeout ssh_event_dopoll() on an
 * ssh_event holding only this session, which reads at most 4 KiB, runs
 * the packet handlers and our callbacks, and flushes pending output.
 * IO_OUT is watched only while ssh_get_poll_flags() says libssh has
 * output waiting.  The calls that take round trips (the server's
 * ssh_handle_key_exchange; the client's ssh_connect,
 * ssh_userauth_password, ssh_channel_open_session and the channel
 * requests) return SSH_AGAIN and are called again on the next event,
 * each pumping once itself.  Server key exchange is resumable in 0.10:
 * it keeps its state and picks up where it was, so no thread is needed.
 *
 * One ssh_event per session, not one per host: libssh's calls pump the
 * poll context the session's socket is in, and a shared one would poll
 * every session's descriptor on every call.  A session joins its event
 * once the handshake made its default context; the handshake calls
 * pump that one until then.
 *
 * libssh habits worked around, as read in its 0.10 source:
 * - when its connecting socket becomes writable it makes it blocking
 *   (ssh_socket_pollcallback), which would stall the whole loop on a
 *   large send; the client puts O_NONBLOCK back after each ssh_connect.
 *   As libssh reads only after POLLIN and writes only after POLLOUT, a
 *   non-blocking socket never shows it an EAGAIN, which it would take
 *   for a broken connection.
 * - it may close the socket inside a pump (a DISCONNECT from the peer,
 *   a write error); ssh_get_fd() then says SSH_INVALID_SOCKET and we
 *   stop watching before anything else can reuse the number.
 * - a packet leaves only after a POLLOUT seen with nothing queued, and
 *   whatever is written is buffered whole; so bulk data is written a
 *   chunk at a time, once the previous chunk has left and within the
 *   peer's window, and DISCONNECT is sent only with nothing queued.
 * - ssh_channel_close() needs a second call when the EOF it sends first
 *   could not be flushed at once (chan_close).
 *
 * Callbacks from inside libssh only record what happened (and, for
 * typed keys, write the echo); everything that may free or close runs
 * afterwards at the top of the io or timer callback.
 *
 * Memory: an idle logged-in session (terminal open, at the prompt) holds
 * about 24 KiB of heap on each side, measured with 2000 of them: ours is
 * 1.1 KiB (server) and 0.7 KiB (client), the rest libssh's session, its
 * buffers and cipher contexts.  Far above the 8 KiB of an idle web
 * session, and accepted for SSH, whose sessions are few and long. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "../engine/conn.h"
#include "../engine/pace.h"
#include "../lib/util.h"
#include "agent.h"
#include "ssh.h"

/* ======================================================================
 * The shell the server plays.  Pure functions of their input (and the
 * shell's state), so the fuzz target can drive them.
 * ==================================================================== */

/* The made-up file tree: directories, with their entries ("name/" a
 * directory, "name@" a link, else a file).  "~" is the user's home. */
static const struct fdir {
	const char *path;
	const char *ents;
} dirs[] = {
	{ "~", "Documents/ Downloads/ projects/ .bashrc .profile .bash_history .ssh/ notes.txt "
	       "todo.md backup.tar.gz data.csv" },
	{ "~/Documents", "meeting-notes.txt report-q3.pdf budget.xlsx contract-draft.odt" },
	{ "~/Downloads", "debian-12.8.0-amd64-netinst.iso archive.zip photo-0412.jpg slides.pdf" },
	{ "~/projects", "webapp/ scripts/ README.md Makefile" },
	{ "~/projects/webapp", ".git/ src/ static/ package.json README.md server.js" },
	{ "~/projects/scripts", "backup.sh deploy.sh rotate-logs.sh" },
	{ "~/.ssh", "authorized_keys known_hosts config" },
	{ "/", "bin@ boot/ dev/ etc/ home/ lib@ media/ mnt/ opt/ proc/ root/ run/ sbin@ srv/ sys/ "
	       "tmp/ usr/ var/" },
	{ "/etc", "hostname hosts os-release passwd group fstab crontab resolv.conf ssh/ nginx/ "
		  "systemd/" },
	{ "/var", "backups/ cache/ lib/ log/ mail/ opt/ spool/ tmp/ www/" },
	{ "/var/log", "syslog auth.log kern.log dpkg.log daemon.log nginx/ apt/ journal/" },
	{ "/srv", "data/ backup/" },
	{ "/srv/data", "dataset-2024.csv images.tar.gz export.json dump.sql.gz" },
	{ "/srv/backup", "db-monday.sql.gz db-tuesday.sql.gz www.tar.gz" },
	{ "/tmp", "systemd-private-3f1c/ tmp.k3Jd8sQ2 upload/" },
	{ "/home", "~/" },
	{ "/usr", "bin/ include/ lib/ local/ sbin/ share/ src/" },
};

#define HOME 0          /* dirs[HOME] is "~" */

static const char *const mons[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

static void out_raw(const struct ssh__out *o, const char *p, size_t n)
{
	if (n)
		o->put(o->arg, p, n);
}

static void out_str(const struct ssh__out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

/* Text with \n line ends, written with \r\n on a terminal. */
static void out_text(const struct ssh__out *o, const char *p, size_t n)
{
	size_t at = 0;

	if (o->crlf) {
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '\n' || (i && p[i - 1] == '\r'))
				continue;
			out_raw(o, p + at, i - at);
			out_raw(o, "\r\n", 2);
			at = i + 1;
		}
	}
	out_raw(o, p + at, n - at);
}

static void __attribute__((format(printf, 2, 3))) say(const struct ssh__out *o, const char *fmt, ...)
{
	char b[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_text(o, b, MIN((size_t)n, sizeof(b) - 1));
}

static uint64_t hash(const char *s, uint64_t seed)
{
	return rng_hash(s, strlen(s), seed);
}

/* The host's short name (to the first dot), at most 63 bytes. */
static void short_host(const struct ssh__shell *sh, char *out, size_t len)
{
	size_t n = strcspn(sh->host, ".");

	n = MIN(n, len - 1);
	memcpy(out, sh->host, n);
	out[n] = 0;
}

/* The time t as "Tue Nov 19 09:41:12" parts, in UTC. */
static void when(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, tm))
		memset(tm, 0, sizeof(*tm));
	if (tm->tm_mon < 0 || tm->tm_mon > 11)
		tm->tm_mon = 0;
	if (tm->tm_wday < 0 || tm->tm_wday > 6)
		tm->tm_wday = 0;
}

void ssh__shell_init(struct ssh__shell *sh, const char *user, const char *host, int64_t now,
		     bool interactive)
{
	size_t n = 0;

	memset(sh, 0, sizeof(*sh));
	for (const char *p = user ? user : ""; *p && n < SSH__USER_MAX - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			sh->user[n++] = *p;
	if (!n)
		strcpy(sh->user, "user");
	sh->host = host && *host ? host : "server";
	sh->now = now;
	sh->interactive = interactive;
	sh->cwd = HOME;
}

/* A path as the file tree keys it: "~..." under the home directory. */
static void tree_key(const struct ssh__shell *sh, const char *abs, char *out, size_t len)
{
	char home[64];
	size_t hl = (size_t)snprintf(home, sizeof(home), "/home/%s", sh->user);

	if (!strncmp(abs, home, hl) && (abs[hl] == 0 || abs[hl] == '/'))
		snprintf(out, len, "~%s", abs + hl);
	else
		snprintf(out, len, "%s", abs);
}

static int dir_find(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (!strcmp(dirs[i].path, key))
			return (int)i;
	return -1;
}

/* The absolute path of directory d. */
static void dir_abs(const struct ssh__shell *sh, int d, char *out, size_t len)
{
	const char *p = dirs[d].path;

	if (p[0] == '~')
		snprintf(out, len, "/home/%s%s", sh->user, p + 1);
	else
		snprintf(out, len, "%s", p);
}

/* arg resolved against the current directory into a clean absolute
 * path ("." and ".." gone); false when it does not fit. */
static bool resolve(const struct ssh__shell *sh, const char *arg, char *out, size_t len)
{
	char tmp[512], *comp[32], *save = NULL;
	size_t nc = 0, at = 0;

	if (!arg || !*arg || !strcmp(arg, "~"))
		snprintf(tmp, sizeof(tmp), "/home/%s", sh->user);
	else if (!strncmp(arg, "~/", 2))
		snprintf(tmp, sizeof(tmp), "/home/%s/%s", sh->user, arg + 2);
	else if (arg[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", arg);
	else {
		char cwd[128];

		dir_abs(sh, sh->cwd, cwd, sizeof(cwd));
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, arg);
	}
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (nc)
				nc--;
			continue;
		}
		if (nc == ARRAY_SIZE(comp))
			return false;
		comp[nc++] = c;
	}
	if (len < 2)
		return false;
	out[at++] = '/';
	for (size_t i = 0; i < nc; i++) {
		size_t cl = strlen(comp[i]);

		if (at + cl + 2 > len)
			return false;
		if (i)
			out[at++] = '/';
		memcpy(out + at, comp[i], cl);
		at += cl;
	}
	out[at] = 0;
	return true;
}

/* One entry of a directory's list. */
struct ent {
	char name[64];
	char kind;      /* 'd', 'l' or '-' */
};

/* The i-th entry of directory d; false past the end. */
static bool dir_ent(const struct ssh__shell *sh, int d, size_t i, struct ent *e)
{
	const char *p = dirs[d].ents;

	for (;;) {
		size_t n = strcspn(p, " ");

		if (!n)
			return false;
		if (!i--) {
			char last = p[n - 1];

			e->kind = last == '/' ? 'd' : last == '@' ? 'l' : '-';
			if (e->kind != '-')
				n--;
			if (n == 1 && p[0] == '~')      /* /home holds the user's home */
				snprintf(e->name, sizeof(e->name), "%s", sh->user);
			else
				snprintf(e->name, sizeof(e->name), "%.*s", (int)MIN(n, 63), p);
			return true;
		}
		p += n;
		p += strspn(p, " ");
	}
}

enum { F_NONE, F_DIR, F_FILE };

/* What an absolute path is in the tree; for a directory *d is its
 * index (or -1 for one that exists but is not modelled), for a file the
 * name is in base. */
static int lookup(const struct ssh__shell *sh, const char *abs, int *d, char *base, size_t blen)
{
	char key[512], parent[512];
	const char *slash;
	struct ent e;
	int pd;

	tree_key(sh, abs, key, sizeof(key));
	*d = dir_find(key);
	if (*d >= 0)
		return F_DIR;
	slash = strrchr(abs, '/');
	if (!slash)
		return F_NONE;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash == abs ? 1 : slash - abs), abs);
	tree_key(sh, parent, key, sizeof(key));
	pd = dir_find(key);
	if (pd < 0)
		return F_NONE;
	for (size_t i = 0; dir_ent(sh, pd, i, &e); i++) {
		if (strcmp(e.name, slash + 1))
			continue;
		snprintf(base, blen, "%s", e.name);
		return e.kind == '-' ? F_FILE : F_DIR;
	}
	return F_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool is_binary(const char *name)
{
	static const char *const exts[] = {
		".gz", ".zip", ".iso", ".jpg", ".png", ".pdf", ".xlsx", ".odt", ".tar", ".bin",
	};

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (ends_with(name, exts[i]))
			return true;
	return false;
}

static bool is_log(const char *name)
{
	return ends_with(name, ".log") || !strcmp(name, "syslog") || ends_with(name, ".csv") ||
	       ends_with(name, ".json");
}

/* A file's size: small text files, larger logs, heavy-tailed archives;
 * fixed per name, so ls and cat agree. */
static uint64_t file_size(const char *name)
{
	uint64_t h = hash(name, 0x55aa);

	if (is_binary(name))
		return (64u << 10) + h % (8u << 20) * (((h >> 40) & 3) == 0 ? 8 : 1);
	if (is_log(name))
		return (40u << 10) + h % (600u << 10);
	return 180 + h % 6000;
}

static void human(uint64_t n, char *out, size_t len)
{
	static const char units[] = "KMGT";
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, len, "%u", (unsigned)n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (v < 10)
		snprintf(out, len, "%.1f%c", v, units[u]);
	else
		snprintf(out, len, "%.0f%c", v, units[u]);
}

/* ---- the commands ------------------------------------------------------ */

#define MAX_ARGS 16

struct cmd_ctx {
	struct ssh__shell *sh;
	const struct ssh__out *o;
	struct ssh__job *job;
	int argc;
	char **argv;
	const char *redirect;   /* the file after '>', or NULL */
};

static void not_found(struct cmd_ctx *x, const char *cmd, const char *path)
{
	say(x->o, "%s: %s: No such file or directory\n", cmd, path);
	x->job->status = 1;
}

static void cmd_ls(struct cmd_ctx *x)
{
	bool longf = false, all = false, hum = false;
	const char *path = NULL;
	char abs[512], base[64], buf[96];
	struct ent e;
	struct tm tm;
	int d, kind, col = 0;

	for (int i = 1; i < x->argc; i++) {
		const char *a = x->argv[i];

		if (a[0] == '-') {
			longf |= strchr(a, 'l') != NULL;
			all |= strchr(a, 'a') != NULL;
			hum |= strchr(a, 'h') != NULL;
		} else if (!path) {
			path = a;
		}
	}
	if (!resolve(x->sh, path ? path : ".", abs, sizeof(abs)) ||
	    (kind = lookup(x->sh, abs, &d, base, sizeof(base))) == F_NONE) {
		say(x->o, "ls: cannot access '%s': No such file or directory\n", path ? path : ".");
		x->job->status = 2;
		return;
	}
	if (kind == F_FILE) {
		if (longf) {
			when(x->sh->now - (int64_t)(hash(base, 3) % 8000000), &tm);
			say(x->o, "-rw-r--r-- 1 %s %s %llu %s %2d %02d:%02d %s\n", x->sh->user,
			    x->sh->user, (unsigned long long)file_size(base), mons[tm.tm_mon],
			    tm.tm_mday, tm.tm_hour, tm.tm_min, path);
		} else {
			say(x->o, "%s\n", path);
		}
		return;
	}
	if (d < 0) {
		say(x->o, "ls: cannot open directory '%s': Permission denied\n", path ? path : ".");
		x->job->status = 2;
		return;
	}
	if (longf) {
		uint64_t total = 8;

		for (size_t i = 0; dir_ent(x->sh, d, i, &e); i++)
			total += e.kind == '-' ? file_size(e.name) / 1024 + 4 : 4;
		say(x->o, "total %llu\n", (unsigned long long)total);
		if (all) {
			say(x->o, "drwxr-xr-x 5 %s %s 4096 %s %2d %02d:%02d .\n", x->sh->user,
			    x->sh->user, "Nov", 18, 9, 12);
			say(x->o, "drwxr-xr-x 3 root root 4096 %s %2d %02d:%02d ..\n", "Mar", 2, 14, 31);
		}
	} else if (all) {
		out_str(x->o, ".  ..  ");
		col = 6;
	}
	for (size_t i = 0; dir_ent(x->sh, d, i, &e); i++) {
		bool home = dirs[d].path[0] == '~' || !strcmp(dirs[d].path, "/home");
		const char *owner = home ? x->sh->user : "root";

		if (e.name[0] == '.' && !all)
			continue;
		if (!longf) {
			size_t w = strlen(e.name) + 2;

			if (col && col + w > 80) {
				out_text(x->o, "\n", 1);
				col = 0;
			}
			say(x->o, "%s  ", e.name);
			col += (int)w;
			continue;
		}
		when(x->sh->now - (int64_t)(hash(e.name, 3) % 8000000), &tm);
		if (e.kind == '-') {
			uint64_t sz = file_size(e.name);

			if (hum)
				human(sz, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "%llu", (unsigned long long)sz);
		} else {
			snprintf(buf, sizeof(buf), "%s", e.kind == 'l' ? "7" : hum ? "4.0K" : "4096");
		}
		say(x->o, "%s %u %s %s %5s %s %2d %02d:%02d %s%s\n",
		    e.kind == 'd' ? "drwxr-xr-x" : e.kind == 'l' ? "lrwxrwxrwx" :
		    ends_with(e.name, ".sh") ? "-rwxr-xr-x" : "-rw-r--r--",
		    e.kind == 'd' ? 2 + (unsigned)(hash(e.name, 5) % 6) : 1, owner, owner, buf,
		    mons[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, e.name,
		    e.kind == 'l' ? " -> usr/lib" : "");
	}
	if (!longf && col)
		out_text(x->o, "\n", 1);
}

static void cmd_cd(struct cmd_ctx *x)
{
	const char *arg = x->argc > 1 ? x->argv[1] : "~";
	char abs[512], base[64];
	int d, kind;

	if (!strcmp(arg, "-"))
		arg = "~";
	if (!resolve(x->sh, arg, abs, sizeof(abs)) ||
	    (kind = lookup(x->sh, abs, &d, base, sizeof(base))) == F_NONE) {
		say(x->o, "-bash: cd: %s: No such file or directory\n", arg);
		x->job->status = 1;
	} else if (kind == F_FILE) {
		say(x->o, "-bash: cd: %s: Not a directory\n", arg);
		x->job->status = 1;
	} else if (d < 0) {
		say(x->o, "-bash: cd: %s: Permission denied\n", arg);
		x->job->status = 1;
	} else {
		x->sh->cwd = (uint8_t)d;
	}
}

static void cmd_pwd(struct cmd_ctx *x)
{
	char abs[128];

	dir_abs(x->sh, x->sh->cwd, abs, sizeof(abs));
	say(x->o, "%s\n", abs);
}

/* The few files whose text is known; NULL for the rest. */
static bool file_text(struct cmd_ctx *x, const char *abs)
{
	char h[64];

	short_host(x->sh, h, sizeof(h));
	if (!strcmp(abs, "/etc/hostname")) {
		say(x->o, "%s\n", h);
	} else if (!strcmp(abs, "/etc/os-release")) {
		say(x->o, "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
			  "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"
			  "ID=debian\nHOME_URL=\"https://www.debian.org/\"\n"
			  "SUPPORT_URL=\"https://www.debian.org/support\"\n"
			  "BUG_REPORT_URL=\"https://bugs.debian.org/\"\n");
	} else if (!strcmp(abs, "/etc/hosts")) {
		say(x->o, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\t\tlocalhost ip6-localhost "
			  "ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n", h);
	} else if (!strcmp(abs, "/etc/passwd")) {
		say(x->o, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			  "bin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
			  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
			  "sshd:x:104:65534::/run/sshd:/usr/sbin/nologin\n"
			  "postgres:x:105:111:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n"
			  "%s:x:1000:1000:%s,,,:/home/%s:/bin/bash\n", x->sh->user, x->sh->user,
		    x->sh->user);
	} else if (!strcmp(abs, "/etc/resolv.conf")) {
		say(x->o, "domain lan\nsearch lan\nnameserver 10.0.0.1\n");
	} else {
		return false;
	}
	return true;
}

/* cat, head, tail, less: print (part of) a file; the bulk of it is
 * streamed by the caller from the shared content. */
static void cmd_show(struct cmd_ctx *x)
{
	const char *cmd = x->argv[0], *path = NULL;
	uint64_t lines = 0, bytes = 0, size;
	char abs[512], base[64];
	int d, kind;

	for (int i = 1; i < x->argc; i++) {
		const char *a = x->argv[i];

		if ((!strcmp(a, "-n") || !strcmp(a, "-c")) && i + 1 < x->argc) {
			uint64_t v = strtoull(x->argv[i + 1], NULL, 10);

			if (a[1] == 'n')
				lines = v ? v : 1;
			else
				bytes = v;
			i++;
		} else if (a[0] == '-' && a[1] >= '0' && a[1] <= '9') {
			lines = strtoull(a + 1, NULL, 10);
		} else if (a[0] != '-' && !path) {
			path = a;
		}
	}
	if (x->redirect && !strcmp(cmd, "cat")) {
		/* cat > FILE: a copy into the server, its data on stdin. */
		x->job->sink = !x->sh->interactive;
		return;
	}
	if (!path) {
		if (!strcmp(cmd, "cat"))
			x->job->sink = !x->sh->interactive;
		return;
	}
	if (!resolve(x->sh, path, abs, sizeof(abs)) ||
	    (kind = lookup(x->sh, abs, &d, base, sizeof(base))) == F_NONE) {
		not_found(x, cmd, path);
		return;
	}
	if (kind == F_DIR) {
		say(x->o, "%s: %s: Is a directory\n", cmd, path);
		x->job->status = 1;
		return;
	}
	if (file_text(x, abs))
		return;
	size = file_size(base);
	if (bytes)
		size = MIN(bytes, 1ull << 40);
	else if (lines || strcmp(cmd, "cat"))
		size = MIN(size, (lines ? lines : 10) * 72 + (strcmp(cmd, "less") ? 0 : 1800));
	x->job->bulk = size;
	x->job->key = hash(abs, 11);
	x->job->binary = is_binary(base);
}

static void cmd_wc(struct cmd_ctx *x)
{
	char abs[512], base[64];
	int d;

	if (x->argc < 2)
		return;
	for (int i = 1; i < x->argc; i++) {
		const char *p = x->argv[i];

		if (p[0] == '-')
			continue;
		if (!resolve(x->sh, p, abs, sizeof(abs)) ||
		    lookup(x->sh, abs, &d, base, sizeof(base)) != F_FILE) {
			not_found(x, "wc", p);
			continue;
		}
		say(x->o, "%llu %s\n", (unsigned long long)(file_size(base) / 64), p);
	}
}

static const char *const daemons[] = {
	"systemd[1]", "CRON", "sshd", "kernel", "nginx", "postgres", "rsyslogd", "dhclient",
};

static void cmd_grep(struct cmd_ctx *x)
{
	const char *pat = NULL, *path = NULL;
	char abs[512], base[64], h[64];
	struct tm tm;
	uint64_t k;
	int d;

	for (int i = 1; i < x->argc; i++) {
		if (x->argv[i][0] == '-')
			continue;
		if (!pat)
			pat = x->argv[i];
		else if (!path)
			path = x->argv[i];
	}
	if (!pat) {
		say(x->o, "Usage: grep [OPTION]... PATTERNS [FILE]...\n");
		x->job->status = 2;
		return;
	}
	if (!path)
		return;
	if (!resolve(x->sh, path, abs, sizeof(abs)) ||
	    lookup(x->sh, abs, &d, base, sizeof(base)) != F_FILE) {
		say(x->o, "grep: %s: No such file or directory\n", path);
		x->job->status = 2;
		return;
	}
	short_host(x->sh, h, sizeof(h));
	k = hash(pat, x->sh->now / 60);
	for (unsigned i = 0, n = 2 + (unsigned)(k % 6); i < n; i++) {
		uint64_t r = k + i * 7919;

		when(x->sh->now - (int64_t)((n - i) * 613 + r % 97), &tm);
		say(x->o, "%s %2d %02d:%02d:%02d %s %s[%u]: %s %s %s %s\n", mons[tm.tm_mon],
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, h,
		    daemons[r % ARRAY_SIZE(daemons)], 300 + (unsigned)(r % 30000),
		    content_word(r >> 8), pat, content_word(r >> 16), content_word(r >> 24));
	}
}

/* Processes on the box: user, pid, vsz, rss, stat, command. */
static const struct proc {
	const char *user;       /* NULL: the logged-in user */
	unsigned pid, vsz, rss;
	const char *stat, *cmd; /* cmd "sshd:" + " USER [priv]" or "USER@pts/0" */
} procs[] = {
	{ "root", 1, 168412, 11920, "Ss", "/sbin/init" },
	{ "root", 2, 0, 0, "S", "[kthreadd]" },
	{ "root", 3, 0, 0, "I<", "[rcu_gp]" },
	{ "root", 12, 0, 0, "S", "[ksoftirqd/0]" },
	{ "root", 13, 0, 0, "I", "[rcu_preempt]" },
	{ "root", 14, 0, 0, "S", "[migration/0]" },
	{ "root", 241, 48868, 16384, "Ss", "/lib/systemd/systemd-journald" },
	{ "root", 268, 26124, 6912, "Ss", "/lib/systemd/systemd-udevd" },
	{ "systemd+", 402, 90208, 6528, "Ssl", "/lib/systemd/systemd-timesyncd" },
	{ "root", 455, 6612, 2688, "Ss", "/usr/sbin/cron -f" },
	{ "message+", 456, 9128, 4864, "Ss",
	  "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile" },
	{ "root", 459, 222508, 6016, "Ssl", "/usr/sbin/rsyslogd -n -iNONE" },
	{ "root", 461, 25408, 7936, "Ss", "/lib/systemd/systemd-logind" },
	{ "root", 512, 15432, 9216, "Ss", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups" },
	{ "root", 520, 5872, 1792, "Ss+", "/sbin/agetty -o -p -- \\u --noclear - linux" },
	{ "root", 534, 10488, 1684, "Ss", "nginx: master process /usr/sbin/nginx -g daemon on;" },
	{ "www-data", 535, 11136, 5380, "S", "nginx: worker process" },
	{ "www-data", 536, 11136, 5380, "S", "nginx: worker process" },
	{ "postgres", 611, 215812, 29780, "Ss",
	  "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main" },
	{ "postgres", 613, 215944, 7032, "Ss", "postgres: 15/main: checkpointer" },
	{ "postgres", 614, 215812, 5856, "Ss", "postgres: 15/main: background writer" },
	{ "postgres", 616, 215812, 10020, "Ss", "postgres: 15/main: walwriter" },
	{ "root", 702, 1801516, 48116, "Ssl", "/usr/bin/containerd" },
	{ "root", 811, 17524, 3008, "Ss", "/usr/sbin/exim4 -bd -q30m" },
	{ NULL, 2281, 18944, 10368, "Ss", "/lib/systemd/systemd --user" },
	{ "root", 2290, 17300, 10880, "Ss", "sshd: [priv]" },
	{ NULL, 2296, 17560, 6856, "S", "sshd: @pts/0" },
	{ NULL, 2297, 8700, 5504, "Ss", "-bash" },
	{ NULL, 2391, 11084, 4352, "R+", "ps aux" },
};

#define MEM_KIB 4009164u

static void cmd_ps(struct cmd_ctx *x)
{
	char u[9], cmd[128];

	if (x->argc < 2) {
		say(x->o, "    PID TTY          TIME CMD\n   2297 pts/0    00:00:00 bash\n"
			  "   2391 pts/0    00:00:00 ps\n");
		return;
	}
	say(x->o, "USER         PID %%CPU %%MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n");
	for (size_t i = 0; i < ARRAY_SIZE(procs); i++) {
		const struct proc *p = &procs[i];
		unsigned cpu = (unsigned)(hash(p->cmd, x->sh->now / 5) % 7);

		snprintf(u, sizeof(u), "%.8s", p->user ? p->user : x->sh->user);
		if (!strcmp(p->cmd, "sshd: [priv]"))
			snprintf(cmd, sizeof(cmd), "sshd: %s [priv]", x->sh->user);
		else if (!strcmp(p->cmd, "sshd: @pts/0"))
			snprintf(cmd, sizeof(cmd), "sshd: %s@pts/0", x->sh->user);
		else
			snprintf(cmd, sizeof(cmd), "%s", p->cmd);
		say(x->o, "%-8s %7u %2u.%u %4.1f %6u %5u %-8s %-4s %5s %6s %s\n", u, p->pid,
		    cpu / 5, cpu % 5, p->rss * 100.0 / MEM_KIB, p->vsz, p->rss,
		    p->pid >= 2296 ? "pts/0" : "?", p->stat, p->pid >= 2281 ? "09:12" : "Nov18",
		    p->pid >= 2281 ? "0:00" : "0:04", cmd);
	}
}

static void uptime_line(struct cmd_ctx *x, char *out, size_t len)
{
	struct tm tm;
	uint64_t up = 86400 * 12 + (uint64_t)(x->sh->now % 86400);
	unsigned l = (unsigned)(hash(x->sh->host, x->sh->now / 60) % 40);

	when(x->sh->now, &tm);
	snprintf(out, len, " %02d:%02d:%02d up %u days, %2u:%02u,  1 user,  load average: 0.%02u, "
		 "0.%02u, 0.%02u", tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(up / 86400),
		 (unsigned)(up % 86400 / 3600), (unsigned)(up % 3600 / 60), l, l / 2 + 5, l / 3 + 4);
}

static void cmd_top(struct cmd_ctx *x)
{
	char line[160];
	uint64_t k = hash(x->sh->host, x->sh->now);

	if (x->sh->interactive)
		out_str(x->o, "\033[?1049h\033[H\033[2J");
	uptime_line(x, line, sizeof(line));
	say(x->o, "top -%s\n", line);
	say(x->o, "Tasks: %3u total,   1 running, %3u sleeping,   0 stopped,   0 zombie\n",
	    112 + (unsigned)(k % 5), 111 + (unsigned)(k % 5));
	say(x->o, "%%Cpu(s):  %u.%u us,  0.%u sy,  0.0 ni, 9%u.%u id,  0.%u wa,  0.0 hi,  0.0 si,"
		  "  0.0 st\n", (unsigned)(k % 4), (unsigned)(k >> 8) % 10, (unsigned)(k >> 12) % 10,
	    6 + (unsigned)(k >> 16) % 3, (unsigned)(k >> 20) % 10, (unsigned)(k >> 24) % 10);
	say(x->o, "MiB Mem :   3915.2 total,    %3u.%u free,    870.1 used,   2432.7 buff/cache\n"
		  "MiB Swap:   1024.0 total,   1024.0 free,      0.0 used.   2745.3 avail Mem \n\n",
	    600 + (unsigned)(k >> 28) % 40, (unsigned)(k >> 32) % 10);
	say(x->o, "    PID USER      PR  NI    VIRT    RES    SHR S  %%CPU  %%MEM     TIME+ "
		  "COMMAND\n");
	for (size_t i = 0; i < ARRAY_SIZE(procs) && i < 18; i++) {
		const struct proc *p = &procs[(i * 7 + 24) % ARRAY_SIZE(procs)];
		const char *c = strrchr(p->cmd, '/');

		snprintf(line, sizeof(line), "%s", c && p->cmd[0] == '/' ? c + 1 : p->cmd);
		line[strcspn(line, " ")] = 0;
		say(x->o, "%7u %-8.8s  20   0 %7u %6u %6u %c %5.1f %5.1f %6u:%02u.%02u %s\n", p->pid,
		    p->user ? p->user : x->sh->user, p->vsz, p->rss, p->rss / 2,
		    p->stat[0] == 'R' ? 'R' : p->stat[0] == 'I' ? 'I' : 'S',
		    (double)(hash(p->cmd, k) % 30) / 10, p->rss * 100.0 / MEM_KIB, p->pid % 7,
		    p->pid % 60, p->pid % 100, line);
	}
	if (x->sh->interactive)
		out_str(x->o, "\033[?1049l");
}

static void cmd_uname(struct cmd_ctx *x)
{
	const char *a = x->argc > 1 ? x->argv[1] : "-s";
	char h[64];

	short_host(x->sh, h, sizeof(h));
	if (!strcmp(a, "-a"))
		say(x->o, "Linux %s 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 "
			  "(2024-11-22) x86_64 GNU/Linux\n", h);
	else if (!strcmp(a, "-r"))
		say(x->o, "6.1.0-28-amd64\n");
	else if (!strcmp(a, "-n"))
		say(x->o, "%s\n", h);
	else if (!strcmp(a, "-m"))
		say(x->o, "x86_64\n");
	else
		say(x->o, "Linux\n");
}

static void cmd_date(struct cmd_ctx *x)
{
	struct tm tm;

	when(x->sh->now, &tm);
	say(x->o, "%s %s %2d %02d:%02d:%02d UTC %d\n", wdays[tm.tm_wday], mons[tm.tm_mon],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

static void cmd_uptime(struct cmd_ctx *x)
{
	char line[160];

	uptime_line(x, line, sizeof(line));
	say(x->o, "%s\n", line);
}

static void cmd_w(struct cmd_ctx *x)
{
	char line[160];

	uptime_line(x, line, sizeof(line));
	say(x->o, "%s\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n"
		  "%-8.8s pts/0    10.0.3.17        09:12    0.00s  0.03s  0.00s w\n", line,
	    x->sh->user);
}

static void cmd_who(struct cmd_ctx *x)
{
	say(x->o, "%-8.8s pts/0        2024-11-19 09:12 (10.0.3.17)\n", x->sh->user);
}

static void cmd_whoami(struct cmd_ctx *x)
{
	say(x->o, "%s\n", x->sh->user);
}

static void cmd_id(struct cmd_ctx *x)
{
	say(x->o, "uid=1000(%s) gid=1000(%s) groups=1000(%s),24(cdrom),25(floppy),27(sudo),"
		  "29(audio),30(dip),44(video),46(plugdev),100(users)\n", x->sh->user, x->sh->user,
	    x->sh->user);
}

static void cmd_hostname(struct cmd_ctx *x)
{
	char h[64];

	short_host(x->sh, h, sizeof(h));
	say(x->o, "%s\n", h);
}

static void cmd_df(struct cmd_ctx *x)
{
	unsigned used = 9 + (unsigned)(hash(x->sh->host, 17) % 20);

	say(x->o, "Filesystem      Size  Used Avail Use%% Mounted on\n"
		  "udev            1.9G     0  1.9G   0%% /dev\n"
		  "tmpfs           392M  1.1M  391M   1%% /run\n"
		  "/dev/vda1        39G   %2uG   %2uG  %2u%% /\n"
		  "tmpfs           2.0G     0  2.0G   0%% /dev/shm\n"
		  "tmpfs           5.0M     0  5.0M   0%% /run/lock\n"
		  "/dev/vda15      124M   12M  113M  10%% /boot/efi\n"
		  "tmpfs           392M     0  392M   0%% /run/user/1000\n",
	    used, 37 - used, used * 100 / 37);
}

static void cmd_free(struct cmd_ctx *x)
{
	unsigned f = 600 + (unsigned)(hash(x->sh->host, x->sh->now / 10) % 40);

	say(x->o, "               total        used        free      shared  buff/cache   available\n"
		  "Mem:            3915         %3u         %3u          12        2432        2745\n"
		  "Swap:           1023           0        1023\n", 1483 - f, f);
}

static void cmd_du(struct cmd_ctx *x)
{
	char buf[16];
	struct ent e;

	for (int i = 1; i < x->argc; i++) {
		const char *a = x->argv[i];

		if (a[0] == '-')
			continue;
		if (!strcmp(a, "*")) {
			for (size_t j = 0; dir_ent(x->sh, x->sh->cwd, j, &e); j++) {
				if (e.name[0] == '.')
					continue;
				human(e.kind == 'd' ? hash(e.name, 9) % (200u << 20) + 4096 :
				      file_size(e.name), buf, sizeof(buf));
				say(x->o, "%s\t%s\n", buf, e.name);
			}
			return;
		}
		human(hash(a, 9) % (200u << 20) + 4096, buf, sizeof(buf));
		say(x->o, "%s\t%s\n", buf, a);
		return;
	}
	human(hash(dirs[x->sh->cwd].path, 9) % (900u << 20) + 4096, buf, sizeof(buf));
	say(x->o, "%s\t.\n", buf);
}

static void cmd_ip(struct cmd_ctx *x)
{
	uint64_t k = hash(x->sh->host, 23);

	say(x->o, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default "
		  "qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
		  "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n"
		  "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group "
		  "default qlen 1000\n    link/ether 52:54:00:%02x:%02x:%02x brd ff:ff:ff:ff:ff:ff\n"
		  "    inet 10.0.%u.%u/24 brd 10.0.%u.255 scope global eth0\n"
		  "       valid_lft forever preferred_lft forever\n",
	    (unsigned)(k & 0xff), (unsigned)(k >> 8 & 0xff), (unsigned)(k >> 16 & 0xff),
	    (unsigned)(k >> 24 & 0xff), 2 + (unsigned)(k >> 32) % 250, (unsigned)(k >> 24 & 0xff));
}

static void cmd_systemctl(struct cmd_ctx *x)
{
	const char *unit = x->argc > 2 ? x->argv[2] : "nginx";
	char u[64];
	struct tm tm;

	snprintf(u, sizeof(u), "%.*s", (int)strcspn(unit, "."), unit);
	if (x->argc < 2 || strcmp(x->argv[1], "status")) {
		say(x->o, "Failed to %s unit: Access denied\n", x->argc > 1 ? x->argv[1] : "list");
		x->job->status = 1;
		return;
	}
	when(x->sh->now - 86400 * 12, &tm);
	say(x->o, "\xe2\x97\x8f %s.service - %s\n     Loaded: loaded (/lib/systemd/system/%s.service; "
		  "enabled; preset: enabled)\n     Active: active (running) since %s %d-%02d-%02d "
		  "%02d:%02d:%02d UTC; 1 week 5 days ago\n       Docs: man:%s(8)\n"
		  "   Main PID: %u (%s)\n      Tasks: 3 (limit: 4645)\n     Memory: %u.%uM\n"
		  "        CPU: %us\n     CGroup: /system.slice/%s.service\n",
	    u, "A high performance web server and a reverse proxy server", u, wdays[tm.tm_wday],
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, u,
	    534u, u, 5 + (unsigned)(hash(u, 1) % 30), (unsigned)(hash(u, 2) % 10),
	    1 + (unsigned)(hash(u, 3) % 90), u);
}

static void cmd_git(struct cmd_ctx *x)
{
	const char *sub = x->argc > 1 ? x->argv[1] : "";

	if (strncmp(dirs[x->sh->cwd].path, "~/projects/webapp", 17)) {
		say(x->o, "fatal: not a git repository (or any of the parent directories): .git\n");
		x->job->status = 128;
		return;
	}
	if (!strcmp(sub, "status")) {
		say(x->o, "On branch main\nYour branch is up to date with 'origin/main'.\n\n"
			  "Changes not staged for commit:\n  (use \"git add <file>...\" to update what "
			  "will be committed)\n  (use \"git restore <file>...\" to discard changes in "
			  "working directory)\n\tmodified:   server.js\n\tmodified:   src/routes.js\n\n"
			  "no changes added to commit (use \"git add\" and/or \"git commit -a\")\n");
	} else if (!strcmp(sub, "log")) {
		for (unsigned i = 0; i < 5; i++) {
			uint64_t k = hash("log", i + (uint64_t)x->sh->now / 86400);

			say(x->o, "%07llx %s %s %s\n", (unsigned long long)(k & 0xfffffff),
			    i % 2 ? "Fix" : "Add", content_word(k >> 8), content_word(k >> 20));
		}
	} else {
		say(x->o, "git: '%s' is not a git command. See 'git --help'.\n", sub);
		x->job->status = 1;
	}
}

static const char *const past[] = {
	"ls -l", "cd projects/webapp", "git pull", "npm run build", "sudo systemctl restart nginx",
	"tail -f /var/log/nginx/error.log", "df -h", "cd", "vim notes.txt", "ps aux | grep node",
};

static void cmd_history(struct cmd_ctx *x)
{
	for (size_t i = 0; i < ARRAY_SIZE(past); i++)
		say(x->o, "%5zu  %s\n", 480 + i, past[i]);
}

static void cmd_echo(struct cmd_ctx *x)
{
	char abs[128];

	for (int i = 1; i < x->argc; i++) {
		const char *a = x->argv[i], *v = a;

		if (!strcmp(a, "$HOME")) {
			snprintf(abs, sizeof(abs), "/home/%s", x->sh->user);
			v = abs;
		} else if (!strcmp(a, "$USER")) {
			v = x->sh->user;
		} else if (!strcmp(a, "$SHELL")) {
			v = "/bin/bash";
		} else if (!strcmp(a, "$PWD")) {
			dir_abs(x->sh, x->sh->cwd, abs, sizeof(abs));
			v = abs;
		}
		say(x->o, "%s%s", i > 1 ? " " : "", v);
	}
	out_text(x->o, "\n", 1);
}

static void cmd_clear(struct cmd_ctx *x)
{
	out_str(x->o, "\033[H\033[2J\033[3J");
}

static void cmd_exit(struct cmd_ctx *x)
{
	if (x->sh->interactive)
		say(x->o, "logout\n");
	x->job->logout = true;
	x->job->status = x->argc > 1 ? atoi(x->argv[1]) & 0xff : 0;
}

static void cmd_false(struct cmd_ctx *x)
{
	x->job->status = 1;
}

static void cmd_nothing(struct cmd_ctx *x)
{
	(void)x;
}

static void cmd_sudo(struct cmd_ctx *x)
{
	say(x->o, "%s is not in the sudoers file.\n", x->sh->user);
	x->job->status = 1;
}

static void cmd_which(struct cmd_ctx *x)
{
	for (int i = 1; i < x->argc; i++)
		say(x->o, "/usr/bin/%s\n", x->argv[i]);
}

static const struct command {
	const char *name;
	void (*fn)(struct cmd_ctx *x);
} commands[] = {
	{ "ls", cmd_ls }, { "ll", cmd_ls }, { "cd", cmd_cd }, { "pwd", cmd_pwd },
	{ "cat", cmd_show }, { "head", cmd_show }, { "tail", cmd_show }, { "less", cmd_show },
	{ "more", cmd_show }, { "wc", cmd_wc }, { "grep", cmd_grep }, { "ps", cmd_ps },
	{ "top", cmd_top }, { "htop", cmd_top }, { "uname", cmd_uname }, { "date", cmd_date },
	{ "uptime", cmd_uptime }, { "w", cmd_w }, { "who", cmd_who }, { "whoami", cmd_whoami },
	{ "id", cmd_id }, { "hostname", cmd_hostname }, { "df", cmd_df }, { "free", cmd_free },
	{ "du", cmd_du }, { "ip", cmd_ip }, { "ifconfig", cmd_ip }, { "systemctl", cmd_systemctl },
	{ "git", cmd_git }, { "history", cmd_history }, { "echo", cmd_echo },
	{ "clear", cmd_clear }, { "exit", cmd_exit }, { "logout", cmd_exit },
	{ "true", cmd_nothing }, { "false", cmd_false }, { "sleep", cmd_nothing },
	{ "sudo", cmd_sudo }, { "which", cmd_which }, { "touch", cmd_nothing },
	{ "mkdir", cmd_nothing }, { "vim", cmd_nothing }, { "nano", cmd_nothing },
};

/* Split a line into words (quotes kept together) copied into out,
 * stopping at a pipe, ';' or '&' (only the first command runs); the
 * word after '>' is the redirect.  out holds at least 2 * len + 2. */
static int split(const char *p, char *out, size_t outlen, char **argv, const char **redirect)
{
	size_t at = 0;
	int argc = 0;

	*redirect = NULL;
	for (;;) {
		bool redir = false;
		char *w;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '>') {
			redir = true;
			while (*p == '>' || *p == ' ' || *p == '\t')
				p++;
		}
		if (!*p || *p == '|' || *p == ';' || *p == '&' || at + 2 > outlen)
			break;
		w = out + at;
		while (*p && !strchr(" \t|;&>", *p)) {
			if (*p == '"' || *p == '\'') {
				char q = *p++;

				for (; *p && *p != q; p++)
					if (at + 2 < outlen)
						out[at++] = *p;
				if (*p)
					p++;
				continue;
			}
			if (at + 2 < outlen)
				out[at++] = *p;
			p++;
		}
		out[at++] = 0;
		if (redir)
			*redirect = w;
		else if (argc < MAX_ARGS)
			argv[argc++] = w;
	}
	return argc;
}

void ssh__run(struct ssh__shell *sh, const char *cmd, size_t n, const struct ssh__out *o,
	      struct ssh__job *job)
{
	char line[SSH__LINE_MAX + 1], words[2 * SSH__LINE_MAX + 2], *argv[MAX_ARGS + 1];
	struct cmd_ctx x = { .sh = sh, .o = o, .job = job, .argv = argv };

	memset(job, 0, sizeof(*job));
	n = MIN(n, SSH__LINE_MAX);
	memcpy(line, cmd, n);
	line[n] = 0;
	/* A NUL typed inside the line ends it, as in a C string. */
	x.argc = split(line, words, sizeof(words), argv, &x.redirect);
	argv[x.argc] = NULL;
	if (!x.argc)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, argv[0]))
			continue;
		commands[i].fn(&x);
		return;
	}
	if (sh->interactive)
		say(o, "-bash: %s: command not found\n", argv[0]);
	else
		say(o, "bash: line 1: %s: command not found\n", argv[0]);
	job->status = 127;
}

void ssh__prompt(const struct ssh__shell *sh, const struct ssh__out *o)
{
	const char *d = dirs[sh->cwd < ARRAY_SIZE(dirs) ? sh->cwd : HOME].path;
	char h[64], b[512];
	int n;

	short_host(sh, h, sizeof(h));
	/* Debian's bashrc: the xterm title, then user@host:dir$ */
	n = snprintf(b, sizeof(b), "\033]0;%s@%s: %s\007%s@%s:%s$ ", sh->user, h, d, sh->user, h, d);
	if (n > 0)
		out_raw(o, b, MIN((size_t)n, sizeof(b) - 1));
}

void ssh__greet(const struct ssh__shell *sh, const struct ssh__out *o)
{
	uint64_t k = hash(sh->user, 31);
	char h[64];
	struct tm tm;

	short_host(sh, h, sizeof(h));
	when(sh->now - 3600 * 20 - (int64_t)(k % 86400), &tm);
	say(o, "Linux %s 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) "
	       "x86_64\n\nThe programs included with the Debian GNU/Linux system are free "
	       "software;\nthe exact distribution terms for each program are described in the\n"
	       "individual files in /usr/share/doc/*/copyright.\n\nDebian GNU/Linux comes with "
	       "ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n", h);
	say(o, "Last login: %s %s %2d %02d:%02d:%02d %d from 10.0.%u.%u\n", wdays[tm.tm_wday],
	    mons[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900,
	    (unsigned)(k >> 8 & 0xff), 2 + (unsigned)(k >> 16) % 250);
	ssh__prompt(sh, o);
}

size_t ssh__input(struct ssh__shell *sh, const char *p, size_t n, const struct ssh__out *o,
		  struct ssh__job *job)
{
	memset(job, 0, sizeof(*job));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool cr = sh->cr;

		sh->cr = false;
		if (sh->esc) {
			/* ESC [ params final, ESC O x, or ESC x: keys we ignore */
			if (sh->esc == 1)
				sh->esc = c == '[' ? 2 : c == 'O' ? 3 : 0;
			else if (sh->esc == 2)
				sh->esc = c >= 0x40 && c <= 0x7e ? 0 : 2;
			else
				sh->esc = 0;
			continue;
		}
		switch (c) {
		case 0x1b:
			sh->esc = 1;
			break;
		case '\n':
			if (cr)
				break;
			/* fall through */
		case '\r':
			sh->cr = c == '\r';
			out_raw(o, "\r\n", 2);
			ssh__run(sh, sh->line, sh->len, o, job);
			sh->len = 0;
			job->ran = true;
			if (!job->bulk && !job->logout)
				ssh__prompt(sh, o);
			return i + 1;
		case 0x7f:
		case 0x08:
			if (!sh->len) {
				out_raw(o, "\a", 1);
				break;
			}
			/* a whole UTF-8 character */
			while (sh->len > 1 && ((unsigned char)sh->line[sh->len - 1] & 0xc0) == 0x80)
				sh->len--;
			sh->len--;
			out_raw(o, "\b \b", 3);
			break;
		case 0x03:      /* ^C */
			out_raw(o, "^C\r\n", 4);
			sh->len = 0;
			ssh__prompt(sh, o);
			break;
		case 0x04:      /* ^D: logout on an empty line */
			if (sh->len)
				break;
			out_raw(o, "logout\r\n", 8);
			job->logout = true;
			return i + 1;
		case 0x15:      /* ^U: kill the line */
			if (sh->len) {
				out_raw(o, "\r\033[K", 4);
				sh->len = 0;
				ssh__prompt(sh, o);
			}
			break;
		case 0x0c:      /* ^L: clear the screen */
			out_raw(o, "\033[H\033[2J", 7);
			ssh__prompt(sh, o);
			out_raw(o, sh->line, sh->len);
			break;
		default:
			if (c < 0x20) {
				if (c == '\t')
					out_raw(o, "\a", 1);
				break;
			}
			if (sh->len >= SSH__LINE_MAX - 1) {
				out_raw(o, "\a", 1);
				break;
			}
			sh->line[sh->len++] = (char)c;
			out_raw(o, (const char *)&c, 1);
			break;
		}
	}
	return n;
}

bool ssh__prompt_seen(const char *tail, size_t n)
{
	const char *bel;
	size_t i;
	bool at = false, colon = false;

	if (n < 4 || tail[n - 1] != ' ' || tail[n - 2] != '$')
		return false;
	bel = NULL;
	for (i = n; i > 0; i--) {
		if (tail[i - 1] == '\a') {
			bel = tail + i;
			break;
		}
		if (tail[i - 1] == '\n' || tail[i - 1] == '\r')
			return false;
	}
	if (!bel)
		return false;
	for (const char *p = bel; p < tail + n - 2; p++) {
		at |= *p == '@';
		colon |= at && *p == ':';
	}
	return at && colon;
}

/* ======================================================================
 * libssh plumbing both sides share
 * ==================================================================== */

/* The one password the server takes, for any user name.  It lives only
 * inside the emulation: the server runs in an emulated host's private
 * network namespace, and no real account or system is behind it. */
#define PASSWORD "dynamo-emulated"

#define CHUNK (64u << 10)       /* bulk data handed to libssh per write */
#define PUMPS 16                /* polls per readiness event, 4 KiB each */
#define WATCH_NS 200000000ull   /* a client looks at host->stopping this often */
#define LOGIN_NS (30ull * 1000000000)   /* server: key exchange and login */
#define IDLE_NS (600ull * 1000000000)   /* server: a logged-in session with no input */
#define WAIT_NS (30ull * 1000000000)    /* client: patience with the server */
#define STOP_NS 1000000000ull           /* client: patience once the run ends */
#define MAX_AUTH 6              /* password tries per connection */
#define SRV_CHANS 2             /* a terminal and a file copy at once */

/* Let libssh read (at most 4 KiB a poll) and write what the socket
 * takes, running the packet handlers and our callbacks. */
static void pump(ssh_event ev)
{
	for (int i = 0; i < PUMPS; i++)
		if (ssh_event_dopoll(ev, 0) != SSH_OK)
			break;
}

/* Watch what libssh waits for on its socket; false when it is gone. */
static bool watch(struct loop *l, struct io *io, ssh_session s)
{
	unsigned mask = IO_IN;

	if (ssh_get_fd(s) == SSH_INVALID_SOCKET || ssh_get_fd(s) != io->fd) {
		loop_io_stop(l, io);
		return false;
	}
	if (ssh_get_poll_flags(s) & SSH_WRITE_PENDING)
		mask |= IO_OUT;
	if (loop_io_set(l, io, mask) < 0) {
		loop_io_stop(l, io);
		return false;
	}
	return true;
}

/* The connection ended or broke (the socket may be closed already). */
static bool dead(ssh_session s)
{
	return !ssh_is_connected(s) || ssh_get_fd(s) == SSH_INVALID_SOCKET ||
	       (ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR));
}

/* A failure the peer caused by breaking the protocol, as opposed to
 * going away (a reset, an EOF, a DISCONNECT). */
static bool peer_error(ssh_session s)
{
	const char *e = ssh_get_error(s);

	return ssh_get_error_code(s) == SSH_FATAL && e && *e &&
	       strncmp(e, "Socket error", 12) && strncmp(e, "Received SSH_MSG_DISCONNECT", 27);
}

/* Send CLOSE.  It takes a second call when the EOF before it could not
 * be flushed at once: libssh then returns SSH_AGAIN with only the EOF
 * queued. */
static void chan_close(ssh_channel ch)
{
	for (int i = 0; i < 3 && ssh_channel_close(ch) == SSH_AGAIN; i++)
		;
}

/* n bytes of content for a stream at offset off. */
static const char *stream_bytes(const struct content *ct, bool binary, uint64_t key, uint64_t off,
				size_t n)
{
	return content_get(ct, binary ? CONTENT_BINARY : CONTENT_TEXT,
			   key ^ (off * 0x9e3779b97f4a7c15ull), n);
}

/* Write the next piece of a stream on ch: only once libssh's output
 * has left (else it would buffer it all) and within the peer's window.
 * Returns bytes written, or -1 when the channel broke. */
static int64_t stream(ssh_session s, ssh_channel ch, const struct content *ct, bool binary,
		      uint64_t key, uint64_t off, uint64_t left)
{
	size_t n = (size_t)MIN(left, (uint64_t)MIN(ssh_channel_window_size(ch), CHUNK));
	int r;

	if (!n || (ssh_get_poll_flags(s) & SSH_WRITE_PENDING))
		return 0;
	r = ssh_channel_write(ch, stream_bytes(ct, binary, key, off, n), (uint32_t)n);
	return r < 0 ? -1 : r;
}

/* ======================================================================
 * The server
 * ==================================================================== */

struct ssess;

struct server {
	struct io io;
	struct timer pause;             /* accepting paused (out of descriptors) */
	struct host *host;
	struct stats *st;
	ssh_bind bind;                  /* holds the host key */
	struct ssess *sessions;         /* live sessions */
	struct server *next;
};

/* Every server of this process.  Agents have no stop hook, so a server
 * lives until the process ends; the list keeps it (and its sessions)
 * reachable until then. */
static struct server *servers;

enum { SC_FREE, SC_OPEN, SC_SHELL, SC_EXEC };

struct schan {
	ssh_channel ch;
	uint8_t kind;
	bool pty, greet, run, eof, closed, sinking, logout;
	bool binary;
	int status;                     /* exit status once the bulk is out */
	uint64_t left, off, key;        /* bulk output still to send */
	struct ssh__shell sh;
};

struct ssess {
	struct io io;
	struct timer idle;
	struct defer d;
	struct server *srv;
	struct ssess *next, **pprev;
	ssh_session s;
	ssh_event ev;
	struct ssh_server_callbacks_struct scb;
	struct ssh_channel_callbacks_struct ccb;   /* shared by its channels */
	uint64_t born, last;            /* loop clock */
	char user[SSH__USER_MAX];
	uint8_t fails;
	bool kexed, authed, kick;
	struct schan ch[SRV_CHANS];
};

/* Output of the shell to a channel, gathered so that a command's answer
 * leaves in one packet rather than one per line. */
struct swriter {
	struct ssess *ss;
	struct schan *c;
	size_t n;
	char b[4096];
};

static void sw_flush(struct swriter *w)
{
	size_t at = 0;

	while (at < w->n) {
		uint32_t win = ssh_channel_window_size(w->c->ch);
		int r;

		/* A peer that stopped reading loses the rest of a text
		 * answer; bulk data waits for its window instead. */
		if (!win)
			break;
		r = ssh_channel_write(w->c->ch, w->b + at, (uint32_t)MIN(w->n - at, win));
		if (r <= 0)
			break;
		at += (size_t)r;
		w->ss->srv->st->tx += (uint64_t)r;
	}
	w->n = 0;
}

static void sw_put(void *arg, const char *p, size_t n)
{
	struct swriter *w = arg;

	while (n) {
		size_t take = MIN(n, sizeof(w->b) - w->n);

		memcpy(w->b + w->n, p, take);
		w->n += take;
		p += take;
		n -= take;
		if (w->n == sizeof(w->b))
			sw_flush(w);
	}
}

#define SWRITER(w, o, ss_, c_, crlf_)                                              \
	struct swriter w = { .ss = (ss_), .c = (c_) };                              \
	const struct ssh__out o = { .put = sw_put, .arg = &w, .crlf = (crlf_) }

static struct schan *slot_of(struct ssess *ss, ssh_channel ch)
{
	for (size_t i = 0; i < SRV_CHANS; i++)
		if (ss->ch[i].kind != SC_FREE && ss->ch[i].ch == ch)
			return &ss->ch[i];
	return NULL;
}

static int srv_auth_password(ssh_session s, const char *user, const char *pw, void *ud)
{
	struct ssess *ss = ud;

	(void)s;
	if (!ss->authed && pw && !strcmp(pw, PASSWORD)) {
		snprintf(ss->user, sizeof(ss->user), "%s", user ? user : "");
		ss->authed = true;
		ss->srv->st->sessions++;
		return SSH_AUTH_SUCCESS;
	}
	ss->fails++;
	ss->kick = true;
	return SSH_AUTH_DENIED;
}

static int srv_auth_none(ssh_session s, const char *user, void *ud)
{
	(void)s;
	(void)user;
	(void)ud;
	return SSH_AUTH_DENIED;
}

static ssh_channel srv_chan_open(ssh_session s, void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = NULL;

	for (size_t i = 0; i < SRV_CHANS && !c; i++)
		if (ss->ch[i].kind == SC_FREE)
			c = &ss->ch[i];
	if (!ss->authed || !c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->ch = ssh_channel_new(s);
	if (!c->ch)
		return NULL;
	ssh_set_channel_callbacks(c->ch, &ss->ccb);
	c->kind = SC_OPEN;
	return c->ch;
}

static int srv_pty(ssh_session s, ssh_channel ch, const char *term, int w, int h, int pw, int ph,
		   void *ud)
{
	struct schan *c = slot_of(ud, ch);

	(void)s, (void)term, (void)w, (void)h, (void)pw, (void)ph;
	if (!c || c->kind != SC_OPEN)
		return -1;
	c->pty = true;
	return 0;
}

static int srv_winch(ssh_session s, ssh_channel ch, int w, int h, int pw, int ph, void *ud)
{
	(void)s, (void)ch, (void)w, (void)h, (void)pw, (void)ph, (void)ud;
	return 0;
}

static int srv_env(ssh_session s, ssh_channel ch, const char *name, const char *value, void *ud)
{
	(void)s, (void)ch, (void)name, (void)value, (void)ud;
	return 0;       /* LANG and the like: taken, and ignored */
}

static int srv_shell(ssh_session s, ssh_channel ch, void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = slot_of(ss, ch);

	(void)s;
	if (!c || c->kind != SC_OPEN)
		return -1;
	c->kind = SC_SHELL;
	ssh__shell_init(&c->sh, ss->user, ss->srv->host->name, (int64_t)time(NULL), true);
	/* The banner goes out after libssh answered the request. */
	c->greet = true;
	ss->kick = true;
	return 0;
}

static int srv_exec(ssh_session s, ssh_channel ch, const char *cmd, void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = slot_of(ss, ch);
	size_t n = strlen(cmd);

	(void)s;
	if (!c || c->kind != SC_OPEN)
		return -1;
	c->kind = SC_EXEC;
	ssh__shell_init(&c->sh, ss->user, ss->srv->host->name, (int64_t)time(NULL), false);
	c->sh.len = (uint16_t)MIN(n, SSH__LINE_MAX);
	memcpy(c->sh.line, cmd, c->sh.len);
	c->run = true;
	ss->kick = true;
	return 0;
}

/* Keys from the terminal, or an exec's standard input. */
static int srv_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
		    void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = slot_of(ss, ch);
	const char *p = data;
	size_t used = 0;

	(void)s, (void)is_stderr;
	if (!c || c->kind != SC_SHELL) {
		/* stdin of a command (the bytes of a copy, counted), or
		 * data on a channel that runs nothing yet: dropped */
		if (c && c->kind == SC_EXEC)
			ss->srv->st->rx += len;
		return (int)len;
	}
	c->sh.now = (int64_t)time(NULL);
	/* While a command's output streams, typed keys wait in libssh's
	 * channel buffer (bounded by our window) until it is done. */
	while (used < len && !c->left && !c->logout) {
		struct ssh__job job;
		SWRITER(w, o, ss, c, true);

		used += ssh__input(&c->sh, p + used, len - used, &o, &job);
		sw_flush(&w);
		if (job.ran)
			ss->srv->st->actions++;
		if (job.bulk) {
			c->left = job.bulk;
			c->off = 0;
			c->key = job.key;
			c->binary = job.binary;
			ss->kick = true;
		}
		if (job.logout) {
			c->logout = true;
			ss->kick = true;
		}
	}
	ss->srv->st->rx += used;
	return (int)used;
}

static void srv_eof(ssh_session s, ssh_channel ch, void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = slot_of(ss, ch);

	(void)s;
	if (c) {
		c->eof = true;
		ss->kick = true;
	}
}

static void srv_close(ssh_session s, ssh_channel ch, void *ud)
{
	struct ssess *ss = ud;
	struct schan *c = slot_of(ss, ch);

	(void)s;
	if (c) {
		c->closed = true;
		ss->kick = true;
	}
}

/* The command is done: exit status, EOF and CLOSE, as sshd sends them.
 * libssh frees the channel once the client's CLOSE came back. */
static void srv_finish(struct schan *c, int status)
{
	ssh_channel_request_send_exit_status(c->ch, status);
	ssh_channel_send_eof(c->ch);
	chan_close(c->ch);
	ssh_channel_free(c->ch);
	memset(c, 0, sizeof(*c));
}

static void srv_chan_work(struct ssess *ss, struct schan *c)
{
	const struct content *ct = &ss->srv->host->content;

	if (c->closed) {
		/* the client closed it (or went away mid-command) */
		chan_close(c->ch);
		ssh_channel_free(c->ch);
		memset(c, 0, sizeof(*c));
		return;
	}
	if (c->greet) {
		SWRITER(w, o, ss, c, true);

		c->greet = false;
		ssh__greet(&c->sh, &o);
		sw_flush(&w);
	}
	if (c->run) {
		struct ssh__job job;
		SWRITER(w, o, ss, c, c->pty);

		c->run = false;
		ssh__run(&c->sh, c->sh.line, c->sh.len, &o, &job);
		sw_flush(&w);
		ss->srv->st->actions++;
		c->status = job.status;
		if (job.sink) {
			c->sinking = true;
		} else if (job.bulk) {
			c->left = job.bulk;
			c->key = job.key;
			c->binary = job.binary;
		} else {
			srv_finish(c, job.status);
			return;
		}
	}
	if (c->left) {
		int64_t r = stream(ss->s, c->ch, ct, c->binary, c->key, c->off, c->left);

		if (r < 0) {
			c->left = 0;
			return;
		}
		c->left -= (uint64_t)r;
		c->off += (uint64_t)r;
		ss->srv->st->tx += (uint64_t)r;
		if (c->left)
			return;
		if (c->kind == SC_EXEC) {
			srv_finish(c, c->status);
			return;
		}
		{
			SWRITER(w, o, ss, c, true);

			ssh__prompt(&c->sh, &o);
			sw_flush(&w);
		}
	}
	if (c->kind == SC_EXEC && c->sinking && c->eof) {
		srv_finish(c, 0);
	} else if (c->kind == SC_SHELL && (c->logout || c->eof)) {
		if (!c->logout) {
			SWRITER(w, o, ss, c, true);

			out_str(&o, "logout\r\n");
			sw_flush(&w);
		}
		srv_finish(c, 0);
	}
}

static void srv_free(struct defer *d)
{
	free(container_of(d, struct ssess, d));
}

/* The session is over: stop watching before libssh closes the socket
 * (ssh_free), and free the memory after this loop iteration. */
static void srv_end(struct ssess *ss, bool polite)
{
	struct server *srv = ss->srv;
	struct loop *l = srv->host->loop;

	loop_io_stop(l, &ss->io);
	loop_timer_stop(l, &ss->idle);
	if (peer_error(ss->s))
		srv->st->errors++;
	if (ss->ev) {
		ssh_event_remove_session(ss->ev, ss->s);
		ssh_event_free(ss->ev);
	}
	if (polite && !dead(ss->s))
		ssh_disconnect(ss->s);
	ssh_free(ss->s);
	srv->st->active--;
	*ss->pprev = ss->next;
	if (ss->next)
		ss->next->pprev = ss->pprev;
	loop_defer(l, &ss->d, srv_free);
}

static void srv_drive(struct ssess *ss)
{
	struct loop *l = ss->srv->host->loop;

	if (!ss->kexed) {
		int rc = ssh_handle_key_exchange(ss->s);

		if (rc == SSH_AGAIN)
			goto out;
		if (rc != SSH_OK) {
			srv_end(ss, false);
			return;
		}
		ss->kexed = true;
		ss->ev = ssh_event_new();
		if (!ss->ev || ssh_event_add_session(ss->ev, ss->s) != SSH_OK) {
			srv_end(ss, true);
			return;
		}
	}
	/* Callbacks from inside the calls below may ask for more work. */
	for (int round = 0; round < 4; round++) {
		ss->kick = false;
		for (size_t i = 0; i < SRV_CHANS; i++)
			if (ss->ch[i].kind != SC_FREE)
				srv_chan_work(ss, &ss->ch[i]);
		if (!ss->kick)
			break;
	}
	if (ss->fails >= MAX_AUTH) {
		srv_end(ss, true);
		return;
	}
out:
	if (dead(ss->s) || !watch(l, &ss->io, ss->s))
		srv_end(ss, false);
}

static void srv_io(struct loop *l, struct io *io, unsigned revents)
{
	struct ssess *ss = container_of(io, struct ssess, io);

	(void)revents;
	ss->last = loop_now(l);
	if (ss->ev)
		pump(ss->ev);
	srv_drive(ss);
}

/* Too slow to log in, or idle too long once in: hang up. */
static void srv_idle(struct loop *l, struct timer *t)
{
	struct ssess *ss = container_of(t, struct ssess, idle);
	uint64_t now = loop_now(l), due = ss->authed ? ss->last + IDLE_NS : ss->born + LOGIN_NS;

	if (now < due) {
		loop_timer_start(l, t, due - now);
		return;
	}
	srv_end(ss, true);
}

static void srv_start(struct server *srv, int fd)
{
	struct ssess *ss = xcalloc(1, sizeof(*ss));
	struct loop *l = srv->host->loop;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ss->srv = srv;
	ss->s = ssh_new();
	if (!ss->s) {
		close(fd);
		free(ss);
		return;
	}
	ssh_set_blocking(ss->s, 0);
	if (ssh_bind_accept_fd(srv->bind, ss->s, fd) != SSH_OK) {
		/* libssh owns the socket once it took it */
		if (ssh_get_fd(ss->s) != fd)
			close(fd);
		ssh_free(ss->s);
		free(ss);
		return;
	}
	ssh_callbacks_init(&ss->scb);
	ss->scb.userdata = ss;
	ss->scb.auth_password_function = srv_auth_password;
	ss->scb.auth_none_function = srv_auth_none;
	ss->scb.channel_open_request_session_function = srv_chan_open;
	ssh_set_server_callbacks(ss->s, &ss->scb);
	ssh_callbacks_init(&ss->ccb);
	ss->ccb.userdata = ss;
	ss->ccb.channel_data_function = srv_data;
	ss->ccb.channel_eof_function = srv_eof;
	ss->ccb.channel_close_function = srv_close;
	ss->ccb.channel_pty_request_function = srv_pty;
	ss->ccb.channel_pty_window_change_function = srv_winch;
	ss->ccb.channel_env_request_function = srv_env;
	ss->ccb.channel_shell_request_function = srv_shell;
	ss->ccb.channel_exec_request_function = srv_exec;
	ssh_set_auth_methods(ss->s, SSH_AUTH_METHOD_PASSWORD);
	ss->next = srv->sessions;
	if (ss->next)
		ss->next->pprev = &ss->next;
	ss->pprev = &srv->sessions;
	srv->sessions = ss;
	srv->st->conns++;
	srv->st->active++;
	ss->io.fd = fd;
	ss->io.cb = srv_io;
	ss->born = ss->last = loop_now(l);
	ss->idle.cb = srv_idle;
	loop_timer_start(l, &ss->idle, LOGIN_NS);
	srv_drive(ss);  /* sends our banner */
}

static void srv_resume(struct loop *l, struct timer *t)
{
	struct server *srv = container_of(t, struct server, pause);

	if (loop_io_set(l, &srv->io, IO_IN) < 0)
		loop_timer_start(l, t, 100000000);
}

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct server *srv = container_of(io, struct server, io);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: the queue waits */
				loop_io_stop(l, io);
				loop_timer_start(l, &srv->pause, 100000000);
			}
			break;
		}
		srv_start(srv, fd);
	}
}

static int ssh_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	struct server *srv = NULL;
	ssh_key key = NULL;
	bool no = false;
	int fd = -1, rc;

	(void)m;
	rc = agent_listen_tcp(port, &fd);
	if (rc) {
		snprintf(err, errlen, "listen on port %u: %s", port, strerror(-rc));
		goto out;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->bind = ssh_bind_new();
	/* A host key of its own for each host, made at start. */
	if (!srv->bind || ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		snprintf(err, errlen, "libssh: cannot make a host key");
		rc = -ENOMEM;
		goto out;
	}
	if (ssh_bind_options_set(srv->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_bind_options_set(srv->bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) < 0) {
		snprintf(err, errlen, "libssh: %s", ssh_get_error(srv->bind));
		ssh_key_free(key);
		rc = -EINVAL;
		goto out;
	}
	/* the bind owns the key now */
	srv->host = h;
	srv->st = st;
	srv->io.fd = fd;
	srv->io.cb = srv_accept;
	srv->pause.cb = srv_resume;
	rc = loop_io_set(h->loop, &srv->io, IO_IN);
	if (rc) {
		snprintf(err, errlen, "event loop: %s", strerror(-rc));
		goto out;
	}
	srv->next = servers;
	servers = srv;
	srv = NULL;
	fd = -1;
out:
	if (srv) {
		ssh_bind_free(srv->bind);
		free(srv);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ======================================================================
 * The client: users at a terminal
 * ==================================================================== */

struct user;

struct client {
	struct agent_env env;           /* a copy: the caller's may not last */
	struct timer watch;             /* notices the run stopping */
	struct user *users;
	size_t live;
	struct client *next;
	/* Against a real sshd (env.server_files): the key and the account
	 * program.c made for us there; else the built-in server's password. */
	ssh_key key;
	char login[16];
};

/* Every client of this process, reachable until its users are done. */
static struct client *clients;

enum {
	U_IDLE,         /* between sessions: no connection */
	U_CONNECT,      /* TCP, banners, key exchange */
	U_AUTH,         /* password */
	U_OPEN,         /* the terminal's channel */
	U_PTY,
	U_SHELL,
	U_PROMPT,       /* a command line ran: reading until the prompt */
	U_THINK,        /* at the prompt, thinking */
	U_TYPE,         /* typing a command, a key per timer */
	U_XOPEN,        /* a file copy: its channel, */
	U_XEXEC,        /* its command, */
	U_XFER,         /* its bytes */
	U_BYE,          /* typed exit: waiting for the shell to close */
	U_DISC,         /* the terminal is closed: disconnect once flushed */
};

struct user {
	struct io io;
	struct timer t;
	struct defer d;
	struct pace_wait pw;            /* waiting for the group's bucket */
	struct ssh_counter_struct ctr;  /* what libssh moved on the socket */
	uint64_t ctr_seen;              /* of it, what the bucket was told */
	struct client *cl;
	struct user *next;
	ssh_session s;
	ssh_event ev;
	ssh_channel shell, xfer;
	struct ssh_channel_callbacks_struct ccb;
	uint64_t wake, deadline;        /* loop clock: end of a pause, of patience */
	int act;                        /* the model action under way */
	uint8_t state;
	bool counted;                   /* in stats->active */
	bool prompt, shell_closed, x_closed, x_exited, kick, fix, logout, upload, gone;
	bool implicit;                  /* logged in, but the model starts elsewhere */
	int x_status;
	uint16_t cmd_len, typed;
	uint8_t tail_len;
	uint64_t x_want, x_got, x_left, x_off, x_key;
	char name[16];
	char tail[96];                  /* the end of the terminal's output */
	char cmd[SSH__LINE_MAX];
};

/* What people type, and how often. */
static const struct {
	const char *line;
	unsigned weight;
} typed[] = {
	{ "ls", 12 }, { "ls -l", 10 }, { "ls -la", 5 }, { "cd ~/projects/webapp", 4 },
	{ "cd ..", 4 }, { "cd", 4 }, { "cd /var/log", 3 }, { "pwd", 4 }, { "cat ~/notes.txt", 4 },
	{ "cat ~/todo.md", 3 }, { "ps aux", 5 }, { "top", 3 }, { "uname -a", 3 }, { "df -h", 4 },
	{ "free -m", 3 }, { "uptime", 3 }, { "whoami", 2 }, { "date", 3 },
	{ "tail -n 20 /var/log/syslog", 4 }, { "cat /etc/os-release", 2 }, { "git status", 4 },
	{ "git log --oneline -5", 2 }, { "history", 2 }, { "w", 2 }, { "id", 1 },
	{ "grep error /var/log/syslog", 3 }, { "du -sh *", 2 }, { "ip addr", 2 },
	{ "systemctl status nginx", 2 }, { "ls /var/log", 2 }, { "ls -lh /srv/data", 2 },
};

static const char *const names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter",
};

/* Files the server has to copy down (see dirs[]). */
static const char *const downloads[] = {
	"/srv/data/dataset-2024.csv", "/srv/data/images.tar.gz", "/srv/data/export.json",
	"/srv/data/dump.sql.gz", "/srv/backup/www.tar.gz", "/srv/backup/db-monday.sql.gz",
};

static void u_tick(struct loop *l, struct timer *t);
static void u_io(struct loop *l, struct io *io, unsigned revents);
static void u_drive(struct user *u);

static struct loop *u_loop(const struct user *u)
{
	return u->cl->env.host->loop;
}

static struct rng *u_rng(struct user *u)
{
	return &u->cl->env.host->rng;
}

static bool stopping(const struct user *u)
{
	return u->cl->env.host->stopping;
}

/* Pause for a human time (scaled).  The client's watcher wakes the
 * user early if the run stops meanwhile. */
static void u_sleep(struct user *u, double seconds)
{
	struct loop *l = u_loop(u);
	uint64_t ns = host_ns(seconds * agent_think_scale(&u->cl->env));

	u->wake = loop_now(l) + ns;
	loop_timer_start(l, &u->t, ns);
}

/* Wait for the server, as long as patience lasts; progress moves the
 * deadline on (u_io), and the timer catches up when it fires. */
static void u_wait(struct user *u)
{
	struct loop *l = u_loop(u);
	uint64_t ns = stopping(u) ? STOP_NS : WAIT_NS;

	u->deadline = loop_now(l) + ns;
	loop_timer_start(l, &u->t, ns);
}

static void u_free_cb(struct defer *d)
{
	struct user *u = container_of(d, struct user, d);
	struct client *cl = u->cl;

	free(u);
	if (--cl->live)
		return;
	loop_timer_stop(cl->env.host->loop, &cl->watch);
	for (struct client **p = &clients; *p; p = &(*p)->next) {
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	}
	ssh_key_free(cl->key);
	free(cl);
}

/* The run is over for this user. */
static void u_free(struct user *u)
{
	struct loop *l = u_loop(u);

	u->gone = true;
	loop_timer_stop(l, &u->t);
	loop_io_stop(l, &u->io);
	pace_cancel(&u->pw);
	for (struct user **p = &u->cl->users; *p; p = &(*p)->next) {
		if (*p == u) {
			*p = u->next;
			break;
		}
	}
	loop_defer(l, &u->d, u_free_cb);
}

/* The connection is over (politely or not): next session after pause
 * seconds, or none when the run is stopping.  libssh owns the socket
 * and closes it here; we stop watching it first. */
static void u_end(struct user *u, bool polite, double pause)
{
	struct loop *l = u_loop(u);
	struct stats *st = u->cl->env.st;

	loop_io_stop(l, &u->io);
	pace_cancel(&u->pw);
	if (u->s) {
		if (u->ev) {
			ssh_event_remove_session(u->ev, u->s);
			ssh_event_free(u->ev);
			u->ev = NULL;
		}
		if (polite && !dead(u->s))
			ssh_disconnect(u->s);
		ssh_free(u->s);     /* frees the channels too */
		u->s = NULL;
	}
	u->shell = u->xfer = NULL;
	if (u->counted)
		st->active--;
	u->counted = false;
	u->state = U_IDLE;
	if (stopping(u)) {
		u_free(u);
		return;
	}
	u_sleep(u, pause);
}

/* The server did not do what it should have. */
static void u_fail(struct user *u)
{
	u->cl->env.st->errors++;
	u_end(u, true, 2.0);
}

static void u_connect(struct user *u)
{
	const struct agent_env *e = &u->cl->env;
	char addr[INET_ADDRSTRLEN];
	unsigned port = e->port;
	bool no = false, yes = true;
	long timeout = 30;
	socket_t fd;

	e->st->sessions++;
	e->st->conns++;
	fmt_ipv4(addr, sizeof(addr), e->server);
	u->s = ssh_new();
	if (!u->s || ssh_options_set(u->s, SSH_OPTIONS_HOST, addr) < 0 ||
	    ssh_options_set(u->s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(u->s, SSH_OPTIONS_USER, u->name) < 0 ||
	    /* no ~/.ssh/config, /etc/ssh/ssh_config, nor the user database */
	    ssh_options_set(u->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(u->s, SSH_OPTIONS_SSH_DIR, "/nonexistent/.ssh") < 0 ||
	    /* keys typed one at a time leave one at a time, as ssh does */
	    ssh_options_set(u->s, SSH_OPTIONS_NODELAY, &yes) < 0 ||
	    ssh_options_set(u->s, SSH_OPTIONS_TIMEOUT, &timeout) < 0) {
		e->st->conn_fail++;
		u_end(u, false, 5.0);
		return;
	}
	/* The socket is ours, so that its receive buffer is small before
	 * the SYN: libssh's own connect offers the default window, and
	 * each new session's server could then send 64 KiB past the
	 * bucket (a burst of new sessions ended runs 10 % over). */
	fd = conn_dial(0, e->server, e->port, e->st->pace);
	if (fd < 0 || ssh_options_set(u->s, SSH_OPTIONS_FD, &fd) < 0) {
		if (fd >= 0)
			close(fd);
		e->st->conn_fail++;
		u_end(u, false, 2.0);
		return;
	}
	/* libssh owns fd from the first ssh_connect() on, just below */
	ssh_set_blocking(u->s, 0);
	memset(&u->ctr, 0, sizeof(u->ctr));
	u->ctr_seen = 0;
	ssh_set_counters(u->s, &u->ctr, NULL);
	u->shell_closed = u->x_closed = u->prompt = false;
	u->act = model_start(e->model);
	u->state = U_CONNECT;
	u->io.fd = -1;
	u_wait(u);
	u_drive(u);
}

/* libssh made the socket blocking when it connected; we must not
 * block the loop on a full send buffer. */
static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Tell the group's bucket what libssh moved on the socket since it
 * was last told (key exchange and all: the bytes are the wire's). */
static void u_count(struct user *u)
{
	struct pace *pc = u->cl->env.st->pace;
	uint64_t moved = u->ctr.in_bytes + u->ctr.out_bytes;

	if (pc && moved > u->ctr_seen)
		pace_take(pc, (size_t)MIN(moved - u->ctr_seen, (uint64_t)SIZE_MAX));
	u->ctr_seen = moved;
}

static void u_paced(struct pace_wait *w)
{
	struct user *u = container_of(w, struct user, pw);

	u_io(u_loop(u), &u->io, 0);
}

/* A file copy up has bytes to write. */
static bool u_writing(const struct user *u)
{
	return u->state == U_XFER && u->x_left;
}

/* Must the session wait for the bucket: no reading once the reads ran
 * their allowance ahead of it, no copying up while it is empty?  If so,
 * it is woken when the bucket refills. */
static bool u_held(struct user *u)
{
	struct pace *pc = u->cl->env.st->pace;

	if (!pc || !u->s || (pace_ok_read(pc) && (!u_writing(u) || pace_ok(pc))))
		return false;
	u->pw.cb = u_paced;
	pace_wait(pc, &u->pw);
	return !pace_ok_read(pc);
}

/* Let libssh read and write, as far as the bucket allows. */
static void u_pump(struct user *u)
{
	for (int i = 0; i < PUMPS && u->ev && !u_held(u); i++) {
		int rc = ssh_event_dopoll(u->ev, 0);

		u_count(u);
		if (rc != SSH_OK)
			break;
	}
}

static void key(struct user *u, const char *p, size_t n)
{
	int r = ssh_channel_write(u->shell, p, (uint32_t)n);

	if (r > 0)
		u->cl->env.st->tx += (uint64_t)r;
}

/* Start typing line (Enter added). */
static void u_type(struct user *u, const char *line)
{
	u->cmd_len = (uint16_t)snprintf(u->cmd, sizeof(u->cmd) - 1, "%s", line);
	u->cmd[u->cmd_len++] = '\r';
	u->typed = 0;
	u->fix = false;
	u->state = U_TYPE;
	u->wake = loop_now(u_loop(u));
	loop_timer_start(u_loop(u), &u->t, 0);
}

/* Leave the terminal at once (the run is ending): ^U kills what was
 * typed, ^D on the empty line logs out. */
static void u_leave(struct user *u)
{
	if (u->xfer) {
		/* a channel still opening has no number to close yet */
		if (ssh_channel_is_open(u->xfer))
			chan_close(u->xfer);
		ssh_channel_free(u->xfer);
		u->xfer = NULL;
	}
	key(u, "\x15\x04", 2);
	u->logout = false;
	u->state = U_BYE;
	u_wait(u);
}

static void u_begin(struct user *u);

/* An action is done: count it, pick the next, think. */
static void u_done(struct user *u)
{
	const struct agent_env *e = &u->cl->env;
	int a = u->act;

	e->st->actions++;
	if (stopping(u)) {
		u_leave(u);
		return;
	}
	u->act = a == MODEL_END ? MODEL_END : model_next(e->model, a, u_rng(u));
	u->state = U_THINK;
	u_sleep(u, a == MODEL_END ? 0 : model_think(e->model, a, u_rng(u)));
}

/* Copy a file down (head -c N FILE) or up (cat > FILE), on a channel
 * of its own beside the terminal, as scp over a shared connection. */
static void u_copy(struct user *u, bool upload)
{
	const struct agent_env *e = &u->cl->env;
	struct rng *r = u_rng(u);
	double size = model_draw(e->model, upload ? "upload_size" : "download_size", r,
				 upload ? 65536 : 262144);

	u->upload = upload;
	u->x_want = size < 1 ? 1 : size > 0x1p40 ? 1ull << 40 : (uint64_t)size;
	u->x_got = u->x_off = 0;
	u->x_left = upload ? u->x_want : 0;
	u->x_key = rng_next(r);
	u->x_closed = u->x_exited = false;
	if (upload)
		snprintf(u->cmd, sizeof(u->cmd), "cat > /tmp/upload/%s-%u.tar.gz",
			 content_word(rng_next(r)), (unsigned)rng_below(r, 10000));
	else
		snprintf(u->cmd, sizeof(u->cmd), "head -c %llu %s", (unsigned long long)u->x_want,
			 downloads[rng_below(r, ARRAY_SIZE(downloads))]);
	u->xfer = ssh_channel_new(u->s);
	if (!u->xfer) {
		u_fail(u);
		return;
	}
	ssh_set_channel_callbacks(u->xfer, &u->ccb);
	u->state = U_XOPEN;
	u_wait(u);
	u_drive(u);
}

/* The pause is over: do the next action. */
static void u_begin(struct user *u)
{
	const struct agent_env *e = &u->cl->env;
	const char *name = u->act == MODEL_END ? "logout" : model_action_name(e->model, u->act);
	unsigned total = 0, pick;

	if (!strcmp(name, "logout")) {
		u->logout = true;
		u_type(u, "exit");
	} else if (!strcmp(name, "download") || !strcmp(name, "upload")) {
		u_copy(u, name[0] == 'u');
	} else if (!strcmp(name, "command")) {
		for (size_t i = 0; i < ARRAY_SIZE(typed); i++)
			total += typed[i].weight;
		pick = (unsigned)rng_below(u_rng(u), total);
		for (size_t i = 0; i < ARRAY_SIZE(typed); i++) {
			if (pick < typed[i].weight) {
				u_type(u, typed[i].line);
				break;
			}
			pick -= typed[i].weight;
		}
	} else {
		/* login again: the terminal is open already */
		u_done(u);
	}
}

/* One key: the next of the line, or a typo and its backspace. */
static void u_key(struct user *u)
{
	const struct agent_env *e = &u->cl->env;
	struct rng *r = u_rng(u);
	char c = u->cmd[u->typed];

	if (u->fix) {
		key(u, "\x7f", 1);
		u->fix = false;
	} else if (c >= 'a' && c <= 'z' && rng_unit(r) < model_draw(e->model, "typo", r, 0)) {
		char wrong = (char)('a' + (c - 'a' + 1 + (int)rng_below(r, 25)) % 26);

		key(u, &wrong, 1);
		u->fix = true;
	} else {
		key(u, &c, 1);
		u->typed++;
	}
	if (u->typed < u->cmd_len) {
		u_sleep(u, model_draw(e->model, "keystroke", r, 0.15));
		return;
	}
	/* Enter is pressed */
	u->tail_len = 0;
	u->prompt = false;
	u->state = u->logout ? U_BYE : U_PROMPT;
	u_wait(u);
}

static void u_step(struct user *u)
{
	struct stats *st = u->cl->env.st;
	int rc;

	switch (u->state) {
	case U_CONNECT:
		rc = ssh_connect(u->s);
		if (ssh_get_fd(u->s) != SSH_INVALID_SOCKET) {
			u->io.fd = ssh_get_fd(u->s);
			nonblock(u->io.fd);
		}
		if (rc == SSH_AGAIN)
			return;
		if (rc != SSH_OK) {
			/* no banner: the server could not be reached */
			if (!ssh_get_serverbanner(u->s)) {
				st->conn_fail++;
				u_end(u, false, 2.0);
			} else {
				u_fail(u);
			}
			return;
		}
		conn_window_fit(u->io.fd, st->pace);
		/* pump through an event of its own from now on */
		u->ev = ssh_event_new();
		if (!u->ev || ssh_event_add_session(u->ev, u->s) != SSH_OK) {
			u_end(u, true, 2.0);
			return;
		}
		st->active++;
		u->counted = true;
		u->state = U_AUTH;
		u->kick = true;
		return;
	case U_AUTH:
		if (u->cl->key)
			rc = ssh_userauth_publickey(u->s, NULL, u->cl->key);
		else
			rc = ssh_userauth_password(u->s, NULL, PASSWORD);
		if (rc == SSH_AUTH_AGAIN)
			return;
		if (rc != SSH_AUTH_SUCCESS || !(u->shell = ssh_channel_new(u->s))) {
			u_fail(u);
			return;
		}
		ssh_set_channel_callbacks(u->shell, &u->ccb);
		u->state = U_OPEN;
		u->kick = true;
		return;
	case U_OPEN:
		rc = ssh_channel_open_session(u->shell);
		break;
	case U_PTY:
		rc = ssh_channel_request_pty_size(u->shell, "xterm-256color", 80, 24);
		break;
	case U_SHELL:
		rc = ssh_channel_request_shell(u->shell);
		break;
	case U_XOPEN:
		rc = ssh_channel_open_session(u->xfer);
		break;
	case U_XEXEC:
		rc = ssh_channel_request_exec(u->xfer, u->cmd);
		break;
	case U_PROMPT:
		if (u->shell_closed) {
			u_fail(u);
		} else if (u->prompt && u->implicit) {
			/* logged in on the way to the model's first action */
			u->prompt = u->implicit = false;
			if (stopping(u)) {
				u_leave(u);
			} else {
				u->state = U_THINK;
				u_sleep(u, 0);
			}
		} else if (u->prompt) {
			u->prompt = false;
			u_done(u);
		}
		return;
	case U_XFER:
		if (u->x_left && (!st->pace || pace_ok(st->pace))) {
			uint64_t n = st->pace ? pace_room(st->pace, (size_t)MIN(u->x_left, CHUNK))
					      : u->x_left;
			int64_t r = stream(u->s, u->xfer, &u->cl->env.host->content, true, u->x_key,
					   u->x_off, n);

			if (r < 0) {
				u_fail(u);
				return;
			}
			u->x_left -= (uint64_t)r;
			u->x_off += (uint64_t)r;
			st->tx += (uint64_t)r;
			if (!u->x_left)
				ssh_channel_send_eof(u->xfer);
		}
		if (!u->x_closed)
			return;
		chan_close(u->xfer);
		ssh_channel_free(u->xfer);
		u->xfer = NULL;
		if (!u->x_exited || u->x_status || (!u->upload && u->x_got != u->x_want)) {
			u_fail(u);
			return;
		}
		u_done(u);
		return;
	case U_BYE:
		if (!u->shell_closed)
			return;
		chan_close(u->shell);
		ssh_channel_free(u->shell);
		u->shell = NULL;
		u->state = U_DISC;
		return;
	case U_DISC:
		/* DISCONNECT leaves at once only if nothing is queued */
		if (ssh_get_poll_flags(u->s) & SSH_WRITE_PENDING)
			return;
		if (u->logout)
			st->actions++;
		u->logout = false;
		u_end(u, true, u->act == MODEL_END ? 1.0 :
		      model_think(u->cl->env.model, u->act, u_rng(u)));
		return;
	default:
		return;
	}
	/* the channel calls */
	if (rc == SSH_AGAIN)
		return;
	if (rc != SSH_OK) {
		u_fail(u);
		return;
	}
	u->kick = true;
	switch (u->state) {
	case U_OPEN:
		u->state = U_PTY;
		break;
	case U_PTY:
		u->state = U_SHELL;
		break;
	case U_SHELL:
		/* logged in: the banner and the prompt come */
		u->tail_len = 0;
		u->state = U_PROMPT;
		u->implicit = strcmp(model_action_name(u->cl->env.model, u->act), "login") != 0;
		break;
	case U_XOPEN:
		u->state = U_XEXEC;
		break;
	case U_XEXEC:
		u->state = U_XFER;
		break;
	}
}

static void u_drive(struct user *u)
{
	for (int round = 0; round < 8 && !u->gone && u->state != U_IDLE; round++) {
		int before = u->state;

		u->kick = false;
		u_step(u);
		if (u->state == before && !u->kick)
			break;
	}
	if (u->gone || u->state == U_IDLE || u->io.fd < 0)
		return;
	u_count(u);
	/* the server hung up, or libssh gave up on the socket */
	if (dead(u->s)) {
		u_fail(u);
	} else if (u_held(u)) {
		if (loop_io_set(u_loop(u), &u->io, 0) < 0)
			u_fail(u);
	} else if (!watch(u_loop(u), &u->io, u->s)) {
		u_fail(u);
	}
}

static void u_io(struct loop *l, struct io *io, unsigned revents)
{
	struct user *u = container_of(io, struct user, io);

	(void)revents;
	if (u->io.fd >= 0 && u_held(u)) {
		if (loop_io_set(l, &u->io, 0) < 0)
			u_fail(u);
		return;
	}
	u_pump(u);
	/* progress: patience starts again */
	if (u->state != U_THINK && u->state != U_TYPE)
		u->deadline = loop_now(l) + (stopping(u) ? STOP_NS : WAIT_NS);
	u_drive(u);
}

/* The run is stopping: finish what is under way and leave politely. */
static void u_on_stop(struct user *u)
{
	struct loop *l = u_loop(u);
	uint64_t now = loop_now(l);

	switch (u->state) {
	case U_IDLE:
		u_free(u);
		return;
	case U_THINK:
	case U_TYPE:
	case U_XOPEN:
	case U_XEXEC:
	case U_XFER:
		/* a copy is cut short; what was typed is taken back */
		u_leave(u);
		u_drive(u);
		return;
	case U_CONNECT:
	case U_AUTH:
	case U_OPEN:
	case U_PTY:
	case U_SHELL:
		u_end(u, true, 0);
		return;
	default:
		/* an answer or the end of the terminal is on its way */
		if (u->deadline > now + STOP_NS) {
			u->deadline = now + STOP_NS;
			loop_timer_start(l, &u->t, STOP_NS);
		}
		return;
	}
}

static void client_watch(struct loop *l, struct timer *t)
{
	struct client *cl = container_of(t, struct client, watch);
	struct user *next;

	if (!cl->env.host->stopping) {
		loop_timer_start(l, t, WATCH_NS);
		return;
	}
	for (struct user *u = cl->users; u; u = next) {
		next = u->next;
		u_on_stop(u);
	}
}

static void u_tick(struct loop *l, struct timer *t)
{
	struct user *u = container_of(t, struct user, t);
	uint64_t now = loop_now(l);

	switch (u->state) {
	case U_IDLE:
	case U_THINK:
	case U_TYPE:
		if (stopping(u)) {
			u_on_stop(u);
			return;
		}
		if (now < u->wake) {
			loop_timer_start(l, t, u->wake - now);
			return;
		}
		if (u->state == U_IDLE)
			u_connect(u);
		else if (u->state == U_THINK)
			u_begin(u);
		else
			u_key(u);
		if (!u->gone && u->s)
			u_drive(u);
		return;
	default:
		if (u->pw.next && !stopping(u))
			/* it is our bucket that waits, not the server */
			u->deadline = now + WAIT_NS;
		if (now < u->deadline) {
			loop_timer_start(l, t, u->deadline - now);
			return;
		}
		/* the server kept us waiting too long */
		if (stopping(u))
			u_end(u, true, 0);
		else
			u_fail(u);
		return;
	}
}

static int u_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
		  void *ud)
{
	struct user *u = ud;
	const char *p = data;

	(void)s, (void)is_stderr;
	u->cl->env.st->rx += len;
	if (ch == u->shell) {
		size_t keep = sizeof(u->tail);

		if (len >= keep) {
			memcpy(u->tail, p + len - keep, keep);
			u->tail_len = (uint8_t)keep;
		} else {
			size_t drop = u->tail_len + len > keep ? u->tail_len + len - keep : 0;

			memmove(u->tail, u->tail + drop, u->tail_len - drop);
			memcpy(u->tail + u->tail_len - drop, p, len);
			u->tail_len = (uint8_t)(u->tail_len - drop + len);
		}
		if (ssh__prompt_seen(u->tail, u->tail_len)) {
			u->prompt = true;
			u->kick = true;
		}
	} else if (ch == u->xfer) {
		u->x_got += len;
	}
	return (int)len;
}

static void u_close(ssh_session s, ssh_channel ch, void *ud)
{
	struct user *u = ud;

	(void)s;
	if (ch == u->shell)
		u->shell_closed = true;
	else if (ch == u->xfer)
		u->x_closed = true;
	u->kick = true;
}

static void u_exit(ssh_session s, ssh_channel ch, int status, void *ud)
{
	struct user *u = ud;

	(void)s;
	if (ch == u->xfer) {
		u->x_status = status;
		u->x_exited = true;
	}
}

static int ssh_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct client *cl;
	struct loop *l = env->host->loop;

	if (!env->users) {
		snprintf(err, errlen, "no users");
		return -EINVAL;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	cl->env.server_files = NULL;    /* the caller's string may not last */
	if (env->server_files) {
		char *kpath = xasprintf("%s/client_key", env->server_files);
		char *upath = xasprintf("%s/client_user", env->server_files);
		FILE *f = fopen(upath, "re");
		bool ok = f && fgets(cl->login, sizeof(cl->login), f);

		cl->login[strcspn(cl->login, "\n")] = 0;
		if (f)
			fclose(f);
		if (!ok || !cl->login[0] ||
		    ssh_pki_import_privkey_file(kpath, NULL, NULL, NULL, &cl->key) != SSH_OK) {
			snprintf(err, errlen, "cannot read the key and user sshd takes in %s",
				 env->server_files);
			free(kpath);
			free(upath);
			ssh_key_free(cl->key);
			free(cl);
			return -ENOENT;
		}
		free(kpath);
		free(upath);
	}
	cl->next = clients;
	clients = cl;
	for (uint32_t i = 0; i < env->users; i++) {
		struct user *u = xcalloc(1, sizeof(*u));
		struct rng *r = &env->host->rng;

		u->cl = cl;
		u->io.fd = -1;
		u->io.cb = u_io;
		u->t.cb = u_tick;
		snprintf(u->name, sizeof(u->name), "%s",
			 cl->key ? cl->login : names[rng_below(r, ARRAY_SIZE(names))]);
		ssh_callbacks_init(&u->ccb);
		u->ccb.userdata = u;
		u->ccb.channel_data_function = u_data;
		u->ccb.channel_close_function = u_close;
		u->ccb.channel_exit_status_function = u_exit;
		u->next = cl->users;
		cl->users = u;
		cl->live++;
		/* users arrive spread over the first seconds */
		u->state = U_IDLE;
		u->wake = loop_now(l) + host_ns(rng_unit(r) * 2.0 * agent_think_scale(env));
		loop_timer_start(l, &u->t, u->wake - loop_now(l));
	}
	cl->watch.cb = client_watch;
	loop_timer_start(l, &cl->watch, WATCH_NS);
	return 0;
}

static const char *const actions[] = { "login", "command", "download", "upload", "logout", NULL };
static const char *const params[] = { "keystroke", "typo", "download_size", "upload_size", NULL };

const struct agent agent_ssh = {
	.name = "ssh",
	.proto = PROTO_SSH,
	.model = "ssh",
	.actions = actions,
	.params = params,
	.serve = ssh_serve,
	.client = ssh_client,
};
