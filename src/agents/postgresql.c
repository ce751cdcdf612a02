/* postgresql.c - the database agent for PostgreSQL (frontend/backend
 * protocol 3.0): a server that refuses SSL ('N') so clients go on in
 * plain, authenticates with MD5 or a cleartext password, and answers the
 * simple and the extended query protocols (Parse/Bind/Describe/Execute/
 * Sync, named statements, portals suspended at a row limit) for a few
 * statement shapes on a fixed schema, with rows generated from the row's
 * id rather than stored; and application-like clients that follow
 * data/behaviours/postgresql.model: point reads, range scans of
 * heavy-tailed size, inserts and updates in BEGIN/COMMIT, prepared
 * statements, think time, Terminate.
 *
 * No SQL engine: the server recognises
 *   SELECT cols|*|count(*) FROM t [WHERE col OP v] [ORDER BY col [DESC]]
 *          [LIMIT n] [OFFSET n];  SELECT 1 | version() | now() | ...
 *   INSERT INTO t (cols) VALUES (...)[, (...)] [RETURNING cols]
 *   UPDATE t SET col = expr[, ...] [WHERE col OP v] [RETURNING cols]
 *   DELETE FROM t [WHERE col OP v];  BEGIN/COMMIT/ROLLBACK;  SET;  SHOW
 * and answers anything else with an ErrorResponse and its SQLSTATE.
 *
 * The schema the client assumes, which a real server needs for the same
 * client (user app, password app, database app):
 *
 *   CREATE ROLE app LOGIN PASSWORD 'app';
 *   CREATE DATABASE app OWNER app;
 *   -- in database app, as app:
 *   CREATE TABLE users (
 *       id         serial PRIMARY KEY,
 *       name       text NOT NULL,
 *       email      text NOT NULL,
 *       created_at timestamptz NOT NULL DEFAULT now()
 *   );
 *   CREATE TABLE orders (
 *       id         serial PRIMARY KEY,
 *       user_id    integer NOT NULL,
 *       amount     numeric(10,2) NOT NULL,
 *       status     text NOT NULL,
 *       created_at timestamptz NOT NULL DEFAULT now()
 *   );
 *   CREATE TABLE posts (
 *       id         serial PRIMARY KEY,
 *       user_id    integer NOT NULL,
 *       title      text NOT NULL,
 *       body       text NOT NULL,
 *       created_at timestamptz NOT NULL DEFAULT now()
 *   );
 *   CREATE INDEX ON orders (user_id);
 *   INSERT INTO users (name, email)
 *       SELECT 'user ' || g, 'user' || g || '@example.com'
 *       FROM generate_series(1, 10000) g;
 *   INSERT INTO orders (user_id, amount, status)
 *       SELECT 1 + g % 10000, (g % 50000) / 100.0, 'paid'
 *       FROM generate_series(1, 50000) g;
 *   INSERT INTO posts (user_id, title, body)
 *       SELECT 1 + g % 10000, 'post ' || g, repeat('lorem ipsum ', 1 + g % 300)
 *       FROM generate_series(1, 20000) g;
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "agent.h"
#include "postgresql.h"

/* ---- framing and startup ------------------------------------------------- */



int pg__frame(const uint8_t *p, size_t len, bool startup, uint8_t *type, uint32_t *n)
{
	uint32_t l;

	if (startup) {
		if (len < 4)
			return 0;
		l = be32(p);
		/* The smallest startup packet is a request code: 8 bytes. */
		if (l < 8 || l > PG__MAX_STARTUP)
			return -1;
		*type = 0;
		*n = l;
	} else {
		if (len < 5)
			return 0;
		l = be32(p + 1);
		if (l < 4 || l > PG__MAX_MSG)
			return -1;
		*type = p[0];
		*n = l + 1;
	}
	return len >= *n ? 1 : 0;
}

/* A NUL-terminated string at p[*at..len): its start, *at moved past
 * it; NULL when there is no NUL. */
static const char *cstr(const uint8_t *p, size_t len, size_t *at)
{
	const uint8_t *z;
	const char *s;

	if (*at >= len)
		return NULL;
	z = memchr(p + *at, 0, len - *at);
	if (!z)
		return NULL;
	s = (const char *)p + *at;
	*at = (size_t)(z - p) + 1;
	return s;
}

int pg__startup(const uint8_t *p, size_t len, struct pg__startup *out)
{
	size_t at = 8;

	memset(out, 0, sizeof(*out));
	if (len < 8 || be32(p) != len)
		return -1;
	out->code = be32(p + 4);
	if (out->code != PG__PROTO_3_0)
		return out->code >> 16 == 1234 && len == (out->code == PG__CANCEL ? 16u : 8u) ? 0 : -1;
	/* name\0value\0 ... \0 */
	for (;;) {
		const char *k, *v;

		if (at == len - 1 && p[at] == 0)
			break;
		if (!(k = cstr(p, len, &at)) || !(v = cstr(p, len, &at)) || !*k)
			return -1;
		if (!strcmp(k, "user"))
			snprintf(out->user, sizeof(out->user), "%s", v);
		else if (!strcmp(k, "database"))
			snprintf(out->database, sizeof(out->database), "%s", v);
		else if (!strcmp(k, "application_name"))
			snprintf(out->application, sizeof(out->application), "%s", v);
	}
	/* A user is required (the real server: "no PostgreSQL user name
	 * specified in startup packet"). */
	return out->user[0] ? 0 : -1;
}

/* ---- the catalog ---------------------------------------------------------- */

const struct pg__table pg__tables[] = {
	{ "users", 16386, 10000, 4, {
		{ "id", PG_T_INT4 }, { "name", PG_T_TEXT }, { "email", PG_T_TEXT },
		{ "created_at", PG_T_TSTZ } } },
	{ "orders", 16395, 50000, 5, {
		{ "id", PG_T_INT4 }, { "user_id", PG_T_INT4 }, { "amount", PG_T_NUMERIC },
		{ "status", PG_T_TEXT }, { "created_at", PG_T_TSTZ } } },
	{ "posts", 16404, 20000, 5, {
		{ "id", PG_T_INT4 }, { "user_id", PG_T_INT4 }, { "title", PG_T_TEXT },
		{ "body", PG_T_TEXT }, { "created_at", PG_T_TSTZ } } },
};
const size_t pg__ntables = ARRAY_SIZE(pg__tables);

const char *const pg__settings[][2] = {
	{ "server_version", "15.18 (Debian 15.18-0+deb12u1)" },
	{ "server_encoding", "UTF8" },
	{ "client_encoding", "UTF8" },
	{ "datestyle", "ISO, MDY" },
	{ "timezone", "UTC" },
	{ "transaction_isolation", "read committed" },
	{ "standard_conforming_strings", "on" },
	{ "integer_datetimes", "on" },
	{ "max_connections", "100" },
	{ "search_path", "\"$user\", public" },
	{ "statement_timeout", "0" },
	{ "lc_messages", "C.UTF-8" },
};
const size_t pg__nsettings = ARRAY_SIZE(pg__settings);

/* ---- the statement recogniser -------------------------------------------- */

enum { TK_END, TK_IDENT, TK_QIDENT, TK_NUM, TK_STR, TK_PARAM, TK_OP, TK_BAD };

struct tok {
	uint8_t t;
	const char *p;
	size_t n, pos;          /* pos: 0-based offset in the statement */
	int64_t v;
};

struct lex {
	const char *s;
	size_t n, at;
	struct tok tk;          /* the current token */
	struct pg__stmt *st;
	struct pg__error *e;
};

static void lex_next(struct lex *x)
{
	const char *s = x->s;
	size_t n = x->n, i = x->at;
	struct tok *t = &x->tk;

	for (;;) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
			const char *end = NULL;

			for (size_t k = i + 2; k + 1 < n; k++)
				if (s[k] == '*' && s[k + 1] == '/') {
					end = s + k;
					break;
				}
			i = end ? (size_t)(end - s) + 2 : n;
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	t->p = s + i;
	t->pos = i;
	if (i >= n) {
		t->t = TK_END;
	} else if (isalpha((unsigned char)s[i]) || s[i] == '_' || (unsigned char)s[i] >= 0x80) {
		size_t k = i;

		while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '$' ||
				 (unsigned char)s[k] >= 0x80))
			k++;
		t->t = TK_IDENT;
		t->n = k - i;
		i = k;
	} else if (s[i] == '"' || s[i] == '\'') {
		char q = s[i];
		size_t k = i + 1;

		t->t = TK_BAD;
		while (k < n) {
			if (s[k] == q && k + 1 < n && s[k + 1] == q) {
				k += 2;
				continue;
			}
			if (s[k] == q) {
				t->t = q == '"' ? TK_QIDENT : TK_STR;
				break;
			}
			k++;
		}
		t->p = s + i + 1;
		t->n = k - i - 1;
		i = k < n ? k + 1 : n;
		if (t->t == TK_STR)
			t->v = (int64_t)(rng_hash(t->p, t->n, 0x7067) >> 1);
	} else if (isdigit((unsigned char)s[i]) || (s[i] == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
		size_t k = i;
		int64_t v = 0;

		while (k < n && isdigit((unsigned char)s[k])) {
			v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (s[k] - '0');
			k++;
		}
		if (k < n && s[k] == '.') {
			k++;
			while (k < n && isdigit((unsigned char)s[k]))
				k++;
		}
		if (k < n && (s[k] == 'e' || s[k] == 'E')) {
			size_t e = k + 1;

			if (e < n && (s[e] == '+' || s[e] == '-'))
				e++;
			if (e < n && isdigit((unsigned char)s[e])) {
				k = e;
				while (k < n && isdigit((unsigned char)s[k]))
					k++;
			}
		}
		t->t = TK_NUM;
		t->v = v;
		t->n = k - i;
		i = k;
	} else if (s[i] == '$' && i + 1 < n && isdigit((unsigned char)s[i + 1])) {
		size_t k = i + 1;
		int64_t v = 0;

		while (k < n && isdigit((unsigned char)s[k])) {
			v = v > 100000 ? v : v * 10 + (s[k] - '0');
			k++;
		}
		t->t = TK_PARAM;
		t->v = v;
		t->n = k - i;
		i = k;
	} else {
		static const char *const two[] = { "<=", ">=", "<>", "!=", "::", "||" };

		t->t = TK_OP;
		t->n = 1;
		for (size_t k = 0; k < ARRAY_SIZE(two); k++)
			if (i + 1 < n && s[i] == two[k][0] && s[i + 1] == two[k][1])
				t->n = 2;
		i += t->n;
	}
	x->at = i;
}

static bool is_kw(const struct tok *t, const char *kw)
{
	return t->t == TK_IDENT && strlen(kw) == t->n && !strncasecmp(t->p, kw, t->n);
}

static bool is_op(const struct tok *t, const char *op)
{
	return t->t == TK_OP && strlen(op) == t->n && !strncmp(t->p, op, t->n);
}

/* Take keyword kw if it is next. */
static bool accept_kw(struct lex *x, const char *kw)
{
	if (!is_kw(&x->tk, kw))
		return false;
	lex_next(x);
	return true;
}

static bool accept_op(struct lex *x, const char *op)
{
	if (!is_op(&x->tk, op))
		return false;
	lex_next(x);
	return true;
}

static int fail(struct lex *x, const char *code, unsigned pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct lex *x, const char *code, unsigned pos, const char *fmt, ...)
{
	va_list ap;

	x->e->code = code;
	x->e->position = pos;
	va_start(ap, fmt);
	vsnprintf(x->e->msg, sizeof(x->e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* "syntax error at or near ..." at the current token, as the real
 * server words it. */
static int syntax(struct lex *x)
{
	const struct tok *t = &x->tk;
	int n = (int)MIN(t->n, 60u);

	if (t->t == TK_END)
		return fail(x, "42601", 0, "syntax error at end of input");
	if (t->t == TK_STR || t->t == TK_QIDENT || t->t == TK_BAD)
		return fail(x, "42601", (unsigned)t->pos + 1, "syntax error at or near \"%c%.*s%c\"",
			    t->t == TK_QIDENT ? '"' : '\'', n, t->p, t->t == TK_QIDENT ? '"' : '\'');
	return fail(x, "42601", (unsigned)t->pos + 1, "syntax error at or near \"%.*s\"", n, t->p);
}

/* An identifier as a name (lowercased unless quoted) into out. */
static bool take_name(struct lex *x, char *out, size_t len, size_t *pos)
{
	const struct tok *t = &x->tk;
	size_t n;

	if (t->t != TK_IDENT && t->t != TK_QIDENT)
		return false;
	n = MIN(t->n, len - 1);
	for (size_t i = 0; i < n; i++)
		out[i] = t->t == TK_IDENT ? (char)tolower((unsigned char)t->p[i]) : t->p[i];
	out[n] = 0;
	*pos = t->pos;
	lex_next(x);
	return true;
}

/* Words a column or table may not be called without quotes (a few). */
static bool reserved(const struct tok *t)
{
	static const char *const kw[] = {
		"select", "from", "where", "order", "by", "limit", "offset", "group", "having",
		"insert", "into", "values", "update", "set", "delete", "returning", "and", "or",
		"not", "as", "asc", "desc", "union", "join", "on", "for", "all", "distinct",
	};

	for (size_t i = 0; i < ARRAY_SIZE(kw); i++)
		if (is_kw(t, kw[i]))
			return true;
	return false;
}

static int find_table(struct lex *x, uint8_t *table)
{
	char name[64];
	size_t pos;

	if (x->tk.t == TK_IDENT && reserved(&x->tk))
		return syntax(x);
	if (!take_name(x, name, sizeof(name), &pos))
		return syntax(x);
	/* schema.table: only public */
	if (accept_op(x, ".")) {
		if (strcmp(name, "public"))
			return fail(x, "3F000", (unsigned)pos + 1, "schema \"%s\" does not exist", name);
		if (!take_name(x, name, sizeof(name), &pos))
			return syntax(x);
	}
	for (size_t i = 0; i < pg__ntables; i++) {
		if (!strcmp(pg__tables[i].name, name)) {
			*table = (uint8_t)i;
			return 0;
		}
	}
	return fail(x, "42P01", (unsigned)pos + 1, "relation \"%s\" does not exist", name);
}

static int col_index(uint8_t table, const char *name)
{
	const struct pg__table *t = &pg__tables[table];

	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return i;
	return -1;
}

/* A column of table, optionally qualified (alias.col or table.col). */
static int take_column(struct lex *x, uint8_t table, uint8_t *col)
{
	char name[64];
	size_t pos;
	int i;

	if (x->tk.t == TK_IDENT && reserved(&x->tk))
		return syntax(x);
	if (!take_name(x, name, sizeof(name), &pos))
		return syntax(x);
	if (accept_op(x, ".") && !take_name(x, name, sizeof(name), &pos))
		return syntax(x);
	i = col_index(table, name);
	if (i < 0)
		return fail(x, "42703", (unsigned)pos + 1, "column \"%s\" does not exist", name);
	*col = (uint8_t)i;
	return 0;
}

static int note_param(struct lex *x, const struct tok *t, uint8_t type, struct pg__arg *a)
{
	if (t->v < 1 || t->v > PG__MAX_PARAMS)
		return fail(x, "42P02", (unsigned)t->pos + 1, "there is no parameter $%lld", (long long)t->v);
	if (a) {
		a->param = (uint8_t)t->v;
		a->set = true;
	}
	if (t->v > x->st->nparams)
		x->st->nparams = (uint8_t)t->v;
	if (!x->st->ptype[t->v - 1] || type != PG_T_TEXT)
		x->st->ptype[t->v - 1] = type;
	return 0;
}

/* A constant or parameter: [-]number, 'string', $n, true/false/null. */
static int take_value(struct lex *x, uint8_t type, struct pg__arg *a)
{
	bool neg = false;

	memset(a, 0, sizeof(*a));
	if (accept_op(x, "-"))
		neg = true;
	switch (x->tk.t) {
	case TK_NUM:
		a->v = neg ? -x->tk.v : x->tk.v;
		a->set = true;
		break;
	case TK_STR:
		if (neg)
			return syntax(x);
		a->v = x->tk.v;
		a->str = a->set = true;
		break;
	case TK_PARAM:
		if (neg || note_param(x, &x->tk, type, a) < 0)
			return neg ? syntax(x) : -1;
		break;
	default:
		if (!neg && (is_kw(&x->tk, "true") || is_kw(&x->tk, "false") || is_kw(&x->tk, "null"))) {
			a->set = true;
			break;
		}
		return syntax(x);
	}
	lex_next(x);
	/* A cast (value::type) is allowed and ignored. */
	if (accept_op(x, "::")) {
		char ty[32];
		size_t pos;

		if (!take_name(x, ty, sizeof(ty), &pos))
			return syntax(x);
	}
	return 0;
}

/* An expression for SET col = ... or a VALUES item: terms (constants,
 * parameters, columns, now(), DEFAULT) joined by arithmetic. */
static int take_expr(struct lex *x, uint8_t table, uint8_t type, bool columns)
{
	for (;;) {
		struct pg__arg a;

		if (is_kw(&x->tk, "now") || is_kw(&x->tk, "current_timestamp") ||
		    is_kw(&x->tk, "default")) {
			bool fn = is_kw(&x->tk, "now");

			lex_next(x);
			if (fn && (!accept_op(x, "(") || !accept_op(x, ")")))
				return syntax(x);
		} else if (columns && x->tk.t == TK_IDENT && !is_kw(&x->tk, "true") &&
			   !is_kw(&x->tk, "false") && !is_kw(&x->tk, "null")) {
			uint8_t col;

			if (take_column(x, table, &col) < 0)
				return -1;
		} else if (accept_op(x, "(")) {
			if (take_expr(x, table, type, columns) < 0)
				return -1;
			if (!accept_op(x, ")"))
				return syntax(x);
		} else if (take_value(x, type, &a) < 0) {
			return -1;
		}
		if (!accept_op(x, "+") && !accept_op(x, "-") && !accept_op(x, "*") &&
		    !accept_op(x, "/") && !accept_op(x, "||"))
			return 0;
	}
}

static int take_where(struct lex *x)
{
	struct pg__stmt *st = x->st;

	if (!accept_kw(x, "where"))
		return 0;
	for (bool first = true;; first = false) {
		static const char *const ops[] = { "=", "<>", ">", ">=", "<", "<=", "!=" };
		uint8_t col, op = PG_NONE;
		struct pg__arg a;

		if (take_column(x, st->table, &col) < 0)
			return -1;
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
			if (is_op(&x->tk, ops[i]))
				op = i == 6 ? PG_OP_NE : (uint8_t)i;
		if (op == PG_NONE)
			return syntax(x);
		lex_next(x);
		if (take_value(x, pg__tables[st->table].cols[col].type, &a) < 0)
			return -1;
		/* Only the first condition shapes the rows. */
		if (first) {
			st->where_col = col;
			st->where_op = op;
			st->where = a;
		}
		if (!accept_kw(x, "and"))
			return 0;
	}
}

/* cols after SELECT or RETURNING: '*' or column names, or count(*). */
static int take_cols(struct lex *x, bool count_ok)
{
	struct pg__stmt *st = x->st;

	st->nsel = 0;
	if (accept_op(x, "*")) {
		st->nsel = pg__tables[st->table].ncols;
		for (uint8_t i = 0; i < st->nsel; i++)
			st->sel[i] = i;
		return 0;
	}
	do {
		uint8_t col;

		if (count_ok && is_kw(&x->tk, "count")) {
			lex_next(x);
			if (!accept_op(x, "(") || !(accept_op(x, "*") || take_column(x, st->table, &col) == 0) ||
			    !accept_op(x, ")"))
				return x->e->code ? -1 : syntax(x);
			col = PG_COUNT;
		} else if (take_column(x, st->table, &col) < 0) {
			return -1;
		}
		if (st->nsel == PG__MAX_COLS)
			return fail(x, "0A000", (unsigned)x->tk.pos + 1, "too many columns for this server");
		st->sel[st->nsel++] = col;
		/* An alias: col AS name, or col name. */
		if (accept_kw(x, "as") || (x->tk.t == TK_IDENT && !reserved(&x->tk))) {
			char alias[64];
			size_t pos;

			if (!take_name(x, alias, sizeof(alias), &pos))
				return syntax(x);
		}
	} while (accept_op(x, ","));
	for (uint8_t i = 0; i < st->nsel; i++)
		if (st->sel[i] == PG_COUNT && st->nsel > 1)
			return fail(x, "42803", 8, "column \"%s.%s\" must appear in the GROUP BY clause or be used in an aggregate function",
				    pg__tables[st->table].name,
				    pg__tables[st->table].cols[st->sel[i ? 0 : 1]].name);
	return 0;
}

static int take_count_arg(struct lex *x, struct pg__arg *a)
{
	if (accept_kw(x, "all")) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (take_value(x, PG_T_INT8, a) < 0)
		return -1;
	if (a->str || (!a->param && a->v < 0))
		return fail(x, "2201W", 0, "LIMIT must not be negative");
	return 0;
}

/* SELECT without FROM: one constant. */
static int select_const(struct lex *x, size_t at)
{
	struct pg__stmt *st = x->st;

	x->at = at;
	lex_next(x);
	st->kind = PG_SELECT_CONST;
	if (x->tk.t == TK_NUM) {
		st->konst = PG_CONST_INT;
		st->konst_v = x->tk.v;
		lex_next(x);
	} else if (accept_kw(x, "version")) {
		st->konst = PG_CONST_VERSION;
	} else if (accept_kw(x, "now")) {
		st->konst = PG_CONST_NOW;
	} else if (accept_kw(x, "current_timestamp")) {
		st->konst = PG_CONST_NOW;
		return 0;
	} else if (accept_kw(x, "current_database")) {
		st->konst = PG_CONST_DB;
	} else if (accept_kw(x, "current_user") || accept_kw(x, "session_user")) {
		st->konst = PG_CONST_USER;
		return 0;
	} else if ((x->tk.t == TK_IDENT && !reserved(&x->tk)) || x->tk.t == TK_QIDENT) {
		char name[64];
		size_t pos;

		/* A name with no FROM: a column of nothing. */
		take_name(x, name, sizeof(name), &pos);
		return fail(x, "42703", (unsigned)pos + 1, "column \"%s\" does not exist", name);
	} else {
		return syntax(x);
	}
	if (st->konst != PG_CONST_INT && (!accept_op(x, "(") || !accept_op(x, ")")))
		return syntax(x);
	return 0;
}

static int parse_select(struct lex *x)
{
	struct pg__stmt *st = x->st;
	size_t list = x->tk.pos, depth = 0;
	struct lex y;

	/* The column list names columns of the table after FROM: find
	 * FROM first, then come back. */
	y = *x;
	while (y.tk.t != TK_END && !(depth == 0 && is_kw(&y.tk, "from"))) {
		if (is_op(&y.tk, "("))
			depth++;
		if (is_op(&y.tk, ")") && depth)
			depth--;
		lex_next(&y);
	}
	if (y.tk.t == TK_END) {
		if (select_const(x, list) < 0)
			return -1;
		if (accept_kw(x, "as")) {
			char alias[64];
			size_t pos;

			if (!take_name(x, alias, sizeof(alias), &pos))
				return syntax(x);
		}
		return 0;
	}
	lex_next(&y);
	if (find_table(&y, &st->table) < 0)
		return -1;
	/* An alias after the table. */
	if (accept_kw(&y, "as") || (y.tk.t == TK_IDENT && !reserved(&y.tk))) {
		char alias[64];
		size_t pos;

		if (!take_name(&y, alias, sizeof(alias), &pos))
			return syntax(&y);
	}
	st->kind = PG_SELECT;
	if (take_cols(x, true) < 0)
		return -1;
	if (!is_kw(&x->tk, "from"))
		return syntax(x);
	*x = y;
	if (take_where(x) < 0)
		return -1;
	if (accept_kw(x, "order")) {
		if (!accept_kw(x, "by"))
			return syntax(x);
		do {
			uint8_t col;
			bool desc = false;

			if (take_column(x, st->table, &col) < 0)
				return -1;
			if (accept_kw(x, "desc"))
				desc = true;
			else
				accept_kw(x, "asc");
			if (st->order_col == PG_NONE) {
				st->order_col = col;
				st->order_desc = desc;
			}
		} while (accept_op(x, ","));
	}
	for (int i = 0; i < 2; i++) {
		if (accept_kw(x, "limit") && take_count_arg(x, &st->limit) < 0)
			return -1;
		if (accept_kw(x, "offset") && take_count_arg(x, &st->offset) < 0)
			return -1;
	}
	if (accept_kw(x, "for") && !accept_kw(x, "update") && !accept_kw(x, "share"))
		return syntax(x);
	return 0;
}

static int take_returning(struct lex *x)
{
	if (!accept_kw(x, "returning"))
		return 0;
	return take_cols(x, false);
}

static int parse_insert(struct lex *x)
{
	struct pg__stmt *st = x->st;
	uint8_t cols[PG__MAX_COLS], ncols = 0;

	if (!accept_kw(x, "into"))
		return syntax(x);
	if (find_table(x, &st->table) < 0)
		return -1;
	st->kind = PG_INSERT;
	if (accept_op(x, "(")) {
		do {
			if (ncols == PG__MAX_COLS)
				return syntax(x);
			if (take_column(x, st->table, &cols[ncols]) < 0)
				return -1;
			ncols++;
		} while (accept_op(x, ","));
		if (!accept_op(x, ")"))
			return syntax(x);
	} else {
		ncols = pg__tables[st->table].ncols;
		for (uint8_t i = 0; i < ncols; i++)
			cols[i] = i;
	}
	if (!accept_kw(x, "values"))
		return syntax(x);
	do {
		uint8_t k = 0;

		if (!accept_op(x, "("))
			return syntax(x);
		do {
			uint8_t type = k < ncols ? pg__tables[st->table].cols[cols[k]].type : PG_T_TEXT;

			if (k >= ncols)
				return fail(x, "42601", (unsigned)x->tk.pos + 1,
					    "INSERT has more expressions than target columns");
			if (take_expr(x, st->table, type, false) < 0)
				return -1;
			k++;
		} while (accept_op(x, ","));
		if (!accept_op(x, ")"))
			return syntax(x);
		if (k < ncols)
			return fail(x, "42601", 0, "INSERT has more target columns than expressions");
		if (st->nrows < UINT16_MAX)
			st->nrows++;
	} while (accept_op(x, ","));
	return take_returning(x);
}

static int parse_update(struct lex *x)
{
	struct pg__stmt *st = x->st;

	if (find_table(x, &st->table) < 0)
		return -1;
	st->kind = PG_UPDATE;
	if (!accept_kw(x, "set"))
		return syntax(x);
	do {
		uint8_t col;

		if (take_column(x, st->table, &col) < 0)
			return -1;
		if (!accept_op(x, "="))
			return syntax(x);
		if (take_expr(x, st->table, pg__tables[st->table].cols[col].type, true) < 0)
			return -1;
	} while (accept_op(x, ","));
	if (take_where(x) < 0)
		return -1;
	return take_returning(x);
}

static int parse_delete(struct lex *x)
{
	struct pg__stmt *st = x->st;

	if (!accept_kw(x, "from"))
		return syntax(x);
	if (find_table(x, &st->table) < 0)
		return -1;
	st->kind = PG_DELETE;
	if (take_where(x) < 0)
		return -1;
	return take_returning(x);
}

/* BEGIN/COMMIT/ROLLBACK and their options: taken whole. */
static void skip_rest(struct lex *x)
{
	while (x->tk.t != TK_END && x->tk.t != TK_BAD)
		lex_next(x);
}

size_t pg__next_stmt(const char *sql, size_t len, size_t *used)
{
	char q = 0;

	for (size_t i = 0; i < len; i++) {
		char c = sql[i];

		if (q) {
			if (c == q)
				q = 0;
		} else if (c == '\'' || c == '"') {
			q = c;
		} else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
			while (i < len && sql[i] != '\n')
				i++;
		} else if (c == ';') {
			*used = i + 1;
			return i;
		}
	}
	*used = len;
	return len;
}

int pg__sql(const char *sql, size_t len, struct pg__stmt *st, struct pg__error *e)
{
	struct lex x = { .s = sql, .n = len, .st = st, .e = e };
	int r = 0;

	memset(st, 0, sizeof(*st));
	memset(e, 0, sizeof(*e));
	st->where_col = st->order_col = PG_NONE;
	lex_next(&x);
	if (x.tk.t == TK_END) {
		st->kind = PG_EMPTY;
		return 0;
	}
	if (accept_kw(&x, "select")) {
		r = parse_select(&x);
	} else if (accept_kw(&x, "insert")) {
		r = parse_insert(&x);
	} else if (accept_kw(&x, "update")) {
		r = parse_update(&x);
	} else if (accept_kw(&x, "delete")) {
		r = parse_delete(&x);
	} else if (accept_kw(&x, "begin") || (is_kw(&x.tk, "start") && (lex_next(&x), accept_kw(&x, "transaction")))) {
		st->kind = PG_BEGIN;
		skip_rest(&x);
	} else if (accept_kw(&x, "commit") || accept_kw(&x, "end")) {
		st->kind = PG_COMMIT;
		skip_rest(&x);
	} else if (accept_kw(&x, "rollback") || accept_kw(&x, "abort")) {
		st->kind = PG_ROLLBACK;
		skip_rest(&x);
	} else if (accept_kw(&x, "set")) {
		st->kind = PG_SET;
		if (x.tk.t != TK_IDENT)
			return syntax(&x);
		skip_rest(&x);
	} else if (accept_kw(&x, "show")) {
		char name[64];
		size_t pos;

		st->kind = PG_SHOW;
		if (!take_name(&x, name, sizeof(name), &pos))
			return syntax(&x);
		st->show = PG_NONE;
		for (size_t i = 0; i < pg__nsettings; i++)
			if (!strcmp(pg__settings[i][0], name))
				st->show = (uint8_t)i;
		if (st->show == PG_NONE)
			return fail(&x, "42704", 0, "unrecognized configuration parameter \"%s\"", name);
	} else {
		return syntax(&x);
	}
	if (r < 0)
		return -1;
	if (x.tk.t != TK_END)
		return syntax(&x);
	return 0;
}

/* ---- the extended protocol ------------------------------------------------ */

int pg__parse_msg(const uint8_t *b, size_t len, struct pg__parse *out)
{
	size_t at = 0;

	memset(out, 0, sizeof(*out));
	if (!(out->name = cstr(b, len, &at)) || !(out->query = cstr(b, len, &at)))
		return -1;
	out->query_len = strlen(out->query);
	if (len - at < 2)
		return -1;
	out->ntypes = be16(b + at);
	at += 2;
	if (len - at != 4u * out->ntypes)
		return -1;
	return strlen(out->name) < PG__NAME ? 0 : -1;
}

int pg__bind_msg(const uint8_t *b, size_t len, struct pg__bind *out)
{
	size_t at = 0;
	uint16_t nfmt, nres;
	const uint8_t *fmts;

	memset(out, 0, sizeof(*out));
	if (!(out->portal = cstr(b, len, &at)) || !(out->stmt = cstr(b, len, &at)))
		return -1;
	if (strlen(out->portal) >= PG__NAME || strlen(out->stmt) >= PG__NAME || len - at < 2)
		return -1;
	nfmt = be16(b + at);
	at += 2;
	if (len - at < 2u * nfmt + 2)
		return -1;
	fmts = b + at;
	at += 2u * nfmt;
	out->nparams = be16(b + at);
	at += 2;
	/* One format for all, or one for each. */
	if (nfmt > 1 && nfmt != out->nparams)
		return -1;
	for (uint16_t i = 0; i < out->nparams; i++) {
		uint32_t n;
		bool binary;

		if (len - at < 4)
			return -1;
		n = be32(b + at);
		at += 4;
		binary = nfmt && be16(fmts + 2 * (nfmt == 1 ? 0 : i)) == 1;
		if (n == 0xffffffffu) {
			if (i < PG__MAX_PARAMS)
				out->isnull |= (uint16_t)(1u << i);
			continue;
		}
		if (len - at < n)
			return -1;
		if (i < PG__MAX_PARAMS) {
			const uint8_t *p = b + at;
			int64_t v = 0;
			bool ok = n > 0;

			if (binary) {
				if (n == 2)
					v = (int16_t)be16(p);
				else if (n == 4)
					v = (int32_t)be32(p);
				else if (n == 8)
					v = (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
				else
					ok = false;
			} else {
				size_t k = p[0] == '-' && n > 1;

				for (; ok && k < n; k++) {
					if (!isdigit(p[k]))
						ok = false;
					else
						v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (p[k] - '0');
				}
				if (p[0] == '-')
					v = -v;
			}
			if (ok) {
				out->v[i] = v;
				out->isint |= (uint16_t)(1u << i);
			} else {
				out->v[i] = (int64_t)(rng_hash(p, n, 0x7067) >> 1);
			}
		}
		at += n;
	}
	if (len - at < 2)
		return -1;
	nres = be16(b + at);
	at += 2;
	if (len - at != 2u * nres)
		return -1;
	for (uint16_t i = 0; i < nres; i++)
		if (be16(b + at + 2 * i) != 0)
			out->binary_results = true;
	return 0;
}

int pg__named_msg(const uint8_t *b, size_t len, bool with_kind, char *kind, const char **name,
		  uint32_t *max_rows)
{
	size_t at = 0;

	if (with_kind) {
		if (len < 1 || (b[0] != 'S' && b[0] != 'P'))
			return -1;
		*kind = (char)b[0];
		at = 1;
	}
	if (!(*name = cstr(b, len, &at)) || strlen(*name) >= PG__NAME)
		return -1;
	if (!with_kind) {
		if (len - at != 4)
			return -1;
		*max_rows = be32(b + at);
		return 0;
	}
	return at == len ? 0 : -1;
}

/* ---- backend messages ---------------------------------------------------- */

int pg__auth_msg(const uint8_t *b, size_t len, uint32_t *code, uint8_t salt[4],
		 const uint8_t **data, size_t *dlen)
{
	if (len < 4)
		return -1;
	*code = be32(b);
	*data = b + 4;
	*dlen = len - 4;
	if (*code == 5) {
		if (len != 8)
			return -1;
		memcpy(salt, b + 4, 4);
	} else if ((*code == 0 || *code == 3) && len != 4) {
		return -1;
	}
	return 0;
}

int pg__error_field(const uint8_t *b, size_t len, char f, char *out, size_t outlen)
{
	size_t at = 0;

	if (outlen)
		out[0] = 0;
	while (at < len && b[at]) {
		char t = (char)b[at++];
		const char *v = cstr(b, len, &at);

		if (!v)
			return -1;
		if (t == f && outlen)
			snprintf(out, outlen, "%s", v);
	}
	return at + 1 == len ? 0 : -1;
}

int pg__tag_msg(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	size_t at = 0;
	const char *t = cstr(b, len, &at);

	if (!t || at != len)
		return -1;
	snprintf(out, outlen, "%s", t);
	return 0;
}

int pg__datarow_msg(const uint8_t *b, size_t len, uint16_t *ncols)
{
	size_t at = 2;

	if (len < 2)
		return -1;
	*ncols = be16(b);
	for (uint16_t i = 0; i < *ncols; i++) {
		uint32_t n;

		if (len - at < 4)
			return -1;
		n = be32(b + at);
		at += 4;
		if (n == 0xffffffffu)
			continue;
		if (len - at < n)
			return -1;
		at += n;
	}
	return at == len ? 0 : -1;
}

/* ---- the server ----------------------------------------------------------- */

#define PG_PASSWORD "app"               /* every user's password */
#define PG_VERSION_TEXT "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, " \
	"compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
#define SESS_IDLE 300.0                 /* s: a silent client is dropped */
#define SESS_STALL 30.0                 /* s: to finish a message begun */
#define SESS_AUTH 60.0                  /* s: authentication_timeout */
#define OUT_HIGH (256u << 10)           /* rows queued before we wait for the peer */
#define MAX_PREPS 32                    /* named statements a session keeps */
#define FANOUT_MAX 2000                 /* rows one user_id matches at most */
#define BODY_MAX (64u << 10)

enum { PH_STARTUP, PH_AUTH, PH_READY, PH_CLOSING };
enum { H_DONE, H_KEEP };

struct pg_prep {
	char name[PG__NAME];
	struct pg__stmt st;
};

struct pg_portal {
	char name[PG__NAME];
	struct pg__stmt st;
	int64_t v[PG__MAX_PARAMS];
	uint16_t isint, isnull;
	uint32_t done;          /* rows already sent (suspended portal) */
	bool finished;
};

/* A result being sent: rows are made as the peer takes them, so a large
 * one never sits in memory. */
struct pg_cursor {
	uint8_t kind, table, nsel, sel[PG__MAX_COLS];
	uint8_t where_col;
	bool where_eq, by_hash, portal;
	int64_t where_v;
	uint32_t first, count, i, max_rows, n;
	int32_t step;
	uint64_t seed;
	uint64_t total;         /* for the tag (SELECT n, UPDATE n, ...) */
	int64_t count_value;    /* count(*) */
};

struct pg_sess;

struct pg_srv {
	struct io lio;
	struct host *h;
	struct stats *st;
	const struct model *m;
	struct pg_sess *sessions;
	uint32_t rows[8];       /* per table: ids 1..rows exist */
	uint32_t next_pid;
	struct pg_srv *next;
};

struct pg_sess {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct pg_srv *srv;
	struct pg_sess *next, **pprev;
	uint8_t phase, txn;     /* txn: 'I', 'T' or 'E', as ReadyForQuery says */
	bool md5, skip_to_sync;
	uint8_t salt[4];
	uint32_t pid, q_off;
	bool q_any;
	uint8_t npreps, cap_preps;
	struct pg_prep *preps;  /* grown on Parse */
	struct pg_portal *portal;
	struct pg_cursor *cur;
	char user[64], db[64], app[64];
};

static struct pg_srv *servers;

static const char *const first_names[] = {
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
	"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
	"Sarah", "Carlos", "Karen", "Wei", "Aisha", "Lucas", "Sofia",
};
static const char *const last_names[] = {
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
	"Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Kim", "Schmidt", "Rossi",
};
static const char *const statuses[] = { "new", "paid", "shipped", "delivered", "cancelled" };

/* ---- writing messages ---- */

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void m_begin(struct msg *m, char type)
{
	m->b[0] = (uint8_t)type;
	m->n = 5;
}

static void m_put(struct msg *m, const void *p, size_t n)
{
	n = MIN(n, sizeof(m->b) - m->n);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void m_str(struct msg *m, const char *s)
{
	m_put(m, s, strlen(s) + 1);
}

static void m_u32(struct msg *m, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	m_put(m, b, 4);
}

static void m_u16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	m_put(m, b, 2);
}

static void m_send(struct msg *m, struct conn *c)
{
	uint32_t l = (uint32_t)m->n - 1;

	m->b[1] = (uint8_t)(l >> 24);
	m->b[2] = (uint8_t)(l >> 16);
	m->b[3] = (uint8_t)(l >> 8);
	m->b[4] = (uint8_t)l;
	conn_write(c, m->b, m->n);
}

static void send_error(struct pg_sess *s, bool fatal, const char *code, const char *text,
		       unsigned position)
{
	struct msg m;
	char pos[16];

	m_begin(&m, 'E');
	m_put(&m, "S", 1);
	m_str(&m, fatal ? "FATAL" : "ERROR");
	m_put(&m, "V", 1);
	m_str(&m, fatal ? "FATAL" : "ERROR");
	m_put(&m, "C", 1);
	m_str(&m, code);
	m_put(&m, "M", 1);
	m_str(&m, text);
	if (position) {
		snprintf(pos, sizeof(pos), "%u", position);
		m_put(&m, "P", 1);
		m_str(&m, pos);
	}
	m_put(&m, "", 1);
	m_send(&m, &s->c);
}

static void send_notice(struct pg_sess *s, const char *code, const char *text)
{
	struct msg m;

	m_begin(&m, 'N');
	m_put(&m, "SWARNING", 9);
	m_put(&m, "VWARNING", 9);
	m_put(&m, "C", 1);
	m_str(&m, code);
	m_put(&m, "M", 1);
	m_str(&m, text);
	m_put(&m, "", 1);
	m_send(&m, &s->c);
}

/* FATAL: the session ends after the message is out. */
static void fatal(struct pg_sess *s, const char *code, const char *text)
{
	send_error(s, true, code, text, 0);
	s->phase = PH_CLOSING;
	conn_shutdown(&s->c);
}

static void send_tag(struct pg_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_tag(struct pg_sess *s, const char *fmt, ...)
{
	struct msg m;
	char tag[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tag, sizeof(tag), fmt, ap);
	va_end(ap);
	m_begin(&m, 'C');
	m_str(&m, tag);
	m_send(&m, &s->c);
}

static void send_simple(struct pg_sess *s, char type)
{
	uint8_t b[5] = { (uint8_t)type, 0, 0, 0, 4 };

	conn_write(&s->c, b, 5);
}

static void send_ready(struct pg_sess *s)
{
	uint8_t b[6] = { 'Z', 0, 0, 0, 5, s->txn };

	conn_write(&s->c, b, 6);
}

static void send_param_status(struct pg_sess *s, const char *k, const char *v)
{
	struct msg m;

	m_begin(&m, 'S');
	m_str(&m, k);
	m_str(&m, v);
	m_send(&m, &s->c);
}

/* A statement's error: in a transaction block, the block fails. */
static void stmt_error(struct pg_sess *s, const char *code, const char *text, unsigned pos)
{
	send_error(s, false, code, text, pos);
	if (s->txn == 'T')
		s->txn = 'E';
}

/* ---- types and rows ---- */

static void type_info(uint8_t type, uint32_t *oid, int16_t *len, int32_t *mod)
{
	static const struct { uint32_t oid; int16_t len; int32_t mod; } t[] = {
		[PG_T_INT4] = { 23, 4, -1 }, [PG_T_INT8] = { 20, 8, -1 }, [PG_T_TEXT] = { 25, -1, -1 },
		[PG_T_NUMERIC] = { 1700, -1, (10 << 16 | 2) + 4 }, [PG_T_TSTZ] = { 1184, 8, -1 },
	};

	*oid = t[type].oid;
	*len = t[type].len;
	*mod = t[type].mod;
}

static void rowdesc_field(struct msg *m, const char *name, uint32_t table, uint16_t att, uint8_t type)
{
	uint32_t oid;
	int16_t len;
	int32_t mod;

	type_info(type, &oid, &len, &mod);
	m_str(m, name);
	m_u32(m, table);
	m_u16(m, att);
	m_u32(m, oid);
	m_u16(m, (uint16_t)len);
	m_u32(m, (uint32_t)mod);
	m_u16(m, 0);
}

/* The RowDescription of what st returns, or NoData. */
static void send_rowdesc(struct pg_sess *s, const struct pg__stmt *st)
{
	const struct pg__table *t = &pg__tables[st->table];
	struct msg m;

	if (st->kind == PG_SELECT_CONST) {
		static const char *const names[] = { "?column?", "version", "now", "current_database",
						     "current_user" };
		static const uint8_t types[] = { PG_T_INT4, PG_T_TEXT, PG_T_TSTZ, PG_T_TEXT, PG_T_TEXT };

		m_begin(&m, 'T');
		m_u16(&m, 1);
		rowdesc_field(&m, names[st->konst], 0, 0, types[st->konst]);
		m_send(&m, &s->c);
		return;
	}
	if (st->kind == PG_SHOW) {
		m_begin(&m, 'T');
		m_u16(&m, 1);
		rowdesc_field(&m, pg__settings[st->show][0], 0, 0, PG_T_TEXT);
		m_send(&m, &s->c);
		return;
	}
	if (!st->nsel || (st->kind != PG_SELECT && st->kind != PG_INSERT && st->kind != PG_UPDATE &&
			  st->kind != PG_DELETE)) {
		send_simple(s, 'n');
		return;
	}
	m_begin(&m, 'T');
	m_u16(&m, st->nsel);
	for (uint8_t i = 0; i < st->nsel; i++) {
		if (st->sel[i] == PG_COUNT)
			rowdesc_field(&m, "count", 0, 0, PG_T_INT8);
		else
			rowdesc_field(&m, t->cols[st->sel[i]].name, t->oid, (uint16_t)(st->sel[i] + 1),
				      t->cols[st->sel[i]].type);
	}
	m_send(&m, &s->c);
}

static uint64_t row_hash(uint8_t table, uint32_t id)
{
	uint64_t k = (uint64_t)table << 32 | id;

	return rng_hash(&k, sizeof(k), 0x726f77);
}

static int fmt_time(char *out, size_t n, time_t t, unsigned usec)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d.%06u+00", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec % 1000000u);
}

/* One cell of row id, as text into out; a post body is a reference
 * into the shared content instead (*ref). */
static size_t cell(const struct pg_sess *s, const struct pg_cursor *cu, uint8_t col, uint32_t id,
		   char *out, size_t cap, const char **ref)
{
	const struct pg__table *t = &pg__tables[cu->table];
	const char *name = t->cols[col].name;
	uint64_t h = row_hash(cu->table, id);
	uint32_t users = s->srv->rows[0] ? s->srv->rows[0] : 1;
	int n = 0;

	*ref = NULL;
	if (cu->where_eq && col == cu->where_col && t->cols[col].type != PG_T_TEXT &&
	    t->cols[col].type != PG_T_TSTZ)
		n = snprintf(out, cap, "%lld", (long long)cu->where_v);
	else if (!strcmp(name, "id"))
		n = snprintf(out, cap, "%u", id);
	else if (!strcmp(name, "user_id"))
		n = snprintf(out, cap, "%u", 1 + (uint32_t)(h % users));
	else if (!strcmp(name, "name"))
		n = snprintf(out, cap, "%s %s", first_names[h % ARRAY_SIZE(first_names)],
			     last_names[(h >> 8) % ARRAY_SIZE(last_names)]);
	else if (!strcmp(name, "email")) {
		const char *f = first_names[h % ARRAY_SIZE(first_names)];
		const char *l = last_names[(h >> 8) % ARRAY_SIZE(last_names)];

		n = snprintf(out, cap, "%c%s.%c%s%u@example.com", tolower((unsigned char)f[0]), f + 1,
			     tolower((unsigned char)l[0]), l + 1, id);
	} else if (!strcmp(name, "amount")) {
		uint32_t cents = 199 + (uint32_t)(h % 1000) * (1 + (uint32_t)((h >> 12) % 20));

		n = snprintf(out, cap, "%u.%02u", cents / 100, cents % 100);
	} else if (!strcmp(name, "status")) {
		n = snprintf(out, cap, "%s", statuses[(h >> 16) % ARRAY_SIZE(statuses)]);
	} else if (!strcmp(name, "created_at")) {
		/* Two years of rows before the start; rows inserted since
		 * are from now. */
		time_t base = 1672531200;       /* 2023-01-01 */
		double span = 2 * 365 * 86400.0 / t->rows;
		time_t when = id > t->rows ? time(NULL) : base + (time_t)(id * span) + (time_t)(h % 600);

		n = fmt_time(out, cap, when, (unsigned)(h >> 20));
	} else if (!strcmp(name, "title")) {
		unsigned words = 3 + (unsigned)(h % 6);

		for (unsigned w = 0; w < words && (size_t)n + 20 < cap; w++) {
			const char *wd = content_word(h + w * 7919u);

			if (w)
				n += snprintf(out + n, cap - (size_t)n, " %s", wd);
			else
				n += snprintf(out + n, cap - (size_t)n, "%c%s",
					      toupper((unsigned char)wd[0]), wd + 1);
		}
	} else if (!strcmp(name, "body")) {
		/* Heavy-tailed: most posts are short, a few are long. */
		double u = ((h >> 11) + 1) * (1.0 / 9007199254740993.0);
		size_t len = (size_t)MIN(300.0 * pow(u, -1 / 1.3), (double)BODY_MAX);

		*ref = content_get(&s->srv->h->content, CONTENT_TEXT, h, len);
		return len;
	}
	return n < 0 ? 0 : MIN((size_t)n, cap - 1);
}

/* ---- results ---- */

/* Bound parameters of an execution (NULL for a simple query). */
struct pg_args {
	const int64_t *v;
	uint16_t n, isnull;
};

static bool arg_val(const struct pg__arg *a, const struct pg_args *p, int64_t *v)
{
	if (!a->set)
		return false;
	if (a->param) {
		unsigned i = a->param - 1u;

		if (!p || i >= p->n || (p->isnull >> i & 1))
			return false;
		*v = p->v[i];
		return true;
	}
	*v = a->v;
	return true;
}

static double unit_of(uint64_t h)
{
	return ((h >> 11) + 1) * (1.0 / 9007199254740993.0);
}

/* Which rows st touches: a range of ids, or (for a condition on another
 * column) ids drawn from a hash of the value; then OFFSET and LIMIT. */
static void rowset(const struct pg_sess *s, const struct pg__stmt *st, const struct pg_args *p,
		   bool limits, struct pg_cursor *cu)
{
	uint32_t n = s->srv->rows[st->table];
	const struct pg__table *t = &pg__tables[st->table];
	int64_t v = 0, off = 0, lim = 0;
	bool has = st->where_col != PG_NONE && arg_val(&st->where, p, &v);

	cu->n = n ? n : 1;
	cu->first = 1;
	cu->step = 1;
	cu->count = n;
	cu->where_col = st->where_col;
	if (st->where_col != PG_NONE && !has) {
		cu->count = 0;          /* col = NULL is never true */
	} else if (st->where_col == 0) {
		int64_t lo = 1, hi = n;

		switch (st->where_op) {
		case PG_OP_EQ: lo = hi = v; break;
		case PG_OP_GT: lo = v > INT64_MIN + 1 ? v + 1 : v; break;
		case PG_OP_GE: lo = v; break;
		case PG_OP_LT: hi = v - 1; break;
		case PG_OP_LE: hi = v; break;
		default: break;
		}
		lo = MAX(lo, 1);
		hi = MIN(hi, (int64_t)n);
		cu->first = (uint32_t)MIN(lo, (int64_t)UINT32_MAX);
		cu->count = hi >= lo ? (uint32_t)(hi - lo + 1) : 0;
	} else if (st->where_col != PG_NONE) {
		uint64_t k[3] = { st->table, st->where_col, (uint64_t)v };
		uint64_t h = rng_hash(k, sizeof(k), 0x66616e);
		uint8_t type = t->cols[st->where_col].type;

		cu->by_hash = true;
		cu->seed = h;
		if (st->where_op != PG_OP_EQ)
			cu->count = n / 3;
		else if (!strcmp(t->cols[st->where_col].name, "status"))
			cu->count = n / (uint32_t)ARRAY_SIZE(statuses);
		else if (type == PG_T_INT4 || type == PG_T_INT8)
			/* Rows per user: Pareto, mean about 4, a few with hundreds. */
			cu->count = (uint32_t)MIN(pow(unit_of(h), -1 / 1.3), (double)MIN(n, FANOUT_MAX));
		else
			cu->count = (uint32_t)(h % 2);
		cu->where_eq = st->where_op == PG_OP_EQ;
		cu->where_v = v;
	}
	if (!cu->by_hash && st->order_desc && st->order_col != PG_NONE &&
	    (st->order_col == 0 || !strcmp(t->cols[st->order_col].name, "created_at")) && cu->count) {
		cu->first += cu->count - 1;
		cu->step = -1;
	}
	if (!limits)
		return;
	if (arg_val(&st->offset, p, &off) && off > 0) {
		if ((uint64_t)off >= cu->count) {
			cu->count = 0;
		} else {
			cu->count -= (uint32_t)off;
			if (cu->by_hash)
				cu->seed += (uint64_t)off;
			else
				cu->first += (uint32_t)(cu->step * off);
		}
	}
	if (arg_val(&st->limit, p, &lim) && lim >= 0 && (uint64_t)lim < cu->count)
		cu->count = (uint32_t)lim;
}

static uint32_t row_id(const struct pg_cursor *cu, uint32_t k)
{
	if (cu->by_hash) {
		uint64_t x = cu->seed + k;

		return 1 + (uint32_t)(rng_hash(&x, sizeof(x), 0x6964) % cu->n);
	}
	return (uint32_t)((int64_t)cu->first + (int64_t)cu->step * k);
}

/* A DataRow of text cells; small ones are copied, bodies referenced. */
static void send_cells(struct pg_sess *s, uint16_t ncells, char cells[][256], const size_t *lens,
		       const char *const *refs)
{
	uint8_t head[7 + 4];
	uint32_t total = 4 + 2;
	struct conn *c = &s->c;

	for (uint16_t i = 0; i < ncells; i++)
		total += 4 + (uint32_t)lens[i];
	head[0] = 'D';
	head[1] = (uint8_t)(total >> 24);
	head[2] = (uint8_t)(total >> 16);
	head[3] = (uint8_t)(total >> 8);
	head[4] = (uint8_t)total;
	head[5] = (uint8_t)(ncells >> 8);
	head[6] = (uint8_t)ncells;
	conn_write(c, head, 7);
	for (uint16_t i = 0; i < ncells; i++) {
		uint8_t l[4] = { (uint8_t)(lens[i] >> 24), (uint8_t)(lens[i] >> 16),
				 (uint8_t)(lens[i] >> 8), (uint8_t)lens[i] };

		conn_write(c, l, 4);
		if (refs[i])
			conn_write_ref(c, refs[i], lens[i]);
		else
			conn_write(c, cells[i], lens[i]);
	}
}

static void send_row(struct pg_sess *s, const struct pg_cursor *cu, uint32_t id)
{
	char cells[PG__MAX_COLS][256];
	size_t lens[PG__MAX_COLS];
	const char *refs[PG__MAX_COLS];

	for (uint8_t i = 0; i < cu->nsel; i++) {
		if (cu->sel[i] == PG_COUNT) {
			int n = snprintf(cells[i], sizeof(cells[i]), "%lld", (long long)cu->count_value);

			lens[i] = (size_t)MAX(n, 0);
			refs[i] = NULL;
		} else {
			lens[i] = cell(s, cu, cu->sel[i], id, cells[i], sizeof(cells[i]), &refs[i]);
		}
	}
	send_cells(s, cu->nsel, cells, lens, refs);
}

static void send_text_row(struct pg_sess *s, const char *text)
{
	char cells[1][256];
	size_t len = MIN(strlen(text), sizeof(cells[0]));
	const char *refs[1] = { NULL };

	memcpy(cells[0], text, len);
	send_cells(s, 1, cells, &len, refs);
}

static void cursor_tag(struct pg_sess *s, const struct pg_cursor *cu, uint32_t sent)
{
	switch (cu->kind) {
	case PG_INSERT:
		send_tag(s, "INSERT 0 %llu", (unsigned long long)cu->total);
		break;
	case PG_UPDATE:
		send_tag(s, "UPDATE %llu", (unsigned long long)cu->total);
		break;
	case PG_DELETE:
		send_tag(s, "DELETE %llu", (unsigned long long)cu->total);
		break;
	default:
		send_tag(s, "SELECT %u", sent);
		break;
	}
}

/* Send rows while the peer keeps up: true when the result is complete
 * (or its portal suspended), false to go on when the queue drains. */
static bool pump(struct pg_sess *s)
{
	struct pg_cursor *cu = s->cur;
	uint32_t sent_before = cu->portal && s->portal ? s->portal->done : 0;

	while (cu->i < cu->count && s->c.queued < OUT_HIGH) {
		if (cu->max_rows && cu->i - sent_before >= cu->max_rows)
			break;
		send_row(s, cu, row_id(cu, cu->i));
		cu->i++;
	}
	if (!conn_is_open(&s->c))
		return true;
	if (cu->i < cu->count) {
		if (!cu->max_rows || cu->i - sent_before < cu->max_rows)
			return false;
		/* The row limit of this Execute: the portal waits for the
		 * next one. */
		send_simple(s, 's');
		s->portal->done = cu->i;
	} else {
		cursor_tag(s, cu, cu->i - sent_before);
		if (cu->portal && s->portal) {
			s->portal->done = cu->i;
			s->portal->finished = true;
		}
	}
	free(cu);
	s->cur = NULL;
	return true;
}

/* Run a recognised statement: 0 when its answer is out, 1 when rows are
 * still being sent (s->cur). */
static int run(struct pg_sess *s, const struct pg__stmt *st, const struct pg_args *p, bool rowdesc,
	       struct pg_portal *portal, uint32_t max_rows)
{
	struct pg_cursor *cu;
	time_t now;
	char text[256];

	switch (st->kind) {
	case PG_EMPTY:
		send_simple(s, 'I');
		return 0;
	case PG_BEGIN:
		if (s->txn != 'I')
			send_notice(s, "25001", "there is already a transaction in progress");
		s->txn = s->txn == 'I' ? 'T' : s->txn;
		send_tag(s, "BEGIN");
		return 0;
	case PG_COMMIT:
		if (s->txn == 'I')
			send_notice(s, "25P01", "there is no transaction in progress");
		send_tag(s, s->txn == 'E' ? "ROLLBACK" : "COMMIT");
		s->txn = 'I';
		return 0;
	case PG_ROLLBACK:
		if (s->txn == 'I')
			send_notice(s, "25P01", "there is no transaction in progress");
		send_tag(s, "ROLLBACK");
		s->txn = 'I';
		return 0;
	case PG_SET:
		send_tag(s, "SET");
		return 0;
	case PG_SHOW:
		if (rowdesc)
			send_rowdesc(s, st);
		send_text_row(s, pg__settings[st->show][1]);
		send_tag(s, "SHOW");
		return 0;
	case PG_SELECT_CONST:
		if (rowdesc)
			send_rowdesc(s, st);
		switch (st->konst) {
		case PG_CONST_INT:
			snprintf(text, sizeof(text), "%lld", (long long)st->konst_v);
			break;
		case PG_CONST_VERSION:
			snprintf(text, sizeof(text), "%s", PG_VERSION_TEXT);
			break;
		case PG_CONST_NOW:
			now = time(NULL);
			fmt_time(text, sizeof(text), now, (unsigned)(loop_now(s->c.loop) / 1000 % 1000000));
			break;
		case PG_CONST_DB:
			snprintf(text, sizeof(text), "%s", s->db);
			break;
		default:
			snprintf(text, sizeof(text), "%s", s->user);
			break;
		}
		send_text_row(s, text);
		send_tag(s, "SELECT 1");
		return 0;
	default:
		break;
	}
	if (rowdesc && (st->kind == PG_SELECT || st->nsel))
		send_rowdesc(s, st);
	cu = xcalloc(1, sizeof(*cu));
	cu->kind = st->kind;
	cu->table = st->table;
	cu->nsel = st->nsel;
	memcpy(cu->sel, st->sel, sizeof(cu->sel));
	cu->max_rows = max_rows;
	cu->portal = portal != NULL;
	if (st->kind == PG_INSERT) {
		uint32_t *rows = &s->srv->rows[st->table];

		cu->where_col = PG_NONE;
		cu->first = *rows + 1;
		cu->step = 1;
		cu->count = st->nrows;
		cu->n = *rows + st->nrows;
		*rows += MIN(st->nrows, UINT32_MAX - *rows);
	} else {
		rowset(s, st, p, st->kind == PG_SELECT, cu);
	}
	cu->total = cu->count;
	if (st->kind == PG_SELECT && st->nsel && st->sel[0] == PG_COUNT) {
		int64_t lim;

		/* One row, the count; LIMIT applies to that row. */
		rowset(s, st, p, false, cu);
		cu->count_value = cu->count;
		cu->count = arg_val(&st->limit, p, &lim) && lim == 0 ? 0 : 1;
		cu->by_hash = false;
		cu->first = 1;
	}
	if (st->kind != PG_SELECT && !st->nsel)
		cu->count = 0;          /* no RETURNING: the tag alone */
	if (portal)
		cu->i = MIN(portal->done, cu->count);
	s->cur = cu;
	return pump(s) ? 0 : 1;
}

/* ---- authentication ---- */

/* "md5" + md5(md5(password + user) + salt), as libpq sends it. */
static void md5_password(const char *user, const char *password, const uint8_t salt[4], char out[36])
{
	char inner[33], buf[256 + 36];
	int n = snprintf(buf, sizeof(buf), "%s%s", password, user);

	agent_md5_hex(buf, (size_t)MIN(MAX(n, 0), (int)sizeof(buf) - 1), inner);
	memcpy(buf, inner, 32);
	memcpy(buf + 32, salt, 4);
	memcpy(out, "md5", 3);
	agent_md5_hex(buf, 36, out + 3);
}

static void auth_ok(struct pg_sess *s)
{
	uint8_t b[13] = { 'K', 0, 0, 0, 12 };
	uint32_t secret = (uint32_t)rng_next(&s->srv->h->rng);

	conn_write(&s->c, "R\0\0\0\10\0\0\0\0", 9);
	send_param_status(s, "application_name", s->app);
	send_param_status(s, "client_encoding", "UTF8");
	send_param_status(s, "DateStyle", "ISO, MDY");
	send_param_status(s, "default_transaction_read_only", "off");
	send_param_status(s, "in_hot_standby", "off");
	send_param_status(s, "integer_datetimes", "on");
	send_param_status(s, "IntervalStyle", "postgres");
	send_param_status(s, "is_superuser", "off");
	send_param_status(s, "server_encoding", "UTF8");
	send_param_status(s, "server_version", "15.18 (Debian 15.18-0+deb12u1)");
	send_param_status(s, "session_authorization", s->user);
	send_param_status(s, "standard_conforming_strings", "on");
	send_param_status(s, "TimeZone", "UTC");
	for (int i = 0; i < 4; i++) {
		b[5 + i] = (uint8_t)(s->pid >> (24 - 8 * i));
		b[9 + i] = (uint8_t)(secret >> (24 - 8 * i));
	}
	conn_write(&s->c, b, sizeof(b));
	s->phase = PH_READY;
	s->txn = 'I';
	send_ready(s);
}

static void on_startup(struct pg_sess *s, const uint8_t *p, uint32_t n)
{
	struct pg__startup su;
	struct pg_srv *srv = s->srv;

	if (pg__startup(p, n, &su) < 0) {
		if (srv->st)
			srv->st->errors++;
		fatal(s, "08P01", "invalid startup packet layout: expected terminator as last byte");
		return;
	}
	switch (su.code) {
	case PG__SSL_REQUEST:
	case PG__GSS_REQUEST:
		/* No encryption here: the client goes on in plain. */
		conn_write(&s->c, "N", 1);
		return;
	case PG__CANCEL:
		/* Nothing runs long enough to cancel; close, as the real
		 * server does, without a word. */
		s->phase = PH_CLOSING;
		conn_shutdown(&s->c);
		return;
	case PG__PROTO_3_0:
		break;
	default:
		if (srv->st)
			srv->st->errors++;
		fatal(s, "0A000", "unsupported frontend protocol: server supports 3.0 to 3.0");
		return;
	}
	snprintf(s->user, sizeof(s->user), "%s", su.user);
	snprintf(s->db, sizeof(s->db), "%s", su.database[0] ? su.database : su.user);
	snprintf(s->app, sizeof(s->app), "%s", su.application);
	s->md5 = !srv->m || rng_unit(&srv->h->rng) < model_draw(srv->m, "md5_auth", &srv->h->rng, 1.0);
	s->phase = PH_AUTH;
	if (s->md5) {
		uint64_t r = rng_next(&srv->h->rng);
		uint8_t b[13] = { 'R', 0, 0, 0, 12, 0, 0, 0, 5 };

		memcpy(s->salt, &r, 4);
		memcpy(b + 9, s->salt, 4);
		conn_write(&s->c, b, sizeof(b));
	} else {
		conn_write(&s->c, "R\0\0\0\10\0\0\0\3", 9);
	}
}

static void on_password(struct pg_sess *s, const uint8_t *body, size_t len)
{
	char want[64], msg[128];
	size_t at = 0;
	const char *pw = cstr(body, len, &at);

	if (!pw || at != len) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid password packet size");
		return;
	}
	if (s->md5)
		md5_password(s->user, PG_PASSWORD, s->salt, want);
	else
		snprintf(want, sizeof(want), "%s", PG_PASSWORD);
	if (strcmp(pw, want)) {
		if (s->srv->st)
			s->srv->st->errors++;
		snprintf(msg, sizeof(msg), "password authentication failed for user \"%s\"", s->user);
		fatal(s, "28P01", msg);
		return;
	}
	auth_ok(s);
}

/* ---- queries ---- */

/* A NUL-terminated string that is the whole body: its length, or -1. */
static long body_str(const uint8_t *body, size_t len)
{
	const uint8_t *z = len ? memchr(body, 0, len) : NULL;

	return z && (size_t)(z - body) + 1 == len ? (long)(z - body) : -1;
}

static int exec_simple(struct pg_sess *s, const char *sql, size_t len)
{
	struct pg__stmt st;
	struct pg__error e;

	if (pg__sql(sql, len, &st, &e) < 0) {
		/* Positions count from the start of the whole query string. */
		stmt_error(s, e.code, e.msg, e.position ? e.position + s->q_off : 0);
		return -1;
	}
	if (st.kind == PG_EMPTY)
		return 0;
	s->q_any = true;
	if (s->txn == 'E' && st.kind != PG_COMMIT && st.kind != PG_ROLLBACK) {
		stmt_error(s, "25P02", "current transaction is aborted, commands ignored until end of transaction block", 0);
		return -1;
	}
	if (st.nparams) {
		char msg[64];

		snprintf(msg, sizeof(msg), "there is no parameter $1");
		stmt_error(s, "42P02", msg, 0);
		return -1;
	}
	return run(s, &st, NULL, true, NULL, 0) ? 1 : 0;
}

/* A simple Query: its statements in turn, resuming at s->q_off after
 * a long result; H_KEEP while rows are still going out. */
static int on_query(struct pg_sess *s, const uint8_t *body, size_t len)
{
	long qlen = body_str(body, len);
	const char *sql = (const char *)body;

	if (qlen < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid string in message");
		return H_DONE;
	}
	/* Like the real server, the whole string is parsed before any of
	 * it runs: a syntax error anywhere runs nothing. */
	for (size_t at = 0; !s->q_off && !s->q_any && at < (size_t)qlen;) {
		size_t used, n = pg__next_stmt(sql + at, (size_t)qlen - at, &used);
		struct pg__stmt st;
		struct pg__error e;

		if (pg__sql(sql + at, n, &st, &e) < 0 && !strcmp(e.code, "42601")) {
			stmt_error(s, e.code, e.msg, e.position ? e.position + (unsigned)at : 0);
			send_ready(s);
			return H_DONE;
		}
		at += used;
	}
	while (s->q_off < (size_t)qlen) {
		size_t used, n = pg__next_stmt(sql + s->q_off, (size_t)qlen - s->q_off, &used);
		int r;

		r = exec_simple(s, sql + s->q_off, n);
		s->q_off += (uint32_t)used;
		if (r < 0) {
			s->q_any = true;
			break;  /* an error ends the query string */
		}
		if (r > 0)
			return H_KEEP;
	}
	if (!s->q_any)
		send_simple(s, 'I');
	s->q_off = 0;
	s->q_any = false;
	send_ready(s);
	return H_DONE;
}

static struct pg_prep *find_prep(struct pg_sess *s, const char *name)
{
	for (uint8_t i = 0; i < s->npreps; i++)
		if (!strcmp(s->preps[i].name, name))
			return &s->preps[i];
	return NULL;
}

static void ext_error(struct pg_sess *s, const char *code, const char *text, unsigned pos)
{
	stmt_error(s, code, text, pos);
	s->skip_to_sync = true;
}

static void on_parse(struct pg_sess *s, const uint8_t *body, size_t len)
{
	struct pg__parse pm;
	struct pg__stmt st;
	struct pg__error e;
	struct pg_prep *pp;
	char msg[128];

	if (pg__parse_msg(body, len, &pm) < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid message format");
		return;
	}
	if (pg__sql(pm.query, pm.query_len, &st, &e) < 0) {
		ext_error(s, e.code, e.msg, e.position);
		return;
	}
	if (s->txn == 'E' && st.kind != PG_COMMIT && st.kind != PG_ROLLBACK) {
		ext_error(s, "25P02", "current transaction is aborted, commands ignored until end of transaction block", 0);
		return;
	}
	pp = find_prep(s, pm.name);
	if (pp && pm.name[0]) {
		snprintf(msg, sizeof(msg), "prepared statement \"%s\" already exists", pm.name);
		ext_error(s, "42P05", msg, 0);
		return;
	}
	if (!pp) {
		if (s->npreps == MAX_PREPS) {
			ext_error(s, "54000", "too many prepared statements for this server", 0);
			return;
		}
		/* Grown as used: an idle session stays small. */
		if (s->npreps == s->cap_preps) {
			s->cap_preps = s->cap_preps ? s->cap_preps * 2 : 4;
			s->preps = xreallocarray(s->preps, s->cap_preps, sizeof(*s->preps));
		}
		pp = &s->preps[s->npreps++];
		snprintf(pp->name, sizeof(pp->name), "%s", pm.name);
	}
	pp->st = st;
	send_simple(s, '1');
}

static void on_bind(struct pg_sess *s, const uint8_t *body, size_t len)
{
	struct pg__bind b;
	struct pg_prep *pp;
	char msg[160];

	if (pg__bind_msg(body, len, &b) < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid message format");
		return;
	}
	if (!(pp = find_prep(s, b.stmt))) {
		snprintf(msg, sizeof(msg), "prepared statement \"%s\" does not exist", b.stmt);
		ext_error(s, "26000", msg, 0);
		return;
	}
	if (b.nparams != pp->st.nparams) {
		snprintf(msg, sizeof(msg), "bind message supplies %u parameters, but prepared statement \"%s\" requires %u",
			 b.nparams, b.stmt, pp->st.nparams);
		ext_error(s, "08P01", msg, 0);
		return;
	}
	if (b.binary_results) {
		ext_error(s, "0A000", "binary result format is not supported by this server", 0);
		return;
	}
	if (s->txn == 'E' && pp->st.kind != PG_COMMIT && pp->st.kind != PG_ROLLBACK) {
		ext_error(s, "25P02", "current transaction is aborted, commands ignored until end of transaction block", 0);
		return;
	}
	if (!s->portal)
		s->portal = xmalloc(sizeof(*s->portal));
	memset(s->portal, 0, sizeof(*s->portal));
	snprintf(s->portal->name, sizeof(s->portal->name), "%s", b.portal);
	s->portal->st = pp->st;
	memcpy(s->portal->v, b.v, sizeof(b.v));
	s->portal->isint = b.isint;
	s->portal->isnull = b.isnull;
	send_simple(s, '2');
}

static struct pg_portal *find_portal(struct pg_sess *s, const char *name)
{
	return s->portal && !strcmp(s->portal->name, name) ? s->portal : NULL;
}

static void on_describe(struct pg_sess *s, const uint8_t *body, size_t len)
{
	const char *name;
	char kind, msg[128];
	uint32_t unused;

	if (pg__named_msg(body, len, true, &kind, &name, &unused) < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid DESCRIBE message subtype");
		return;
	}
	if (kind == 'S') {
		struct pg_prep *pp = find_prep(s, name);
		struct msg m;

		if (!pp) {
			snprintf(msg, sizeof(msg), "prepared statement \"%s\" does not exist", name);
			ext_error(s, "26000", msg, 0);
			return;
		}
		m_begin(&m, 't');
		m_u16(&m, pp->st.nparams);
		for (uint8_t i = 0; i < pp->st.nparams; i++) {
			uint32_t oid;
			int16_t l;
			int32_t mod;

			type_info(pp->st.ptype[i], &oid, &l, &mod);
			m_u32(&m, oid);
		}
		m_send(&m, &s->c);
		send_rowdesc(s, &pp->st);
	} else {
		struct pg_portal *po = find_portal(s, name);

		if (!po) {
			snprintf(msg, sizeof(msg), "portal \"%s\" does not exist", name);
			ext_error(s, "34000", msg, 0);
			return;
		}
		send_rowdesc(s, &po->st);
	}
}

static void on_execute(struct pg_sess *s, const uint8_t *body, size_t len)
{
	const char *name;
	char kind, msg[128];
	uint32_t max_rows = 0;
	struct pg_portal *po;
	struct pg_args a;

	if (pg__named_msg(body, len, false, &kind, &name, &max_rows) < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid message format");
		return;
	}
	if (!(po = find_portal(s, name))) {
		snprintf(msg, sizeof(msg), "portal \"%s\" does not exist", name);
		ext_error(s, "34000", msg, 0);
		return;
	}
	if (s->txn == 'E' && po->st.kind != PG_COMMIT && po->st.kind != PG_ROLLBACK) {
		ext_error(s, "25P02", "current transaction is aborted, commands ignored until end of transaction block", 0);
		return;
	}
	a.v = po->v;
	a.n = po->st.nparams;
	a.isnull = po->isnull;
	if (po->finished && po->st.kind != PG_SELECT) {
		/* Executed already: nothing more to do. */
		send_tag(s, "%s", po->st.kind == PG_INSERT ? "INSERT 0 0" :
			 po->st.kind == PG_UPDATE ? "UPDATE 0" : po->st.kind == PG_DELETE ? "DELETE 0" : "SELECT 0");
		return;
	}
	run(s, &po->st, &a, false, po, max_rows);
	if (po->st.kind != PG_SELECT && !s->cur)
		po->finished = true;
}

static void on_close(struct pg_sess *s, const uint8_t *body, size_t len)
{
	const char *name;
	char kind;
	uint32_t unused;

	if (pg__named_msg(body, len, true, &kind, &name, &unused) < 0) {
		if (s->srv->st)
			s->srv->st->errors++;
		fatal(s, "08P01", "invalid CLOSE message subtype");
		return;
	}
	if (kind == 'S') {
		struct pg_prep *pp = find_prep(s, name);

		if (pp)
			*pp = s->preps[--s->npreps];
	} else if (find_portal(s, name)) {
		free(s->portal);
		s->portal = NULL;
	}
	send_simple(s, '3');
}

/* One message; H_KEEP to look at it again later (a Query whose rows are
 * still going out). */
static int on_message(struct pg_sess *s, uint8_t type, const uint8_t *p, uint32_t n)
{
	const uint8_t *body = p + 5;
	size_t len = n - 5;
	char msg[64];

	if (s->phase == PH_STARTUP) {
		on_startup(s, p, n);
		return H_DONE;
	}
	if (s->phase == PH_AUTH) {
		if (type != 'p') {
			if (s->srv->st)
				s->srv->st->errors++;
			snprintf(msg, sizeof(msg), "expected password response, got message type %d", type);
			fatal(s, "08P01", msg);
			return H_DONE;
		}
		on_password(s, body, len);
		return H_DONE;
	}
	if (type == 'X') {
		s->phase = PH_CLOSING;
		conn_close(&s->c, 0);
		return H_DONE;
	}
	if (type == 'S') {
		s->skip_to_sync = false;
		send_ready(s);
		return H_DONE;
	}
	/* After an error in an extended-query batch, all up to Sync is
	 * dropped. */
	if (s->skip_to_sync && type != 'Q')
		return H_DONE;
	switch (type) {
	case 'Q':
		s->skip_to_sync = false;
		return on_query(s, body, len);
	case 'P':
		on_parse(s, body, len);
		break;
	case 'B':
		on_bind(s, body, len);
		break;
	case 'D':
		on_describe(s, body, len);
		break;
	case 'E':
		on_execute(s, body, len);
		break;
	case 'C':
		on_close(s, body, len);
		break;
	case 'H':
		break;
	case 'F':
		ext_error(s, "0A000", "function calls are not supported by this server", 0);
		break;
	default:
		if (s->srv->st)
			s->srv->st->errors++;
		snprintf(msg, sizeof(msg), "invalid frontend message type %d", type);
		fatal(s, "08P01", msg);
		break;
	}
	return H_DONE;
}

/* ---- server sessions ---- */

static void sess_free(struct defer *d)
{
	struct pg_sess *s = container_of(d, struct pg_sess, d);

	free(s->preps);
	free(s->portal);
	free(s->cur);
	free(s);
}

static void sess_timeout(struct loop *l, struct timer *t)
{
	struct pg_sess *s = container_of(t, struct pg_sess, idle);

	(void)l;
	conn_close(&s->c, -ETIMEDOUT);
}

static void sess_arm(struct pg_sess *s)
{
	double t = s->phase == PH_CLOSING ? 5.0 : s->phase != PH_READY ? SESS_AUTH :
		   s->c.in.len ? SESS_STALL : SESS_IDLE;

	loop_timer_start(s->c.loop, &s->idle, host_ns(t));
}

static void sess_process(struct pg_sess *s)
{
	struct conn *c = &s->c;

	while (conn_is_open(c) && s->phase != PH_CLOSING && !s->cur && c->in.len &&
	       c->queued < OUT_HIGH) {
		const uint8_t *p = (const uint8_t *)c->in.p;
		bool startup = s->phase == PH_STARTUP;
		uint8_t type;
		uint32_t n;
		int r = pg__frame(p, c->in.len, startup, &type, &n);

		if (r == 0)
			break;
		if (r < 0) {
			if (s->srv->st)
				s->srv->st->errors++;
			fatal(s, "08P01", startup ? "invalid length of startup packet" : "invalid message length");
			break;
		}
		r = on_message(s, type, p, n);
		if (!conn_is_open(c))
			return;
		if (r == H_KEEP)
			break;
		conn_consume(c, n);
	}
	if (!conn_is_open(c))
		return;
	if (s->phase == PH_CLOSING)
		conn_consume(c, c->in.len);
	sess_arm(s);
}

static void sess_readable(struct conn *c)
{
	sess_process(container_of(c, struct pg_sess, c));
}

static void sess_drained(struct conn *c)
{
	struct pg_sess *s = container_of(c, struct pg_sess, c);

	if (s->cur && !pump(s))
		return;
	if (conn_is_open(c))
		sess_process(s);
}

static void sess_connected(struct conn *c)
{
	sess_arm(container_of(c, struct pg_sess, c));
}

static void sess_closed(struct conn *c, int err)
{
	struct pg_sess *s = container_of(c, struct pg_sess, c);

	if (err == -EMSGSIZE && s->srv->st)
		s->srv->st->errors++;
	loop_timer_stop(c->loop, &s->idle);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	loop_defer(c->loop, &s->d, sess_free);
}

static const struct conn_ops sess_ops = {
	.connected = sess_connected,
	.readable = sess_readable,
	.drained = sess_drained,
	.closed = sess_closed,
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct pg_srv *srv = container_of(io, struct pg_srv, lio);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
		struct pg_sess *s;

		if (fd < 0)
			break;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = sess_timeout;
		s->pid = ++srv->next_pid;
		s->txn = 'I';
		s->next = srv->sessions;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &srv->sessions;
		srv->sessions = s;
		err = conn_accept(&s->c, l, &sess_ops, fd);
		if (err)
			conn_close(&s->c, err);   /* closed() unlinks and frees */
	}
}

static int pg_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		    char *err, size_t errlen)
{
	struct pg_srv *srv;
	int fd, rc;

	rc = agent_listen_tcp(port, &fd);
	if (rc) {
		snprintf(err, errlen, "postgresql: listen on port %u: %s", port, strerror(-rc));
		return rc;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->m = m;
	srv->next_pid = 4000 + (uint32_t)rng_below(&h->rng, 20000);
	for (size_t i = 0; i < pg__ntables; i++)
		srv->rows[i] = pg__tables[i].rows;
	srv->lio.fd = fd;
	srv->lio.cb = srv_accept;
	rc = loop_io_set(h->loop, &srv->lio, IO_IN);
	if (rc) {
		snprintf(err, errlen, "postgresql: watch listener: %s", strerror(-rc));
		close(fd);
		free(srv);
		return rc;
	}
	srv->next = servers;
	servers = srv;
	return 0;
}

/* ---- clients -------------------------------------------------------------- */

enum { ACT_POINT_READ, ACT_RANGE_SCAN, ACT_INSERT, ACT_UPDATE, ACT__N };

static const char *const pg_actions[] = {
	"point_read", "range_scan", "insert", "update", NULL,
};

static const char *const pg_params[] = {
	"prepared", "scan_rows", "post_share", "post_size", "mistake_share", "md5_auth",
	"session_gap", NULL,
};

#define PG_USER "app"
#define PG_DATABASE "app"
#define APP_NAME "dynamo-app"
#define SLICE 0.2               /* s: how often a sleeping user looks at stopping */
#define REPLY_WAIT 15.0         /* s: a reply later than this is a fault */
#define MAX_STEPS 6

/* The statements users send; $n are parameters (bound, or written in
 * as literals when sent as a simple query). */
enum { Q_POINT, Q_SCAN, Q_INSERT_ORDER, Q_INSERT_POST, Q_LOCK, Q_UPDATE, Q_BEGIN, Q_COMMIT,
       Q_ROLLBACK, Q_MISTAKE, Q__N };

static const struct {
	const char *name, *sql;
	uint8_t nparams;
} queries[Q__N] = {
	[Q_POINT] = { "get_user", "SELECT id, name, email, created_at FROM users WHERE id = $1", 1 },
	[Q_SCAN] = { "list_posts", "SELECT id, user_id, title, body, created_at FROM posts "
		     "WHERE id > $1 ORDER BY id LIMIT $2", 2 },
	[Q_INSERT_ORDER] = { "new_order", "INSERT INTO orders (user_id, amount, status) "
			     "VALUES ($1, $2, 'new') RETURNING id", 2 },
	[Q_INSERT_POST] = { "new_post", "INSERT INTO posts (user_id, title, body) "
			    "VALUES ($1, $2, $3) RETURNING id, created_at", 3 },
	[Q_LOCK] = { "lock_order", "SELECT id, status, amount FROM orders WHERE id = $1 FOR UPDATE", 1 },
	[Q_UPDATE] = { "set_status", "UPDATE orders SET status = $1 WHERE id = $2", 2 },
	[Q_BEGIN] = { NULL, "BEGIN", 0 },
	[Q_COMMIT] = { NULL, "COMMIT", 0 },
	[Q_ROLLBACK] = { NULL, "ROLLBACK", 0 },
	/* A typo a developer left in: the server answers 42703. */
	[Q_MISTAKE] = { NULL, "SELECT id, name, emial FROM users WHERE id = $1", 1 },
};

enum { U_IDLE, U_CONNECTING, U_STARTUP, U_READY, U_CLOSING, U_DONE };
enum { W_ACTION, W_SESSION };

struct pclient {
	struct agent_env env;
	struct defer d;
	int act[ACT__N];        /* model index of each action, or -1 */
	uint32_t live;
};

/* SCRAM-SHA-256 exchange state, while it runs. */
struct scram {
	char nonce[32];
	char first_bare[96];
	uint8_t server_sig[32];
};

struct puser {
	struct conn c;
	struct timer sleep, guard;
	struct defer d;
	struct pclient *cl;
	struct scram *scram;
	uint64_t wake;
	int a;                  /* the model action in progress */
	uint8_t state, wait;
	uint8_t steps[MAX_STEPS], nsteps, step;
	uint16_t prepared;      /* bit q: statement q is prepared here */
	uint16_t parsing;       /* bit q: its Parse is in flight */
	bool got_error, ssl_asked, tx;
	char sqlstate[6];
	uint32_t order_id;      /* the order the current update works on */
};

static void user_sleep(struct puser *u, double seconds, uint8_t what);
static void user_begin(struct puser *u);

static int act_of(const struct pclient *cl, int a)
{
	for (int i = 0; i < ACT__N; i++)
		if (cl->act[i] == a)
			return i;
	return -1;
}

static struct rng *urng(struct puser *u)
{
	return &u->cl->env.host->rng;
}

static double draw(struct puser *u, const char *param, double dflt)
{
	return model_draw(u->cl->env.model, param, urng(u), dflt);
}

/* A popular-first id in 1..n (Zipf-like). */
static uint32_t pick_id(struct puser *u, uint32_t n)
{
	uint32_t k = (uint32_t)(exp(rng_unit(urng(u)) * log((double)n + 1)) - 1);

	return 1 + (k < n ? k : n - 1);
}

/* ---- frontend messages ---- */

static void c_msg(struct conn *c, char type, const void *body, size_t n)
{
	uint8_t h[5] = { (uint8_t)type, (uint8_t)((n + 4) >> 24), (uint8_t)((n + 4) >> 16),
			 (uint8_t)((n + 4) >> 8), (uint8_t)(n + 4) };

	conn_write(c, h, 5);
	conn_write(c, body, n);
}

static void send_startup(struct puser *u)
{
	struct msg m;
	uint32_t l;

	/* Built like a typed message, then its type byte dropped. */
	m_begin(&m, 0);
	m_u32(&m, PG__PROTO_3_0);
	m_str(&m, "user");
	m_str(&m, PG_USER);
	m_str(&m, "database");
	m_str(&m, PG_DATABASE);
	m_str(&m, "application_name");
	m_str(&m, APP_NAME);
	m_str(&m, "client_encoding");
	m_str(&m, "UTF8");
	m_str(&m, "DateStyle");
	m_str(&m, "ISO");
	m_put(&m, "", 1);
	l = (uint32_t)m.n - 1;
	m.b[1] = (uint8_t)(l >> 24);
	m.b[2] = (uint8_t)(l >> 16);
	m.b[3] = (uint8_t)(l >> 8);
	m.b[4] = (uint8_t)l;
	conn_write(&u->c, m.b + 1, l);
}

/* A parameter's text: values for statement q, filled for this step. */
struct pvals {
	char v[4][96];
	const char *ref;        /* a post body, by reference */
	size_t ref_len;
};

static void fill_params(struct puser *u, int q, struct pvals *pv)
{
	const struct agent_env *e = &u->cl->env;

	memset(pv, 0, sizeof(*pv));
	switch (q) {
	case Q_POINT:
	case Q_MISTAKE:
		snprintf(pv->v[0], sizeof(pv->v[0]), "%u", pick_id(u, pg__tables[0].rows));
		break;
	case Q_SCAN: {
		double rows = draw(u, "scan_rows", 20);
		uint32_t from = (uint32_t)rng_below(urng(u), pg__tables[2].rows);

		snprintf(pv->v[0], sizeof(pv->v[0]), "%u", from);
		snprintf(pv->v[1], sizeof(pv->v[1]), "%ld", MIN(MAX(lround(rows), 1l), 5000l));
		break;
	}
	case Q_INSERT_ORDER: {
		unsigned cents = 199 + (unsigned)rng_below(urng(u), 20000);

		snprintf(pv->v[0], sizeof(pv->v[0]), "%u", pick_id(u, pg__tables[0].rows));
		snprintf(pv->v[1], sizeof(pv->v[1]), "%u.%02u", cents / 100, cents % 100);
		break;
	}
	case Q_INSERT_POST: {
		double size = draw(u, "post_size", 2000);
		size_t n = (size_t)MIN(MAX(size, 16.0), (double)BODY_MAX);

		snprintf(pv->v[0], sizeof(pv->v[0]), "%u", pick_id(u, pg__tables[0].rows));
		content_sentence(urng(u), pv->v[1], sizeof(pv->v[1]), 4 + (unsigned)rng_below(urng(u), 6));
		pv->ref = content_get(&e->host->content, CONTENT_TEXT, rng_next(urng(u)), n);
		pv->ref_len = n;
		break;
	}
	case Q_LOCK:
		u->order_id = pick_id(u, pg__tables[1].rows);
		snprintf(pv->v[0], sizeof(pv->v[0]), "%u", u->order_id);
		break;
	case Q_UPDATE:
		snprintf(pv->v[0], sizeof(pv->v[0]), "%s",
			 statuses[1 + rng_below(urng(u), ARRAY_SIZE(statuses) - 1)]);
		snprintf(pv->v[1], sizeof(pv->v[1]), "%u", u->order_id ? u->order_id : 1);
		break;
	default:
		break;
	}
}

/* The statement as a simple query, parameters written in as literals
 * (text ones quoted; ours hold no quote). */
static void send_simple_query(struct puser *u, int q, const struct pvals *pv)
{
	char sql[512];
	const char *s = queries[q].sql;
	size_t at = 0;

	while (*s && at + 100 < sizeof(sql)) {
		if (s[0] == '$' && isdigit((unsigned char)s[1])) {
			int i = s[1] - '1';
			bool num = isdigit((unsigned char)pv->v[i][0]);

			at += (size_t)snprintf(sql + at, sizeof(sql) - at, num ? "%s" : "'%s'", pv->v[i]);
			s += 2;
		} else {
			sql[at++] = *s++;
		}
	}
	sql[at++] = 0;
	c_msg(&u->c, 'Q', sql, at);
}

/* Parse (when not prepared here yet), Bind, Describe, Execute, Sync. */
static void send_extended(struct puser *u, int q, const struct pvals *pv, bool named)
{
	const char *name = named ? queries[q].name : "";
	struct msg m;
	uint32_t total;

	if (!named || !(u->prepared >> q & 1)) {
		m_begin(&m, 'P');
		m_str(&m, name);
		m_str(&m, queries[q].sql);
		m_u16(&m, 0);
		m_send(&m, &u->c);
		if (named)
			u->parsing |= (uint16_t)(1u << q);
	}
	/* Bind: the body may be large, so it is written in pieces. */
	total = 4 + 1 + (uint32_t)strlen(name) + 1 + 2 + 2 + 2;
	for (uint8_t i = 0; i < queries[q].nparams; i++)
		total += 4 + (uint32_t)(pv->ref && i == 2 ? pv->ref_len : strlen(pv->v[i]));
	m_begin(&m, 'B');
	m.n = 1;
	m_u32(&m, total);
	m_str(&m, "");
	m_str(&m, name);
	m_u16(&m, 0);           /* all parameters in text */
	m_u16(&m, queries[q].nparams);
	conn_write(&u->c, m.b, m.n);
	for (uint8_t i = 0; i < queries[q].nparams; i++) {
		bool big = pv->ref && i == 2;
		size_t n = big ? pv->ref_len : strlen(pv->v[i]);

		m.n = 0;
		m_u32(&m, (uint32_t)n);
		conn_write(&u->c, m.b, 4);
		if (big)
			conn_write_ref(&u->c, pv->ref, n);
		else
			conn_write(&u->c, pv->v[i], n);
	}
	conn_write(&u->c, "\0\0", 2);   /* all results in text */
	c_msg(&u->c, 'D', "P", 2);
	c_msg(&u->c, 'E', "\0\0\0\0", 5);
	c_msg(&u->c, 'S', NULL, 0);
}

/* Send step u->step of the action. */
static void send_step(struct puser *u)
{
	int q = u->steps[u->step];
	struct pvals pv;
	double share = draw(u, "prepared", 0.5);

	fill_params(u, q, &pv);
	u->got_error = false;
	u->sqlstate[0] = 0;
	if (!queries[q].nparams)
		c_msg(&u->c, 'Q', queries[q].sql, strlen(queries[q].sql) + 1);
	else if (q == Q_INSERT_POST || (q != Q_MISTAKE && rng_unit(urng(u)) < share))
		/* Prepared once per connection and reused; a post body
		 * always goes as a parameter (it is never quoted). */
		send_extended(u, q, &pv, q == Q_INSERT_POST ? rng_unit(urng(u)) < share : true);
	else
		send_simple_query(u, q, &pv);
	loop_timer_start(u->c.loop, &u->guard, host_ns(REPLY_WAIT));
}

static void do_action(struct puser *u, int a)
{
	const struct agent_env *e = &u->cl->env;

	u->a = a;
	u->nsteps = 0;
	u->step = 0;
	e->st->actions++;
	switch (act_of(u->cl, a)) {
	case ACT_POINT_READ:
		u->steps[u->nsteps++] = rng_unit(urng(u)) < draw(u, "mistake_share", 0.0) ? Q_MISTAKE : Q_POINT;
		break;
	case ACT_RANGE_SCAN:
		u->steps[u->nsteps++] = Q_SCAN;
		break;
	case ACT_INSERT:
		u->steps[u->nsteps++] = Q_BEGIN;
		u->steps[u->nsteps++] = Q_INSERT_ORDER;
		if (rng_unit(urng(u)) < draw(u, "post_share", 0.3))
			u->steps[u->nsteps++] = Q_INSERT_POST;
		u->steps[u->nsteps++] = Q_COMMIT;
		break;
	case ACT_UPDATE:
		u->steps[u->nsteps++] = Q_BEGIN;
		u->steps[u->nsteps++] = Q_LOCK;
		u->steps[u->nsteps++] = Q_UPDATE;
		u->steps[u->nsteps++] = Q_COMMIT;
		break;
	default:
		user_sleep(u, 0, W_ACTION);
		return;
	}
	send_step(u);
}

static void send_terminate(struct puser *u)
{
	u->state = U_CLOSING;
	c_msg(&u->c, 'X', NULL, 0);
	conn_shutdown(&u->c);
	loop_timer_start(u->c.loop, &u->guard, host_ns(3));
}

static void next_action(struct puser *u)
{
	const struct agent_env *e = &u->cl->env;
	int a;

	if (e->host->stopping) {
		send_terminate(u);
		return;
	}
	a = model_next(e->model, u->a, &e->host->rng);
	if (a == MODEL_END)
		send_terminate(u);
	else
		do_action(u, a);
}

/* ReadyForQuery closed a step: the next one, or the action is done. */
static void step_done(struct puser *u, uint8_t txn)
{
	const struct agent_env *e = &u->cl->env;

	loop_timer_stop(u->c.loop, &u->guard);
	if (u->got_error && txn == 'E') {
		/* The transaction failed: roll it back, skip the rest. */
		u->steps[0] = Q_ROLLBACK;
		u->nsteps = 1;
		u->step = 0;
		send_step(u);
		return;
	}
	if (++u->step < u->nsteps) {
		send_step(u);
		return;
	}
	if (e->host->stopping) {
		send_terminate(u);
		return;
	}
	user_sleep(u, model_think(e->model, u->a, &e->host->rng) * agent_think_scale(e), W_ACTION);
}

/* ---- SCRAM-SHA-256 (RFC 5802/7677), for real servers that ask it ---- */

static void b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

/* Decoded length of base64 text s, or -1. */
static int unb64(const char *s, size_t n, uint8_t *out, size_t cap)
{
	int k;

	if (n % 4 || n / 4 * 3 > cap)
		return -1;
	k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (k < 0)
		return -1;
	while (n && s[n - 1] == '=') {
		n--;
		k--;
	}
	return k;
}

static void hmac256(const uint8_t *key, size_t kn, const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)kn, p, n, out, &len);
}

/* AuthenticationSASL: answer with SCRAM-SHA-256's client-first. */
static int scram_start(struct puser *u, const uint8_t *mechs, size_t n)
{
	uint8_t raw[18];
	char first[128];
	struct msg m;
	size_t at = 0;
	bool found = false;
	int fn;

	while (at < n && mechs[at]) {
		const char *mech = cstr(mechs, n, &at);

		if (!mech)
			return -1;
		found |= !strcmp(mech, "SCRAM-SHA-256");
	}
	if (!found)
		return -1;
	if (!u->scram)
		u->scram = xcalloc(1, sizeof(*u->scram));
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	b64(raw, sizeof(raw), u->scram->nonce);
	snprintf(u->scram->first_bare, sizeof(u->scram->first_bare), "n=,r=%s", u->scram->nonce);
	fn = snprintf(first, sizeof(first), "n,,%s", u->scram->first_bare);
	m_begin(&m, 'p');
	m_str(&m, "SCRAM-SHA-256");
	m_u32(&m, (uint32_t)fn);
	m_put(&m, first, (size_t)fn);
	m_send(&m, &u->c);
	return 0;
}

/* SASLContinue: the server-first message; answer with the proof. */
static int scram_continue(struct puser *u, const uint8_t *data, size_t n)
{
	struct scram *sc = u->scram;
	char srv[256], final[256], auth[768], proof64[64];
	const char *r = NULL, *s = NULL, *i = NULL;
	uint8_t salt[64], salted[32], ckey[32], skey[32], stored[32], csig[32], proof[32];
	unsigned int sl = 32;
	int saltn, fn, an;
	long iter;

	if (!sc || n >= sizeof(srv))
		return -1;
	memcpy(srv, data, n);
	srv[n] = 0;
	for (char *tok = srv, *end; tok && *tok; tok = end) {
		end = strchr(tok, ',');
		if (end)
			*end++ = 0;
		if (!strncmp(tok, "r=", 2))
			r = tok + 2;
		else if (!strncmp(tok, "s=", 2))
			s = tok + 2;
		else if (!strncmp(tok, "i=", 2))
			i = tok + 2;
	}
	if (!r || !s || !i || strncmp(r, sc->nonce, strlen(sc->nonce)))
		return -1;
	iter = strtol(i, NULL, 10);
	saltn = unb64(s, strlen(s), salt, sizeof(salt));
	if (iter < 1 || iter > 1000000 || saltn <= 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC(PG_PASSWORD, (int)strlen(PG_PASSWORD), salt, saltn, (int)iter,
			      EVP_sha256(), 32, salted) != 1)
		return -1;
	hmac256(salted, 32, "Client Key", 10, ckey);
	hmac256(salted, 32, "Server Key", 10, skey);
	EVP_Digest(ckey, 32, stored, &sl, EVP_sha256(), NULL);
	fn = snprintf(final, sizeof(final), "c=biws,r=%s", r);
	/* AuthMessage: client-first-bare, server-first, client-final
	 * without its proof; srv was cut at commas, so rebuild it. */
	an = snprintf(auth, sizeof(auth), "%s,%.*s,%s", sc->first_bare, (int)n, (const char *)data, final);
	if (fn < 0 || an < 0 || (size_t)an >= sizeof(auth))
		return -1;
	hmac256(stored, 32, auth, (size_t)an, csig);
	for (int k = 0; k < 32; k++)
		proof[k] = ckey[k] ^ csig[k];
	hmac256(skey, 32, auth, (size_t)an, sc->server_sig);
	b64(proof, 32, proof64);
	fn += snprintf(final + fn, sizeof(final) - (size_t)fn, ",p=%s", proof64);
	c_msg(&u->c, 'p', final, (size_t)fn);
	return 0;
}

/* SASLFinal: the server proves it knew the password too. */
static int scram_final(struct puser *u, const uint8_t *data, size_t n)
{
	uint8_t sig[48];

	if (!u->scram || n < 2 || memcmp(data, "v=", 2) ||
	    unb64((const char *)data + 2, n - 2, sig, sizeof(sig)) != 32 ||
	    memcmp(sig, u->scram->server_sig, 32))
		return -1;
	free(u->scram);
	u->scram = NULL;
	return 0;
}

/* ---- replies ---- */

static int on_auth(struct puser *u, const uint8_t *body, size_t len)
{
	uint32_t code;
	uint8_t salt[4];
	const uint8_t *data;
	size_t dlen;
	char pw[40];

	if (pg__auth_msg(body, len, &code, salt, &data, &dlen) < 0)
		return -1;
	switch (code) {
	case 0:
		return 0;
	case 3:
		c_msg(&u->c, 'p', PG_PASSWORD, sizeof(PG_PASSWORD));
		return 0;
	case 5:
		md5_password(PG_USER, PG_PASSWORD, salt, pw);
		c_msg(&u->c, 'p', pw, 36);
		return 0;
	case 10:
		return scram_start(u, data, dlen);
	case 11:
		return scram_continue(u, data, dlen);
	case 12:
		return scram_final(u, data, dlen);
	default:
		return -1;      /* Kerberos, GSS, SSPI: not for us */
	}
}

static void first_action(struct puser *u)
{
	const struct agent_env *e = &u->cl->env;

	loop_timer_stop(u->c.loop, &u->guard);
	u->state = U_READY;
	if (e->host->stopping) {
		send_terminate(u);
		return;
	}
	do_action(u, model_start(e->model));
}

/* One backend message; 0, or -EPROTO when it makes no sense here. */
static int on_backend(struct puser *u, uint8_t type, const uint8_t *body, size_t len)
{
	const struct agent_env *e = &u->cl->env;
	char code[8];

	if (u->state == U_CLOSING)
		return 0;
	if (u->state == U_STARTUP) {
		switch (type) {
		case 'R':
			return on_auth(u, body, len) < 0 ? -EPROTO : 0;
		case 'S':
		case 'K':
		case 'N':
		case 'v':
			return 0;
		case 'Z':
			first_action(u);
			return 0;
		default:
			/* ErrorResponse at startup: refused. */
			return -EPROTO;
		}
	}
	switch (type) {
	case '1':
		u->prepared |= u->parsing;
		u->parsing = 0;
		return 0;
	case 'E':
		u->got_error = true;
		pg__error_field(body, len, 'C', code, sizeof(code));
		snprintf(u->sqlstate, sizeof(u->sqlstate), "%.5s", code);
		/* The model's mistakes get 42703; anything else is a fault. */
		if (!(u->steps[u->step] == Q_MISTAKE && !strcmp(u->sqlstate, "42703")))
			e->st->errors++;
		return 0;
	case 'Z':
		if (len != 1)
			return -EPROTO;
		u->parsing = 0;
		step_done(u, body[0]);
		return 0;
	case '2': case '3': case 'n': case 't': case 'T': case 'D': case 'C': case 'I':
	case 's': case 'N': case 'S': case 'A':
		return 0;
	default:
		return -EPROTO;
	}
}

static void user_readable(struct conn *c)
{
	struct puser *u = container_of(c, struct puser, c);

	if (u->state == U_STARTUP && u->ssl_asked) {
		/* The one-byte answer to SSLRequest. */
		char a = c->in.p[0];

		conn_consume(c, 1);
		u->ssl_asked = false;
		if (a != 'N') {
			u->cl->env.st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		send_startup(u);
	}
	while (conn_is_open(c) && c->in.len) {
		const uint8_t *p = (const uint8_t *)c->in.p;
		uint8_t type;
		uint32_t n;
		int r = pg__frame(p, c->in.len, false, &type, &n);

		if (r == 0)
			break;
		if (r > 0)
			r = on_backend(u, type, p + 5, n - 5);
		if (r < 0) {
			u->cl->env.st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		if (conn_is_open(c))
			conn_consume(c, n);
	}
}

/* ---- users ---- */

static void user_free(struct defer *d)
{
	struct puser *u = container_of(d, struct puser, d);

	free(u->scram);
	free(u);
}

static void client_free(struct defer *d)
{
	free(container_of(d, struct pclient, d));
}

static void user_exit(struct puser *u)
{
	struct pclient *cl = u->cl;
	struct loop *l = cl->env.host->loop;

	u->state = U_DONE;
	loop_timer_stop(l, &u->sleep);
	loop_timer_stop(l, &u->guard);
	loop_defer(l, &u->d, user_free);
	if (!--cl->live)
		loop_defer(l, &cl->d, client_free);
}

static void sleep_cb(struct loop *l, struct timer *t)
{
	struct puser *u = container_of(t, struct puser, sleep);
	uint64_t now = loop_now(l);

	if (u->cl->env.host->stopping) {
		if (u->state == U_READY)
			send_terminate(u);
		else if (u->state == U_IDLE)
			user_exit(u);
		return;
	}
	if (now < u->wake) {
		loop_timer_start(l, t, MIN(u->wake - now, host_ns(SLICE)));
		return;
	}
	if (u->wait == W_SESSION)
		user_begin(u);
	else if (u->state == U_READY)
		next_action(u);
}

static void user_sleep(struct puser *u, double seconds, uint8_t what)
{
	struct loop *l = u->cl->env.host->loop;
	uint64_t ns = host_ns(seconds);

	u->wait = what;
	u->wake = loop_now(l) + ns;
	loop_timer_start(l, &u->sleep, MIN(ns, host_ns(SLICE)));
}

static void guard_cb(struct loop *l, struct timer *t)
{
	struct puser *u = container_of(t, struct puser, guard);

	(void)l;
	if (u->state == U_CLOSING) {
		/* Terminate sent; the server did not close: we do. */
		conn_close(&u->c, 0);
		return;
	}
	u->cl->env.st->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static void user_connected(struct conn *c)
{
	struct puser *u = container_of(c, struct puser, c);
	static const uint8_t ssl[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

	/* As libpq does by default (sslmode=prefer): ask for TLS first,
	 * go on in plain when refused. */
	u->state = U_STARTUP;
	u->ssl_asked = true;
	conn_write(c, ssl, sizeof(ssl));
}

static void user_closed(struct conn *c, int err)
{
	struct puser *u = container_of(c, struct puser, c);
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	bool expected = u->state == U_CLOSING;

	loop_timer_stop(l, &u->guard);
	loop_timer_stop(l, &u->sleep);
	if (!expected && u->state >= U_STARTUP && err != -EPROTO && err != -ETIMEDOUT &&
	    !e->host->stopping)
		e->st->errors++;
	free(u->scram);
	u->scram = NULL;
	u->state = U_IDLE;
	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	if (expected)
		user_sleep(u, model_draw(e->model, "session_gap", &e->host->rng, 2) * agent_think_scale(e),
			   W_SESSION);
	else
		user_sleep(u, 1.0, W_SESSION);
}

static const struct conn_ops user_ops = {
	.connected = user_connected,
	.readable = user_readable,
	.closed = user_closed,
};

static void user_begin(struct puser *u)
{
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	int err;

	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	u->c.st = e->st;
	u->prepared = u->parsing = 0;
	u->ssl_asked = false;
	err = conn_connect(&u->c, l, &user_ops, 0, e->server, e->port);
	if (err) {
		e->st->conn_fail++;
		user_sleep(u, 1.0, W_SESSION);
		return;
	}
	e->st->sessions++;
	u->state = U_CONNECTING;
	loop_timer_start(l, &u->guard, host_ns(REPLY_WAIT));
}

static int pg_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct pclient *cl;
	struct rng *r = &env->host->rng;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (int i = 0; i < ACT__N; i++)
		cl->act[i] = model_action(env->model, pg_actions[i]);
	cl->live = env->users;
	for (uint32_t k = 0; k < env->users; k++) {
		struct puser *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		u->sleep.cb = sleep_cb;
		u->guard.cb = guard_cb;
		u->state = U_IDLE;
		u->c.io.fd = -1;
		/* Spread over the first second, not all at once. */
		user_sleep(u, rng_unit(r) * MIN(1.0, agent_think_scale(env) * 5), W_SESSION);
	}
	return 0;
}

const struct agent agent_postgresql = {
	.name = "postgresql",
	.proto = PROTO_POSTGRESQL,
	.model = "postgresql",
	.actions = pg_actions,
	.params = pg_params,
	.serve = pg_serve,
	.client = pg_client,
};
