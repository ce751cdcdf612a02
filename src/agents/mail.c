/* mail.c - people and MIME messages for the mail agents (see mail.h).
 * A message is text generated here (headers, boundaries, part headers:
 * a few KiB at most) interleaved with references into the host's shared
 * text and into one base64 blob, so a 20 MiB attachment costs nothing
 * to build and is sent with writev from shared memory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../engine/conn.h"
#include "../lib/util.h"
#include "mail.h"

/* ---- people -------------------------------------------------------------- */

/* Made-up staff: every first name with every family name. */
static const char *const first_names[] = {
	"Ada", "Alan", "Amara", "Anders", "Aisha", "Bruno", "Carmen", "Chen", "Chloe", "Dario",
	"Dmitri", "Elena", "Emeka", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines",
	"Ivan", "Jamal", "Jana", "Jonas", "Julia", "Kenji", "Laila", "Lars", "Lucia", "Malik",
	"Marta", "Mateo", "Mei", "Nadia", "Nikolai", "Noah", "Olga", "Omar", "Paula", "Pedro",
	"Priya", "Rafael", "Rosa", "Samir", "Sara", "Sofia", "Tariq", "Tomas", "Una", "Valentin",
	"Vera", "Wen", "Xavier", "Yara", "Yusuf", "Zara", "Ravi", "Leah", "Oskar", "Irene",
	"Kofi", "Mirela", "Tanvir", "Beatriz",
};

static const char *const last_names[] = {
	"Moreau", "Okafor", "Lindqvist", "Tanaka", "Castillo", "Novak", "Haddad", "Brennan",
	"Kowalski", "Duarte", "Fischer", "Ivanova", "Mensah", "Rossi", "Sato", "Vargas",
	"Weber", "Yilmaz", "Zhang", "Almeida", "Bauer", "Cohen", "Dubois", "Eriksen",
	"Ferreira", "Gallo", "Hansen", "Iqbal", "Jensen", "Kim", "Larsen", "Meyer", "Nilsen",
	"Oliveira", "Petrov", "Quinn", "Reyes", "Schmidt", "Torres", "Ueda", "Vidal", "Walsh",
	"Xu", "Young", "Zimmer", "Adeyemi", "Bianchi", "Costa", "Dang", "Esposito", "Farah",
	"Grant", "Horvat", "Ito", "Jovanovic", "Kaur", "Lopez", "Marsh", "Nakamura", "Osei",
	"Park", "Ruiz", "Stone", "Tran",
};

#define NFIRST ARRAY_SIZE(first_names)
#define NLAST ARRAY_SIZE(last_names)

uint32_t mail_people(void)
{
	return (uint32_t)(NFIRST * NLAST);
}

static const char *first_of(uint32_t p)
{
	return first_names[(p % mail_people()) % NFIRST];
}

static const char *last_of(uint32_t p)
{
	return last_names[(p % mail_people()) / NFIRST];
}

void mail_name(uint32_t p, char *out, size_t n)
{
	snprintf(out, n, "%s %s", first_of(p), last_of(p));
}

static void lower_copy(char *out, size_t n, const char *a, const char *b)
{
	size_t at = 0;

	for (const char *s = a; *s && at + 1 < n; s++)
		out[at++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	if (at + 1 < n)
		out[at++] = '.';
	for (const char *s = b; *s && at + 1 < n; s++)
		out[at++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	if (n)
		out[at] = 0;
}

void mail_login(uint32_t p, char *out, size_t n)
{
	lower_copy(out, n, first_of(p), last_of(p));
}

void mail_addr(uint32_t p, char *out, size_t n)
{
	char login[64];

	mail_login(p, login, sizeof(login));
	snprintf(out, n, "%s@%s", login, MAIL_DOMAIN);
}

uint32_t mail_person_of(const char *login, size_t n)
{
	const char *dot = memchr(login, '.', n), *at = memchr(login, '@', n);
	size_t fl, ll;

	if (at)
		n = (size_t)(at - login);
	if (dot && dot < login + n) {
		fl = (size_t)(dot - login);
		ll = n - fl - 1;
		for (size_t f = 0; f < NFIRST; f++) {
			if (strlen(first_names[f]) != fl || strncasecmp(first_names[f], login, fl))
				continue;
			for (size_t l = 0; l < NLAST; l++)
				if (strlen(last_names[l]) == ll && !strncasecmp(last_names[l], dot + 1, ll))
					return (uint32_t)(l * NFIRST + f);
		}
	}
	return (uint32_t)(rng_hash(login, n, 0x6d61696c) % mail_people());
}

/* ---- specs ---------------------------------------------------------------- */

static unsigned draw_count(const struct model *m, const char *param, struct rng *r,
			   double dflt, unsigned lo, unsigned hi)
{
	double v = m ? model_draw(m, param, r, dflt) : dflt;
	unsigned n = v < lo ? lo : v > hi ? hi : (unsigned)(v + 0.5);

	return n < lo ? lo : n > hi ? hi : n;
}

static bool has(const struct mail_spec *s, uint32_t p)
{
	if (s->from == p)
		return true;
	for (unsigned i = 0; i < s->nrcpt; i++)
		if (s->rcpt[i] == p)
			return true;
	return false;
}

/* Add n people other than the sender and those already in. */
static void add_people(struct mail_spec *s, unsigned n, struct rng *r)
{
	while (n-- && s->nrcpt < MAIL_MAX_RCPT) {
		uint32_t p;

		do
			p = (uint32_t)rng_below(r, mail_people());
		while (has(s, p));
		s->rcpt[s->nrcpt++] = p;
	}
}

static void draw_sizes(struct mail_spec *s, const struct model *m, struct rng *r)
{
	double body = m ? model_draw(m, "body_size", r, 1200) : 1200;
	double prob = m ? model_draw(m, "attach_prob", r, 0.2) : 0.2;

	s->body_len = body < 200 ? 200 : body > MAIL_MAX_BODY ? MAIL_MAX_BODY : (uint32_t)body;
	s->attach_len = 0;
	if (rng_unit(r) < prob) {
		double a = m ? model_draw(m, "attach_size", r, 64 << 10) : 64 << 10;

		s->attach_len = a < 1 ? 1 : a > MAIL_MAX_ATTACH ? MAIL_MAX_ATTACH : (uint32_t)a;
	}
}

void mail_new(struct mail_spec *s, enum mail_kind kind, uint32_t from, const struct model *m,
	      struct rng *r, int64_t date)
{
	unsigned n;

	memset(s, 0, sizeof(*s));
	s->key = rng_next(r);
	s->date = date;
	s->from = from % mail_people();
	s->kind = (uint8_t)kind;
	switch (kind) {
	case MAIL_GROUP:
		n = draw_count(m, "group_size", r, 12, 2, MAIL_MAX_RCPT);
		add_people(s, n, r);
		s->nto = s->nrcpt;
		break;
	case MAIL_MANY:
		n = draw_count(m, "many_size", r, 3, 2, MAIL_MAX_RCPT);
		add_people(s, n, r);
		/* One or two named in To:, the others copied. */
		s->nto = (uint8_t)(n > 2 ? 1 + rng_below(r, 2) : 1);
		break;
	default:
		add_people(s, 1, r);
		s->nto = 1;
		s->kind = MAIL_ONE;
		break;
	}
	draw_sizes(s, m, r);
}

void mail_reply(struct mail_spec *s, const struct mail_spec *parent, uint32_t from,
		const struct model *m, struct rng *r, int64_t date)
{
	double all = m ? model_draw(m, "reply_all", r, 0.2) : 0.2;

	memset(s, 0, sizeof(*s));
	s->key = rng_next(r);
	s->date = date;
	s->from = from % mail_people();
	s->kind = MAIL_REPLY;
	s->parent = parent->key;
	s->rcpt[s->nrcpt++] = parent->from == s->from ? (s->from + 1) % mail_people() : parent->from;
	s->nto = 1;
	if (rng_unit(r) < all)
		for (unsigned i = 0; i < parent->nrcpt && s->nrcpt < MAIL_MAX_RCPT; i++)
			if (!has(s, parent->rcpt[i]))
				s->rcpt[s->nrcpt++] = parent->rcpt[i];
	draw_sizes(s, m, r);
	/* Replies are mostly short and rarely carry the attachment back. */
	s->body_len = s->body_len / 2 < 200 ? 200 : s->body_len / 2;
	if (rng_below(r, 3))
		s->attach_len = 0;
}

/* The kind of a mailbox's message follows what the model's users send:
 * walk the chain from its start until it sends, so the mix of group,
 * one-to-one, one-to-many and replies in every inbox is the model's. */
static enum mail_kind inbox_kind(const struct model *m, struct rng *r)
{
	static const struct {
		const char *action;
		enum mail_kind kind;
	} sends[] = {
		{ "send_group", MAIL_GROUP }, { "send_one", MAIL_ONE },
		{ "send_many", MAIL_MANY }, { "reply", MAIL_REPLY },
	};
	int a;

	if (!m)
		return MAIL_ONE;
	a = model_start(m);
	for (int step = 0; step < 64; step++) {
		const char *name = model_action_name(m, a);

		for (size_t i = 0; i < ARRAY_SIZE(sends); i++)
			if (!strcmp(name, sends[i].action))
				return sends[i].kind;
		a = model_next(m, a, r);
		if (a == MODEL_END)
			a = model_start(m);
	}
	return MAIL_ONE;
}

void mail_inbox(struct mail_spec *s, uint32_t owner, uint64_t seed, uint32_t uid,
		const struct model *m, int64_t date)
{
	struct rng r;
	enum mail_kind kind;
	uint32_t from;

	rng_seed(&r, seed ^ ((uint64_t)uid * 0x9e3779b97f4a7c15ull));
	owner %= mail_people();
	kind = inbox_kind(m, &r);
	do
		from = (uint32_t)rng_below(&r, mail_people());
	while (from == owner);
	if (kind == MAIL_REPLY) {
		/* Someone answers what the owner wrote earlier. */
		struct mail_spec parent = { .key = rng_next(&r), .from = owner };

		parent.rcpt[parent.nrcpt++] = from;
		mail_reply(s, &parent, from, m, &r, date);
	} else {
		mail_new(s, kind, from, m, &r, date);
		if (!has(s, owner))
			s->rcpt[rng_below(&r, s->nrcpt)] = owner;
	}
	s->delivered = true;
	s->owner = owner;
}

void mail_box_open(struct mail_box *b, uint32_t owner, const struct model *m)
{
	struct rng r;

	b->owner = owner % mail_people();
	b->seed = rng_hash(&b->owner, sizeof(b->owner), 0x696e626f78);
	rng_seed(&r, b->seed);
	b->base = draw_count(m, "inbox_size", &r, 50, 1, MAIL_BOX_MAX / 2);
	b->unseen = draw_count(m, "inbox_unseen", &r, 4, 0, b->base);
}

/* ---- headers -------------------------------------------------------------- */

static const char *const topics[] = {
	"network upgrade", "office move", "quarterly report", "release", "hiring plan",
	"customer survey", "security audit", "training day", "roadmap", "support rota",
	"database migration", "website refresh", "onboarding", "travel budget",
	"vendor contract", "spring conference", "backup policy", "inventory count",
	"product launch", "pricing review", "team offsite", "printer fleet",
	"holiday calendar", "expense reports", "design sprint", "data retention",
};

static const char *const weekdays[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday" };

/* '@' is where the topic goes, '#' a weekday. */
static const char *const templates[] = {
	"Notes from the @ meeting", "@: draft for review", "Question about the @",
	"Updated @ schedule", "@ figures for this quarter", "Can we move the @ call to #?",
	"Reminder: @ deadline on #", "Follow-up on the @", "@ status", "Feedback on the @ proposal",
	"Agenda for #: @", "Slides for the @ review", "@ - action items", "Help needed with the @",
	"FYI: @ changes", "Minutes: @ sync", "Quick question on the @", "@ kickoff on #",
	"Lunch on #?", "Thanks for the @ work",
};

void mail_subject(const struct mail_spec *s, char *out, size_t n)
{
	uint64_t k = s->kind == MAIL_REPLY ? s->parent : s->key;
	const char *t = templates[k % ARRAY_SIZE(templates)];
	const char *topic = topics[(k >> 8) % ARRAY_SIZE(topics)];
	const char *day = weekdays[(k >> 16) % ARRAY_SIZE(weekdays)];
	size_t at = 0;

	if (!n)
		return;
	if (s->kind == MAIL_REPLY && n > 4) {
		memcpy(out, "Re: ", 4);
		at = 4;
	}
	for (const char *p = t; *p && at + 1 < n; p++) {
		const char *ins = *p == '@' ? topic : *p == '#' ? day : NULL;

		if (!ins) {
			out[at++] = *p;
			continue;
		}
		for (const char *q = ins; *q && at + 1 < n; q++) {
			char ch = *q;

			/* A topic that opens the subject is capitalised. */
			if (p == t && q == ins && ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 'a' + 'A');
			out[at++] = ch;
		}
	}
	out[at] = 0;
}

void mail_msgid(uint64_t key, char *out, size_t n)
{
	snprintf(out, n, "%08llx.%08llx@mail.%s", (unsigned long long)(key >> 32),
		 (unsigned long long)(key & 0xffffffffu), MAIL_DOMAIN);
}

void mail_date(int64_t t, char *out, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- building ------------------------------------------------------------- */

static bool owned(const struct mail_msg *m, const char *p)
{
	return p >= m->buf && p < m->buf + sizeof(m->buf);
}

static void push(struct mail_msg *m, const char *p, size_t n)
{
	struct mail_seg *last = m->nseg ? &m->seg[m->nseg - 1] : NULL;

	if (!n)
		return;
	if (last && owned(m, p) && owned(m, last->p) && last->p + last->n == p) {
		last->n += n;
	} else {
		if (m->nseg == MAIL_SEGS)
			return;   /* cannot happen with the bounds in mail.h */
		m->seg[m->nseg].p = p;
		m->seg[m->nseg++].n = n;
	}
	m->size += n;
}

static void put(struct mail_msg *m, const char *p, size_t n)
{
	if (n > sizeof(m->buf) - m->used)
		n = sizeof(m->buf) - m->used;
	memcpy(m->buf + m->used, p, n);
	push(m, m->buf + m->used, n);
	m->used += n;
}

static void puts_(struct mail_msg *m, const char *s)
{
	put(m, s, strlen(s));
}

static void putf(struct mail_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct mail_msg *m, const char *fmt, ...)
{
	size_t room = sizeof(m->buf) - m->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->used, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room)
		n = room ? (int)room - 1 : 0;
	push(m, m->buf + m->used, (size_t)n);
	m->used += (size_t)n;
}

/* An address list header, folded before 78 columns. */
static void put_addrs(struct mail_msg *m, const char *field, const uint32_t *who, unsigned n)
{
	size_t col;

	if (!n)
		return;
	putf(m, "%s: ", field);
	col = strlen(field) + 2;
	for (unsigned i = 0; i < n; i++) {
		char name[64], addr[96], one[170];
		int len;

		mail_name(who[i], name, sizeof(name));
		mail_addr(who[i], addr, sizeof(addr));
		len = snprintf(one, sizeof(one), "%s <%s>%s", name, addr, i + 1 < n ? "," : "");
		if (len < 0)
			continue;
		if (i && col + (size_t)len + 1 > 78) {
			puts_(m, "\r\n ");
			col = 1;
		} else if (i) {
			puts_(m, " ");
			col++;
		}
		put(m, one, (size_t)len);
		col += (size_t)len;
	}
	puts_(m, "\r\n");
}

/* Shared base64 text: lines of 76 characters and CRLF, encoding random
 * bytes; any run of whole lines is valid base64.  Made on first use and
 * kept for the life of the process (read-only after that). */
#define B64_LINE 78
#define B64_LINES 16384
static char *b64_blob;

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_chars[(v >> 18) & 63];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
	}
	return o;
}

static const char *b64_lines(void)
{
	if (!b64_blob) {
		struct rng r;

		rng_seed(&r, 0x62617365363421ull);
		b64_blob = xmalloc((size_t)B64_LINE * B64_LINES);
		for (size_t l = 0; l < B64_LINES; l++) {
			unsigned char raw[57];
			char *line = b64_blob + l * B64_LINE;

			for (size_t i = 0; i < sizeof(raw); i++)
				raw[i] = (unsigned char)rng_next(&r);
			b64_encode(raw, sizeof(raw), line);
			line[76] = '\r';
			line[77] = '\n';
		}
	}
	return b64_blob;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;
	const char *e = p + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
		lines++;
		p++;
	}
	return lines;
}

/* Text of about n bytes, cut after its last whole line.  Where it
 * starts depends on the key alone, so a reply can quote the opening of
 * the message it answers, whatever their lengths. */
static void put_text(struct mail_msg *m, const struct content *ct, uint64_t key, size_t n)
{
	const char *p = content_get(ct, CONTENT_TEXT, key, MAIL_MAX_BODY);
	const char *nl = n ? memrchr(p, '\n', n) : NULL;

	if (nl) {
		push(m, p, (size_t)(nl - p) + 1);
	} else {
		push(m, p, n);
		puts_(m, "\r\n");
	}
}

/* Greeting, text, signature and, in a reply, the quoted opening of the
 * original; html says the same in markup. */
static void put_body(struct mail_msg *m, const struct mail_spec *s, const struct content *ct,
		     bool html)
{
	char to[32], me[32], them[64];

	snprintf(to, sizeof(to), "%s", first_of(s->rcpt[0]));
	snprintf(me, sizeof(me), "%s", first_of(s->from));
	if (s->nto > 1 || s->kind == MAIL_GROUP)
		puts_(m, html ? "<p>Hello everyone,</p>\r\n<p>" : "Hello everyone,\r\n\r\n");
	else
		putf(m, html ? "<p>Hi %s,</p>\r\n<p>" : "Hi %s,\r\n\r\n", to);
	put_text(m, ct, s->key, s->body_len);
	putf(m, html ? "</p>\r\n<p>Best regards,<br>\r\n%s</p>\r\n" : "\r\nBest regards,\r\n%s\r\n", me);
	if (s->kind == MAIL_REPLY) {
		const char *q = content_get(ct, CONTENT_TEXT, s->parent, MAIL_MAX_BODY);

		mail_name(s->rcpt[0], them, sizeof(them));
		putf(m, html ? "<p>%s wrote:</p>\r\n<blockquote type=\"cite\">\r\n" : "\r\n%s wrote:\r\n",
		     them);
		for (int i = 0; i < 5; i++) {
			const char *nl = memchr(q, '\n', 100);
			size_t len = nl ? (size_t)(nl - q) + 1 : 0;

			if (!len)
				break;
			if (!html)
				puts_(m, "> ");
			put(m, q, len);
			q += len;
		}
		if (html)
			puts_(m, "</blockquote>\r\n");
	}
}

/* Lines in bytes [from, to) of m. */
static size_t range_lines(const struct mail_msg *m, size_t from, size_t to)
{
	size_t pos = 0, lines = 0;

	for (unsigned i = 0; i < m->nseg; i++) {
		const struct mail_seg *g = &m->seg[i];
		size_t a = MAX(from, pos), b = MIN(to, pos + g->n);

		if (a < b)
			lines += count_lines(g->p + (a - pos), b - a);
		pos += g->n;
	}
	return lines;
}

static const struct {
	const char *type, *subtype, *ext;
} attach_types[] = {
	{ "application", "zip", "zip" },
	{ "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx" },
	{ "application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx" },
	{ "application", "octet-stream", "dat" },
};

static void put_attachment(struct mail_msg *m, const struct mail_spec *s, const struct content *ct,
			   struct mail_part *part)
{
	size_t lines = s->attach_len / 57, rem = s->attach_len % 57;
	size_t at = (size_t)((s->key >> 20) % B64_LINES);
	const char *blob = b64_lines();

	part->lines = lines + (rem ? 1 : 0);
	while (lines) {
		size_t take = MIN(lines, (size_t)B64_LINES - at);

		push(m, blob + at * B64_LINE, take * B64_LINE);
		lines -= take;
		at = 0;
	}
	if (rem) {
		const unsigned char *raw =
			(const unsigned char *)content_get(ct, CONTENT_BINARY, s->key, rem);
		char line[B64_LINE + 2];
		size_t o = b64_encode(raw, rem, line);

		line[o++] = '\r';
		line[o++] = '\n';
		put(m, line, o);
	}
}

static void begin_part(struct mail_msg *m, struct mail_part *part, const char *type,
		       const char *subtype, const char *enc)
{
	putf(m, "--%s\r\n", m->boundary);
	part->type = type;
	part->subtype = subtype;
	part->enc = enc;
	part->hdr = m->size;
}

void mail_build(const struct mail_spec *s, const struct content *ct, struct mail_msg *m)
{
	char text[160], name[64], addr[96];
	struct mail_part *part;
	bool mixed = s->attach_len > 0;

	m->size = m->hdr_len = m->used = 0;
	m->nseg = m->nparts = 0;
	memset(m->part, 0, sizeof(m->part));
	snprintf(m->boundary, sizeof(m->boundary), "=_dyn_%016llx",
		 (unsigned long long)(s->key * 0x2545f4914f6cdd1dull));
	m->subtype = mixed ? "mixed" : "alternative";

	/* A delivered copy carries what the last hop added. */
	if (s->delivered) {
		char owner[96];

		mail_addr(s->from, addr, sizeof(addr));
		mail_addr(s->owner, owner, sizeof(owner));
		mail_date(s->date, text, sizeof(text));
		putf(m, "Return-Path: <%s>\r\n", addr);
		putf(m, "Received: from ws-%u.%s (ws-%u.%s [10.%u.%u.%u])\r\n"
			"\tby mail.%s (dynamo) with ESMTP id %010llX\r\n"
			"\tfor <%s>; %s\r\n",
		     s->from, MAIL_DOMAIN, s->from, MAIL_DOMAIN, (s->from >> 16) & 255,
		     (s->from >> 8) & 255, s->from & 255, MAIL_DOMAIN,
		     (unsigned long long)(s->key & 0xffffffffffull), owner, text);
	}
	mail_date(s->date, text, sizeof(text));
	putf(m, "Date: %s\r\n", text);
	mail_name(s->from, name, sizeof(name));
	mail_addr(s->from, addr, sizeof(addr));
	putf(m, "From: %s <%s>\r\n", name, addr);
	put_addrs(m, "To", s->rcpt, s->nto);
	put_addrs(m, "Cc", s->rcpt + s->nto, (unsigned)(s->nrcpt - s->nto));
	mail_subject(s, text, sizeof(text));
	putf(m, "Subject: %s\r\n", text);
	mail_msgid(s->key, text, sizeof(text));
	putf(m, "Message-ID: <%s>\r\n", text);
	if (s->kind == MAIL_REPLY) {
		mail_msgid(s->parent, text, sizeof(text));
		putf(m, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", text, text);
	}
	putf(m, "MIME-Version: 1.0\r\nContent-Type: multipart/%s;\r\n boundary=\"%s\"\r\n\r\n",
	     m->subtype, m->boundary);
	m->hdr_len = m->size;

	puts_(m, "This is a multi-part message in MIME format.\r\n");
	part = &m->part[m->nparts++];
	begin_part(m, part, "text", "plain", "7bit");
	puts_(m, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
	part->body = m->size;
	put_body(m, s, ct, false);
	part->end = m->size;
	part->lines = range_lines(m, part->body, part->end);
	puts_(m, "\r\n");

	part = &m->part[m->nparts++];
	if (mixed) {
		unsigned t = (unsigned)((s->key >> 40) % ARRAY_SIZE(attach_types));
		const char *topic = topics[(s->key >> 8) % ARRAY_SIZE(topics)];
		size_t i;

		begin_part(m, part, attach_types[t].type, attach_types[t].subtype, "base64");
		for (i = 0; topic[i] && i + 1 < sizeof(part->name) - 8; i++)
			part->name[i] = topic[i] == ' ' ? '-' : topic[i];
		snprintf(part->name + i, sizeof(part->name) - i, ".%s", attach_types[t].ext);
		putf(m, "Content-Type: %s/%s;\r\n name=\"%s\"\r\n"
			"Content-Disposition: attachment;\r\n filename=\"%s\"\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n",
		     part->type, part->subtype, part->name, part->name);
		part->body = m->size;
		put_attachment(m, s, ct, part);
	} else {
		begin_part(m, part, "text", "html", "7bit");
		puts_(m, "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
		part->body = m->size;
		puts_(m, "<html>\r\n<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>\r\n<body>\r\n");
		put_body(m, s, ct, true);
		puts_(m, "</body>\r\n</html>\r\n");
		part->lines = range_lines(m, part->body, m->size);
	}
	part->end = m->size;
	putf(m, "\r\n--%s--\r\n", m->boundary);
}

/* ---- sending -------------------------------------------------------------- */

static void emit(struct conn *c, const struct mail_msg *m, const char *p, size_t n)
{
	if (!n)
		return;
	if (owned(m, p))
		conn_write(c, p, n);
	else
		conn_write_ref(c, p, n);
}

void mail_send(struct conn *c, const struct mail_msg *m, size_t off, size_t len, bool stuff)
{
	size_t pos = 0;
	bool bol = true;

	for (unsigned i = 0; i < m->nseg && len; i++) {
		const struct mail_seg *g = &m->seg[i];
		const char *p, *e, *start;

		if (pos + g->n <= off) {
			pos += g->n;
			if (g->n)
				bol = g->p[g->n - 1] == '\n';
			continue;
		}
		p = g->p + (off > pos ? off - pos : 0);
		e = p + MIN(len, (size_t)(g->p + g->n - p));
		len -= (size_t)(e - p);
		pos += g->n;
		if (off > pos - g->n)
			bol = p[-1] == '\n';
		off = 0;
		if (!stuff) {
			emit(c, m, p, (size_t)(e - p));
			continue;
		}
		/* Dot-stuffing: a '.' that begins a line gets another. */
		start = p;
		while (p < e) {
			const char *nl;

			if (bol && *p == '.') {
				emit(c, m, start, (size_t)(p - start));
				conn_write(c, ".", 1);
				start = p;
			}
			nl = memchr(p, '\n', (size_t)(e - p));
			if (!nl) {
				bol = false;
				break;
			}
			p = nl + 1;
			bol = true;
		}
		emit(c, m, start, (size_t)(e - start));
	}
}

size_t mail_copy(const struct mail_msg *m, size_t off, size_t len, char *out)
{
	size_t pos = 0, done = 0;

	for (unsigned i = 0; i < m->nseg && done < len; i++) {
		const struct mail_seg *g = &m->seg[i];
		size_t from, take;

		if (pos + g->n <= off) {
			pos += g->n;
			continue;
		}
		from = off > pos ? off - pos : 0;
		take = MIN(g->n - from, len - done);
		memcpy(out + done, g->p + from, take);
		done += take;
		pos += g->n;
		off = pos;
	}
	return done;
}
