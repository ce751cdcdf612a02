/* postgresql.h - the pure parsers of the PostgreSQL agent (frontend/
 * backend protocol 3.0), each on (buf, len) so a fuzz target can call
 * them: message framing, the startup packet, the statement recogniser,
 * Parse and Bind, and the backend messages the client reads.  Internal
 * to agents/postgresql.c and tests/fuzz/fuzz-postgresql.c. */
#ifndef DYNAMO_AGENTS_POSTGRESQL_H
#define DYNAMO_AGENTS_POSTGRESQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG__MAX_MSG ((1u << 20) - 1024) /* fits the connection's input buffer */
#define PG__MAX_STARTUP 10000u          /* as the real server's limit */
#define PG__PROTO_3_0 196608u
#define PG__SSL_REQUEST 80877103u
#define PG__GSS_REQUEST 80877104u
#define PG__CANCEL 80877102u
#define PG__MAX_PARAMS 16               /* $n a statement may use */
#define PG__MAX_COLS 8                  /* columns a statement names */
#define PG__NAME 64                     /* statement and portal names */

/* One message at p: 1 when it is all there (*type its letter, 0 for
 * the untyped startup packets; *n its bytes with type and length),
 * 0 when more is needed, -1 when its length is impossible (below 4, or
 * above PG__MAX_MSG, or PG__MAX_STARTUP for a startup packet). */
int pg__frame(const uint8_t *p, size_t len, bool startup, uint8_t *type, uint32_t *n);

/* A startup packet (p: the whole packet, length included): 0, or -1
 * when malformed (the real server's "invalid startup packet layout"). */
struct pg__startup {
	uint32_t code;          /* protocol version or a request code */
	char user[64], database[64], application[64];
};
int pg__startup(const uint8_t *p, size_t len, struct pg__startup *out);

/* ---- the catalog ---------------------------------------------------------- */

enum { PG_T_INT4, PG_T_INT8, PG_T_TEXT, PG_T_NUMERIC, PG_T_TSTZ };

struct pg__column {
	const char *name;
	uint8_t type;
};

struct pg__table {
	const char *name;
	uint32_t oid;
	uint32_t rows;          /* rows it starts with: ids 1..rows */
	uint8_t ncols;
	struct pg__column cols[6];
};

extern const struct pg__table pg__tables[];
extern const size_t pg__ntables;
/* Settings SHOW knows: name and value. */
extern const char *const pg__settings[][2];
extern const size_t pg__nsettings;

/* ---- the statement recogniser -------------------------------------------- */

enum pg__kind {
	PG_EMPTY, PG_SELECT, PG_SELECT_CONST, PG_INSERT, PG_UPDATE, PG_DELETE,
	PG_BEGIN, PG_COMMIT, PG_ROLLBACK, PG_SET, PG_SHOW,
};

enum { PG_OP_EQ, PG_OP_NE, PG_OP_GT, PG_OP_GE, PG_OP_LT, PG_OP_LE };
enum { PG_CONST_INT, PG_CONST_VERSION, PG_CONST_NOW, PG_CONST_DB, PG_CONST_USER };
#define PG_NONE 0xff
#define PG_COUNT 0xfe           /* sel[]: count(*) */

/* A value in a statement: the constant v, or $param (1-based) when
 * param is set; str when it was a quoted string (v is then its hash). */
struct pg__arg {
	int64_t v;
	uint8_t param;
	bool set, str;
};

/* What a statement does, in the few shapes the server knows. */
struct pg__stmt {
	uint8_t kind;           /* enum pg__kind */
	uint8_t table;          /* index into pg__tables */
	uint8_t nsel;           /* selected or RETURNING columns, in order */
	uint8_t sel[PG__MAX_COLS];
	uint8_t where_col;      /* column of WHERE col OP value, or PG_NONE */
	uint8_t where_op;
	uint8_t order_col;      /* ORDER BY column, or PG_NONE */
	bool order_desc;
	uint8_t nparams;        /* the highest $n used */
	uint8_t ptype[PG__MAX_PARAMS]; /* each $n's type (PG_T_*), from its use */
	uint8_t konst;          /* PG_SELECT_CONST: which (PG_CONST_*) */
	int64_t konst_v;        /* PG_CONST_INT: the value */
	uint8_t show;           /* PG_SHOW: index of the setting */
	uint16_t nrows;         /* INSERT: rows of VALUES */
	struct pg__arg where, limit, offset;
};

/* Why a statement was refused: SQLSTATE, message, 1-based position in
 * the statement (0: none). */
struct pg__error {
	const char *code;
	char msg[128];
	unsigned position;
};

/* The next statement of a simple query: its length up to an unquoted
 * ';' or the end; *used also covers the ';'. */
size_t pg__next_stmt(const char *sql, size_t len, size_t *used);
/* Recognise one statement; 0, or -1 with *e filled. */
int pg__sql(const char *sql, size_t len, struct pg__stmt *st, struct pg__error *e);

/* ---- the extended protocol ------------------------------------------------ */

/* Parse (body after the length): name and query point into body. */
struct pg__parse {
	const char *name, *query;
	size_t query_len;
	uint16_t ntypes;
};
int pg__parse_msg(const uint8_t *body, size_t len, struct pg__parse *out);

/* Bind: parameters kept as integers where they read as one (text, or
 * binary int2/int4/int8 sizes). */
struct pg__bind {
	const char *portal, *stmt;
	uint16_t nparams;
	int64_t v[PG__MAX_PARAMS];
	uint16_t isint;         /* bit i: v[i] was a whole number */
	uint16_t isnull;        /* bit i: v[i] was NULL */
	bool binary_results;    /* a result column asked in binary */
};
int pg__bind_msg(const uint8_t *body, size_t len, struct pg__bind *out);

/* Execute, Describe and Close: a kind letter (with_kind: 'S' or 'P'),
 * a name and, for Execute (!with_kind), a row limit. */
int pg__named_msg(const uint8_t *body, size_t len, bool with_kind, char *kind, const char **name,
		  uint32_t *max_rows);

/* ---- backend messages, for the client ------------------------------------ */

/* Authentication request: its code and, for MD5, the salt; for SASL
 * the data after the code at *data (len *dlen). */
int pg__auth_msg(const uint8_t *body, size_t len, uint32_t *code, uint8_t salt[4],
		 const uint8_t **data, size_t *dlen);
/* ErrorResponse/NoticeResponse: the field f (e.g. 'C', 'M'), or "". */
int pg__error_field(const uint8_t *body, size_t len, char f, char *out, size_t outlen);
/* CommandComplete: the tag; DataRow: the column count. */
int pg__tag_msg(const uint8_t *body, size_t len, char *out, size_t outlen);
int pg__datarow_msg(const uint8_t *body, size_t len, uint16_t *ncols);

#endif
