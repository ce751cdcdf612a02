/* smtp.h - the SMTP agent's pure parsers, on (buf, len), for the agent
 * and its fuzz target: command lines (server), the DATA stream with its
 * end mark and dot-unstuffing (server), and reply lines (client). */
#ifndef DYNAMO_SMTP_H
#define DYNAMO_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_MAX_LINE 512       /* a command line, CRLF included (RFC 5321) */
#define SMTP_MAX_PATH 256
#define SMTP_MAX_REPLY 512

enum smtp_verb {
	SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET, SMTP_NOOP,
	SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP, SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;          /* after the verb and its space; into the line */
	size_t arglen;
	const char *addr;         /* MAIL/RCPT: the path without <>, may be empty */
	size_t addrlen;
	uint64_t size;            /* MAIL: the SIZE= parameter, 0 when absent */
};

/* Parse one command line (without its line end).  0, -ENOENT for an
 * unknown verb (500), -EINVAL for bad arguments (501), -EMSGSIZE for a
 * line that is too long (500). */
int smtp__parse_command(const char *line, size_t len, struct smtp_cmd *cmd);

/* The message after DATA: feed bytes as they come.  Counts the message
 * size after dot-unstuffing; finds the CRLF.CRLF end (a lone LF is taken
 * as a line end too).  Returns 1 when the end mark was consumed, with
 * *used the bytes up to and including it, else 0 with *used == len. */
struct smtp_data {
	uint64_t size;            /* message bytes so far, unstuffed */
	uint64_t lines;
	uint32_t linelen;         /* of the current line */
	uint32_t longest;         /* longest line seen (998 is the limit) */
	uint8_t bol;              /* at the beginning of a line (start: 1) */
	uint8_t dot;              /* 1: a '.' began the line, 2: then CR */
};
void smtp__data_init(struct smtp_data *d);
int smtp__data_scan(struct smtp_data *d, const char *buf, size_t len, size_t *used);

/* One reply line "250-text" / "250 text" (without its line end): 0 with
 * code and *last (no '-' after the code), or -EINVAL. */
int smtp__parse_reply(const char *line, size_t len, unsigned *code, bool *last);

#endif
