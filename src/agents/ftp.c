/* ftp.c - the FTP agent: a server (RFC 959, with EPSV from RFC 2428 and
 * SIZE/MDTM from RFC 3659) over a generated read-only tree of files and
 * a write-only drop box, /incoming; and users who log in, walk the
 * directories, download, now and then upload, and log out, as the ftp
 * model says.  Data goes over passive connections only, on a port range
 * of the server's; files are sent from the host's shared content (zero
 * copy), uploads are read and counted, never stored.  The file tree
 * follows from the server's host seed and the model's params. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "agent.h"
#include "ftp.h"

#define FTP_IDLE_S 60.0            /* server: a silent control connection */
#define FTP_ACCEPT_S 30.0          /* server: a passive port nobody uses */
#define FTP_CLOSE_S 5.0            /* a FIN not answered by then: drop */
#define FTP_REPLY_S 60.0           /* client: a silent server */
#define FTP_KEEP_S 45.0            /* client: longer thinks log out first */
#define FTP_TICK_S 0.5             /* how soon a thinking user sees stopping */
#define FTP_MAX_ERRORS 10          /* bad commands before the server hangs up */
#define FTP_PASV_MIN 30000         /* the passive port range */
#define FTP_PASV_MAX 30999
#define FTP_MAX_UPLOADS 128        /* files /incoming keeps (the oldest go) */
#define FTP_MAX_SIZE (256ull << 20) /* a generated file or an upload */
#define FTP_MAX_SEEN 24            /* listing entries a user remembers */
#define FTP_MAX_STEPS 8

/* ---- parsers --------------------------------------------------------------- */

enum { ARG_NONE, ARG_NEED, ARG_MAY };

static const struct {
	const char *name;
	enum ftp_verb verb;
	uint8_t arg;
} verbs[] = {
	{ "USER", FTP_USER, ARG_NEED }, { "PASS", FTP_PASS, ARG_MAY }, { "ACCT", FTP_ACCT, ARG_NEED },
	{ "SYST", FTP_SYST, ARG_NONE }, { "FEAT", FTP_FEAT, ARG_NONE }, { "OPTS", FTP_OPTS, ARG_NEED },
	{ "PWD", FTP_PWD, ARG_NONE },   { "XPWD", FTP_PWD, ARG_NONE },  { "CWD", FTP_CWD, ARG_NEED },
	{ "XCWD", FTP_CWD, ARG_NEED },  { "CDUP", FTP_CDUP, ARG_NONE }, { "XCUP", FTP_CDUP, ARG_NONE },
	{ "TYPE", FTP_TYPE, ARG_NEED }, { "MODE", FTP_MODE, ARG_NEED }, { "STRU", FTP_STRU, ARG_NEED },
	{ "PASV", FTP_PASV, ARG_NONE }, { "EPSV", FTP_EPSV, ARG_MAY },  { "PORT", FTP_PORT, ARG_NEED },
	{ "EPRT", FTP_EPRT, ARG_NEED }, { "LIST", FTP_LIST, ARG_MAY },  { "NLST", FTP_NLST, ARG_MAY },
	{ "RETR", FTP_RETR, ARG_NEED }, { "STOR", FTP_STOR, ARG_NEED }, { "APPE", FTP_APPE, ARG_NEED },
	{ "SIZE", FTP_SIZE, ARG_NEED }, { "MDTM", FTP_MDTM, ARG_NEED }, { "DELE", FTP_DELE, ARG_NEED },
	{ "MKD", FTP_MKD, ARG_NEED },   { "XMKD", FTP_MKD, ARG_NEED },  { "RMD", FTP_RMD, ARG_NEED },
	{ "XRMD", FTP_RMD, ARG_NEED },  { "RNFR", FTP_RNFR, ARG_NEED }, { "RNTO", FTP_RNTO, ARG_NEED },
	{ "REST", FTP_REST, ARG_NEED }, { "ABOR", FTP_ABOR, ARG_NONE }, { "ALLO", FTP_ALLO, ARG_NEED },
	{ "NOOP", FTP_NOOP, ARG_NONE }, { "HELP", FTP_HELP, ARG_MAY },  { "STAT", FTP_STAT, ARG_MAY },
	{ "AUTH", FTP_AUTH, ARG_NEED }, { "QUIT", FTP_QUIT, ARG_NONE },
};

int ftp__parse_command(const char *line, size_t len, struct ftp__cmd *cmd)
{
	size_t vl = 0, i, v;

	memset(cmd, 0, sizeof(*cmd));
	if (len + 2 > FTP_MAX_LINE)
		return -EMSGSIZE;
	/* Telnet IP and Synch (IAC IP IAC DM) may come before an ABOR. */
	while (len && (unsigned char)*line >= 0x80) {
		line++;
		len--;
	}
	while (vl < len && line[vl] != ' ')
		vl++;
	for (v = 0; v < ARRAY_SIZE(verbs); v++)
		if (strlen(verbs[v].name) == vl && !strncasecmp(verbs[v].name, line, vl))
			break;
	if (v == ARRAY_SIZE(verbs))
		return -ENOENT;
	cmd->verb = verbs[v].verb;
	cmd->arg = line + vl;
	while (cmd->arg < line + len && *cmd->arg == ' ')
		cmd->arg++;
	cmd->arglen = (size_t)(line + len - cmd->arg);
	while (cmd->arglen && cmd->arg[cmd->arglen - 1] == ' ')
		cmd->arglen--;
	for (i = 0; i < cmd->arglen; i++)
		if ((unsigned char)cmd->arg[i] < ' ' || cmd->arg[i] == 127)
			return -EINVAL;
	if (verbs[v].arg == ARG_NEED && !cmd->arglen)
		return -EINVAL;
	if (verbs[v].arg == ARG_NONE && cmd->arglen)
		return -EINVAL;
	return 0;
}

int ftp__parse_reply(const char *line, size_t len, unsigned *code, bool *more)
{
	if (len < 3 || len > FTP_MAX_LINE || line[0] < '1' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -EINVAL;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -EINVAL;
	*code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
		(unsigned)(line[2] - '0');
	*more = len > 3 && line[3] == '-';
	return 0;
}

/* A decimal number of at most maxd digits at *p (advanced), up to max. */
static int number(const char *s, size_t len, size_t *p, unsigned maxd, uint64_t max, uint64_t *v)
{
	size_t start = *p;

	*v = 0;
	while (*p < len && s[*p] >= '0' && s[*p] <= '9' && *p - start < maxd) {
		*v = *v * 10 + (uint64_t)(s[*p] - '0');
		(*p)++;
	}
	if (*p == start || *v > max || (*p < len && s[*p] >= '0' && s[*p] <= '9'))
		return -EINVAL;
	return 0;
}

int ftp__parse_pasv(const char *text, size_t len, uint32_t *addr, uint16_t *port)
{
	uint64_t v[6];
	size_t p = 0;

	/* RFC 1123 4.1.2.6: look for the first digit, not for a '('. */
	while (p < len && (text[p] < '0' || text[p] > '9'))
		p++;
	for (int i = 0; i < 6; i++) {
		if (i && (p >= len || text[p++] != ','))
			return -EINVAL;
		if (number(text, len, &p, 3, 255, &v[i]))
			return -EINVAL;
	}
	*addr = (uint32_t)(v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]);
	*port = (uint16_t)(v[4] << 8 | v[5]);
	return *port ? 0 : -EINVAL;
}

int ftp__parse_epsv(const char *text, size_t len, uint16_t *port)
{
	const char *open = memchr(text, '(', len);
	size_t p;
	uint64_t v;
	char d;

	if (!open)
		return -EINVAL;
	p = (size_t)(open - text) + 1;
	if (len - p < 6)
		return -EINVAL;
	d = text[p];
	if (d < 33 || d > 126 || (d >= '0' && d <= '9') || text[p + 1] != d || text[p + 2] != d)
		return -EINVAL;
	p += 3;
	if (number(text, len, &p, 5, 65535, &v) || !v || p + 1 >= len || text[p] != d ||
	    text[p + 1] != ')')
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* w[0..n) is a number of at most maxd digits, up to max. */
static int digits(const char *w, size_t n, unsigned maxd, uint64_t max, uint64_t *v)
{
	*v = 0;
	if (!n || n > maxd || maxd > 19)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (uint64_t)(w[i] - '0');
	}
	return *v > max ? -EINVAL : 0;
}

/* The next word of s from *p, spaces skipped; its length (0 at the end). */
static size_t word_at(const char *s, size_t len, size_t *p, const char **w)
{
	size_t n = 0;

	while (*p < len && s[*p] == ' ')
		(*p)++;
	*w = s + *p;
	while (*p < len && s[*p] != ' ') {
		(*p)++;
		n++;
	}
	return n;
}

int ftp__parse_list_line(const char *line, size_t len, struct ftp__entry *e)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *w;
	size_t p = 0, n;
	uint64_t v;

	memset(e, 0, sizeof(*e));
	if (len > FTP_MAX_LINE)
		return -EINVAL;
	n = word_at(line, len, &p, &w);
	if (n == 5 && !memcmp(w, "total", 5))
		return -ENOENT;
	if (n != 10 || !strchr("-dl", w[0]))
		return -EINVAL;
	for (size_t i = 1; i < 10; i++)
		if (!strchr("rwxsStT-", w[i]))
			return -EINVAL;
	e->dir = w[0] == 'd';
	/* links, owner, group, size */
	n = word_at(line, len, &p, &w);
	if (digits(w, n, 10, UINT32_MAX, &v))
		return -EINVAL;
	if (!word_at(line, len, &p, &w) || !word_at(line, len, &p, &w))
		return -EINVAL;
	n = word_at(line, len, &p, &w);
	if (digits(w, n, 19, UINT64_MAX, &v))
		return -EINVAL;
	e->size = v;
	/* Mon DD HH:MM, or Mon DD YYYY */
	n = word_at(line, len, &p, &w);
	{
		bool ok = false;

		for (size_t m = 0; n == 3 && m < 36; m += 3)
			ok |= !memcmp(w, months + m, 3);
		if (!ok)
			return -EINVAL;
	}
	n = word_at(line, len, &p, &w);
	if (n < 1 || n > 2 || w[0] < '0' || w[0] > '9' || (n == 2 && (w[1] < '0' || w[1] > '9')))
		return -EINVAL;
	n = word_at(line, len, &p, &w);
	if (n == 5) {
		if (w[2] != ':')
			return -EINVAL;
	} else if (n != 4) {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (i != 2 || n != 5)
			if (w[i] < '0' || w[i] > '9')
				return -EINVAL;
	/* The name is the rest, after one space (names may hold spaces). */
	if (p + 1 >= len || line[p] != ' ')
		return -EINVAL;
	e->name = line + p + 1;
	e->namelen = len - p - 1;
	if (line[0] == 'l') {
		for (size_t i = 0; i + 4 <= e->namelen; i++)
			if (!memcmp(e->name + i, " -> ", 4)) {
				e->namelen = i;
				break;
			}
	}
	if (!e->namelen)
		return -EINVAL;
	if ((e->namelen == 1 && e->name[0] == '.') ||
	    (e->namelen == 2 && e->name[0] == '.' && e->name[1] == '.'))
		return -ENOENT;
	return 0;
}

/* Add one component to the path at out (length *n). */
static int path_push(char *out, size_t outlen, size_t *n, const char *c, size_t cl)
{
	if (!cl || (cl == 1 && c[0] == '.'))
		return 0;
	if (cl == 2 && c[0] == '.' && c[1] == '.') {
		while (*n && out[*n - 1] != '/')
			(*n)--;
		if (*n)
			(*n)--;     /* the slash */
		out[*n] = 0;
		return 0;
	}
	if (cl >= FTP_MAX_NAME || memchr(c, 0, cl))
		return -EINVAL;
	if (*n + 1 + cl + 1 > outlen)
		return -ENAMETOOLONG;
	out[(*n)++] = '/';
	memcpy(out + *n, c, cl);
	*n += cl;
	out[*n] = 0;
	return 0;
}

static int path_walk(char *out, size_t outlen, size_t *n, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		int r;

		while (j < len && p[j] != '/')
			j++;
		r = path_push(out, outlen, n, p + i, j - i);
		if (r)
			return r;
		i = j + 1;
	}
	return 0;
}

int ftp__path_resolve(const char *cwd, const char *arg, size_t arglen, char *out, size_t outlen)
{
	size_t n = 0;
	int r = 0;

	if (outlen < 2)
		return -ENAMETOOLONG;
	out[0] = 0;
	if (!arglen || arg[0] != '/')
		r = path_walk(out, outlen, &n, cwd, strlen(cwd));
	if (!r)
		r = path_walk(out, outlen, &n, arg, arglen);
	if (!r && !n) {
		out[0] = '/';
		out[1] = 0;
	}
	return r;
}

/* ---- the file tree ----------------------------------------------------------- */

/* Nodes live in one array and link by index + 1 (0: none); freed
 * nodes (deleted uploads) are reused. */
struct ftp_node {
	char name[FTP_MAX_NAME];
	uint32_t parent, child, sibling;
	uint64_t size;
	uint64_t key;           /* where the content starts */
	int64_t mtime;
	uint8_t dir;            /* 1 a directory, 0 a file, 2 free */
	uint8_t kind;           /* enum content_kind */
};

struct ftp_tree {
	struct ftp_node *n;
	uint32_t count, cap, free;
	uint32_t incoming;      /* the drop box's node */
};

static const struct {
	const char *ext;
	uint8_t kind;
} exts[] = {
	{ ".tar.gz", CONTENT_BINARY }, { ".zip", CONTENT_BINARY }, { ".pdf", CONTENT_BINARY },
	{ ".iso", CONTENT_BINARY },    { ".jpg", CONTENT_BINARY }, { ".png", CONTENT_BINARY },
	{ ".deb", CONTENT_BINARY },    { ".txt", CONTENT_TEXT },   { ".csv", CONTENT_TEXT },
	{ ".log", CONTENT_TEXT },      { ".md", CONTENT_TEXT },    { ".html", CONTENT_TEXT },
	{ ".conf", CONTENT_TEXT },     { ".msg", CONTENT_TEXT },
};

static uint8_t kind_of(const char *name)
{
	size_t n = strlen(name);

	if (!strchr(name, '.'))
		return CONTENT_TEXT;   /* README, INSTALL, ... */
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t el = strlen(exts[i].ext);

		if (n > el && !strcasecmp(name + n - el, exts[i].ext))
			return exts[i].kind;
	}
	return CONTENT_BINARY;
}

static int tree_child(const struct ftp_tree *t, uint32_t dir, const char *name, size_t n)
{
	for (uint32_t c = t->n[dir].child; c; c = t->n[c - 1].sibling)
		if (strlen(t->n[c - 1].name) == n && !memcmp(t->n[c - 1].name, name, n))
			return (int)(c - 1);
	return -1;
}

/* A new node under parent, kept in name order. */
static uint32_t tree_add(struct ftp_tree *t, uint32_t parent, const char *name, bool dir,
			 uint64_t size, int64_t mtime, uint64_t key)
{
	struct ftp_node *n;
	uint32_t i, *link;

	if (t->free) {
		i = t->free - 1;
		t->free = t->n[i].sibling;
	} else {
		if (t->count == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 256;
			t->n = xreallocarray(t->n, t->cap, sizeof(*t->n));
		}
		i = t->count++;
	}
	n = &t->n[i];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->dir = dir;
	n->size = dir ? 4096 : size;
	n->mtime = mtime;
	n->key = key;
	n->kind = kind_of(name);
	n->parent = parent + 1;
	if (i == parent)
		return i;   /* the root */
	link = &t->n[parent].child;
	while (*link && strcmp(t->n[*link - 1].name, name) < 0)
		link = &t->n[*link - 1].sibling;
	n->sibling = *link;
	*link = i + 1;
	return i;
}

static void tree_del(struct ftp_tree *t, uint32_t i)
{
	uint32_t *link = &t->n[t->n[i].parent - 1].child;

	while (*link && *link != i + 1)
		link = &t->n[*link - 1].sibling;
	if (*link)
		*link = t->n[i].sibling;
	t->n[i].dir = 2;
	t->n[i].sibling = t->free;
	t->free = i + 1;
}

/* The node at an absolute, normalised path, or -1. */
static int tree_find(const struct ftp_tree *t, const char *path)
{
	int at = 0;
	const char *p = path;

	while (*p == '/')
		p++;
	while (*p && at >= 0) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!t->n[at].dir)
			return -1;
		at = tree_child(t, (uint32_t)at, p, n);
		p += n;
		while (*p == '/')
			p++;
	}
	return at;
}

static const char *const subdirs[] = { "archive", "old", "releases", "v2", "extra", "backup" };

/* A directory's files: name-word[-word][-version].ext, sizes from the
 * model's heavy-tailed file_size. */
static void tree_fill(struct ftp_tree *t, uint32_t dir, unsigned nfiles, const struct model *m,
		      struct rng *r, int64_t now, bool text_only)
{
	for (unsigned i = 0; i < nfiles; i++) {
		char name[FTP_MAX_NAME];
		unsigned e = text_only ? 7 + (unsigned)rng_below(r, ARRAY_SIZE(exts) - 7)
				       : (unsigned)rng_below(r, ARRAY_SIZE(exts));
		uint64_t size = (uint64_t)MAX(0.0, model_draw(m, "file_size", r, 64 << 10));
		int64_t age = (int64_t)(rng_unit(r) * rng_unit(r) * 3 * 365 * 86400.0);

		switch (rng_below(r, 3)) {
		case 0:
			snprintf(name, sizeof(name), "%s%s", content_word(rng_next(r)), exts[e].ext);
			break;
		case 1:
			snprintf(name, sizeof(name), "%s-%s%s", content_word(rng_next(r)),
				 content_word(rng_next(r)), exts[e].ext);
			break;
		default:
			snprintf(name, sizeof(name), "%s-%u.%u.%u%s", content_word(rng_next(r)),
				 (unsigned)rng_below(r, 5), (unsigned)rng_below(r, 20),
				 (unsigned)rng_below(r, 10), exts[e].ext);
			break;
		}
		if (tree_child(t, dir, name, strlen(name)) >= 0)
			continue;
		tree_add(t, dir, name, false, MIN(size, FTP_MAX_SIZE), now - age, rng_next(r));
	}
}

static void tree_build(struct ftp_tree *t, const struct model *m, struct rng *r)
{
	int64_t now = (int64_t)time(NULL);
	unsigned ndirs = (unsigned)MAX(1.0, MIN(500.0, model_draw(m, "dirs", r, 12)));
	uint32_t pub;

	memset(t, 0, sizeof(*t));
	tree_add(t, 0, "", true, 0, now - 400 * 86400, 0);
	pub = tree_add(t, 0, "pub", true, 0, now - 200 * 86400, 0);
	t->incoming = tree_add(t, 0, "incoming", true, 0, now - 300 * 86400, 0);
	tree_fill(t, tree_add(t, 0, "docs", true, 0, now - 90 * 86400, 0),
		  (unsigned)MIN(200.0, MAX(1.0, model_draw(m, "dir_files", r, 10))), m, r, now, true);
	tree_add(t, 0, "README", false, 1500 + rng_below(r, 3000), now - 30 * 86400, rng_next(r));
	tree_add(t, 0, "welcome.msg", false, 200 + rng_below(r, 400), now - 60 * 86400, rng_next(r));
	for (unsigned i = 0; i < ndirs; i++) {
		const char *w = content_word(rng_next(r));
		uint32_t d;

		if (strlen(w) < 3 || tree_child(t, pub, w, strlen(w)) >= 0)
			continue;
		d = tree_add(t, pub, w, true, 0, now - (int64_t)rng_below(r, 700) * 86400, 0);
		tree_fill(t, d, (unsigned)MIN(200.0, MAX(0.0, model_draw(m, "dir_files", r, 10))), m,
			  r, now, false);
		if (rng_unit(r) < 0.3) {
			const char *s = subdirs[rng_below(r, ARRAY_SIZE(subdirs))];
			uint32_t sd = tree_add(t, d, s, true, 0, now - (int64_t)rng_below(r, 900) * 86400, 0);

			tree_fill(t, sd, (unsigned)MIN(200.0, MAX(0.0, model_draw(m, "dir_files", r, 10))),
				  m, r, now, false);
		}
	}
}

/* ---- server ---------------------------------------------------------------- */

struct ftp_sess;

struct ftp_server {
	struct io io;
	struct host *h;
	struct stats *st;
	struct ftp_tree tree;
	struct ftp_sess *sessions;  /* kept reachable */
	struct ftp_server *next;
};

/* Listeners live as long as the process; this list keeps them reachable
 * (the agent API has no teardown, and leak checkers look for owners). */
static struct ftp_server *servers;

enum { S_USER, S_PASS, S_READY, S_CLOSING };
enum { X_NONE, X_LIST, X_NLST, X_RETR, X_STOR };

/* A data connection; it may outlive its session for a moment. */
struct ftp_sdata {
	struct conn c;
	struct defer d;
	struct ftp_sess *s;     /* NULL once the session let go */
	bool up;                /* connected() came */
};

struct ftp_sess {
	struct conn c;
	struct io pasv;         /* the passive listener; fd -1 when none */
	struct timer idle, accept;
	struct defer d;
	struct ftp_server *srv;
	struct ftp_sess *next, **pprev;
	struct ftp_sdata *data;
	char cwd[FTP_MAX_PATH];
	char xpath[FTP_MAX_PATH];  /* the transfer's path */
	uint64_t xsize;         /* bytes of the upload so far */
	uint32_t peer;          /* the client: data must come from it */
	uint8_t state, xfer, errors;
	bool xstarted;          /* 150 sent */
	bool xsending;          /* all queued, waiting for it to drain */
	bool xdrained;          /* all sent: the 226 waits for the peer's FIN */
	bool ascii;
	bool processing;        /* inside sess_process */
};

static void sess_process(struct ftp_sess *s);

static void sess_free(struct defer *d)
{
	free(container_of(d, struct ftp_sess, d));
}

static void sdata_free(struct defer *d)
{
	free(container_of(d, struct ftp_sdata, d));
}

static void reply(struct ftp_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct ftp_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vprintf(&s->c, fmt, ap);
	va_end(ap);
	conn_write(&s->c, "\r\n", 2);
}

static void pasv_close(struct ftp_sess *s)
{
	loop_timer_stop(s->c.loop, &s->accept);
	if (s->pasv.fd < 0)
		return;
	loop_io_stop(s->c.loop, &s->pasv);
	close(s->pasv.fd);
	s->pasv.fd = -1;
}

/* Let go of the data connection: it closes, and frees itself. */
static void data_drop(struct ftp_sess *s)
{
	struct ftp_sdata *sd = s->data;

	if (!sd)
		return;
	s->data = NULL;
	sd->s = NULL;
	conn_close(&sd->c, 0);
}

static void xfer_reset(struct ftp_sess *s)
{
	s->xfer = X_NONE;
	s->xstarted = s->xsending = s->xdrained = false;
}

static void hangup(struct ftp_sess *s, const char *text)
{
	reply(s, "%s", text);
	s->state = S_CLOSING;
	pasv_close(s);
	data_drop(s);
	conn_shutdown(&s->c);
	loop_timer_start(s->c.loop, &s->idle, host_ns(FTP_CLOSE_S));
}

/* A protocol error of the peer: count it, answer, and give up on a
 * peer that keeps erring. */
static void peer_error(struct ftp_sess *s, const char *text)
{
	s->srv->st->errors++;
	if (++s->errors >= FTP_MAX_ERRORS)
		hangup(s, "421 Too many errors, closing control connection.");
	else
		reply(s, "%s", text);
}

static void idle_cb(struct loop *l, struct timer *t)
{
	struct ftp_sess *s = container_of(t, struct ftp_sess, idle);

	(void)l;
	if (s->state == S_CLOSING) {
		conn_close(&s->c, -ETIMEDOUT);
	} else if (s->xfer != X_NONE && s->data) {
		/* A long transfer keeps the control connection quiet. */
		loop_timer_start(s->c.loop, &s->idle, host_ns(FTP_IDLE_S));
	} else {
		hangup(s, "421 Timeout.");
	}
}

static void accept_timeout_cb(struct loop *l, struct timer *t)
{
	struct ftp_sess *s = container_of(t, struct ftp_sess, accept);

	(void)l;
	pasv_close(s);
	if (s->xfer != X_NONE && !s->data) {
		xfer_reset(s);
		reply(s, "425 Failed to establish connection.");
		sess_process(s);
	}
}

/* Everything was written, and the client has closed its end too. */
static void xfer_sent(struct ftp_sess *s)
{
	bool list = s->xfer == X_LIST || s->xfer == X_NLST;

	xfer_reset(s);
	s->srv->st->actions++;
	reply(s, list ? "226 Directory send OK." : "226 Transfer complete.");
	sess_process(s);
}

static void month_day(char *out, size_t n, int64_t when, int64_t now)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* ls: the time for the last six months, else the year. */
	if (now - when < 182 * 86400 && when <= now + 3600)
		snprintf(out, n, "%s %02d %02d:%02d", mon[tm.tm_mon % 12], tm.tm_mday,
			 tm.tm_hour, tm.tm_min);
	else
		snprintf(out, n, "%s %02d  %04d", mon[tm.tm_mon % 12], tm.tm_mday,
			 tm.tm_year + 1900);
}

static void list_entry(struct conn *dc, const struct ftp_tree *t, uint32_t i, bool nlst,
		       int64_t now)
{
	const struct ftp_node *n = &t->n[i];
	char date[32];
	unsigned links = 1;

	if (nlst) {
		conn_printf(dc, "%s\r\n", n->name);
		return;
	}
	if (n->dir) {
		links = 2;
		for (uint32_t c = n->child; c; c = t->n[c - 1].sibling)
			links += t->n[c - 1].dir;
	}
	month_day(date, sizeof(date), n->mtime, now);
	conn_printf(dc, "%s %4u %-8s %-8s %8llu %s %s\r\n", n->dir ? "drwxr-xr-x" : "-rw-r--r--",
		    links, "ftp", "ftp", (unsigned long long)n->size, date, n->name);
}

/* The data connection is up and the command is in: 150, then the data. */
static void xfer_begin(struct ftp_sess *s)
{
	struct ftp_tree *t = &s->srv->tree;
	struct conn *dc = &s->data->c;
	int node = tree_find(t, s->xpath);

	s->xstarted = true;
	if (s->xfer == X_STOR) {
		s->xsize = 0;
		reply(s, "150 Ok to send data.");
		return;
	}
	if (node < 0) {
		/* Deleted since the command was taken. */
		xfer_reset(s);
		data_drop(s);
		reply(s, "550 Failed to open file.");
		sess_process(s);
		return;
	}
	if (s->xfer == X_RETR) {
		const struct ftp_node *n = &t->n[node];

		reply(s, "150 Opening %s mode data connection for %s (%llu bytes).",
		      s->ascii ? "ASCII" : "BINARY", n->name, (unsigned long long)n->size);
		content_send(&s->srv->h->content, dc, (enum content_kind)n->kind, n->key, n->size);
	} else {
		int64_t now = (int64_t)time(NULL);
		bool nlst = s->xfer == X_NLST;

		reply(s, "150 Here comes the directory listing.");
		if (!t->n[node].dir)
			list_entry(dc, t, (uint32_t)node, nlst, now);
		for (uint32_t c = t->n[node].dir ? t->n[node].child : 0; c; c = t->n[c - 1].sibling)
			list_entry(dc, t, c - 1, nlst, now);
	}
	s->xsending = true;
	conn_shutdown(dc);
	/* Nothing queued (an empty directory): the FIN went at once. */
	if (s->data && conn_is_open(dc) && !dc->queued)
		s->xdrained = true;
}

static void sdata_connected(struct conn *c)
{
	struct ftp_sdata *sd = container_of(c, struct ftp_sdata, c);

	sd->up = true;
	if (sd->s && sd->s->xfer != X_NONE && !sd->s->xstarted)
		xfer_begin(sd->s);
}

static void sdata_readable(struct conn *c)
{
	struct ftp_sdata *sd = container_of(c, struct ftp_sdata, c);
	struct ftp_sess *s = sd->s;

	if (s && s->xfer == X_STOR && s->xstarted) {
		s->xsize += c->in.len;
		loop_timer_start(c->loop, &s->idle, host_ns(FTP_IDLE_S));
	}
	conn_consume(c, c->in.len);
}

static void sdata_drained(struct conn *c)
{
	struct ftp_sdata *sd = container_of(c, struct ftp_sdata, c);

	/* The 226 goes once the client has closed too, as vsftpd does:
	 * never in the segment of the 150. */
	if (sd->s && sd->s->xsending && sd->s->data == sd)
		sd->s->xdrained = true;
}

static void stor_done(struct ftp_sess *s)
{
	struct ftp_tree *t = &s->srv->tree;
	const char *name = strrchr(s->xpath, '/') + 1;
	int old = tree_child(t, t->incoming, name, strlen(name));
	unsigned count = 0;
	uint32_t oldest = 0;

	if (old >= 0)
		tree_del(t, (uint32_t)old);
	/* The drop box keeps the latest uploads only. */
	for (uint32_t c = t->n[t->incoming].child; c; c = t->n[c - 1].sibling) {
		count++;
		if (!oldest || t->n[c - 1].mtime < t->n[oldest - 1].mtime)
			oldest = c;
	}
	if (count >= FTP_MAX_UPLOADS)
		tree_del(t, oldest - 1);
	tree_add(t, t->incoming, name, false, s->xsize, (int64_t)time(NULL),
		 rng_hash(s->xpath, strlen(s->xpath), s->xsize));
	xfer_reset(s);
	s->srv->st->actions++;
	reply(s, "226 Transfer complete.");
	sess_process(s);
}

static void sdata_closed(struct conn *c, int err)
{
	struct ftp_sdata *sd = container_of(c, struct ftp_sdata, c);
	struct ftp_sess *s = sd->s;

	loop_defer(c->loop, &sd->d, sdata_free);
	if (!s)
		return;
	s->data = NULL;
	sd->s = NULL;
	if (s->xfer == X_NONE)
		return;
	if (s->xfer == X_STOR && s->xstarted && !err) {
		stor_done(s);
	} else if (s->xdrained && !err) {
		xfer_sent(s);
	} else if (s->xstarted) {
		reply(s, "426 Failure %s network stream.", s->xfer == X_STOR ? "reading" : "writing");
		xfer_reset(s);
		sess_process(s);
	} else {
		xfer_reset(s);
		reply(s, "425 Failed to establish connection.");
		sess_process(s);
	}
}

static const struct conn_ops sdata_ops = {
	.connected = sdata_connected,
	.readable = sdata_readable,
	.drained = sdata_drained,
	.closed = sdata_closed,
};

static void pasv_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct ftp_sess *s = container_of(io, struct ftp_sess, pasv);

	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(io->fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		struct ftp_sdata *sd;

		if (fd < 0)
			return;
		/* Only the client may use its data port (no port theft). */
		if (ntohl(sa.sin_addr.s_addr) != s->peer) {
			close(fd);
			continue;
		}
		pasv_close(s);
		data_drop(s);
		sd = xcalloc(1, sizeof(*sd));
		sd->s = s;
		sd->c.st = s->srv->st;
		if (conn_accept(&sd->c, l, &sdata_ops, fd)) {
			close(fd);
			free(sd);
			if (s->xfer != X_NONE) {
				xfer_reset(s);
				reply(s, "425 Failed to establish connection.");
				sess_process(s);
			}
			return;
		}
		s->data = sd;
		return;
	}
}

/* Open a passive listener on the control connection's address; its
 * port, or 0. */
static uint16_t pasv_open(struct ftp_sess *s, uint32_t *addr)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	unsigned range = FTP_PASV_MAX - FTP_PASV_MIN + 1;
	unsigned start = (unsigned)rng_below(&s->srv->h->rng, range);
	int fd, one = 1;

	pasv_close(s);
	data_drop(s);
	if (getsockname(s->c.io.fd, (struct sockaddr *)&sa, &sl) < 0)
		return 0;
	*addr = ntohl(sa.sin_addr.s_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	/* Earlier data connections of this port may sit in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (unsigned k = 0; k < range; k++) {
		sa.sin_port = htons((uint16_t)(FTP_PASV_MIN + (start + k) % range));
		if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(fd, 1)) {
			s->pasv.fd = fd;
			if (loop_io_set(s->c.loop, &s->pasv, IO_IN))
				break;
			loop_timer_start(s->c.loop, &s->accept, host_ns(FTP_ACCEPT_S));
			return ntohs(sa.sin_port);
		}
		if (errno != EADDRINUSE)
			break;
	}
	close(fd);
	s->pasv.fd = -1;
	return 0;
}

/* The path of an argument, from the session's directory; the tree node,
 * or -1 when it is not there. */
static int lookup(struct ftp_sess *s, const struct ftp__cmd *cmd, char *path)
{
	if (ftp__path_resolve(s->cwd, cmd->arg, cmd->arglen, path, FTP_MAX_PATH))
		return -1;
	return tree_find(&s->srv->tree, path);
}

/* LIST, NLST, RETR, STOR, APPE. */
static void cmd_transfer(struct ftp_sess *s, struct ftp__cmd *cmd)
{
	struct ftp_tree *t = &s->srv->tree;
	char path[FTP_MAX_PATH];
	int node;

	if (s->pasv.fd < 0 && !s->data) {
		reply(s, "425 Use PORT or PASV first.");
		return;
	}
	if (s->xfer != X_NONE) {
		reply(s, "450 A transfer is already in progress.");
		return;
	}
	if (cmd->verb == FTP_LIST || cmd->verb == FTP_NLST) {
		/* ls options ("-la") are not paths. */
		while (cmd->arglen && cmd->arg[0] == '-') {
			while (cmd->arglen && cmd->arg[0] != ' ') {
				cmd->arg++;
				cmd->arglen--;
			}
			while (cmd->arglen && cmd->arg[0] == ' ') {
				cmd->arg++;
				cmd->arglen--;
			}
		}
		node = lookup(s, cmd, path);
		if (node < 0) {
			pasv_close(s);
			data_drop(s);
			reply(s, "550 No such file or directory.");
			return;
		}
		s->xfer = cmd->verb == FTP_LIST ? X_LIST : X_NLST;
	} else if (cmd->verb == FTP_RETR) {
		node = lookup(s, cmd, path);
		if (node < 0 || t->n[node].dir) {
			pasv_close(s);
			data_drop(s);
			reply(s, "550 Failed to open file.");
			return;
		}
		s->xfer = X_RETR;
	} else {
		char *slash;
		int dir = -1;

		node = -1;
		if (!ftp__path_resolve(s->cwd, cmd->arg, cmd->arglen, path, sizeof(path))) {
			node = tree_find(t, path);
			slash = strrchr(path, '/');
			*slash = 0;
			dir = tree_find(t, path[0] ? path : "/");
			*slash = '/';
		} else {
			slash = path;
			path[0] = path[1] = 0;
		}
		/* Uploads go to the drop box only, and never over a directory. */
		if (dir != (int)t->incoming || (node >= 0 && t->n[node].dir) || !slash[1]) {
			pasv_close(s);
			data_drop(s);
			reply(s, "553 Could not create file.");
			return;
		}
		s->xfer = X_STOR;
	}
	snprintf(s->xpath, sizeof(s->xpath), "%s", path);
	if (s->data && s->data->up)
		xfer_begin(s);
}

static void cmd_type(struct ftp_sess *s, const struct ftp__cmd *cmd)
{
	char c = (char)(cmd->arg[0] & ~0x20);

	if ((c == 'A' && (cmd->arglen == 1 || (cmd->arglen == 3 && (cmd->arg[2] & ~0x20) == 'N'))) ||
	    (c == 'I' && cmd->arglen == 1) || (c == 'L' && cmd->arglen == 3 && cmd->arg[2] == '8')) {
		s->ascii = c == 'A';
		reply(s, "200 Switching to %s mode.", s->ascii ? "ASCII" : "Binary");
	} else if (c == 'E' || c == 'A' || c == 'L') {
		reply(s, "504 Bad TYPE command.");
	} else {
		peer_error(s, "501 Unrecognised TYPE command.");
	}
}

static void cmd_cwd(struct ftp_sess *s, const struct ftp__cmd *cmd)
{
	char path[FTP_MAX_PATH];
	int node = lookup(s, cmd, path);

	if (node < 0 || !s->srv->tree.n[node].dir) {
		reply(s, "550 Failed to change directory.");
		return;
	}
	memcpy(s->cwd, path, strlen(path) + 1);
	reply(s, "250 Directory successfully changed.");
}

/* Commands of a logged-in user. */
static void cmd_session(struct ftp_sess *s, struct ftp__cmd *cmd)
{
	struct ftp_tree *t = &s->srv->tree;
	char path[FTP_MAX_PATH];
	int node;

	switch (cmd->verb) {
	case FTP_PWD:
		reply(s, "257 \"%s\" is the current directory", s->cwd);
		break;
	case FTP_CWD:
		cmd_cwd(s, cmd);
		break;
	case FTP_CDUP:
		cmd->arg = "..";
		cmd->arglen = 2;
		cmd_cwd(s, cmd);
		break;
	case FTP_TYPE:
		cmd_type(s, cmd);
		break;
	case FTP_MODE:
		if ((cmd->arg[0] & ~0x20) == 'S' && cmd->arglen == 1)
			reply(s, "200 Mode set to S.");
		else
			reply(s, "504 Bad MODE command.");
		break;
	case FTP_STRU:
		if ((cmd->arg[0] & ~0x20) == 'F' && cmd->arglen == 1)
			reply(s, "200 Structure set to F.");
		else
			reply(s, "504 Bad STRU command.");
		break;
	case FTP_PASV:
	case FTP_EPSV: {
		uint32_t a = 0;
		uint16_t port;

		if (cmd->verb == FTP_EPSV && cmd->arglen &&
		    !(cmd->arglen == 1 && cmd->arg[0] == '1') && strncasecmp(cmd->arg, "ALL", 3)) {
			reply(s, "522 Network protocol not supported, use (1)");
			break;
		}
		if (s->xfer != X_NONE) {
			reply(s, "450 A transfer is already in progress.");
			break;
		}
		port = pasv_open(s, &a);
		if (!port)
			reply(s, "425 Could not open passive port.");
		else if (cmd->verb == FTP_PASV)
			reply(s, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).", a >> 24,
			      (a >> 16) & 255, (a >> 8) & 255, a & 255, port >> 8, port & 255);
		else
			reply(s, "229 Entering Extended Passive Mode (|||%u|)", port);
		break;
	}
	case FTP_PORT:
	case FTP_EPRT:
		reply(s, "502 Active mode is not supported, use PASV.");
		break;
	case FTP_LIST:
	case FTP_NLST:
	case FTP_RETR:
	case FTP_STOR:
	case FTP_APPE:
		cmd_transfer(s, cmd);
		break;
	case FTP_SIZE:
	case FTP_MDTM:
		node = lookup(s, cmd, path);
		if (node < 0 || t->n[node].dir) {
			reply(s, "550 Could not get file %s.",
			      cmd->verb == FTP_SIZE ? "size" : "modification time");
		} else if (cmd->verb == FTP_SIZE) {
			reply(s, "213 %llu", (unsigned long long)t->n[node].size);
		} else {
			time_t when = (time_t)t->n[node].mtime;
			struct tm tm;

			gmtime_r(&when, &tm);
			reply(s, "213 %04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		}
		break;
	case FTP_DELE:
		node = lookup(s, cmd, path);
		if (node < 0 || t->n[node].dir || t->n[node].parent - 1 != t->incoming) {
			reply(s, "550 Delete operation failed.");
		} else {
			tree_del(t, (uint32_t)node);
			reply(s, "250 Delete operation successful.");
		}
		break;
	case FTP_MKD:
	case FTP_RMD:
	case FTP_RNFR:
	case FTP_RNTO:
		reply(s, "550 Permission denied.");
		break;
	case FTP_ABOR:
		pasv_close(s);
		if (s->xfer != X_NONE) {
			xfer_reset(s);
			data_drop(s);
			reply(s, "426 Failure writing network stream.");
			reply(s, "226 ABOR successful.");
		} else {
			data_drop(s);
			reply(s, "225 No transfer to ABOR.");
		}
		break;
	case FTP_ALLO:
		reply(s, "202 ALLO command ignored.");
		break;
	case FTP_STAT:
		reply(s, "211-FTP server status:\r\n     Logged in, TYPE %s\r\n"
			 "     Session timeout in seconds is %d\r\n211 End of status",
		      s->ascii ? "ASCII" : "BINARY", (int)FTP_IDLE_S);
		break;
	default:   /* REST, ACCT */
		reply(s, "502 Command not implemented.");
		break;
	}
}

static void sess_command(struct ftp_sess *s, const char *line, size_t len)
{
	struct ftp__cmd cmd;
	int r = ftp__parse_command(line, len, &cmd);

	if (r == -EMSGSIZE || r == -ENOENT) {
		peer_error(s, r == -ENOENT ? "500 Unknown command." : "500 Input line too long.");
		return;
	}
	if (r) {
		peer_error(s, "501 Syntax error in parameters or arguments.");
		return;
	}
	switch (cmd.verb) {
	case FTP_USER:
		if (s->state == S_READY) {
			peer_error(s, "530 Can't change to another user.");
			return;
		}
		s->state = S_PASS;
		reply(s, "331 Please specify the password.");
		return;
	case FTP_PASS:
		if (s->state == S_READY) {
			reply(s, "230 Already logged in.");
		} else if (s->state != S_PASS) {
			peer_error(s, "503 Login with USER first.");
		} else {
			s->state = S_READY;
			reply(s, "230 Login successful.");
		}
		return;
	case FTP_QUIT:
		hangup(s, "221 Goodbye.");
		return;
	case FTP_SYST:
		reply(s, "215 UNIX Type: L8");
		return;
	case FTP_FEAT:
		reply(s, "211-Features:\r\n EPSV\r\n MDTM\r\n PASV\r\n SIZE\r\n TVFS\r\n UTF8\r\n"
			 "211 End");
		return;
	case FTP_OPTS:
		if (cmd.arglen >= 4 && !strncasecmp(cmd.arg, "UTF8", 4))
			reply(s, "200 Always in UTF8 mode.");
		else
			reply(s, "501 Option not understood.");
		return;
	case FTP_NOOP:
		reply(s, "200 NOOP ok.");
		return;
	case FTP_HELP:
		reply(s, "214-The following commands are recognized.\r\n"
			 " ABOR ALLO APPE CDUP CWD  DELE EPSV FEAT HELP LIST MDTM MODE NLST NOOP\r\n"
			 " OPTS PASS PASV PWD  QUIT RETR SIZE STAT STOR STRU SYST TYPE USER XCUP\r\n"
			 " XCWD XPWD\r\n214 Help OK.");
		return;
	case FTP_AUTH:
		reply(s, "502 TLS is not offered here.");
		return;
	default:
		break;
	}
	if (s->state != S_READY) {
		if (s->state == S_PASS)
			s->state = S_USER;
		peer_error(s, "530 Please login with USER and PASS.");
		return;
	}
	cmd_session(s, &cmd);
}

/* Take the commands in, one at a time: while a transfer is on, the
 * next wait (as with vsftpd, which does not read then), so that replies
 * keep the order of the commands. */
static void sess_process(struct ftp_sess *s)
{
	struct conn *c = &s->c;

	if (s->processing)
		return;   /* called back from inside: the loop below goes on */
	s->processing = true;
	while (conn_is_open(c) && c->in.len && s->state != S_CLOSING && s->xfer == X_NONE) {
		size_t n, used;
		const char *line = conn_line(c, &n, &used);

		if (!line) {
			if (c->in.len > FTP_MAX_LINE) {
				s->srv->st->errors++;
				hangup(s, "500 Input line too long.");
			}
			break;
		}
		sess_command(s, line, n);
		if (conn_is_open(c))
			conn_consume(c, used);
	}
	if (conn_is_open(c) && s->state == S_CLOSING)
		conn_consume(c, c->in.len);
	s->processing = false;
}

static void sess_readable(struct conn *c)
{
	struct ftp_sess *s = container_of(c, struct ftp_sess, c);

	if (s->state != S_CLOSING)
		loop_timer_start(c->loop, &s->idle, host_ns(FTP_IDLE_S));
	sess_process(s);
}

static void sess_connected(struct conn *c)
{
	struct ftp_sess *s = container_of(c, struct ftp_sess, c);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (getpeername(c->io.fd, (struct sockaddr *)&sa, &sl) == 0)
		s->peer = ntohl(sa.sin_addr.s_addr);
	reply(s, "220 Welcome to %s FTP service.", s->srv->h->name);
	loop_timer_start(c->loop, &s->idle, host_ns(FTP_IDLE_S));
}

static void sess_closed(struct conn *c, int err)
{
	struct ftp_sess *s = container_of(c, struct ftp_sess, c);

	(void)err;
	loop_timer_stop(c->loop, &s->idle);
	pasv_close(s);
	data_drop(s);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	loop_defer(c->loop, &s->d, sess_free);
}

static const struct conn_ops sess_ops = {
	.connected = sess_connected,
	.readable = sess_readable,
	.closed = sess_closed,
};

static void ftp_accept_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct ftp_server *srv = container_of(io, struct ftp_server, io);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
		struct ftp_sess *s;

		if (fd < 0)
			return;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = idle_cb;
		s->accept.cb = accept_timeout_cb;
		s->pasv.fd = -1;
		s->pasv.cb = pasv_cb;
		s->state = S_USER;
		s->cwd[0] = '/';
		s->next = srv->sessions;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &srv->sessions;
		srv->sessions = s;
		srv->st->sessions++;
		if (conn_accept(&s->c, l, &sess_ops, fd))
			conn_close(&s->c, -EBADF);   /* closed() unlinks and frees */
	}
}

static int ftp_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	struct ftp_server *srv = NULL;
	struct rng r;
	int fd = -1, ret;

	ret = agent_listen_tcp(port, &fd);
	if (ret) {
		snprintf(err, errlen, "cannot listen on port %u: %s", port, strerror(-ret));
		goto out;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	/* The tree is the host's: the same run makes the same files. */
	rng_seed(&r, rng_hash(h->name, strlen(h->name), 0x667470));
	tree_build(&srv->tree, m, &r);
	srv->io.fd = fd;
	srv->io.cb = ftp_accept_cb;
	ret = loop_io_set(h->loop, &srv->io, IO_IN);
	if (ret) {
		snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(-ret));
		goto out;
	}
	srv->next = servers;
	servers = srv;
	srv = NULL;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (srv)
		free(srv->tree.n);
	free(srv);
	return ret;
}

/* ---- client ---------------------------------------------------------------- */

/* What the users of one client() share; freed with the last of them
 * (env is copied: the caller's may not outlive the call). */
struct ftp_client {
	struct agent_env env;
	unsigned alive;
};

enum {
	C_NONE, C_CONNECTING, C_GREET, C_USER, C_PASS, C_SYST, C_FEAT, C_PWD, C_READY, C_STEP,
	C_QUIT,
};

/* What an action does, a command each (PASV/EPSV are followed by
 * their transfer command, sent once the data connection is up). */
enum {
	P_CWD, P_PWD, P_TYPE_A, P_TYPE_I, P_SIZE, P_MDTM, P_PASV, P_EPSV, P_LIST, P_NLST, P_RETR,
	P_STOR, P_DELE, P_QUIT,
};

struct ftp_user;

struct ftp_cdata {
	struct conn c;
	struct defer d;
	struct ftp_user *u;     /* NULL once the user let go */
	uint64_t bytes;
};

struct ftp_seen {
	char name[FTP_MAX_NAME];
	bool dir;
};

struct ftp_user {
	struct conn c;
	struct timer think, wait;
	struct defer d;
	struct ftp_client *cl;
	struct ftp_cdata *data;
	char cwd[FTP_MAX_PATH];
	char dir[FTP_MAX_PATH];       /* the action's directory */
	char seen_dir[FTP_MAX_PATH];  /* where the seen entries are */
	char file[FTP_MAX_NAME];      /* the action's file */
	struct ftp_seen seen[FTP_MAX_SEEN];
	uint64_t size;                /* SIZE's answer, UINT64_MAX unknown */
	uint64_t xbytes;              /* what the data connection carried */
	uint64_t upload;              /* bytes to STOR */
	uint64_t wake;                /* loop time the think ends */
	uint32_t person;
	unsigned multi;               /* code of the multi-line reply read, or 0 */
	int action, next;
	uint8_t steps[FTP_MAX_STEPS], nsteps, step;
	uint8_t nseen;
	uint8_t cst;
	char type;                    /* TYPE in force: 'A', 'I', 0 unknown */
	bool epsv_ok;                 /* FEAT listed EPSV */
	bool anonymous;               /* logged in as anonymous */
	bool got150, got226, data_done, xfer_failed;
	bool xfer_cmd;                /* the transfer command went */
	bool busy, session_end, done;
};

static const char *const people[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
	"mallory", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter",
};

static void user_action(struct ftp_user *u);
static void run_steps(struct ftp_user *u);

static struct host *uhost(const struct ftp_user *u)
{
	return u->cl->env.host;
}

static struct loop *uloop(const struct ftp_user *u)
{
	return u->cl->env.host->loop;
}

static struct stats *ust(const struct ftp_user *u)
{
	return u->cl->env.st;
}

static double udraw(const struct ftp_user *u, const char *name, double dflt)
{
	return model_draw(u->cl->env.model, name, &uhost(u)->rng, dflt);
}

static void user_free(struct defer *d)
{
	struct ftp_user *u = container_of(d, struct ftp_user, d);
	struct ftp_client *cl = u->cl;

	free(u);
	if (!--cl->alive)
		free(cl);
}

static void cdata_free(struct defer *d)
{
	free(container_of(d, struct ftp_cdata, d));
}

static void user_wait(struct ftp_user *u)
{
	loop_timer_start(uloop(u), &u->wait, host_ns(FTP_REPLY_S));
}

static void cdata_drop(struct ftp_user *u)
{
	struct ftp_cdata *cd = u->data;

	if (!cd)
		return;
	u->data = NULL;
	cd->u = NULL;
	conn_close(&cd->c, 0);
}

static void user_quit(struct ftp_user *u)
{
	cdata_drop(u);
	conn_printf(&u->c, "QUIT\r\n");
	u->cst = C_QUIT;
	user_wait(u);
}

/* The user stops for good once no connection is left. */
static void user_stop(struct ftp_user *u)
{
	if (u->done)
		return;
	if (u->cst == C_READY) {
		user_quit(u);
		return;
	}
	if (u->cst != C_NONE)
		return;   /* closed() comes back here when the exchange is over */
	u->done = true;
	cdata_drop(u);
	loop_timer_stop(uloop(u), &u->think);
	loop_timer_stop(uloop(u), &u->wait);
	loop_defer(uloop(u), &u->d, user_free);
}

static void arm_think(struct ftp_user *u)
{
	uint64_t now = loop_now(uloop(u)), left = u->wake > now ? u->wake - now : 0;

	loop_timer_start(uloop(u), &u->think, MIN(left, host_ns(FTP_TICK_S)));
}

static void think_cb(struct loop *l, struct timer *t)
{
	struct ftp_user *u = container_of(t, struct ftp_user, think);

	if (u->busy)
		return;
	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	if (loop_now(l) < u->wake || u->cst == C_QUIT) {
		arm_think(u);
		return;
	}
	if (u->session_end) {
		u->session_end = false;
		ust(u)->sessions++;
		u->action = model_start(u->cl->env.model);
	} else {
		u->action = u->next;
	}
	user_action(u);
}

/* The action is over: draw the think time and what comes next. */
static void user_think(struct ftp_user *u)
{
	const struct agent_env *env = &u->cl->env;
	double think = model_think(env->model, u->action, &uhost(u)->rng) * agent_think_scale(env);

	u->busy = false;
	u->next = model_next(env->model, u->action, &uhost(u)->rng);
	u->session_end = u->next == MODEL_END;
	u->wake = loop_now(uloop(u)) + host_ns(think);
	loop_timer_stop(uloop(u), &u->wait);
	/* Log out at the end of a session, before a long pause (the
	 * server would time out), and when the run ends. */
	if (u->cst == C_READY && (u->session_end || think > FTP_KEEP_S || uhost(u)->stopping))
		user_quit(u);
	arm_think(u);
}

static bool is_xfer(uint8_t st)
{
	return st == P_LIST || st == P_NLST || st == P_RETR || st == P_STOR;
}

static void send_step(struct ftp_user *u)
{
	static const char *const cmds[] = {
		[P_CWD] = "CWD", [P_PWD] = "PWD", [P_TYPE_A] = "TYPE A", [P_TYPE_I] = "TYPE I",
		[P_SIZE] = "SIZE", [P_MDTM] = "MDTM", [P_PASV] = "PASV", [P_EPSV] = "EPSV",
		[P_LIST] = "LIST", [P_NLST] = "NLST", [P_RETR] = "RETR", [P_STOR] = "STOR",
		[P_DELE] = "DELE", [P_QUIT] = "QUIT",
	};
	uint8_t st = u->steps[u->step];

	switch (st) {
	case P_CWD:
		conn_printf(&u->c, "%s %s\r\n", cmds[st], u->dir);
		break;
	case P_SIZE:
	case P_MDTM:
	case P_RETR:
	case P_STOR:
	case P_DELE:
		conn_printf(&u->c, "%s %s\r\n", cmds[st], u->file);
		break;
	default:
		conn_printf(&u->c, "%s\r\n", cmds[st]);
		break;
	}
	if (st == P_LIST || st == P_NLST) {
		u->nseen = 0;
		memcpy(u->seen_dir, u->cwd, sizeof(u->seen_dir));
	}
	if (is_xfer(st))
		u->xfer_cmd = true;
	u->got150 = u->got226 = u->xfer_failed = false;
	u->cst = st == P_QUIT ? C_QUIT : C_STEP;
	user_wait(u);
}

/* One transfer is over when both the 226 and the data's end are in. */
static void xfer_check(struct ftp_user *u)
{
	uint8_t st = u->steps[u->step];

	if (!u->got226 || !u->data_done)
		return;
	if (st == P_RETR && !u->xfer_failed && u->type == 'I' && u->size != UINT64_MAX &&
	    u->size != u->xbytes)
		ust(u)->errors++;   /* the file came short or long */
	cdata_drop(u);
	u->step++;
	run_steps(u);
}

/* Remember an entry of the listing coming in, for the next actions. */
static void seen_add(struct ftp_user *u, const char *name, size_t n, bool dir)
{
	if (u->nseen >= FTP_MAX_SEEN || !n || n >= FTP_MAX_NAME || memchr(name, '/', n))
		return;
	memcpy(u->seen[u->nseen].name, name, n);
	u->seen[u->nseen].name[n] = 0;
	u->seen[u->nseen].dir = dir;
	u->nseen++;
}

static void cdata_readable(struct conn *c)
{
	struct ftp_cdata *cd = container_of(c, struct ftp_cdata, c);
	struct ftp_user *u = cd->u;
	uint8_t st = u ? u->steps[u->step] : P_RETR;

	if (u)
		user_wait(u);   /* progress: the server is alive */
	if (st != P_LIST && st != P_NLST) {
		cd->bytes += c->in.len;
		conn_consume(c, c->in.len);
		return;
	}
	for (;;) {
		size_t n, used;
		const char *line = conn_line(c, &n, &used);
		struct ftp__entry e;

		if (!line)
			break;
		cd->bytes += used;
		if (st == P_NLST) {
			/* Names only: one with a dot is taken for a file; the
			 * others could be either, and are left alone. */
			if (memchr(line, '.', n))
				seen_add(u, line, n, false);
		} else {
			int r = ftp__parse_list_line(line, n, &e);

			if (!r)
				seen_add(u, e.name, e.namelen, e.dir);
			else if (r != -ENOENT)
				ust(u)->errors++;   /* not an ls -l line */
		}
		conn_consume(c, used);
	}
	if (c->in.len > FTP_MAX_LINE) {
		ust(u)->errors++;
		cd->bytes += c->in.len;
		conn_consume(c, c->in.len);
	}
}

static void cdata_connected(struct conn *c)
{
	struct ftp_cdata *cd = container_of(c, struct ftp_cdata, c);

	/* The data connection is up: now the command that uses it. */
	if (cd->u && cd->u->cst == C_STEP)
		send_step(cd->u);
}

static void cdata_closed(struct conn *c, int err)
{
	struct ftp_cdata *cd = container_of(c, struct ftp_cdata, c);
	struct ftp_user *u = cd->u;

	loop_defer(c->loop, &cd->d, cdata_free);
	if (!u)
		return;
	u->data = NULL;
	u->xbytes = cd->bytes;
	if (err && !u->xfer_failed) {
		ust(u)->errors++;
		u->xfer_failed = true;
	}
	u->data_done = true;
	if (!u->xfer_cmd) {
		/* Never connected: the transfer cannot be asked for. */
		u->step++;
		run_steps(u);
		return;
	}
	xfer_check(u);
}

static const struct conn_ops cdata_ops = {
	.connected = cdata_connected,
	.readable = cdata_readable,
	.closed = cdata_closed,
};

/* The passive address is in: connect to it. */
static void data_open(struct ftp_user *u, uint32_t addr, uint16_t port)
{
	struct ftp_cdata *cd = xcalloc(1, sizeof(*cd));

	cdata_drop(u);
	cd->u = u;
	cd->c.st = ust(u);
	u->data_done = false;
	u->xfer_cmd = false;
	u->xbytes = 0;
	if (!addr)
		addr = u->cl->env.server;   /* 0.0.0.0: the control peer */
	if (conn_connect(&cd->c, uloop(u), &cdata_ops, 0, addr, port)) {
		free(cd);
		ust(u)->errors++;
		u->step += 2;   /* the PASV and its transfer */
		run_steps(u);
		return;
	}
	u->data = cd;
	u->step++;
	u->cst = C_STEP;
	user_wait(u);
}

/* 257 "PATH" is the current directory. */
static void read_pwd(struct ftp_user *u, const char *line, size_t n)
{
	const char *q1 = memchr(line, '"', n), *q2;

	q2 = q1 ? memchr(q1 + 1, '"', (size_t)(line + n - q1 - 1)) : NULL;
	if (q2 && q2 - q1 - 1 > 0 && (size_t)(q2 - q1 - 1) < sizeof(u->cwd)) {
		memcpy(u->cwd, q1 + 1, (size_t)(q2 - q1 - 1));
		u->cwd[q2 - q1 - 1] = 0;
	}
}

/* The reply to the step in progress. */
static void step_reply(struct ftp_user *u, unsigned code, const char *line, size_t n)
{
	uint8_t st = u->steps[u->step];
	const struct agent_env *env = &u->cl->env;
	uint32_t addr;
	uint16_t port;

	if (is_xfer(st)) {
		if (code == 150 || code == 125) {
			u->got150 = true;
			if (st == P_STOR && u->data && conn_is_open(&u->data->c)) {
				uint8_t kind = kind_of(u->file);

				content_send(&uhost(u)->content, &u->data->c, (enum content_kind)kind,
					     rng_next(&uhost(u)->rng), u->upload);
				conn_shutdown(&u->data->c);
			}
			return;
		}
		if (code == 226 || code == 250) {
			u->got226 = true;
			xfer_check(u);
			return;
		}
		/* Refused or failed: the data connection is of no use. */
		ust(u)->errors++;
		u->xfer_failed = true;
		cdata_drop(u);
		u->step++;
		run_steps(u);
		return;
	}
	switch (st) {
	case P_CWD:
		if (code == 250)
			memcpy(u->cwd, u->dir, sizeof(u->cwd));
		else
			ust(u)->errors++;
		break;
	case P_PWD:
		if (code == 257)
			read_pwd(u, line, n);
		else
			ust(u)->errors++;
		break;
	case P_TYPE_A:
	case P_TYPE_I:
		if (code == 200)
			u->type = st == P_TYPE_A ? 'A' : 'I';
		else
			ust(u)->errors++;
		break;
	case P_SIZE:
		u->size = UINT64_MAX;
		if (code == 213 && n > 4) {
			uint64_t v = 0;
			size_t i;

			for (i = 4; i < n && line[i] >= '0' && line[i] <= '9' && v < UINT64_MAX / 10; i++)
				v = v * 10 + (uint64_t)(line[i] - '0');
			if (i == n)
				u->size = v;
		} else {
			ust(u)->errors++;
		}
		break;
	case P_MDTM:
		if (code != 213)
			ust(u)->errors++;
		break;
	case P_PASV:
		if (code == 227 && n > 4 && !ftp__parse_pasv(line + 4, n - 4, &addr, &port)) {
			data_open(u, addr, port);
			return;
		}
		ust(u)->errors++;
		u->step++;   /* no transfer without it */
		break;
	case P_EPSV:
		if (code == 229 && !ftp__parse_epsv(line, n, &port)) {
			data_open(u, env->server, port);
			return;
		}
		ust(u)->errors++;
		u->step++;
		break;
	case P_DELE:
		if (code != 250)
			ust(u)->errors++;
		break;
	}
	u->step++;
	run_steps(u);
}

/* The next step of the action, or its end. */
static void run_steps(struct ftp_user *u)
{
	/* A stopping run finishes the exchange in progress, no more. */
	if (u->step >= u->nsteps || (uhost(u)->stopping && !is_xfer(u->steps[u->step]))) {
		u->cst = C_READY;
		user_think(u);
		return;
	}
	send_step(u);
}

/* A whole reply is in: its code, and its last line. */
static void cli_reply(struct ftp_user *u, unsigned code, const char *line, size_t n)
{
	char pass[64];

	switch (u->cst) {
	case C_GREET:
		if (code == 120)
			return;   /* ready in a while: a 220 follows */
		if (code != 220) {
			ust(u)->errors++;
			user_quit(u);
			return;
		}
		/* As anonymous, or with an account of theirs. */
		u->anonymous = rng_unit(&uhost(u)->rng) < udraw(u, "anonymous", 0.5);
		if (u->anonymous)
			conn_printf(&u->c, "USER anonymous\r\n");
		else
			conn_printf(&u->c, "USER %s\r\n", people[u->person % ARRAY_SIZE(people)]);
		u->cst = C_USER;
		break;
	case C_USER:
		if (code == 331) {
			/* Anonymous: an address, by custom; else a password. */
			if (u->anonymous)
				snprintf(pass, sizeof(pass), "%s@%s.example",
					 people[u->person % ARRAY_SIZE(people)], uhost(u)->name);
			else
				snprintf(pass, sizeof(pass), "%s%02u!", content_word(u->person >> 8),
					 (u->person >> 16) % 100);
			conn_printf(&u->c, "PASS %s\r\n", pass);
			u->cst = C_PASS;
			break;
		}
		/* fall through: 230 needs no password */
		__attribute__((fallthrough));
	case C_PASS:
		if (code != 230) {
			ust(u)->errors++;
			user_quit(u);
			return;
		}
		conn_printf(&u->c, "SYST\r\n");
		u->cst = C_SYST;
		break;
	case C_SYST:
		conn_printf(&u->c, "FEAT\r\n");
		u->cst = C_FEAT;
		break;
	case C_FEAT:
		conn_printf(&u->c, "PWD\r\n");
		u->cst = C_PWD;
		break;
	case C_PWD:
		if (code == 257)
			read_pwd(u, line, n);
		else
			ust(u)->errors++;
		/* The login is done: the action it was for comes now. */
		u->step = 0;
		run_steps(u);
		return;
	case C_STEP:
		step_reply(u, code, line, n);
		return;
	case C_QUIT:
		if (code != 221)
			ust(u)->errors++;
		conn_shutdown(&u->c);
		return;
	default:
		ust(u)->errors++;   /* a reply to nothing we said */
		return;
	}
	user_wait(u);
}

static void cli_readable(struct conn *c)
{
	struct ftp_user *u = container_of(c, struct ftp_user, c);
	const char *line;
	size_t n, used;

	while (conn_is_open(c) && (line = conn_line(c, &n, &used))) {
		unsigned code;
		bool more;
		int r = ftp__parse_reply(line, n, &code, &more);

		if (u->multi) {
			/* Inside a multi-line reply: its text, until the line
			 * with the same code and a space. */
			if (u->cst == C_FEAT && n >= 5 && !strncasecmp(line, " EPSV", 5))
				u->epsv_ok = true;
			if (r || code != u->multi || more) {
				conn_consume(c, used);
				continue;
			}
			u->multi = 0;
		} else if (r) {
			ust(u)->errors++;
			conn_close(c, -EPROTO);
			return;
		} else if (more) {
			u->multi = code;
			conn_consume(c, used);
			continue;
		}
		{
			char last[FTP_MAX_LINE];

			memcpy(last, line, MIN(n, sizeof(last) - 1));
			last[MIN(n, sizeof(last) - 1)] = 0;
			conn_consume(c, used);
			cli_reply(u, code, last, MIN(n, sizeof(last) - 1));
		}
	}
	if (conn_is_open(c) && c->in.len > FTP_MAX_LINE) {
		ust(u)->errors++;
		conn_close(c, -EPROTO);
	}
}

static void cli_connected(struct conn *c)
{
	struct ftp_user *u = container_of(c, struct ftp_user, c);

	u->cst = C_GREET;
	u->multi = 0;
	u->type = 0;
	u->epsv_ok = false;
	user_wait(u);
}

static void cli_closed(struct conn *c, int err)
{
	struct ftp_user *u = container_of(c, struct ftp_user, c);
	uint8_t was = u->cst;

	u->cst = C_NONE;
	loop_timer_stop(uloop(u), &u->wait);
	cdata_drop(u);
	/* A server that hangs up mid-exchange is at fault; a refused or
	 * failed connect is counted by conn as conn_fail. */
	if (was != C_QUIT && was != C_CONNECTING && was != C_READY)
		ust(u)->errors++;
	else if (was == C_READY && err)
		ust(u)->errors++;
	if (u->busy)
		user_think(u);   /* the action ends here, failed */
	else if (uhost(u)->stopping)
		user_stop(u);
	else
		arm_think(u);
}

static const struct conn_ops cli_ops = {
	.connected = cli_connected,
	.readable = cli_readable,
	.closed = cli_closed,
};

static void wait_cb(struct loop *l, struct timer *t)
{
	struct ftp_user *u = container_of(t, struct ftp_user, wait);

	(void)l;
	/* A connect that times out is conn's conn_fail, not an error. */
	if (u->cst != C_QUIT && u->cst != C_CONNECTING)
		ust(u)->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static void add_step(struct ftp_user *u, uint8_t st)
{
	if (u->nsteps < FTP_MAX_STEPS)
		u->steps[u->nsteps++] = st;
}

/* PASV or EPSV, as the model and the server allow. */
static void add_passive(struct ftp_user *u)
{
	add_step(u, u->epsv_ok && rng_unit(&uhost(u)->rng) < udraw(u, "epsv", 0.4) ? P_EPSV : P_PASV);
}

static void plan_list(struct ftp_user *u)
{
	struct rng *r = &uhost(u)->rng;
	unsigned dirs = 0;

	for (unsigned i = 0; i < u->nseen; i++)
		dirs += u->seen[i].dir;
	/* Down into a directory just seen (surely when there was nothing
	 * else to see), up a level, or back to the top. */
	if (dirs && rng_unit(r) < (dirs == u->nseen ? 0.9 : 0.65)) {
		unsigned k = (unsigned)rng_below(r, dirs);

		for (unsigned i = 0; i < u->nseen; i++)
			if (u->seen[i].dir && !k--) {
				if (ftp__path_resolve(u->seen_dir, u->seen[i].name,
						      strlen(u->seen[i].name), u->dir, sizeof(u->dir)))
					snprintf(u->dir, sizeof(u->dir), "/");
				break;
			}
	} else if (strcmp(u->cwd, "/") && rng_unit(r) < 0.5) {
		ftp__path_resolve(u->cwd, "..", 2, u->dir, sizeof(u->dir));
	} else {
		snprintf(u->dir, sizeof(u->dir), "%s", rng_unit(r) < 0.3 ? "/" : "/pub");
	}
	add_step(u, P_CWD);
	add_step(u, P_PWD);
	if (u->type != 'A')
		add_step(u, P_TYPE_A);
	add_passive(u);
	add_step(u, rng_unit(r) < udraw(u, "nlst", 0.15) ? P_NLST : P_LIST);
}

static void plan_download(struct ftp_user *u)
{
	struct rng *r = &uhost(u)->rng;
	unsigned files = 0, k;
	bool ascii;

	for (unsigned i = 0; i < u->nseen; i++)
		files += !u->seen[i].dir;
	if (!files) {
		plan_list(u);   /* nothing seen to fetch: look around first */
		return;
	}
	k = (unsigned)rng_below(r, files);
	for (unsigned i = 0; i < u->nseen; i++)
		if (!u->seen[i].dir && !k--) {
			memcpy(u->file, u->seen[i].name, sizeof(u->file));
			break;
		}
	if (strcmp(u->cwd, u->seen_dir)) {
		memcpy(u->dir, u->seen_dir, sizeof(u->dir));
		add_step(u, P_CWD);
	}
	ascii = kind_of(u->file) == CONTENT_TEXT && rng_unit(r) < udraw(u, "ascii", 0.5);
	if (u->type != (ascii ? 'A' : 'I'))
		add_step(u, ascii ? P_TYPE_A : P_TYPE_I);
	add_step(u, P_SIZE);
	add_step(u, P_MDTM);
	add_passive(u);
	add_step(u, P_RETR);
}

static void plan_upload(struct ftp_user *u)
{
	static const char *const up_ext[] = { ".pdf", ".zip", ".jpg", ".txt", ".csv", ".tar.gz" };
	struct rng *r = &uhost(u)->rng;
	double size = udraw(u, "upload_size", 100 << 10);

	snprintf(u->file, sizeof(u->file), "%s-%s-%04u%s", people[u->person % ARRAY_SIZE(people)],
		 content_word(rng_next(r)), (unsigned)rng_below(r, 10000),
		 up_ext[rng_below(r, ARRAY_SIZE(up_ext))]);
	u->upload = (uint64_t)MAX(1.0, MIN((double)FTP_MAX_SIZE, size));
	if (strcmp(u->cwd, "/incoming")) {
		snprintf(u->dir, sizeof(u->dir), "/incoming");
		add_step(u, P_CWD);
	}
	if (u->type != 'I')
		add_step(u, P_TYPE_I);
	add_passive(u);
	add_step(u, P_STOR);
	if (rng_unit(r) < udraw(u, "delete_share", 0.3))
		add_step(u, P_DELE);
}

static void user_action(struct ftp_user *u)
{
	const struct agent_env *env = &u->cl->env;
	const char *name = model_action_name(env->model, u->action);

	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	env->st->actions++;
	u->busy = true;
	u->nsteps = u->step = 0;
	if (!strcmp(name, "list"))
		plan_list(u);
	else if (!strcmp(name, "download"))
		plan_download(u);
	else if (!strcmp(name, "upload"))
		plan_upload(u);
	/* login: the connection and login alone; quit: QUIT below. */
	if (!strcmp(name, "quit")) {
		if (u->cst == C_READY)
			user_quit(u);
		u->busy = false;
		user_think(u);
		return;
	}
	if (u->cst == C_READY) {
		run_steps(u);
		return;
	}
	if (u->cst != C_NONE) {
		user_think(u);   /* still closing the last connection */
		return;
	}
	if (conn_connect(&u->c, uloop(u), &cli_ops, 0, env->server, env->port)) {
		env->st->conn_fail++;
		user_think(u);
		return;
	}
	u->nseen = 0;
	u->cst = C_CONNECTING;
	user_wait(u);
}

static int ftp_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct ftp_client *cl;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (uint32_t i = 0; i < env->users; i++) {
		struct ftp_user *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		cl->alive++;
		u->c.st = env->st;
		u->c.io.fd = -1;
		u->think.cb = think_cb;
		u->wait.cb = wait_cb;
		u->person = (uint32_t)rng_next(&env->host->rng);
		u->cwd[0] = '/';
		/* Users sit down at slightly different times. */
		u->session_end = true;
		u->wake = loop_now(env->host->loop) + host_ns(rng_unit(&env->host->rng) * 0.5);
		arm_think(u);
	}
	return 0;
}

static const char *const ftp_actions[] = {
	"login", "list", "download", "upload", "quit", NULL,
};

static const char *const ftp_params[] = {
	"dirs", "dir_files", "file_size", "upload_size", "epsv", "nlst", "ascii", "delete_share",
	"anonymous", NULL,
};

const struct agent agent_ftp = {
	.name = "ftp",
	.proto = PROTO_FTP,
	.model = "ftp",
	.actions = ftp_actions,
	.params = ftp_params,
	.serve = ftp_serve,
	.client = ftp_client,
};
