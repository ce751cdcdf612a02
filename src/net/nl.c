/* nl.c - see nl.h.  One buffer of requests; nl_commit sends it and reads
 * acknowledgements until it has one for every sequence number it sent. */
#include "nl.h"
#include "../lib/util.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One sendmsg must fit the socket send buffer (wmem_default, about
 * 208 KiB), which only CAP_NET_ADMIN in the first namespace may raise. */
#define NL_BUF (128 * 1024)
#define NL_ROOM 8192 /* a request must fit in this much */
#define NL_RBUF (64 * 1024)

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq, first_seq;
	char *buf;
	char *rbuf;         /* acknowledgements */
	size_t len;
	unsigned pending;
	struct nlmsghdr *last; /* being filled by the caller */
	int err;            /* kept from an automatic flush */
	char errmsg[256];
};

int nl_open(struct nl **out)
{
	struct nl *nl = xcalloc(1, sizeof(*nl));
	int one = 1, bufsz = 4 << 20;

	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk) {
		int e = errno;

		free(nl);
		return -e;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl->sk);
		free(nl);
		return -e;
	}
	/* failures are best effort: older kernels lack them */
	(void)mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->buf = xmalloc(NL_BUF);
	nl->rbuf = xmalloc(NL_RBUF);
	nl->seq = 1;
	*out = nl;
	return 0;
}

int nl_fd(const struct nl *nl)
{
	return mnl_socket_get_fd(nl->sk);
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl->buf);
	free(nl->rbuf);
	free(nl);
}

/* The text of an error ack: the kernel's extended ack if it sent one. */
static void ack_text(const struct nlmsghdr *h, int error, char *out, size_t n)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;
	size_t off = sizeof(*e);

	snprintf(out, n, "%s", strerror(-error));
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* with NETLINK_CAP_ACK only the request's header is echoed */
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	mnl_attr_for_each(a, h, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(out, n, "%s (%s)", mnl_attr_get_str(a), strerror(-error));
			return;
		}
	}
}

static int flush(struct nl *nl, char *err, size_t errlen)
{
	char *rbuf = nl->rbuf;
	unsigned acked = 0;
	int first_err = 0;

	if (!nl->pending)
		return 0;
	if (mnl_socket_sendto(nl->sk, nl->buf, nl->len) < 0) {
		int e = errno;

		snprintf(err, errlen, "netlink send: %s", strerror(e));
		nl->len = 0;
		nl->pending = 0;
		return -e;
	}
	while (acked < nl->pending) {
		ssize_t r = mnl_socket_recvfrom(nl->sk, rbuf, NL_RBUF);
		const struct nlmsghdr *h;
		int left;

		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			snprintf(err, errlen, "netlink receive: %s", strerror(e));
			first_err = first_err ? first_err : -e;
			break;
		}
		left = (int)r;
		for (h = (const struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < nl->first_seq)
				continue;
			e = mnl_nlmsg_get_payload(h);
			acked++;
			if (e->error && !first_err) {
				first_err = e->error;
				ack_text(h, e->error, err, errlen);
			}
		}
	}
	nl->len = 0;
	nl->pending = 0;
	return first_err;
}

/* The caller has finished the last request: count its length. */
static void seal(struct nl *nl)
{
	if (nl->last) {
		nl->len += NLMSG_ALIGN(nl->last->nlmsg_len);
		nl->last = NULL;
	}
}

struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h;

	seal(nl);
	if (NL_BUF - nl->len < NL_ROOM) {
		int r = flush(nl, nl->errmsg, sizeof(nl->errmsg));

		if (r && !nl->err)
			nl->err = r;
	}
	if (!nl->pending)
		nl->first_seq = nl->seq;
	h = mnl_nlmsg_put_header(nl->buf + nl->len);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = nl->seq++;
	nl->pending++;
	nl->last = h;
	return h;
}

int nl_commit(struct nl *nl, char *err, size_t errlen)
{
	int r;

	seal(nl);
	r = flush(nl, err, errlen);
	if (nl->err) {
		r = nl->err;
		snprintf(err, errlen, "%s", nl->errmsg);
		nl->err = 0;
	}
	return r;
}
