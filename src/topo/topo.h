/* topo.h - the resolved network of a checked spec: subnets with address
 * ranges, hosts and routers with interfaces, addresses, link conditions
 * and routes.  Pure data; src/net makes it real. */
#ifndef DYNAMO_TOPO_H
#define DYNAMO_TOPO_H

#include "../spec/spec.h"
#include "../lib/strmap.h"

#define TOPO_NONE ((size_t)-1)
#define TOPO_DEFAULT_MTU 1500

/* One direction of a link; zero fields are "unlimited" / "none". */
struct topo_cond {
	uint64_t rate;       /* bits/s */
	uint64_t delay_us, jitter_us;
	uint32_t loss_ppm;
};

struct topo_iface {
	char name[16];        /* eth0, eth1, ... */
	size_t subnet;
	uint32_t addr;
	uint32_t mtu;
	struct topo_cond up;   /* node -> subnet */
	struct topo_cond down; /* subnet -> node */
};

struct topo_route {
	uint32_t dst;
	uint8_t plen;         /* 0: the default route */
	uint32_t via;         /* next hop; 0 when directly connected */
	size_t iface;
};

enum topo_kind { TOPO_HOST, TOPO_ROUTER };

struct topo_node {
	char *name;
	enum topo_kind kind;
	bool implicit;        /* made by dynamo: used but not declared */
	bool external;        /* a host in the emulated Internet */
	bool nat;             /* router: masquerade toward external */
	const struct spec_host *decl; /* declared hosts only */
	struct topo_iface *ifaces;
	size_t nifaces, ifaces_cap;
	struct topo_route *routes;
	size_t nroutes, routes_cap;
};

struct topo_subnet {
	char *name;
	uint32_t addr;
	uint8_t plen;
	bool implicit;        /* the default LAN, or addressed by dynamo */
	bool external;        /* the emulated Internet */
	int decl;             /* index into spec->subnets, or -1 */
};

/* A mirror: the ports whose frames are copied to an interface of the
 * monitoring host.  A subnet's ports copy what enters the switch (each
 * frame once); a link's port copies both ways. */
struct topo_mirror {
	size_t monitor;         /* node */
	char ifname[16];        /* its interface for the copies: mon0, ... */
	struct topo_port {
		size_t node, iface;
		bool both;      /* both ways, not only into the switch */
	} *ports;
	size_t nports;
};

struct topo {
	struct topo_subnet *subnets;
	size_t nsubnets, subnets_cap;
	struct topo_node *nodes;
	size_t nnodes, nodes_cap;
	struct strmap byname;   /* node and subnet names -> index + 1 */
	size_t *gen_external;   /* per generate statement: its external server */
	size_t lan;             /* the default LAN, or TOPO_NONE */
	size_t external;        /* the external subnet, or TOPO_NONE */
	/* address -> (node, iface), sorted, for path walks */
	struct topo_addr { uint32_t addr; size_t node, iface; } *addrs;
	size_t naddrs;
	struct topo_mirror *mirrors;
	size_t nmirrors;
};

/* Build from a spec without errors; errors found here (a subnet too small,
 * no room for the default LAN) go into s.  Returns NULL when s has errors. */
struct topo *topo_build(struct spec *s);
void topo_free(struct topo *t);

size_t topo_node_find(const struct topo *t, const char *name);
size_t topo_subnet_find(const struct topo *t, const char *name);
/* Route lookup: the interface and next hop node uses toward addr. */
const struct topo_route *topo_route_lookup(const struct topo_node *n, uint32_t addr);
/* Who owns addr: node index and interface, or TOPO_NONE. */
size_t topo_addr_owner(const struct topo *t, uint32_t addr, size_t *iface);

/* A hop of a path: a node leaves through iface (toward the next node). */
struct topo_hop {
	size_t node, iface;
};
/* The path packets take from node a to node b, following the routes:
 * hops leaving a, then each router, then the hop arriving at b (its
 * iface is b's interface).  Returns the number of hops written, or 0 when
 * there is no route.  *work, when not NULL, is a budget of route entries
 * to look at; the walk stops with TOPO_NONE when it runs out.  hops must
 * hold TOPO_MAX_HOPS entries. */
#define TOPO_MAX_HOPS (2 * SPEC_MAX_ROUTERS + 4)
size_t topo_path(const struct topo *t, size_t a, size_t b, struct topo_hop *hops, size_t *work);

#endif
