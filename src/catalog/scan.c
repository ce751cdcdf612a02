/* scan.c - see scan.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../catalog/catalog.h"
#include "../lib/util.h"
#include "scan.h"

#define MERGE_DEPTH 8           /* '<<' merges followed in a row */
#define MERGE_LOOKS 256         /* mappings looked at for one key */
#define MAX_WORDS 512           /* words of one service */
#define W_IMAGE 0.9             /* how much a match says, by what matched */
#define W_PORT 0.6
#define W_NAME 0.5              /* a word of the service's own name */
#define W_CODE 0.5              /* a module the code imports */
#define W_WORD 0.4

/* ---- the map ------------------------------------------------------------ */

static int map_fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int map_fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s:%u: ", file, line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char *e;
	unsigned long a, b;

	if (!isdigit((unsigned char)*s))
		return false;
	a = strtoul(s, &e, 10);
	b = a;
	if (*e == '-') {
		if (!isdigit((unsigned char)e[1]))
			return false;
		b = strtoul(e + 1, &e, 10);
	}
	if (*e || !a || a > 65535 || b > 65535 || b < a)
		return false;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return true;
}

int scan_map_parse(struct scan_map *m, const char *file, const char *text, size_t len, char *err,
		   size_t errlen)
{
	size_t cap = 0;
	unsigned line = 0;

	memset(m, 0, sizeof(*m));
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[512], *f[5], *save = NULL;
		int nf = 0;
		struct scan_rule r = { 0 };

		line++;
		if (n >= sizeof(buf)) {
			scan_map_free(m);
			return map_fail(err, errlen, file, line, "line longer than %zu bytes", sizeof(buf) - 1);
		}
		memcpy(buf, p, n);
		buf[n] = 0;
		p += n + 1;
		if (strchr(buf, '#'))
			*strchr(buf, '#') = 0;
		for (char *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (nf == 4) {
				scan_map_free(m);
				return map_fail(err, errlen, file, line,
						"too many fields (KIND PATTERN CLASS[,CLASS] [client|peer])");
			}
			f[nf++] = t;
		}
		if (!nf)
			continue;
		if (nf < 3) {
			scan_map_free(m);
			return map_fail(err, errlen, file, line,
					"expected KIND PATTERN CLASS[,CLASS] [client|peer]");
		}
		r.line = line;
		if (!strcmp(f[0], "image") || !strcmp(f[0], "word")) {
			r.kind = f[0][0] == 'i' ? RULE_IMAGE : RULE_WORD;
			for (char *c = f[1]; *c; c++)
				if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-') {
					scan_map_free(m);
					return map_fail(err, errlen, file, line,
							"'%s': a pattern is lowercase letters, digits and '-'", f[1]);
				}
		} else if (!strcmp(f[0], "code")) {
			r.kind = RULE_CODE;
			for (char *c = f[1]; *c; c++)
				if (!isalnum((unsigned char)*c) && !strchr("._-/", *c)) {
					scan_map_free(m);
					return map_fail(err, errlen, file, line,
							"'%s': a module is letters, digits and . _ - /", f[1]);
				}
		} else if (!strcmp(f[0], "port")) {
			char *slash = strchr(f[1], '/');

			r.kind = RULE_PORT;
			if (slash) {
				*slash = 0;
				if (!strcmp(slash + 1, "tcp"))
					r.proto = IPPROTO_TCP;
				else if (!strcmp(slash + 1, "udp"))
					r.proto = IPPROTO_UDP;
				else {
					scan_map_free(m);
					return map_fail(err, errlen, file, line, "'%s': a port is tcp or udp", slash + 1);
				}
			}
			if (!parse_port_range(f[1], &r.port_lo, &r.port_hi)) {
				scan_map_free(m);
				return map_fail(err, errlen, file, line, "'%s' is not a port or range (1-65535)", f[1]);
			}
		} else {
			scan_map_free(m);
			return map_fail(err, errlen, file, line, "unknown kind '%s' (image, word, port or code)",
					f[0]);
		}
		for (char *c = strtok_r(f[2], ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			int k = spec_class_find(c);

			if (k < 0) {
				scan_map_free(m);
				return map_fail(err, errlen, file, line, "unknown class '%s'", c);
			}
			r.classes |= 1u << k;
		}
		if (nf == 4) {
			if (!strcmp(f[3], "client"))
				r.role = SCAN_CLIENT;
			else if (!strcmp(f[3], "peer"))
				r.role = SCAN_PEER;
			else {
				scan_map_free(m);
				return map_fail(err, errlen, file, line, "'%s': a role is client or peer", f[3]);
			}
		}
		if (r.kind != RULE_PORT)
			r.pattern = xstrdup(f[1]);
		*VEC_PUSH(m->v, m->n, cap) = r;
	}
	return 0;
}

int scan_read(const char *path, struct buf *b, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	r = buf_read_file(b, f, SCAN_MAX_FILE);
	fclose(f);
	if (r) {
		snprintf(err, errlen, "%s: %s", path,
			 r == -EFBIG ? "larger than 1 MiB: not a compose file" : strerror(-r));
		buf_free(b);
	}
	return r;
}

int scan_map_load(struct scan_map *m, const char *path, char *err, size_t errlen)
{
	struct buf b = { 0 };
	int r = scan_read(path, &b, err, errlen);

	memset(m, 0, sizeof(*m));
	if (r)
		return r;
	r = scan_map_parse(m, path, b.p ? b.p : "", b.len, err, errlen);
	buf_free(&b);
	return r;
}

void scan_map_free(struct scan_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].pattern);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- compose files -------------------------------------------------------- */

struct rd {
	yaml_document_t *doc;
	struct scan_service *s;
	const char *text;       /* the file, for the line of a word */
	size_t len;
};

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(yaml_document_t *d, int id)
{
	return yaml_document_get_node(d, id);
}

/* The value of key in mapping m, following '<<' merges (a mapping or a
 * sequence of them) that the mapping itself does not override; *budget
 * bounds the mappings looked at, so that merges of merges of many
 * aliases cannot make a small file a long look. */
static yaml_node_t *get_in(yaml_document_t *d, yaml_node_t *m, const char *key, int depth,
			   unsigned *budget)
{
	yaml_node_t *merged = NULL;

	if (!m || m->type != YAML_MAPPING_NODE || depth > MERGE_DEPTH || !*budget)
		return NULL;
	(*budget)--;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(d, p->key));
		yaml_node_t *v = node(d, p->value);

		if (!k)
			continue;
		if (!strcmp(k, key))
			return v;
		if (!strcmp(k, "<<") && !merged && v) {
			if (v->type == YAML_MAPPING_NODE) {
				merged = get_in(d, v, key, depth + 1, budget);
			} else if (v->type == YAML_SEQUENCE_NODE) {
				for (yaml_node_item_t *i = v->data.sequence.items.start;
				     i < v->data.sequence.items.top && !merged; i++)
					merged = get_in(d, node(d, *i), key, depth + 1, budget);
			}
		}
	}
	return merged;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *m, const char *key, int depth)
{
	unsigned budget = MERGE_LOOKS;

	return get_in(d, m, key, depth, &budget);
}

static unsigned line_of(const yaml_node_t *n)
{
	return n ? (unsigned)n->start_mark.line + 1 : 0;
}

/* ${VAR:-default} and ${VAR-default} as their default; other variables
 * as their names, lowercased later with the rest; $$ as $. */
static char *expand(const char *s)
{
	struct buf b = { 0 };

	while (*s) {
		const char *e;

		/* "$$" is a "$" that compose does not expand */
		if (s[0] == '$' && s[1] == '$') {
			buf_putc(&b, '$');
			s += 2;
			continue;
		}
		if (s[0] == '$' && s[1] == '{' && (e = strchr(s, '}'))) {
			const char *d = s + 2;

			while (d < e && (isalnum((unsigned char)*d) || *d == '_'))
				d++;
			if (d < e && *d == ':')
				d++;
			if (d < e && (*d == '-' || *d == '='))
				buf_printf(&b, "%.*s", (int)(e - d - 1), d + 1);
			else
				buf_printf(&b, "%.*s", (int)(d - s - 2), s + 2);
			s = e + 1;
			continue;
		}
		buf_putc(&b, *s++);
	}
	buf_putc(&b, 0);
	return b.p;
}

/* The line of the word w (n bytes) in the text of node at: where the
 * scalar starts, unless the word is on a later line of it (a folded
 * command). */
static unsigned word_line(const struct rd *r, const yaml_node_t *at, const char *w, size_t n)
{
	size_t from, to;
	unsigned line;

	if (!at)
		return 0;
	from = at->start_mark.index;
	to = MIN(at->end_mark.index, r->len);
	line = line_of(at);
	for (size_t i = from; i + n <= to; i++) {
		if (r->text[i] == '\n')
			line++;
		else if (!strncasecmp(r->text + i, w, n))
			return line;
	}
	return line_of(at);
}

/* A word of the service, lowercased, with where it is. */
static void push_word(struct scan_service *sv, const char *w, size_t n, unsigned line, bool df)
{
	char *t;

	if (sv->nwords >= MAX_WORDS)
		return;
	t = xstrndup(w, n);
	for (char *c = t; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*VEC_PUSH(sv->words, sv->nwords, sv->words_cap) = t;
	sv->word_line = xreallocarray(sv->word_line, sv->words_cap, sizeof(*sv->word_line));
	sv->word_df = xreallocarray(sv->word_df, sv->words_cap, sizeof(*sv->word_df));
	sv->word_line[sv->nwords - 1] = line;
	sv->word_df[sv->nwords - 1] = df;
}

/* The lowercase words of s (runs of letters and digits), two letters at
 * least, as the service's evidence where node at holds them. */
static void add_words(struct rd *r, const char *s, const yaml_node_t *at, unsigned line)
{
	struct scan_service *sv = r->s;

	while (*s) {
		const char *w = s;
		size_t n;

		while (*s && isalnum((unsigned char)*s))
			s++;
		n = (size_t)(s - w);
		if (n >= 2 && n < 64)
			push_word(sv, w, n, at ? word_line(r, at, w, n) : line, false);
		while (*s && !isalnum((unsigned char)*s))
			s++;
	}
}

static void add_scalar(struct rd *r, const yaml_node_t *n)
{
	if (scalar(n))
		add_words(r, scalar(n), n, 0);
}

/* A scalar or a sequence of scalars (command, entrypoint). */
static void add_words_node(struct rd *r, yaml_node_t *n)
{
	if (!n)
		return;
	if (n->type == YAML_SCALAR_NODE) {
		add_scalar(r, n);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			add_scalar(r, node(r->doc, *i));
	}
}

static void argv_push(struct scan_argv *a, char *w)
{
	if (a->n >= MAX_WORDS) {
		free(w);
		return;
	}
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	a->v[a->n++] = w;
}

/* s split into words as a POSIX shell splits them: blanks between
 * words, '...' kept as it is, "..." with \\ \" \$ \` escaped, a
 * backslash outside quotes escaping the next byte. */
static void argv_split(struct scan_argv *a, const char *s)
{
	struct buf w = { 0 };
	bool in = false;

	while (*s) {
		if (isspace((unsigned char)*s)) {
			if (in) {
				buf_putc(&w, 0);
				argv_push(a, buf_steal(&w));
				in = false;
			}
			s++;
			continue;
		}
		in = true;
		if (*s == '\'') {
			for (s++; *s && *s != '\''; s++)
				buf_putc(&w, *s);
		} else if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
					s++;
				buf_putc(&w, *s);
			}
		} else if (*s == '\\' && s[1]) {
			buf_putc(&w, *++s);
		} else {
			buf_putc(&w, *s);
		}
		if (*s)
			s++;
	}
	if (in) {
		buf_putc(&w, 0);
		argv_push(a, buf_steal(&w));
	}
	buf_free(&w);
}

/* command, entrypoint: a string, or a list of them. */
static void argv_of(struct rd *r, struct scan_argv *a, yaml_node_t *n)
{
	char *x;

	if (!n)
		return;
	if (scalar(n)) {
		a->set = true;
		x = expand(scalar(n));
		argv_split(a, x);
		free(x);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		a->set = true;
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			if (scalar(node(r->doc, *i)))
				argv_push(a, expand(scalar(node(r->doc, *i))));
	}
}

/* environment: NAME: value, or "NAME=value" items; depends_on: a list
 * of names or a mapping of them. */
static void env_of(struct rd *r, struct scan_argv *a, yaml_node_t *n)
{
	if (!n)
		return;
	a->set = n->type == YAML_MAPPING_NODE || n->type == YAML_SEQUENCE_NODE;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			const char *k = scalar(node(r->doc, p->key)), *v = scalar(node(r->doc, p->value));

			if (k && v && !strchr(k, '=') && (*v || node(r->doc, p->value)->data.scalar.style !=
							 YAML_PLAIN_SCALAR_STYLE)) {
				char *x = expand(v);

				argv_push(a, xasprintf("%s=%s", k, x));
				free(x);
			}
		}
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			const char *v = scalar(node(r->doc, *i));

			if (v && strchr(v, '=') && v[0] != '=')
				argv_push(a, expand(v));
		}
	}
}

static void depends_of(struct rd *r, struct scan_argv *a, yaml_node_t *n)
{
	if (!n)
		return;
	a->set = n->type == YAML_MAPPING_NODE || n->type == YAML_SEQUENCE_NODE;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
			if (scalar(node(r->doc, p->key)))
				argv_push(a, xstrdup(scalar(node(r->doc, p->key))));
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			if (scalar(node(r->doc, *i)))
				argv_push(a, xstrdup(scalar(node(r->doc, *i))));
	}
}

static void argv_free(struct scan_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Environment names: a mapping's keys, or a sequence's "NAME=value". */
static void add_env(struct rd *r, yaml_node_t *n)
{
	if (!n)
		return;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
			add_scalar(r, node(r->doc, p->key));
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			const char *s = scalar(node(r->doc, *i));

			if (s) {
				char *name = xstrndup(s, strcspn(s, "="));

				add_words(r, name, node(r->doc, *i), 0);
				free(name);
			}
		}
	}
}

/* One port entry: "80", "8080:80", "127.0.0.1:8080:80/udp", "1000-1010",
 * or {target: 80, protocol: udp}: the container's side. */
static void add_port(struct rd *r, yaml_node_t *n)
{
	struct scan_service *sv = r->s;
	struct scan_port pt = { .proto = IPPROTO_TCP, .line = line_of(n) };
	char *s = NULL, *slash, *colon;
	size_t cap = sv->nports;

	if (!n)
		return;
	if (n->type == YAML_MAPPING_NODE) {
		const char *t = scalar(get(r->doc, n, "target", 0)), *p = scalar(get(r->doc, n, "protocol", 0));

		if (!t)
			return;
		s = expand(t);
		if (p && !strcmp(p, "udp"))
			pt.proto = IPPROTO_UDP;
	} else if (scalar(n)) {
		s = expand(scalar(n));
	} else {
		return;
	}
	if ((slash = strchr(s, '/'))) {
		*slash = 0;
		if (!strcmp(slash + 1, "udp"))
			pt.proto = IPPROTO_UDP;
	}
	colon = strrchr(s, ':');
	if (parse_port_range(colon ? colon + 1 : s, &pt.lo, &pt.hi) && sv->nports < MAX_WORDS)
		*VEC_PUSH(sv->ports, sv->nports, cap) = pt;
	free(s);
}

static void add_ports(struct rd *r, yaml_node_t *n)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
		add_port(r, node(r->doc, *i));
}

static void service_free(struct scan_service *sv)
{
	for (size_t i = 0; i < sv->nwords; i++)
		free(sv->words[i]);
	free(sv->words);
	free(sv->word_line);
	free(sv->word_df);
	free(sv->ports);
	free(sv->name);
	free(sv->image);
	free(sv->build);
	free(sv->file);
	free(sv->dockerfile);
	argv_free(&sv->command);
	argv_free(&sv->entrypoint);
	argv_free(&sv->env);
	argv_free(&sv->depends);
}

static void service(struct scan_project *p, yaml_document_t *d, const char *file, const char *text,
		    size_t len, const char *name, yaml_node_t *m, unsigned line)
{
	struct scan_service *sv;
	struct rd r = { .doc = d, .text = text, .len = len };
	yaml_node_t *img = get(d, m, "image", 0), *build = get(d, m, "build", 0);
	size_t cap = p->nsvc;

	sv = VEC_PUSH(p->svc, p->nsvc, cap);
	memset(sv, 0, sizeof(*sv));
	r.s = sv;
	sv->name = xstrdup(name);
	sv->file = xstrdup(file);
	sv->line = line;
	if (scalar(img)) {
		sv->image = expand(scalar(img));
		sv->image_line = line_of(img);
	}
	if (build && build->type == YAML_MAPPING_NODE)
		build = get(d, build, "context", 0);
	if (scalar(build))
		sv->build = xstrdup(scalar(build));
	add_words(&r, name, NULL, line);
	sv->nname = sv->nwords;
	if (sv->build)
		add_words(&r, sv->build, build, 0);
	add_words_node(&r, get(d, m, "container_name", 0));
	add_words_node(&r, get(d, m, "hostname", 0));
	add_words_node(&r, get(d, m, "command", 0));
	add_words_node(&r, get(d, m, "entrypoint", 0));
	add_env(&r, get(d, m, "environment", 0));
	add_ports(&r, get(d, m, "ports", 0));
	add_ports(&r, get(d, m, "expose", 0));
	argv_of(&r, &sv->command, get(d, m, "command", 0));
	argv_of(&r, &sv->entrypoint, get(d, m, "entrypoint", 0));
	env_of(&r, &sv->env, get(d, m, "environment", 0));
	depends_of(&r, &sv->depends, get(d, m, "depends_on", 0));
}

static int yaml_fail(char *err, size_t errlen, const char *file, const yaml_parser_t *ps)
{
	snprintf(err, errlen, "%s:%zu:%zu: not YAML: %s%s%s", file, ps->problem_mark.line + 1,
		 ps->problem_mark.column + 1, ps->problem ? ps->problem : "cannot be read",
		 ps->context ? " " : "", ps->context ? ps->context : "");
	return -EINVAL;
}

int scan_compose(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
		 size_t errlen)
{
	yaml_parser_t ps;
	yaml_document_t doc;
	yaml_node_t *root, *svcs;
	size_t before = p->nsvc, cap = p->nfiles;
	int r = 0;

	if (len > SCAN_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes: not a compose file", file, SCAN_MAX_FILE);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&ps))
		return -ENOMEM;
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	if (!yaml_parser_load(&ps, &doc)) {
		r = yaml_fail(err, errlen, file, &ps);
		yaml_parser_delete(&ps);
		return r;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%u: not a compose file: %s", file, root ? line_of(root) : 1,
			 root ? "its top is not a mapping" : "empty");
		r = -EINVAL;
		goto out;
	}
	svcs = get(&doc, root, "services", 0);
	if (svcs && svcs->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%u: 'services' is not a mapping of names to services", file,
			 line_of(svcs));
		r = -EINVAL;
		goto out;
	}
	/* the first format had the services at the top */
	for (yaml_node_pair_t *q = (svcs ? svcs : root)->data.mapping.pairs.start;
	     q < (svcs ? svcs : root)->data.mapping.pairs.top; q++) {
		yaml_node_t *k = node(&doc, q->key), *v = node(&doc, q->value);
		const char *name = scalar(k);

		if (!name || !v || v->type != YAML_MAPPING_NODE || !strcmp(name, "<<") ||
		    !strncmp(name, "x-", 2))
			continue;
		if (!svcs && !get(&doc, v, "image", 0) && !get(&doc, v, "build", 0))
			continue;
		if (p->nsvc == SCAN_MAX_SERVICES) {
			snprintf(err, errlen, "%s:%u: more than %d services", file, line_of(k), SCAN_MAX_SERVICES);
			r = -EINVAL;
			break;
		}
		service(p, &doc, file, text, len, name, v, line_of(k));
	}
	if (!r && !svcs && p->nsvc == before) {
		snprintf(err, errlen, "%s:1: not a compose file: no 'services'", file);
		r = -EINVAL;
	}
	if (r) {
		while (p->nsvc > before)
			service_free(&p->svc[--p->nsvc]);
	} else {
		*VEC_PUSH(p->files, p->nfiles, cap) = xstrdup(file);
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
	return r;
}

/* ---- Dockerfiles ---------------------------------------------------------------- */

#define DF_STAGES 64            /* FROM ... AS names remembered */

struct df {
	struct scan_service t;          /* what it says, before it is someone's */
	char *stage[DF_STAGES], *stage_img[DF_STAGES];
	size_t nstages;
	char *image;
	unsigned image_line;
	bool from;
};

static void df_words(struct df *d, const char *s, unsigned line)
{
	while (*s) {
		const char *w = s;

		while (*s && isalnum((unsigned char)*s))
			s++;
		if (s - w >= 2 && s - w < 64)
			push_word(&d->t, w, (size_t)(s - w), line, true);
		while (*s && !isalnum((unsigned char)*s))
			s++;
	}
}

/* One instruction (continuations joined), from line. */
static void df_instruction(struct df *d, char *s, unsigned line)
{
	char *save = NULL, *ins = strtok_r(s, " \t", &save), *rest = save, *tok;

	if (!ins)
		return;
	if (!strcasecmp(ins, "FROM")) {
		char *img = NULL, *name = NULL;

		while ((tok = strtok_r(NULL, " \t", &save)) && !strncmp(tok, "--", 2))
			;
		img = tok;
		if (img && (tok = strtok_r(NULL, " \t", &save)) && !strcasecmp(tok, "AS"))
			name = strtok_r(NULL, " \t", &save);
		if (!img)
			return;
		d->from = true;
		for (size_t i = 0; i < d->nstages; i++)
			if (!strcasecmp(d->stage[i], img)) {
				img = d->stage_img[i];      /* FROM an earlier stage: its image */
				break;
			}
		free(d->image);
		d->image = xstrdup(img);
		d->image_line = line;
		if (name && d->nstages < DF_STAGES) {
			d->stage[d->nstages] = xstrdup(name);
			d->stage_img[d->nstages++] = xstrdup(d->image);
		}
	} else if (!strcasecmp(ins, "EXPOSE")) {
		while ((tok = strtok_r(NULL, " \t", &save))) {
			char *v = expand(tok), *slash = strchr(v, '/');
			struct scan_port pt = { .proto = IPPROTO_TCP, .df = true, .line = line };
			size_t cap = d->t.nports;

			if (slash) {
				*slash = 0;
				if (!strcasecmp(slash + 1, "udp"))
					pt.proto = IPPROTO_UDP;
			}
			if (parse_port_range(v, &pt.lo, &pt.hi) && d->t.nports < MAX_WORDS)
				*VEC_PUSH(d->t.ports, d->t.nports, cap) = pt;
			free(v);
		}
	} else if (!strcasecmp(ins, "CMD") || !strcasecmp(ins, "ENTRYPOINT")) {
		df_words(d, rest ? rest : "", line);
	} else if (!strcasecmp(ins, "ENV")) {
		/* ENV A=1 B=2, or the old ENV A 1 */
		tok = strtok_r(NULL, " \t", &save);
		if (tok && !strchr(tok, '=')) {
			df_words(d, tok, line);
			return;
		}
		for (; tok; tok = strtok_r(NULL, " \t", &save))
			if (strchr(tok, '=')) {
				*strchr(tok, '=') = 0;
				df_words(d, tok, line);
			}
	}
}

int scan_dockerfile(struct scan_project *p, const char *service, const char *file, const char *text,
		    size_t len, char *err, size_t errlen)
{
	struct df d = { 0 };
	struct buf l = { 0 };
	struct scan_service *sv = NULL;
	unsigned line = 0, start = 0;

	if (len > SCAN_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes: not a Dockerfile", file, SCAN_MAX_FILE);
		return -EINVAL;
	}
	for (const char *s = text, *end = text + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *b = s;
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *e = s + n;

		s += n + 1;
		line++;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e || *b == '#')
			continue;       /* blank, a comment (in a continuation too) */
		if (!l.len)
			start = line;
		if (memchr(b, 0, (size_t)(e - b)))
			continue;       /* a NUL: not text */
		if (e[-1] == '\\') {
			buf_printf(&l, "%.*s ", (int)(e - b - 1), b);
			continue;
		}
		buf_printf(&l, "%.*s", (int)(e - b), b);
		df_instruction(&d, l.p, start);
		l.len = 0;
	}
	if (l.len)
		df_instruction(&d, l.p, start);
	buf_free(&l);
	if (!d.from) {
		snprintf(err, errlen, "%s:1: not a Dockerfile: no FROM", file);
	} else {
		for (size_t i = 0; i < p->nsvc && !sv; i++)
			if (!strcmp(p->svc[i].name, service))
				sv = &p->svc[i];
		if (!sv) {
			size_t cap = p->nsvc;

			sv = VEC_PUSH(p->svc, p->nsvc, cap);
			memset(sv, 0, sizeof(*sv));
			sv->name = xstrdup(service);
			sv->file = xstrdup(file);
			sv->line = 1;
			push_word(sv, service, strlen(service), 1, false);
			sv->nname = sv->nwords;
		}
		free(sv->dockerfile);
		sv->dockerfile = xstrdup(file);
		if (!sv->image) {
			sv->image = expand(d.image);
			sv->image_line = d.image_line;
			sv->image_df = true;
		}
		for (size_t i = 0; i < d.t.nwords; i++)
			push_word(sv, d.t.words[i], strlen(d.t.words[i]), d.t.word_line[i], true);
		for (size_t i = 0; i < d.t.nports; i++) {
			size_t cap = sv->nports;

			*VEC_PUSH(sv->ports, sv->nports, cap) = d.t.ports[i];
		}
	}
	for (size_t i = 0; i < d.nstages; i++) {
		free(d.stage[i]);
		free(d.stage_img[i]);
	}
	free(d.image);
	service_free(&d.t);
	return d.from ? 0 : -EINVAL;
}

/* ---- Kubernetes manifests and Procfiles --------------------------------------- */

#define K8S_DOCS 1024           /* documents of one manifest file */

bool scan_is_k8s_text(const char *text, size_t len)
{
	bool api = false, kind = false;

	for (size_t i = 0; i < len && !(api && kind); i++) {
		if (i && text[i - 1] != '\n')
			continue;
		if (len - i >= 11 && !memcmp(text + i, "apiVersion:", 11))
			api = true;
		else if (len - i >= 5 && !memcmp(text + i, "kind:", 5))
			kind = true;
	}
	return api && kind;
}

/* The pod spec of a workload of kind, or NULL. */
static yaml_node_t *pod_spec(yaml_document_t *d, yaml_node_t *root, const char *kind)
{
	static const char *const templated[] = {
		"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController",
	};
	yaml_node_t *spec = get(d, root, "spec", 0);

	if (!strcmp(kind, "Pod"))
		return spec;
	if (!strcmp(kind, "CronJob"))
		spec = get(d, get(d, spec, "jobTemplate", 0), "spec", 0);
	else {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(templated) && strcmp(kind, templated[i]); i++)
			;
		if (i == ARRAY_SIZE(templated))
			return NULL;
	}
	return get(d, get(d, spec, "template", 0), "spec", 0);
}

/* One container of a workload as a service: its image, ports,
 * command (the entrypoint) and args (the command), environment. */
static void k8s_container(struct scan_project *p, yaml_document_t *d, const char *file,
			  const char *text, size_t len, const char *workload, yaml_node_t *c)
{
	struct rd r = { .doc = d, .text = text, .len = len };
	const char *name = scalar(get(d, c, "name", 0));
	yaml_node_t *img = get(d, c, "image", 0), *ports = get(d, c, "ports", 0), *env = get(d, c, "env", 0);
	struct scan_service *sv;
	size_t cap = p->nsvc;

	sv = VEC_PUSH(p->svc, p->nsvc, cap);
	memset(sv, 0, sizeof(*sv));
	r.s = sv;
	sv->name = xstrdup(name ? name : workload);
	sv->file = xstrdup(file);
	sv->line = line_of(c);
	if (scalar(img)) {
		sv->image = expand(scalar(img));
		sv->image_line = line_of(img);
	}
	add_words(&r, workload, NULL, sv->line);
	if (name)
		add_words(&r, name, NULL, sv->line);
	sv->nname = sv->nwords;
	add_words_node(&r, get(d, c, "command", 0));
	add_words_node(&r, get(d, c, "args", 0));
	argv_of(&r, &sv->entrypoint, get(d, c, "command", 0));
	argv_of(&r, &sv->command, get(d, c, "args", 0));
	if (env && env->type == YAML_SEQUENCE_NODE) {
		sv->env.set = true;
		for (yaml_node_item_t *i = env->data.sequence.items.start; i < env->data.sequence.items.top; i++) {
			yaml_node_t *e = node(d, *i);
			const char *k = scalar(get(d, e, "name", 0)), *v = scalar(get(d, e, "value", 0));

			if (!k)
				continue;
			add_scalar(&r, get(d, e, "name", 0));
			if (v && !strchr(k, '='))
				argv_push(&sv->env, xasprintf("%s=%s", k, v));
		}
	}
	if (ports && ports->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *i = ports->data.sequence.items.start; i < ports->data.sequence.items.top; i++) {
			yaml_node_t *pt = node(d, *i);
			const char *num = scalar(get(d, pt, "containerPort", 0)), *proto = scalar(get(d, pt, "protocol", 0));
			struct scan_port sp = { .proto = proto && !strcasecmp(proto, "UDP") ? IPPROTO_UDP : IPPROTO_TCP,
						.line = line_of(pt) };
			size_t pcap = sv->nports;

			if (num && parse_port_range(num, &sp.lo, &sp.hi) && sp.lo == sp.hi && sv->nports < MAX_WORDS)
				*VEC_PUSH(sv->ports, sv->nports, pcap) = sp;
		}
}

int scan_k8s(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
	     size_t errlen)
{
	yaml_parser_t ps;
	size_t before = p->nsvc, cap = p->nfiles;
	int r = 0;

	if (len > SCAN_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes: not a Kubernetes manifest", file,
			 SCAN_MAX_FILE);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&ps))
		return -ENOMEM;
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	for (int docs = 0; !r; docs++) {
		yaml_document_t doc;
		yaml_node_t *root, *spec, *cs;
		const char *kind, *name;

		if (!yaml_parser_load(&ps, &doc)) {
			r = yaml_fail(err, errlen, file, &ps);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		if (docs == K8S_DOCS) {
			snprintf(err, errlen, "%s:%u: more than %d documents", file, line_of(root), K8S_DOCS);
			r = -EINVAL;
		}
		kind = r ? NULL : scalar(get(&doc, root, "kind", 0));
		spec = kind && scalar(get(&doc, root, "apiVersion", 0)) ? pod_spec(&doc, root, kind) : NULL;
		cs = get(&doc, spec, "containers", 0);
		name = scalar(get(&doc, get(&doc, root, "metadata", 0), "name", 0));
		if (cs && cs->type == YAML_SEQUENCE_NODE)
			for (yaml_node_item_t *i = cs->data.sequence.items.start;
			     i < cs->data.sequence.items.top && !r; i++) {
				yaml_node_t *c = node(&doc, *i);

				if (!c || c->type != YAML_MAPPING_NODE)
					continue;
				if (p->nsvc == SCAN_MAX_SERVICES) {
					snprintf(err, errlen, "%s:%u: more than %d services", file, line_of(c),
						 SCAN_MAX_SERVICES);
					r = -EINVAL;
					break;
				}
				k8s_container(p, &doc, file, text, len, name ? name : kind, c);
			}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&ps);
	if (!r && p->nsvc == before) {
		snprintf(err, errlen, "%s:1: not a Kubernetes manifest: no workload with containers", file);
		return -ENOENT;
	}
	if (r) {
		while (p->nsvc > before)
			service_free(&p->svc[--p->nsvc]);
		return r;
	}
	*VEC_PUSH(p->files, p->nfiles, cap) = xstrdup(file);
	return 0;
}

int scan_procfile(struct scan_project *p, const char *file, const char *text, size_t len, char *err,
		  size_t errlen)
{
	size_t before = p->nsvc, cap = p->nfiles;
	unsigned line = 0;
	int r = 0;

	if (len > SCAN_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %u bytes: not a Procfile", file, SCAN_MAX_FILE);
		return -EINVAL;
	}
	for (size_t at = 0; at < len && !r;) {
		size_t end = at, n;
		char *l, *colon;
		bool nul;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		n = end - at;
		if (n && text[at + n - 1] == '\r')
			n--;
		nul = memchr(text + at, 0, n) != NULL;
		l = xstrndup(text + at, n);
		at = end + 1;
		if (!l[strspn(l, " \t")] || l[strspn(l, " \t")] == '#') {
			free(l);
			continue;
		}
		colon = strchr(l, ':');
		if (!colon || colon == l || strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						   "0123456789_-") != (size_t)(colon - l) || nul) {
			snprintf(err, errlen, "%s:%u: not a Procfile line (NAME: COMMAND)", file, line);
			r = -EINVAL;
		} else if (p->nsvc == SCAN_MAX_SERVICES) {
			snprintf(err, errlen, "%s:%u: more than %d services", file, line, SCAN_MAX_SERVICES);
			r = -EINVAL;
		} else {
			size_t scap = p->nsvc;
			struct scan_service *sv = VEC_PUSH(p->svc, p->nsvc, scap);
			struct rd rr = { .text = text, .len = len };

			memset(sv, 0, sizeof(*sv));
			rr.s = sv;
			*colon = '\0';
			sv->name = xstrdup(l);
			sv->file = xstrdup(file);
			sv->line = line;
			add_words(&rr, l, NULL, line);
			sv->nname = sv->nwords;
			add_words(&rr, colon + 1, NULL, line);
			argv_split(&sv->command, colon + 1);
			sv->command.set = true;
		}
		free(l);
	}
	if (!r && p->nsvc == before) {
		snprintf(err, errlen, "%s:1: not a Procfile: no process", file);
		r = -EINVAL;
	}
	if (r) {
		while (p->nsvc > before)
			service_free(&p->svc[--p->nsvc]);
		return r;
	}
	*VEC_PUSH(p->files, p->nfiles, cap) = xstrdup(file);
	return 0;
}

/* ---- classes ---------------------------------------------------------------- */

/* Does the image's name hold the pattern: a part of its path, or a word
 * of a part ("eclipse-mosquitto", "mumblevoip/mumble-server")?  The
 * registry and the tag are not its name. */
static bool image_has(const char *image, const char *pat)
{
	size_t plen = strlen(pat);
	const char *s = image, *end;

	/* the tag or digest after the last '/' */
	end = strrchr(image, '/');
	end = strpbrk(end ? end : image, ":@");
	if (!end)
		end = image + strlen(image);
	while (s < end) {
		const char *part = s, *pe = memchr(s, '/', (size_t)(end - s));

		if (!pe)
			pe = end;
		if ((size_t)(pe - part) == plen && !strncasecmp(part, pat, plen))
			return true;
		for (const char *w = part; w < pe;) {
			const char *we = w;

			while (we < pe && isalnum((unsigned char)*we))
				we++;
			if ((size_t)(we - w) == plen && !strncasecmp(w, pat, plen))
				return true;
			w = we < pe ? we + 1 : we;
		}
		s = pe + 1;
	}
	return false;
}

static void evidence(struct scan_project *p, unsigned classes, const char *file, unsigned line,
		     double w, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void evidence(struct scan_project *p, unsigned classes, const char *file, unsigned line,
		     double w, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	for (int c = 0; c < CLASS__COUNT; c++) {
		struct scan_class *k = &p->cls[c];
		size_t cap = k->nev;
		bool seen = false;

		if (!(classes & 1u << c))
			continue;
		/* the same thing said twice says it once */
		for (size_t i = 0; i < k->nev && !seen; i++)
			seen = !strcmp(k->ev[i].why, why);
		if (seen)
			continue;
		*VEC_PUSH(k->ev, k->nev, cap) = (struct scan_evidence){
			.file = xstrdup(file), .line = line, .why = xstrdup(why), .weight = w,
		};
		k->confidence = 1 - (1 - k->confidence) * (1 - w);
	}
	free(why);
}

/* Does the map know the service's image? */
static bool image_known(const struct scan_service *sv, const struct scan_map *m)
{
	for (size_t j = 0; sv->image && j < m->n; j++)
		if (m->v[j].kind == RULE_IMAGE && image_has(sv->image, m->v[j].pattern))
			return true;
	return false;
}

/* A service's image says what it is; its ports say more only when the
 * map does not know the image (an application's web server, its own
 * protocol), since software serves ports of other classes' numbers
 * (TURN on 443, an API on 5432's neighbours). */
void scan_classify(struct scan_project *p, const struct scan_map *m)
{
	for (size_t i = 0; i < p->nsvc; i++) {
		struct scan_service *sv = &p->svc[i];
		bool known = image_known(sv, m);

		for (size_t j = 0; j < m->n; j++) {
			const struct scan_rule *r = &m->v[j];
			bool hit = false;

			if (r->kind == RULE_IMAGE && sv->image && image_has(sv->image, r->pattern)) {
				evidence(p, r->classes, sv->image_df ? sv->dockerfile : sv->file, sv->image_line,
					 W_IMAGE, "service %s: %s %s", sv->name,
					 sv->image_df ? "built from" : "image", sv->image);
				hit = true;
			} else if (r->kind == RULE_WORD) {
				for (size_t k = 0; k < sv->nwords && !hit; k++)
					if (!strcmp(sv->words[k], r->pattern)) {
						bool own = k < sv->nname;

						evidence(p, r->classes,
							 sv->word_df[k] ? sv->dockerfile : sv->file,
							 sv->word_line[k],
							 own ? W_NAME : W_WORD, "service %s: %s'%s'", sv->name,
							 own ? "named " : "", r->pattern);
						hit = true;
					}
			} else if (r->kind == RULE_PORT && !known) {
				for (size_t k = 0; k < sv->nports && !hit; k++) {
					const struct scan_port *pt = &sv->ports[k];

					if (pt->lo <= r->port_hi && r->port_lo <= pt->hi &&
					    (!r->proto || r->proto == pt->proto)) {
						evidence(p, r->classes, pt->df ? sv->dockerfile : sv->file,
							 pt->line, W_PORT,
							 "service %s: port %u/%s", sv->name, pt->lo,
							 pt->proto == IPPROTO_UDP ? "udp" : "tcp");
						hit = true;
					}
				}
			}
			if (hit && r->role != SCAN_SERVER && sv->role == SCAN_SERVER)
				sv->role = r->role;
			if (hit && r->role != SCAN_SERVER && !p->drives) {
				p->drives = true;
				p->drives_why = xasprintf("service %s (%s, %s:%u)", sv->name,
							  r->role == SCAN_CLIENT ? "a client of the others"
										 : "a node that talks to peers",
							  sv->file, sv->line);
			}
		}
	}
}

/* ---- source code ------------------------------------------------------------- */

enum lang { L_NONE, L_PY, L_JS, L_GO, L_JAVA, L_C };

static enum lang lang_of(const char *file)
{
	static const struct { const char *ext; enum lang l; } exts[] = {
		{ ".py", L_PY }, { ".js", L_JS }, { ".mjs", L_JS }, { ".cjs", L_JS }, { ".ts", L_JS },
		{ ".go", L_GO }, { ".java", L_JAVA }, { ".c", L_C }, { ".h", L_C }, { ".cc", L_C },
		{ ".cpp", L_C },
	};
	const char *dot = strrchr(file, '.');

	for (size_t i = 0; dot && i < ARRAY_SIZE(exts); i++)
		if (!strcmp(dot, exts[i].ext))
			return exts[i].l;
	return L_NONE;
}

/* Does module name m (n bytes) name pat, or something inside it
 * ("paho.mqtt" names "paho.mqtt.client", "net/http" "net/http/httptest")? */
static bool module_is(const char *m, size_t n, const char *pat)
{
	size_t k = strlen(pat);

	return n >= k && !memcmp(m, pat, k) && (n == k || m[k] == '.' || m[k] == '/');
}

/* The module a line imports, or NULL: *n its length.  in_block: inside a
 * Go import ( ... ) block. */
static const char *imported(enum lang l, const char *s, size_t len, bool *in_block, size_t *n)
{
	const char *e = s + len, *q;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	switch (l) {
	case L_PY:
		/* import a.b, from a.b import c */
		if (e - s > 7 && (!strncmp(s, "import ", 7) || !strncmp(s, "from ", 5))) {
			s += *s == 'i' ? 7 : 5;
			while (s < e && *s == ' ')
				s++;
			for (q = s; q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == '.'); q++)
				;
			*n = (size_t)(q - s);
			return *n ? s : NULL;
		}
		return NULL;
	case L_JS:
		/* require('x'), from 'x', import 'x' */
		for (const char *p = s; p < e; p++) {
			bool req = e - p > 8 && !strncmp(p, "require(", 8);
			bool from = e - p > 5 && !strncmp(p, "from ", 5) && (p == s || p[-1] == ' ' || p[-1] == '}');
			bool imp = p == s && e - p > 7 && !strncmp(p, "import ", 7) && (p[7] == '\'' || p[7] == '"');

			if (req || from || imp) {
				p += req ? 8 : from ? 5 : 7;
				while (p < e && *p == ' ')
					p++;
				if (p < e && (*p == '\'' || *p == '"' || *p == '`')) {
					char quote = *p++;

					for (q = p; q < e && *q != quote; q++)
						;
					*n = (size_t)(q - p);
					return q < e && *n ? p : NULL;
				}
			}
		}
		return NULL;
	case L_GO:
		if (e - s >= 8 && !strncmp(s, "import (", 8)) {
			*in_block = true;
			return NULL;
		}
		if (*in_block && s < e && *s == ')') {
			*in_block = false;
			return NULL;
		}
		if (!*in_block && !(e - s > 7 && !strncmp(s, "import ", 7)))
			return NULL;
		if (!(s = memchr(s, '"', (size_t)(e - s))))
			return NULL;
		s++;
		if (!(q = memchr(s, '"', (size_t)(e - s))))
			return NULL;
		*n = (size_t)(q - s);
		return *n ? s : NULL;
	case L_JAVA:
		if (e - s > 7 && !strncmp(s, "import ", 7)) {
			s += 7;
			if (e - s > 7 && !strncmp(s, "static ", 7))
				s += 7;
			for (q = s; q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == '.'); q++)
				;
			*n = (size_t)(q - s);
			return *n ? s : NULL;
		}
		return NULL;
	case L_C:
		if (s < e && *s == '#') {
			s++;
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			if (e - s > 7 && !strncmp(s, "include", 7)) {
				s += 7;
				while (s < e && (*s == ' ' || *s == '\t'))
					s++;
				if (s < e && (*s == '<' || *s == '"')) {
					char close = *s == '<' ? '>' : '"';

					s++;
					if ((q = memchr(s, close, (size_t)(e - s)))) {
						*n = (size_t)(q - s);
						return *n ? s : NULL;
					}
				}
			}
		}
		return NULL;
	case L_NONE:
		break;
	}
	return NULL;
}

bool scan_is_code_name(const char *name)
{
	return lang_of(name) != L_NONE;
}

bool scan_code(struct scan_project *p, const struct scan_map *m, const char *file, const char *text,
	       size_t len)
{
	enum lang l = lang_of(file);
	bool block = false;
	unsigned line = 0;

	if (l == L_NONE)
		return false;
	for (const char *s = text, *end = text + len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *mod;
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s), mn = 0;

		line++;
		if ((mod = imported(l, s, n, &block, &mn))) {
			for (size_t j = 0; j < m->n; j++) {
				const struct scan_rule *r = &m->v[j];

				if (r->kind != RULE_CODE || !module_is(mod, mn, r->pattern))
					continue;
				evidence(p, r->classes, file, line, W_CODE, "code: imports %.*s", (int)mn, mod);
				if (r->role != SCAN_SERVER && !p->drives) {
					p->drives = true;
					p->drives_why = xasprintf("its code (%s, %s:%u)",
								  r->role == SCAN_CLIENT ? "a client" : "a peer",
								  file, line);
				}
			}
		}
		s += n + 1;
	}
	return true;
}

void scan_project_free(struct scan_project *p)
{
	for (size_t i = 0; i < p->nsvc; i++)
		service_free(&p->svc[i]);
	free(p->svc);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	for (int c = 0; c < CLASS__COUNT; c++) {
		for (size_t i = 0; i < p->cls[c].nev; i++) {
			free(p->cls[c].ev[i].file);
			free(p->cls[c].ev[i].why);
		}
		free(p->cls[c].ev);
	}
	free(p->drives_why);
	free(p->path);
	free(p->repo);
	free(p->commit);
	free(p->subdir);
	memset(p, 0, sizeof(*p));
}

const char *const scan_compose_names[] = {
	"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml",
	"docker-compose.override.yml", "docker-compose.override.yaml",
	"compose.override.yml", "compose.override.yaml",
};
const size_t scan_ncompose_names = ARRAY_SIZE(scan_compose_names);

bool scan_is_compose_name(const char *name)
{
	for (size_t i = 0; i < scan_ncompose_names; i++)
		if (!strcmp(name, scan_compose_names[i]))
			return true;
	return false;
}

bool scan_is_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !strcmp(name + n - 4, ".yml")) || (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

/* ---- provenance ------------------------------------------------------------- */

#define GIT_UP 32               /* folders looked up for .git */

/* A file of a checkout's .git, or NULL (missing, unreadable, too big). */
static char *slurp(const char *path)
{
	struct buf b = { 0 };
	char err[64];

	if (scan_read(path, &b, err, sizeof(err)))
		return NULL;
	if (!b.p)
		buf_putc(&b, 0);        /* empty: "" */
	return b.p;
}

static bool is_sha(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 40 && (!s[n] || isspace((unsigned char)s[n]));
}

char *scan__packed_ref(const char *packed, const char *ref)
{
	size_t n = strlen(ref);

	for (const char *l = packed; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (is_sha(l) && l[40] == ' ' && !strncmp(l + 41, ref, n) &&
		    (l[41 + n] == '\n' || l[41 + n] == '\r' || !l[41 + n]))
			return xstrndup(l, 40);
	return NULL;
}

/* The commit a ref names: its loose file, else packed-refs. */
static char *ref_commit(const char *gitdir, const char *ref)
{
	char *path = xasprintf("%s/%s", gitdir, ref), *t = slurp(path), *out = NULL;

	free(path);
	if (t && is_sha(t)) {
		out = xstrndup(t, 40);
	} else {
		free(t);
		path = xasprintf("%s/packed-refs", gitdir);
		t = slurp(path);
		free(path);
		out = scan__packed_ref(t, ref);
	}
	free(t);
	return out;
}

char *scan__origin_url(const char *config)
{
	bool in = false;

	for (const char *l = config; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *s = l + strspn(l, " \t");
		size_t n = strcspn(s, "\r\n");

		if (*s == '[') {
			in = !strncmp(s, "[remote \"origin\"]", 17);
		} else if (in && !strncmp(s, "url", 3)) {
			const char *v = s + 3 + strspn(s + 3, " \t");

			if (*v == '=') {
				v++;
				v += strspn(v, " \t");
				n = strcspn(v, "\r\n");
				while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
					n--;
				return n ? xstrndup(v, n) : NULL;
			}
		}
	}
	return NULL;
}

void scan_provenance(struct scan_project *p)
{
	char *dir = realpath(p->path, NULL), *top, *gitdir = NULL, *common = NULL, *head = NULL, *config;
	struct stat st;

	if (!dir)
		return;
	if (!stat(dir, &st) && !S_ISDIR(st.st_mode) && strrchr(dir, '/'))
		*strrchr(dir, '/') = 0;         /* a compose file: its folder */
	top = xstrdup(dir);
	for (int up = 0; up < GIT_UP; up++) {
		char *g = xasprintf("%s/.git", top), *slash;

		if (!stat(g, &st)) {
			if (S_ISDIR(st.st_mode)) {
				gitdir = g;
			} else {
				char *t = slurp(g);

				/* a worktree's or submodule's: "gitdir: PATH" */
				if (t && !strncmp(t, "gitdir: ", 8)) {
					t[8 + strcspn(t + 8, "\r\n")] = 0;
					gitdir = t[8] == '/' ? xstrdup(t + 8) : xasprintf("%s/%s", top, t + 8);
				}
				free(t);
				free(g);
			}
			break;
		}
		free(g);
		slash = strrchr(top, '/');
		if (!slash || slash == top)
			break;
		*slash = 0;
	}
	if (!gitdir)
		goto out;
	{
		char *h = xasprintf("%s/HEAD", gitdir);

		head = slurp(h);
		free(h);
	}
	{
		/* a worktree's branches and config are in the common folder */
		char *c = xasprintf("%s/commondir", gitdir), *t = slurp(c);

		free(c);
		if (t) {
			t[strcspn(t, "\r\n")] = 0;
			common = t[0] == '/' ? xstrdup(t) : xasprintf("%s/%s", gitdir, t);
			free(t);
		} else {
			common = xstrdup(gitdir);
		}
	}
	if (head && !strncmp(head, "ref: ", 5)) {
		head[5 + strcspn(head + 5, "\r\n")] = 0;
		p->commit = ref_commit(gitdir, head + 5);
		if (!p->commit)
			p->commit = ref_commit(common, head + 5);
	} else if (head && is_sha(head)) {
		p->commit = xstrndup(head, 40);
	}
	{
		char *c = xasprintf("%s/config", common);

		config = slurp(c);
		free(c);
		p->repo = scan__origin_url(config);
		free(config);
	}
	p->subdir = xstrdup(dir[strlen(top)] == '/' ? dir + strlen(top) + 1 : ".");
out:
	free(head);
	free(common);
	free(gitdir);
	free(top);
	free(dir);
}

/* ---- catalog entries ------------------------------------------------------- */

/* A source name from p's folder: the checkout's name and the folder
 * inside it ("shop-deploy"), else the folder's own; lowercase, other
 * bytes as '-', starting with a letter or digit. */
static void entry_name(char *out, size_t n, const struct scan_project *p)
{
	char dir[PATH_MAX], raw[PATH_MAX + 8];
	const char *base;
	size_t len, o = 0, sl = p->subdir ? strlen(p->subdir) : 0;

	snprintf(dir, sizeof(dir), "%s", p->path);
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	/* a compose file is named by its folder */
	base = strrchr(dir, '/');
	if (base && scan_is_compose_name(base + 1)) {
		dir[base - dir] = '\0';
		len = strlen(dir);
	}
	if (sl && sl < len && dir[len - sl - 1] == '/' && !strcmp(dir + len - sl, p->subdir))
		dir[len - sl - 1] = '\0';
	else
		sl = 0;
	base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	snprintf(raw, sizeof(raw), "%s%s%s", base, sl ? "-" : "", sl ? p->subdir : "");
	for (const char *c = raw; *c && o + 1 < n && o < CATALOG_MAX_NAME; c++) {
		unsigned char ch = (unsigned char)tolower((unsigned char)*c);

		if (!o && !isalnum(ch))
			continue;
		out[o++] = isalnum(ch) || ch == '.' || ch == '_' || ch == '-' ? (char)ch : '-';
	}
	out[o] = '\0';
	if (!o)
		snprintf(out, n, "project");
}

bool scan_entry(const struct scan_project *p, double min, struct catalog_entry *e)
{
	int best = -1;
	spec_protoset ps = 0, of;
	struct buf d = { 0 };
	char name[CATALOG_MAX_NAME + 1];

	memset(e, 0, sizeof(*e));
	for (int c = 0; c < CLASS__COUNT; c++)
		if (p->cls[c].confidence >= min &&
		    (best < 0 || p->cls[c].confidence > p->cls[best].confidence))
			best = c;
	if (best < 0)
		return false;
	/* its protocols: those of the class whose usual port one of its
	 * services serves; else the class's first */
	of = spec_class_protos((enum spec_class)best);
	for (int pr = 0; pr < PROTO__COUNT; pr++) {
		uint16_t port = spec_proto_port((enum spec_proto)pr);
		uint8_t tr = strcmp(spec_proto_transport((enum spec_proto)pr), "udp") ? IPPROTO_TCP
										      : IPPROTO_UDP;

		if (!(of & (1u << pr)) || !port)
			continue;
		for (size_t i = 0; i < p->nsvc; i++)
			for (size_t k = 0; k < p->svc[i].nports; k++)
				if (p->svc[i].ports[k].lo <= port && port <= p->svc[i].ports[k].hi &&
				    p->svc[i].ports[k].proto == tr)
					ps |= 1u << pr;
	}
	if (!ps)
		ps = of & -of;
	entry_name(name, sizeof(name), p);
	e->name = xstrdup(name);
	e->cls = (enum spec_class)best;
	e->protos = ps;
	e->kind = CATALOG_PROJECT;
	e->start = xstrdup(p->path);
	e->driver_project = p->drives;
	e->repository = p->repo ? xstrdup(p->repo) : NULL;
	e->commit = p->commit ? xstrdup(p->commit) : NULL;
	e->subdir = p->subdir && *p->subdir ? xstrdup(p->subdir) : NULL;
	buf_printf(&d, "Found by 'dynamo catalog scan': %s %.2f", spec_class_name(best),
		   p->cls[best].confidence);
	for (int c = 0; c < CLASS__COUNT; c++)
		if (c != best && p->cls[c].confidence >= min)
			buf_printf(&d, ", %s %.2f", spec_class_name(c), p->cls[c].confidence);
	buf_printf(&d, "; %zu service%s", p->nsvc, p->nsvc == 1 ? "" : "s");
	for (size_t i = 0; i < p->nsvc && d.len < CATALOG_MAX_TEXT - 200; i++)
		buf_printf(&d, "%s%s", i ? ", " : ": ", p->svc[i].name);
	if (p->drives_why && d.len < CATALOG_MAX_TEXT - 200)
		buf_printf(&d, "; drives itself: %s", p->drives_why);
	/* as text the catalog takes: no control bytes, whole characters */
	for (size_t i = 0; i < d.len; i++)
		if ((unsigned char)d.p[i] < 0x20 || d.p[i] == 0x7f)
			d.p[i] = '?';
	if (d.len > CATALOG_MAX_TEXT) {
		d.len = CATALOG_MAX_TEXT;
		while (d.len && ((unsigned char)d.p[d.len] & 0xc0) == 0x80)
			d.len--;
		d.p[d.len] = '\0';
	}
	e->description = buf_steal(&d);
	return true;
}
