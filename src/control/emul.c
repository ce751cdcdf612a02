/* emul.c - see emul.h.  The wire thread starts as soon as the network
 * exists, before the probe: hosts behind a delayed link answer only
 * through it. */
#include "emul.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void *wire_main(void *arg)
{
	struct emul *e = arg;
	char err[256];

	if (wires_run(e->wires, e->stop, err, sizeof(err)))
		_exit(1); /* a network whose links stopped is no network: go */
	return NULL;
}

static int start_wires(struct emul *e, const struct topo *t, char *err, size_t errlen)
{
	const struct net *n = &e->net;
	int r;

	if (!n->nwires)
		return 0;
	e->stop = eventfd(0, EFD_CLOEXEC);
	if (e->stop < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot start the links: %s", strerror(-r));
		return r;
	}
	if ((r = wires_new(&e->wires, (uint64_t)getpid()))) {
		snprintf(err, errlen, "cannot start the links: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n->nwires; i++) {
		const struct topo_iface *f = &t->nodes[n->wires[i].node].ifaces[n->wires[i].iface];

		if ((r = wire_add(e->wires, n->wires[i].a, n->wires[i].b, &f->up, &f->down, err,
				  errlen)))
			return r;
	}
	if ((r = pthread_create(&e->tid, NULL, wire_main, e))) {
		snprintf(err, errlen, "cannot start the links: %s", strerror(r));
		return -r;
	}
	e->running = true;
	return 0;
}

int emul_start(struct emul *e, const struct topo *t, int timeout_ms, char *err, size_t errlen)
{
	int r;

	memset(e, 0, sizeof(*e));
	e->stop = -1;
	if ((r = net_private(&e->net.rootless, err, errlen)) ||
	    (r = net_build(&e->net, t, err, errlen)) ||
	    (r = start_wires(e, t, err, errlen)) ||
	    (r = net_probe(&e->net, timeout_ms, err, errlen)))
		return r;
	return 0;
}

void emul_stop(struct emul *e)
{
	uint64_t one = 1;

	if (e->running) {
		(void)!write(e->stop, &one, sizeof(one));
		pthread_join(e->tid, NULL);
		e->running = false;
	}
	wires_free(e->wires);
	e->wires = NULL;
	if (e->stop >= 0)
		close(e->stop);
	e->stop = -1;
	net_destroy(&e->net);
}
