/* http.h - the web agents' message parsers, pure functions on (buf, len)
 * so that a fuzz target can drive them: request heads (server side),
 * response heads and chunked bodies (client side), the HTML scan that
 * finds a page's embedded objects and links, and the reduction of a
 * URL found on a page to a path on the same site.  Nothing here
 * allocates; results point into buf. */
#ifndef DYNAMO_HTTP_H
#define DYNAMO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_LINE 8192          /* request line */
#define HTTP_MAX_HEAD 16384         /* request line and fields */
#define HTTP_MAX_FIELDS 100
#define HTTP_MAX_RESP_HEAD 65536    /* a real server may send many cookies */
#define HTTP_MAX_RESP_FIELDS 200
#define HTTP_MAX_TAG 4096           /* an HTML tag longer than this is skipped */
#define HTTP_URL_MAX 200            /* paths the client keeps */

enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS, HTTP_PATCH,
	HTTP_TRACE, HTTP_CONNECT, HTTP_OTHER,
};

struct http_req {
	uint8_t method;             /* enum http_method */
	uint8_t minor;              /* HTTP/1.minor */
	bool keep_alive;            /* the connection stays open after */
	const char *target;         /* the path (query included), into buf */
	size_t target_len;
	uint64_t body;              /* Content-Length, 0 when none */
};

/* Parse a request head at buf.  Returns its length (up to and including
 * the blank line) when it is complete, 0 when more is needed, or -STATUS
 * for the error to answer: 400 malformed, 414 request line too long,
 * 431 head too large, 501 a transfer coding, 505 an HTTP version other
 * than 1.0 and 1.1.  A malformed line is refused as soon as it is in. */
long http__parse_request(const char *buf, size_t len, struct http_req *r);

struct http_resp {
	int status;
	uint8_t minor;
	bool keep_alive;
	bool chunked;               /* Transfer-Encoding ends in chunked */
	bool coded;                 /* another transfer coding: read to close */
	bool length;                /* Content-Length was given */
	bool html;                  /* Content-Type text/html */
	uint64_t body;              /* Content-Length */
};

/* Parse a response head: its length when complete, 0 when more is
 * needed, -1 when malformed or too large. */
long http__parse_response(const char *buf, size_t len, struct http_resp *r);

/* A chunked body, walked a step at a time. */
struct http_chunked {
	uint8_t state;
	uint64_t left;              /* data bytes left in this chunk */
	uint32_t n;                 /* bytes of the current size line or trailer */
};

/* One step over buf: returns the bytes used (> 0 unless len is 0 or the
 * body has ended), with data and ndata set to the offset and length of
 * chunk data among them (ndata 0 when none), or -1 when malformed.  *done once the last chunk and
 * trailer are in; bytes after them are not used. */
long http__chunked(struct http_chunked *s, const char *buf, size_t len, size_t *data, size_t *ndata,
		   bool *done);

/* Objects (img, script, stylesheet and icon links) and links (a href). */
enum http_url_kind { HTTP_URL_OBJECT, HTTP_URL_LINK };
typedef void http_url_fn(void *arg, enum http_url_kind kind, const char *url, size_t n);

/* Scan HTML for the URLs of embedded objects and links, calling fn for
 * each.  Returns the bytes scanned; a tag cut at the end of buf is left
 * for the next call (with more bytes) unless final is set or it is
 * longer than HTTP_MAX_TAG, when it is skipped. */
size_t http__html_scan(const char *buf, size_t len, bool final, http_url_fn *fn, void *arg);

/* The path a URL found on page base (a path) names on site host: for
 * "/x", "x", "../x", "http://host/x" or "//host/x"; fragments dropped.
 * Returns its length in out (NUL-terminated), or -1 for another site,
 * scheme or a path too long for out or with bytes not allowed in a
 * request line. */
int http__url_path(const char *url, size_t n, const char *host, const char *base, char *out,
		   size_t outlen);

#endif
