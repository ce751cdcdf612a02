/* ftp.h - the FTP text parsers the server, the client and the fuzz
 * target share: pure functions on (buf, len) that never read past len
 * and allocate nothing (results point into buf or fill the caller's
 * buffers). */
#ifndef DYNAMO_AGENTS_FTP_H
#define DYNAMO_AGENTS_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FTP_MAX_LINE 1024      /* a command or reply line we accept */
#define FTP_MAX_PATH 256       /* a path, NUL included */
#define FTP_MAX_NAME 64        /* a file name in the tree, NUL included */

enum ftp_verb {
	FTP_USER, FTP_PASS, FTP_ACCT, FTP_SYST, FTP_FEAT, FTP_OPTS, FTP_PWD, FTP_CWD,
	FTP_CDUP, FTP_TYPE, FTP_MODE, FTP_STRU, FTP_PASV, FTP_EPSV, FTP_PORT, FTP_EPRT,
	FTP_LIST, FTP_NLST, FTP_RETR, FTP_STOR, FTP_APPE, FTP_SIZE, FTP_MDTM, FTP_DELE,
	FTP_MKD, FTP_RMD, FTP_RNFR, FTP_RNTO, FTP_REST, FTP_ABOR, FTP_ALLO, FTP_NOOP,
	FTP_HELP, FTP_STAT, FTP_AUTH, FTP_QUIT,
};

struct ftp__cmd {
	enum ftp_verb verb;
	const char *arg;        /* into the line; spaces around trimmed */
	size_t arglen;
};

/* A command line (without its CRLF).  0; -EMSGSIZE when too long;
 * -ENOENT for an unknown verb; -EINVAL when the argument is missing,
 * unwanted or holds control bytes (cmd->verb is set then). */
int ftp__parse_command(const char *line, size_t len, struct ftp__cmd *cmd);

/* A reply line: 0 with its code and whether it opens a multi-line reply
 * ("DDD-"); -EINVAL when it does not start with a code (inside a
 * multi-line reply, such lines are its text). */
int ftp__parse_reply(const char *line, size_t len, unsigned *code, bool *more);

/* The address in a 227 reply's text, "(h1,h2,h3,h4,p1,p2)" (host
 * order); 0 or -EINVAL. */
int ftp__parse_pasv(const char *text, size_t len, uint32_t *addr, uint16_t *port);
/* The port in a 229 reply's text, "(|||port|)" (RFC 2428: any one
 * delimiter, the same four times); 0 or -EINVAL. */
int ftp__parse_epsv(const char *text, size_t len, uint16_t *port);

/* One line of an `ls -l` listing (without its CRLF):
 * "drwxr-xr-x    2 ftp      ftp          4096 Mar 04 12:30 name".
 * 0 with the entry (name points into line); -ENOENT for lines that
 * name nothing ("total N", "." and ".."); -EINVAL when malformed. */
struct ftp__entry {
	bool dir;
	uint64_t size;
	const char *name;
	size_t namelen;
};
int ftp__parse_list_line(const char *line, size_t len, struct ftp__entry *e);

/* The absolute, normalised path that arg (absolute, or relative to the
 * absolute cwd) names: "." and ".." resolved (never above "/"), no empty
 * components, no trailing slash but for "/".  0, or -EINVAL for a NUL
 * or a component longer than FTP_MAX_NAME - 1, -ENAMETOOLONG when out
 * (outlen bytes) cannot hold it. */
int ftp__path_resolve(const char *cwd, const char *arg, size_t arglen, char *out, size_t outlen);

#endif
