/* loop-epoll.c - the event loop's Linux backend: one epoll set, the io
 * pointer as the event's data, up to 256 events per wait, timeouts to the
 * nanosecond. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loop-int.h"

#define BATCH 256

struct loop__backend {
	int epfd;
	bool no_pwait2;            /* the kernel lacks epoll_pwait2 */
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

int loop__be_poll(struct loop__backend *be, struct loop *l, int64_t timeout_ns,
		  void (*fire)(struct loop *l, struct io *io, unsigned revents))
{
	struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
	int n = -1;

	/* epoll_pwait2 (Linux 5.11) waits to the nanosecond; epoll_wait
	 * to the millisecond, rounded up */
	if (!be->no_pwait2) {
		n = epoll_pwait2(be->epfd, be->ev, BATCH, timeout_ns < 0 ? NULL : &ts, NULL);
		if (n < 0 && errno == ENOSYS)
			be->no_pwait2 = true;
	}
	if (be->no_pwait2)
		n = epoll_wait(be->epfd, be->ev, BATCH,
			       timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000));

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
