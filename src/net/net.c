/* net.c - build the emulated network (see net.h).
 *
 * Order of work, each step batched over netlink:
 *   1. a namespace per node, each with IPv6 off (no stray router
 *      solicitations in captures) and loopback up;
 *   2. a bridge per subnet in the root namespace;
 *   3. a veth pair per interface, created in the root namespace with its
 *      peer placed straight into the node's namespace as ethN; the root
 *      end is brought up in a second request (a veth cannot open before
 *      its pair is complete: ENOTCONN);
 *   4. in each node: its interfaces up, addresses, routes, forwarding,
 *      and NAT for routers. */
#include "net.h"
#include "nl.h"
#include "../lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/ethernet.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void add_tbf(struct nl *nl, int ifindex, uint64_t bps, uint32_t mtu);
static void add_shaping(const struct net *n, struct nl *nl, int ifindex, const struct topo_cond *c,
			uint32_t mtu);
static bool netem_works(struct nl *root);

int net_enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		r = -errno;
	close(fd);
	return r;
}

/* Enough descriptors for a namespace and a socket per node. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int net_private(bool *rootless, char *err, size_t errlen)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	raise_nofile();
	*rootless = uid != 0;
	if (!*rootless) {
		if (unshare(CLONE_NEWNET)) {
			r = -errno;
			snprintf(err, errlen, "cannot make a network namespace: %s", strerror(-r));
			return r;
		}
		return 0;
	}
	/* Rootless: a user namespace where we are root, mapped to ourselves. */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		r = -errno;
		snprintf(err, errlen,
			 "cannot make a user namespace (%s); run as root, or allow "
			 "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
			 strerror(-r));
		return r;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if ((r = write_file("/proc/self/uid_map", map)) ||
	    (r = write_file("/proc/self/setgroups", "deny")) ||
	    ((void)snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid),
	     (r = write_file("/proc/self/gid_map", map)))) {
		snprintf(err, errlen, "cannot map ids in the user namespace: %s", strerror(-r));
		return r;
	}
	raise_nofile();
	return 0;
}

/* Write a sysctl of the current namespace; a missing one (no IPv6) is fine. */
static int sysctl_set(const char *path, const char *val)
{
	int r = write_file(path, val);

	return r == -ENOENT ? 0 : r;
}

/* A new namespace with IPv6 off and loopback up; we stay in root_fd. */
static int new_ns(int root_fd, int *fd, struct nl **nlp, char *err, size_t errlen)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifm;
	int r;

	if (unshare(CLONE_NEWNET)) {
		r = -errno;
		snprintf(err, errlen, "cannot make a network namespace: %s", strerror(-r));
		return r;
	}
	/* thread-self: workers make namespaces side by side */
	*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /proc/thread-self/ns/net: %s", strerror(-r));
		goto back;
	}
	/* "default" covers the ethN born here; lo keeps ::1, which never
	 * reaches a wire */
	if ((r = sysctl_set("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"))) {
		snprintf(err, errlen, "cannot turn IPv6 off: %s", strerror(-r));
		goto back;
	}
	if ((r = nl_open(nlp))) {
		snprintf(err, errlen, "cannot open netlink: %s", strerror(-r));
		goto back;
	}
	h = nl_msg(*nlp, RTM_NEWLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	ifm->ifi_index = 1; /* lo */
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
back:
	if (net_enter(root_fd)) {
		/* cannot happen with a valid fd; nothing sane is left to do */
		abort();
	}
	return r;
}

/* The MAC of a node's interface: locally administered, from its indexes,
 * so that neighbour entries can be written before anything talks. */
static void node_mac(uint8_t mac[6], size_t node, size_t iface)
{
	mac[0] = 0x02;
	mac[1] = 0x64;
	mac[2] = (uint8_t)(node >> 16);
	mac[3] = (uint8_t)(node >> 8);
	mac[4] = (uint8_t)node;
	mac[5] = (uint8_t)iface;
}

/* A permanent neighbour entry: these do not count against the kernel's
 * neighbour table limits (gc_thresh), which are shared by every
 * namespace of the machine and are not ours to raise. */
static void add_neigh(struct nl *nl, int ifindex, uint32_t addr, const uint8_t mac[6])
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(h, sizeof(*nd));

	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nd->ndm_type = RTN_UNICAST;
	mnl_attr_put_u32(h, NDA_DST, htonl(addr));
	mnl_attr_put(h, NDA_LLADDR, 6, mac);
}

static void put_name(struct nlmsghdr *h, const char *name)
{
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
}

static void root_name(char *out, size_t n, size_t node, size_t iface)
{
	snprintf(out, n, "v%zui%zu", node, iface);
}

/* The index of interface name, asked through a socket of its namespace
 * (a netlink socket will do: unknown ioctls fall through to the device
 * layer). */
static int ifindex_in(int sockfd, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sockfd, SIOCGIFINDEX, &ifr))
		return -errno;
	return ifr.ifr_ifindex;
}

static void add_addr(struct nl *nl, int ifindex, uint32_t addr, uint8_t plen)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	uint32_t a = htonl(addr), bc = htonl(addr | ~spec_mask(plen));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(h, IFA_LOCAL, a);
	mnl_attr_put_u32(h, IFA_ADDRESS, a);
	mnl_attr_put_u32(h, IFA_BROADCAST, bc);
}

static void add_route(struct nl *nl, int ifindex, const struct topo_route *r)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if (r->plen)
		mnl_attr_put_u32(h, RTA_DST, htonl(r->dst));
	mnl_attr_put_u32(h, RTA_GATEWAY, htonl(r->via));
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
}

/* Masquerade what leaves a router toward the Internet. */
static int add_nat(const char *ifname, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char *cmd;
	int r;

	if (!ctx) {
		snprintf(err, errlen, "cannot start nftables");
		return -ENOMEM;
	}
	nft_ctx_buffer_error(ctx);
	cmd = xasprintf("add table ip dynamo\n"
			"add chain ip dynamo postrouting "
			"{ type nat hook postrouting priority srcnat ; }\n"
			"add rule ip dynamo postrouting oifname \"%s\" masquerade\n", ifname);
	r = nft_run_cmd_from_buffer(ctx, cmd);
	if (r) {
		const char *e = nft_ctx_get_error_buffer(ctx);

		snprintf(err, errlen, "nftables: %s", e && *e ? e : "cannot add the NAT rule");
		r = -EINVAL;
	}
	free(cmd);
	nft_ctx_free(ctx);
	return r;
}

/* Ports per bridge, and leaf bridges a subnet of m members needs. */
#define BRIDGE_PORTS 1000
#define LEAVES(m) ((m) > BRIDGE_PORTS ? ((m) + BRIDGE_PORTS - 1) / BRIDGE_PORTS : 0)

static void add_bridge(struct nl *nl, const char *name)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct nlattr *li;

	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	put_name(h, name);
	li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, li);
}

/* A veth pair: name on bridge master (if > 0) here; its peer here, or
 * born in namespace peer_ns (if >= 0).  Both stay down, and the peer
 * joins its bridge in set_up: the kernel ignores a master given with
 * the peer. */
static void add_veth(struct nl *nl, const char *name, int master, const char *peer_name,
		     int peer_ns, uint32_t mtu, const uint8_t *peer_mac)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *li, *data, *pe;

	mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg));
	put_name(h, name);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	if (master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	pe = mnl_attr_nest_start(h, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg)); /* the peer's header */
	put_name(h, peer_name);
	if (peer_mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	if (peer_ns >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	mnl_attr_nest_end(h, pe);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, li);
}

/* Bring interface name up (a second request: a veth cannot open before
 * its pair is complete, ENOTCONN). */
static void set_up(struct nl *nl, const char *name, int master)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));

	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	put_name(h, name);
	if (master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
}

/* A bridge port toward one node: up, and no flooding of unknown unicast
 * to it (every node's MAC has a static entry, so unknown destinations
 * go only up a leaf's uplink). */
static void set_up_port(struct nl *nl, int ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct nlattr *li, *sd;

	ifm->ifi_index = ifindex;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	sd = mnl_attr_nest_start(h, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(h, IFLA_BRPORT_UNICAST_FLOOD, 0);
	mnl_attr_nest_end(h, sd);
	mnl_attr_nest_end(h, li);
}

/* A static forwarding entry: frames to mac leave bridge port ifindex. */
static void add_fdb(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(h, sizeof(*nd));

	nd->ndm_family = AF_BRIDGE;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_NOARP; /* "static" in bridge(8) */
	nd->ndm_flags = NTF_MASTER;
	mnl_attr_put(h, NDA_LLADDR, 6, mac);
}

/* Subnets up to this size get permanent entries between all members;
 * larger ones between each member and the routers on it, and between
 * each host and the hosts it probes or is probed by. */
#define NEIGH_MESH 64

struct member {
	size_t node, iface;
};

struct subnet_members {
	struct member *v;
	size_t n, cap;
};

/* What the steps of a build share. */
struct build {
	struct net *n;
	struct nl **nls;            /* per node, opened in its namespace */
	struct subnet_members *sm;  /* per subnet */
};

#define NET_MAX_WORKERS 8

static void add_neighbour_of(struct nl *nl, int ifindex, const struct topo *t, struct member m)
{
	uint8_t mac[6];

	node_mac(mac, m.node, m.iface);
	add_neigh(nl, ifindex, t->nodes[m.node].ifaces[m.iface].addr, mac);
}

/* Permanent entries on interface k of node i for the members of its
 * subnet that it talks to directly. */
static void add_neighbours(const struct net *n, struct nl *nl, size_t i, size_t k, int ifindex,
			   const struct subnet_members *sm)
{
	const struct topo *t = n->topo;
	const struct topo_node *me = &t->nodes[i];
	const struct subnet_members *mine = &sm[me->ifaces[k].subnet];
	bool mesh = mine->n <= NEIGH_MESH;

	for (size_t m = 0; m < mine->n; m++) {
		const struct member *o = &mine->v[m];

		if (o->node == i)
			continue;
		if (mesh || me->kind == TOPO_ROUTER || t->nodes[o->node].kind == TOPO_ROUTER)
			add_neighbour_of(nl, ifindex, t, *o);
	}
	if (mesh || me->kind == TOPO_ROUTER)
		return;
	/* the ring of probes: the one i pings, and the one that pings i */
	for (size_t m = 0; m < mine->n; m++) {
		const struct member *o = &mine->v[m];

		if (o->node != i && (n->probe[i] == o->node || n->probe[o->node] == i) &&
		    t->nodes[o->node].kind != TOPO_ROUTER)
			add_neighbour_of(nl, ifindex, t, *o);
	}
}

/* Whom each host pings to prove it is reachable: its default gateway,
 * else the next host of its subnet (a ring, so no host answers many). */
static void choose_probes(struct net *n, const struct subnet_members *sm)
{
	const struct topo *t = n->topo;

	for (size_t i = 0; i < t->nnodes; i++)
		n->probe[i] = TOPO_NONE;
	for (size_t s = 0; s < t->nsubnets; s++) {
		const struct subnet_members *m = &sm[s];
		size_t first = TOPO_NONE, prev = TOPO_NONE;

		for (size_t k = 0; k < m->n; k++) {
			size_t i = m->v[k].node;
			const struct topo_node *nd = &t->nodes[i];
			bool gw = false;

			if (nd->kind != TOPO_HOST)
				continue;
			for (size_t r = 0; r < nd->nroutes; r++) {
				if (nd->routes[r].plen == 0) {
					size_t f;

					n->probe[i] = topo_addr_owner(t, nd->routes[r].via, &f);
					gw = true;
				}
			}
			if (gw)
				continue;
			if (first == TOPO_NONE)
				first = i;
			if (prev != TOPO_NONE)
				n->probe[prev] = i;
			prev = i;
		}
		if (prev != TOPO_NONE && first != prev)
			n->probe[prev] = first;
	}
}

/* Step 4 for node i: its interfaces up, addresses, neighbours, routes,
 * forwarding and NAT, from inside its namespace. */
static int config_node(struct build *b, size_t i, char *err, size_t errlen)
{
	const struct net *n = b->n;
	const struct topo *t = n->topo;
	const struct topo_node *nd = &t->nodes[i];
	struct nl *nl = b->nls[i];
	int r = 0, *idx;

	if ((r = net_enter(n->ns_fd[i]))) {
		snprintf(err, errlen, "cannot enter the namespace of %s: %s", nd->name,
			 strerror(-r));
		return r;
	}
	idx = xcalloc(nd->nifaces + 1, sizeof(*idx));
	for (size_t k = 0; k < nd->nifaces && !r; k++) {
		idx[k] = ifindex_in(nl_fd(nl), nd->ifaces[k].name);
		if (idx[k] < 0) {
			r = idx[k];
			snprintf(err, errlen, "%s %s: %s", nd->name, nd->ifaces[k].name, strerror(-r));
		}
	}
	for (size_t k = 0; k < nd->nifaces && !r; k++) {
		struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
		struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));

		ifm->ifi_index = idx[k];
		ifm->ifi_flags = ifm->ifi_change = IFF_UP;
		add_addr(nl, idx[k], nd->ifaces[k].addr, t->subnets[nd->ifaces[k].subnet].plen);
		add_shaping(n, nl, idx[k], &nd->ifaces[k].up, nd->ifaces[k].mtu);
	}
	for (size_t k = 0; k < nd->nifaces && !r; k++)
		add_neighbours(n, nl, i, k, idx[k], b->sm);
	for (size_t k = 0; k < nd->nroutes && !r; k++)
		add_route(nl, idx[nd->routes[k].iface], &nd->routes[k]);
	if (!r && (r = nl_commit(nl, err, errlen))) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", nd->name, tmp);
	}
	if (!r && nd->kind == TOPO_ROUTER &&
	    (r = sysctl_set("/proc/sys/net/ipv4/ip_forward", "1")))
		snprintf(err, errlen, "%s: cannot turn forwarding on: %s", nd->name, strerror(-r));
	for (size_t k = 0; !r && nd->nat && k < nd->nifaces; k++)
		if (t->subnets[nd->ifaces[k].subnet].external)
			r = add_nat(nd->ifaces[k].name, err, errlen);
	free(idx);
	if (net_enter(n->root_fd))
		abort();
	return r;
}

/* Step 1 for node i. */
static int make_ns(struct build *b, size_t i, char *err, size_t errlen)
{
	return new_ns(b->n->root_fd, &b->n->ns_fd[i], &b->nls[i], err, errlen);
}

struct worker {
	pthread_t tid;
	struct build *b;
	int (*fn)(struct build *, size_t, char *, size_t);
	size_t from, to;
	int r;
	char err[256];
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (size_t i = w->from; i < w->to && !w->r; i++)
		w->r = w->fn(w->b, i, w->err, sizeof(w->err));
	return NULL;
}

/* Run fn for every node, spread over one thread per CPU (namespaces
 * have their own RTNL lock, so their work runs side by side).  Each
 * thread moves between namespaces on its own (setns is per thread). */
static int parallel(struct build *b, int (*fn)(struct build *, size_t, char *, size_t),
		    char *err, size_t errlen)
{
	size_t nn = b->n->topo->nnodes, nw = 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct worker w[NET_MAX_WORKERS] = { 0 };
	int r = 0;

	if (cpus > 1 && nn >= 64)
		nw = MIN((size_t)cpus, (size_t)NET_MAX_WORKERS);
	for (size_t k = 0; k < nw; k++) {
		w[k].b = b;
		w[k].fn = fn;
		w[k].from = nn * k / nw;
		w[k].to = nn * (k + 1) / nw;
	}
	/* the calling thread is the first worker */
	for (size_t k = 1; k < nw; k++) {
		if (pthread_create(&w[k].tid, NULL, work, &w[k])) {
			/* fewer threads: run its share here */
			w[k].tid = 0;
		}
	}
	work(&w[0]);
	for (size_t k = 1; k < nw; k++) {
		if (w[k].tid)
			pthread_join(w[k].tid, NULL);
		else
			work(&w[k]);
	}
	for (size_t k = 0; k < nw && !r; k++) {
		if (w[k].r) {
			r = w[k].r;
			snprintf(err, errlen, "%s", w[k].err);
		}
	}
	return r;
}

/* A match-all filter on a clsact hook of ifindex whose actions copy
 * every frame out of each of the n interfaces in to, and let the original
 * go on.  One filter carries them all: tc runs only the first filter that
 * matches. */
static void add_mirror_filter(struct nl *nl, int ifindex, uint32_t hook, const int *to, size_t n)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(h, sizeof(*tcm));
	/* a selector and its one key, back to back as the kernel reads them */
	union {
		struct tc_u32_sel sel;
		char bytes[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	} sel;
	struct tc_mirred mir;
	struct nlattr *opt, *acts, *act, *aopt;

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_MAKE(TC_H_CLSACT, hook);
	tcm->tcm_info = TC_H_MAKE(0, htons(ETH_P_ALL)); /* priority chosen by the kernel */
	mnl_attr_put_strz(h, TCA_KIND, "u32");
	opt = mnl_attr_nest_start(h, TCA_OPTIONS);
	memset(&sel, 0, sizeof(sel));
	sel.sel.flags = TC_U32_TERMINAL;
	sel.sel.nkeys = 1; /* mask 0: every frame matches */
	mnl_attr_put(h, TCA_U32_SEL, sizeof(sel.bytes), sel.bytes);
	acts = mnl_attr_nest_start(h, TCA_U32_ACT);
	for (size_t i = 0; i < n; i++) {
		act = mnl_attr_nest_start(h, (uint16_t)(i + 1)); /* the action's order */
		mnl_attr_put_strz(h, TCA_ACT_KIND, "mirred");
		aopt = mnl_attr_nest_start(h, TCA_ACT_OPTIONS);
		memset(&mir, 0, sizeof(mir));
		mir.action = TC_ACT_PIPE;
		mir.eaction = TCA_EGRESS_MIRROR;
		mir.ifindex = (uint32_t)to[i];
		mnl_attr_put(h, TCA_MIRRED_PARMS, sizeof(mir), &mir);
		mnl_attr_nest_end(h, aopt);
		mnl_attr_nest_end(h, act);
	}
	mnl_attr_nest_end(h, acts);
	mnl_attr_nest_end(h, opt);
}

static void add_clsact(struct nl *nl, int ifindex)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(h, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	tcm->tcm_parent = TC_H_CLSACT;
	mnl_attr_put_strz(h, TCA_KIND, "clsact");
}

/* Where each port's frames are copied to, per hook. */
struct port_copies {
	int *to[2];     /* ingress, egress */
	size_t n[2], cap[2];
};

/* Step 5: a veth per mirror, its far end in the monitor as monN (up,
 * no address), and the copying filters on the mirrored ports. */
static int build_mirrors(struct net *n, struct nl *root, struct nl **nls, char *err,
			 size_t errlen)
{
	const struct topo *t = n->topo;
	int sk = nl_fd(root), r = 0;
	size_t *off = xcalloc(t->nnodes + 1, sizeof(*off)), nslots;
	struct port_copies *pc;
	char name[48];

	for (size_t i = 0; i < t->nnodes; i++)
		off[i + 1] = off[i] + t->nodes[i].nifaces;
	nslots = off[t->nnodes];
	pc = xcalloc(nslots + 1, sizeof(*pc));
	for (size_t m = 0; m < t->nmirrors; m++) {
		snprintf(name, sizeof(name), "m%zu", m);
		add_veth(root, name, 0, t->mirrors[m].ifname, n->ns_fd[t->mirrors[m].monitor], 0,
			 NULL);
	}
	if ((r = nl_commit(root, err, errlen)))
		goto out;
	for (size_t m = 0; m < t->nmirrors; m++) {
		const struct topo_mirror *tm = &t->mirrors[m];
		int mif;

		snprintf(name, sizeof(name), "m%zu", m);
		set_up(root, name, 0);
		set_up(nls[tm->monitor], tm->ifname, 0);
		if ((r = nl_commit(nls[tm->monitor], err, errlen)))
			goto out;
		mif = ifindex_in(sk, name);
		if (mif < 0) {
			r = mif;
			snprintf(err, errlen, "mirror %s: %s", name, strerror(-r));
			goto out;
		}
		for (size_t k = 0; k < tm->nports; k++) {
			struct port_copies *c = &pc[off[tm->ports[k].node] + tm->ports[k].iface];

			/* the root end's ingress is what the node sends */
			*VEC_PUSH(c->to[0], c->n[0], c->cap[0]) = mif;
			if (tm->ports[k].both)
				*VEC_PUSH(c->to[1], c->n[1], c->cap[1]) = mif;
		}
	}
	for (size_t i = 0; i < t->nnodes && !r; i++) {
		for (size_t k = 0; k < t->nodes[i].nifaces; k++) {
			struct port_copies *c = &pc[off[i] + k];
			int port;

			if (!c->n[0] && !c->n[1])
				continue;
			root_name(name, sizeof(name), i, k);
			port = ifindex_in(sk, name);
			if (port < 0) {
				r = port;
				snprintf(err, errlen, "mirror port %s: %s", name, strerror(-r));
				break;
			}
			add_clsact(root, port);
			if (c->n[0])
				add_mirror_filter(root, port, TC_H_MIN_INGRESS, c->to[0], c->n[0]);
			if (c->n[1])
				add_mirror_filter(root, port, TC_H_MIN_EGRESS, c->to[1], c->n[1]);
		}
	}
	if (!r)
		r = nl_commit(root, err, errlen);
out:
	for (size_t i = 0; i < nslots; i++) {
		free(pc[i].to[0]);
		free(pc[i].to[1]);
	}
	free(pc);
	free(off);
	return r;
}

int net_build(struct net *n, const struct topo *t, char *err, size_t errlen)
{
	struct nl *root = NULL, **nls = NULL;
	int r = 0, *brindex = NULL;
	size_t *members = NULL, *brfirst = NULL, *seen = NULL, nbr, wcap = 0;
	struct subnet_members *sm = NULL;
	struct build bld;
	char name[48]; /* IFNAMSIZ is enough: node indexes are bounded */

	bool rootless = n->rootless; /* set by net_private */

	memset(n, 0, sizeof(*n));
	n->rootless = rootless;
	n->topo = t;
	n->ns_fd = xcalloc(t->nnodes + 1, sizeof(*n->ns_fd));
	for (size_t i = 0; i < t->nnodes; i++)
		n->ns_fd[i] = -1;
	nls = xcalloc(t->nnodes + 1, sizeof(*nls));
	n->root_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->root_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /proc/self/ns/net: %s", strerror(-r));
		goto out;
	}
	(void)sysctl_set("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	(void)sysctl_set("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");

	/* 1. namespaces */
	members = xcalloc(t->nsubnets + 1, sizeof(*members));
	sm = xcalloc(t->nsubnets + 1, sizeof(*sm));
	for (size_t i = 0; i < t->nnodes; i++) {
		for (size_t k = 0; k < t->nodes[i].nifaces; k++) {
			size_t s = t->nodes[i].ifaces[k].subnet;
			struct member *m = VEC_PUSH(sm[s].v, sm[s].n, sm[s].cap);

			m->node = i;
			m->iface = k;
			members[s]++;
		}
	}
	n->probe = xcalloc(t->nnodes + 1, sizeof(*n->probe));
	choose_probes(n, sm);
	bld.n = n;
	bld.nls = nls;
	bld.sm = sm;
	if ((r = parallel(&bld, make_ns, err, errlen)))
		goto out;

	/* 2. a bridge per subnet; past BRIDGE_PORTS members, a trunk bridge
	 * with leaf bridges under it (a bridge takes at most 1024 ports) */
	if ((r = nl_open(&root))) {
		snprintf(err, errlen, "cannot open netlink: %s", strerror(-r));
		goto out;
	}
	for (size_t s = 0; s < t->nsubnets; s++) {
		size_t leaves = LEAVES(members[s]);

		snprintf(name, sizeof(name), "br%zu", s);
		add_bridge(root, name);
		for (size_t j = 0; j < leaves; j++) {
			snprintf(name, sizeof(name), "br%zul%zu", s, j);
			add_bridge(root, name);
		}
	}
	if ((r = nl_commit(root, err, errlen)))
		goto out;
	nbr = 0;
	for (size_t s = 0; s < t->nsubnets; s++)
		nbr += 1 + LEAVES(members[s]);
	brindex = xcalloc(nbr + 1, sizeof(*brindex));
	brfirst = xcalloc(t->nsubnets + 1, sizeof(*brfirst));
	{
		int sk = nl_fd(root);
		size_t b = 0;

		for (size_t s = 0; s < t->nsubnets && !r; s++) {
			brfirst[s] = b;
			for (size_t j = 0; j <= LEAVES(members[s]) && !r; j++, b++) {
				if (j == 0)
					snprintf(name, sizeof(name), "br%zu", s);
				else
					snprintf(name, sizeof(name), "br%zul%zu", s, j - 1);
				brindex[b] = ifindex_in(sk, name);
				if (brindex[b] < 0) {
					r = brindex[b];
					snprintf(err, errlen, "bridge %s: %s", name, strerror(-r));
				}
			}
		}
		if (r)
			goto out;
	}
	/* leaves hang off their trunk by a veth pair */
	for (size_t s = 0; s < t->nsubnets; s++) {
		for (size_t j = 0; j < LEAVES(members[s]); j++) {
			char peer[48];

			snprintf(name, sizeof(name), "t%zul%zu", s, j);
			snprintf(peer, sizeof(peer), "t%zul%zup", s, j);
			add_veth(root, name, brindex[brfirst[s]], peer, -1, 0, NULL);
		}
	}
	if ((r = nl_commit(root, err, errlen)))
		goto out;

	/* 3. a veth pair per interface, the peer born in the node; links
	 * with delay, jitter or loss are cut for a wire unless netem works */
	for (size_t i = 0; i < t->nnodes && !n->netem; i++)
		for (size_t k = 0; k < t->nodes[i].nifaces; k++)
			if (net_needs_wire(&t->nodes[i].ifaces[k])) {
				n->netem = netem_works(root);
				break;
			}
	seen = xcalloc(t->nsubnets + 1, sizeof(*seen));
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct topo_node *nd = &t->nodes[i];

		for (size_t k = 0; k < nd->nifaces; k++) {
			const struct topo_iface *f = &nd->ifaces[k];
			size_t s = f->subnet, ord = seen[s]++;
			int br = LEAVES(members[s]) ? brindex[brfirst[s] + 1 + ord / BRIDGE_PORTS]
						    : brindex[brfirst[s]];

			uint8_t mac[6];

			node_mac(mac, i, k);
			root_name(name, sizeof(name), i, k);
			if (n->netem || !net_needs_wire(f)) {
				add_veth(root, name, br, f->name, n->ns_fd[i], f->mtu, mac);
			} else {
				/* cut for a wire: the node's pair stays off the
				 * bridge; a second pair x..w joins it */
				char x[48], w[48];

				add_veth(root, name, 0, f->name, n->ns_fd[i], f->mtu, mac);
				snprintf(x, sizeof(x), "x%zui%zu", i, k);
				snprintf(w, sizeof(w), "w%zui%zu", i, k);
				add_veth(root, x, br, w, -1, f->mtu, NULL);
			}
		}
	}
	if ((r = nl_commit(root, err, errlen)))
		goto out;
	/* the root ends up, now that each pair is whole, with static
	 * forwarding entries: no bridge floods while the network warms up */
	{
		int sk = nl_fd(root);
		size_t *ord = xcalloc(t->nsubnets + 1, sizeof(*ord));

		for (size_t i = 0; i < t->nnodes && !r; i++) {
			for (size_t k = 0; k < t->nodes[i].nifaces && !r; k++) {
				size_t s = t->nodes[i].ifaces[k].subnet, o = ord[s]++;
				uint8_t mac[6];
				int port;

				const struct topo_iface *f = &t->nodes[i].ifaces[k];

				root_name(name, sizeof(name), i, k);
				port = ifindex_in(sk, name);
				if (port < 0) {
					r = port;
					snprintf(err, errlen, "%s: %s", name, strerror(-r));
					break;
				}
				node_mac(mac, i, k);
				add_shaping(n, root, port, &f->down, f->mtu);
				if (!n->netem && net_needs_wire(f)) {
					struct net_wire *w = VEC_PUSH(n->wires, n->nwires, wcap);
					char x[48], wn[48];
					int xport, wport;

					snprintf(x, sizeof(x), "x%zui%zu", i, k);
					snprintf(wn, sizeof(wn), "w%zui%zu", i, k);
					xport = ifindex_in(sk, x);
					wport = ifindex_in(sk, wn);
					if (xport < 0 || wport < 0) {
						r = xport < 0 ? xport : wport;
						snprintf(err, errlen, "%s: %s", x, strerror(-r));
						break;
					}
					set_up(root, name, 0);
					set_up(root, wn, 0);
					w->a = port;
					w->b = wport;
					w->node = i;
					w->iface = k;
					port = xport; /* the bridge's port for this node */
				}
				set_up_port(root, port);
				add_fdb(root, port, mac);
				if (LEAVES(members[s])) {
					/* and on the trunk, toward the leaf */
					snprintf(name, sizeof(name), "t%zul%zu", s, o / BRIDGE_PORTS);
					port = ifindex_in(sk, name);
					if (port < 0) {
						r = port;
						snprintf(err, errlen, "%s: %s", name, strerror(-r));
						break;
					}
					add_fdb(root, port, mac);
				}
			}
		}
		free(ord);
		if (r)
			goto out;
	}
	for (size_t s = 0; s < t->nsubnets; s++) {
		for (size_t j = 0; j < LEAVES(members[s]); j++) {
			snprintf(name, sizeof(name), "t%zul%zu", s, j);
			set_up(root, name, 0);
			snprintf(name, sizeof(name), "t%zul%zup", s, j);
			set_up(root, name, brindex[brfirst[s] + 1 + j]);
		}
	}
	if ((r = nl_commit(root, err, errlen)))
		goto out;

	/* 4. addresses, routes, forwarding and NAT, node by node */
	if ((r = parallel(&bld, config_node, err, errlen)))
		goto out;

	/* 5. mirrors: copies to an interface of the monitoring host */
	if (t->nmirrors && (r = build_mirrors(n, root, nls, err, errlen)))
		goto out;
out:
	for (size_t i = 0; i < t->nnodes; i++)
		nl_close(nls[i]);
	free(nls);
	nl_close(root);
	free(brindex);
	free(brfirst);
	free(seen);
	free(members);
	for (size_t i = 0; sm && i < t->nsubnets; i++)
		free(sm[i].v);
	free(sm);
	return r;
}

/* ---- link conditions ---------------------------------------------- */

bool net_needs_wire(const struct topo_iface *f)
{
	return f->up.delay_us || f->up.jitter_us || f->up.loss_ppm || f->down.delay_us ||
	       f->down.jitter_us || f->down.loss_ppm;
}

/* A rate limit on ifindex's way out: tbf.  The spec's rates count IP
 * bytes, tbf counts frames with their 14-byte Ethernet header: scale for
 * full-size frames.  The bucket holds 2 ms of traffic (at least two
 * frames); the queue 50 ms more. */
static void add_tbf(struct nl *nl, int ifindex, uint64_t bps, uint32_t mtu)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(h, sizeof(*tcm));
	struct tc_tbf_qopt q;
	uint64_t Bps = (uint64_t)((double)bps / 8.0 * (mtu + 14.0) / mtu + 0.5);
	uint32_t burst = (uint32_t)MAX(Bps / 500, 2 * ((uint64_t)mtu + 14));
	struct nlattr *opt;

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = 0x10000;
	tcm->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(h, TCA_KIND, "tbf");
	memset(&q, 0, sizeof(q));
	q.rate.linklayer = TC_LINKLAYER_ETHERNET; /* no rate table needed */
	q.rate.rate = (uint32_t)MIN(Bps, (uint64_t)UINT32_MAX);
	q.limit = (uint32_t)MIN(Bps / 20 + burst, (uint64_t)UINT32_MAX);
	opt = mnl_attr_nest_start(h, TCA_OPTIONS);
	mnl_attr_put(h, TCA_TBF_PARMS, sizeof(q), &q);
	if (Bps >= UINT32_MAX)
		mnl_attr_put_u64(h, TCA_TBF_RATE64, Bps);
	mnl_attr_put_u32(h, TCA_TBF_BURST, burst);
	mnl_attr_nest_end(h, opt);
}

static bool cond_needs_netem(const struct topo_cond *c)
{
	return c->delay_us || c->jitter_us || c->loss_ppm;
}

/* netem on ifindex's way out: delay, jitter, loss, and the rate with
 * 14 bytes taken off each frame, so that it counts IP bytes exactly.  Its
 * options are a struct followed by attributes, all in TCA_OPTIONS, as
 * iproute2 writes them. */
static void add_netem(struct nl *nl, int ifindex, const struct topo_cond *c)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(h, sizeof(*tcm));
	struct tc_netem_qopt q;
	struct nlattr *opt;
	int64_t ns;

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = 0x10000;
	tcm->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(h, TCA_KIND, "netem");
	memset(&q, 0, sizeof(q));
	q.limit = 100000; /* packets: a second of a 1 Gbps link */
	q.loss = (uint32_t)((uint64_t)c->loss_ppm * UINT32_MAX / 1000000);
	opt = mnl_nlmsg_get_payload_tail(h);
	mnl_attr_put(h, TCA_OPTIONS, sizeof(q), &q);
	ns = (int64_t)c->delay_us * 1000;
	mnl_attr_put(h, TCA_NETEM_LATENCY64, sizeof(ns), &ns);
	ns = (int64_t)c->jitter_us * 1000;
	mnl_attr_put(h, TCA_NETEM_JITTER64, sizeof(ns), &ns);
	if (c->rate) {
		struct tc_netem_rate rt = { 0 };
		uint64_t Bps = c->rate / 8;

		rt.rate = (uint32_t)MIN(Bps, (uint64_t)UINT32_MAX);
		rt.packet_overhead = -14;
		mnl_attr_put(h, TCA_NETEM_RATE, sizeof(rt), &rt);
		if (Bps >= UINT32_MAX)
			mnl_attr_put_u64(h, TCA_NETEM_RATE64, Bps);
	}
	opt->nla_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(h) - (char *)opt);
}

/* One direction's way out: netem where the kernel does it and the
 * direction needs it, else tbf for a rate alone. */
static void add_shaping(const struct net *n, struct nl *nl, int ifindex, const struct topo_cond *c,
			uint32_t mtu)
{
	if (n->netem && cond_needs_netem(c))
		add_netem(nl, ifindex, c);
	else if (c->rate)
		add_tbf(nl, ifindex, c->rate, mtu);
}

/* Does this kernel take the netem queue dynamo would ask for?  Tried on a
 * scratch veth pair in the root namespace, with the very request links
 * would get, so a kernel without netem (or a request it refuses) means
 * the wire.  DYNAMO_LINKS=wire chooses the wire anyway. */
static bool netem_works(struct nl *root)
{
	const char *force = getenv("DYNAMO_LINKS");
	struct topo_cond c = { .rate = 1000000, .delay_us = 1000, .jitter_us = 100,
			       .loss_ppm = 10000 };
	char err[256], name[] = "dyn-netem";
	int idx, r;
	struct nlmsghdr *h;

	if (force && !strcmp(force, "wire"))
		return false;
	add_veth(root, name, 0, "dyn-netem-p", -1, 0, NULL);
	if (nl_commit(root, err, sizeof(err)))
		return false;
	idx = ifindex_in(nl_fd(root), name);
	r = -1;
	if (idx > 0) {
		add_netem(root, idx, &c);
		r = nl_commit(root, err, sizeof(err));
	}
	h = nl_msg(root, RTM_DELLINK, 0);
	mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg));
	put_name(h, name);
	(void)!nl_commit(root, err, sizeof(err));
	return r == 0;
}

/* ---- the reachability probe ------------------------------------------- */

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_probe(struct net *n, int timeout_ms, char *err, size_t errlen)
{
	const struct topo *t = n->topo;
	struct pollfd *pfd = xcalloc(t->nnodes + 1, sizeof(*pfd));
	uint32_t *target = xcalloc(t->nnodes + 1, sizeof(*target));
	bool *done = xcalloc(t->nnodes + 1, sizeof(*done));
	size_t left = 0;
	long start = now_ms(), last_send = -1000;
	int r = 0;

	for (size_t i = 0; i < t->nnodes; i++) {
		pfd[i].fd = -1;
		if (n->probe[i] == TOPO_NONE) {
			done[i] = true;
			continue;
		}
		if ((r = net_enter(n->ns_fd[i])))
			goto out;
		pfd[i].fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		r = pfd[i].fd < 0 ? -errno : 0;
		if (net_enter(n->root_fd))
			abort();
		if (r) {
			snprintf(err, errlen, "%s: raw socket: %s", t->nodes[i].name, strerror(-r));
			goto out;
		}
		pfd[i].events = POLLIN;
		target[i] = t->nodes[n->probe[i]].ifaces[0].addr;
		for (size_t k = 0; k < t->nodes[n->probe[i]].nifaces; k++)
			if (t->nodes[n->probe[i]].ifaces[k].subnet == t->nodes[i].ifaces[0].subnet)
				target[i] = t->nodes[n->probe[i]].ifaces[k].addr;
		left++;
	}
	while (left) {
		long now = now_ms();

		if (now - start > timeout_ms) {
			for (size_t i = 0; i < t->nnodes; i++) {
				char a[20];

				if (done[i])
					continue;
				fmt_ipv4(a, sizeof(a), target[i]);
				snprintf(err, errlen, "%s does not reach %s (%zu host%s unreachable)",
					 t->nodes[i].name, a, left, left == 1 ? "" : "s");
				break;
			}
			r = -ETIMEDOUT;
			goto out;
		}
		if (now - last_send >= 100) {
			/* one echo per unanswered host, every 100 ms */
			for (size_t i = 0; i < t->nnodes; i++) {
				struct icmphdr ic = { .type = ICMP_ECHO };
				struct sockaddr_in to = { .sin_family = AF_INET };

				if (done[i])
					continue;
				ic.un.echo.id = htons((uint16_t)i);
				ic.un.echo.sequence = htons((uint16_t)(i >> 16));
				ic.checksum = csum(&ic, sizeof(ic));
				to.sin_addr.s_addr = htonl(target[i]);
				(void)sendto(pfd[i].fd, &ic, sizeof(ic), 0, (struct sockaddr *)&to,
					     sizeof(to));
			}
			last_send = now;
		}
		if (poll(pfd, t->nnodes, 20) < 0 && errno != EINTR) {
			r = -errno;
			snprintf(err, errlen, "poll: %s", strerror(-r));
			goto out;
		}
		for (size_t i = 0; i < t->nnodes; i++) {
			uint8_t buf[256];
			ssize_t len;

			if (done[i] || !(pfd[i].revents & POLLIN))
				continue;
			while ((len = recv(pfd[i].fd, buf, sizeof(buf), 0)) > 0) {
				size_t ihl = (size_t)(buf[0] & 15) * 4;
				const struct icmphdr *ic = (const void *)(buf + ihl);
				uint32_t src;

				if ((size_t)len < ihl + sizeof(*ic) || ic->type != ICMP_ECHOREPLY)
					continue;
				memcpy(&src, buf + 12, 4);
				if (ntohl(src) == target[i] && ntohs(ic->un.echo.id) == (uint16_t)i) {
					done[i] = true;
					left--;
					break;
				}
			}
		}
	}
out:
	for (size_t i = 0; i < t->nnodes; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	free(target);
	free(done);
	return r;
}

void net_destroy(struct net *n)
{
	if (!n)
		return;
	for (size_t i = 0; n->ns_fd && n->topo && i < n->topo->nnodes; i++)
		if (n->ns_fd[i] >= 0)
			close(n->ns_fd[i]);
	free(n->ns_fd);
	n->ns_fd = NULL;
	free(n->probe);
	n->probe = NULL;
	free(n->wires);
	n->wires = NULL;
	n->nwires = 0;
	if (n->root_fd > 0)
		close(n->root_fd);
	n->root_fd = -1;
}
