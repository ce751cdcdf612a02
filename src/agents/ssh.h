/* ssh.h - the parts of the SSH agent (ssh.c) that read outside input
 * themselves, behind (buf, len) entry points for the fuzz target.  The
 * SSH protocol is libssh's; what is ours is the shell the server plays
 * (a terminal line editor and a command interpreter over a made-up file
 * tree) and, on the client, spotting the shell's prompt in the output. */
#ifndef DYNAMO_SSH_H
#define DYNAMO_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSH__LINE_MAX 256       /* a command line, as typed */
#define SSH__USER_MAX 32

/* Where the shell's output goes.  crlf: a terminal (pty), so lines end
 * in \r\n, as a tty's ONLCR makes them. */
struct ssh__out {
	void (*put)(void *arg, const char *p, size_t n);
	void *arg;
	bool crlf;
};

/* What a command asks of its caller besides the text it printed. */
struct ssh__job {
	uint64_t bulk;          /* bytes of file content to stream next */
	uint64_t key;           /* which content: a hash of the file's path */
	bool binary;            /* the file is binary (archive, image, ...) */
	bool sink;              /* read standard input until EOF (cat > FILE) */
	bool logout;            /* the shell ends */
	bool ran;               /* a command line ran (ssh__input) */
	int status;             /* exit status */
};

struct ssh__shell {
	const char *host;       /* the server's name, shown in the prompt */
	int64_t now;            /* seconds since the epoch, for date, ls -l */
	bool interactive;       /* a login shell on a terminal, not exec */
	bool cr;                /* the last key was \r (a \n after it is not Enter) */
	uint8_t cwd;            /* current directory (index in the file tree) */
	uint8_t esc;            /* inside an escape sequence (arrow keys) */
	uint16_t len;
	char user[SSH__USER_MAX];
	char line[SSH__LINE_MAX];
};

/* A shell for user (anything printable is kept, up to 31 bytes) on
 * host, in the user's home directory. */
void ssh__shell_init(struct ssh__shell *sh, const char *user, const char *host, int64_t now,
		     bool interactive);
/* The login banner and the first prompt. */
void ssh__greet(const struct ssh__shell *sh, const struct ssh__out *o);
void ssh__prompt(const struct ssh__shell *sh, const struct ssh__out *o);
/* Keys typed on the terminal: echo them, edit the line, and run it at
 * Enter.  Stops after a line ran (job->ran) or the shell ended
 * (job->logout) and returns the bytes used, so the caller can stream a
 * command's bulk output before it reads on; else uses all n. */
size_t ssh__input(struct ssh__shell *sh, const char *p, size_t n, const struct ssh__out *o,
		  struct ssh__job *job);
/* Run one command line (n bytes, no line end). */
void ssh__run(struct ssh__shell *sh, const char *cmd, size_t n, const struct ssh__out *o,
	      struct ssh__job *job);

/* Client side: the last n bytes of terminal output end with a shell
 * prompt ("\a" ending the title sequence, then "user@host:dir$ "). */
bool ssh__prompt_seen(const char *tail, size_t n);

#endif
