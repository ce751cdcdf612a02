/* loop-epoll.c - the event loop's Linux backend: one epoll set, the io
 * pointer as the event's data, up to 256 events per wait. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop-int.h"

#define BATCH 256

struct loop__backend {
	int epfd;
	struct epoll_event ev[BATCH];
};

int loop__be_new(struct loop__backend **out)
{
	struct loop__backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (be->epfd < 0) {
		int err = -errno;

		free(be);
		return err;
	}
	*out = be;
	return 0;
}

void loop__be_free(struct loop__backend *be)
{
	if (!be)
		return;
	close(be->epfd);
	free(be);
}

int loop__be_set(struct loop__backend *be, struct io *io, unsigned old, unsigned mask)
{
	struct epoll_event ev = { .data.ptr = io };
	int op;

	if (mask & IO_IN)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (mask & IO_OUT)
		ev.events |= EPOLLOUT;
	op = !mask ? EPOLL_CTL_DEL : old ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(be->epfd, op, io->fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop__be_poll(struct loop__backend *be, struct loop *l, int timeout_ms,
		  void (*fire)(struct loop *l, struct io *io, unsigned revents))
{
	int n = epoll_wait(be->epfd, be->ev, BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		unsigned e = be->ev[i].events, r = 0;

		if (e & (EPOLLIN | EPOLLRDHUP))
			r |= IO_IN;
		if (e & EPOLLOUT)
			r |= IO_OUT;
		if (e & (EPOLLERR | EPOLLHUP))
			r |= IO_IN | IO_OUT;
		fire(l, be->ev[i].data.ptr, r);
	}
	return n;
}
