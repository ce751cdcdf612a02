/* bitcoin.c - the crypto agent: Bitcoin P2P nodes on the real wire format
 * (mainnet magic, double SHA-256 checksums).  The server is a node that
 * accepts peers, answers their requests and relays every new transaction
 * and block to its other peers; each client user is a node with one
 * outbound peer that, following data/behaviours/bitcoin.model, announces
 * new transactions, now and then mines a block, pings, and fetches what
 * the server relays.  Transactions are P2PKH spends and blocks a header
 * and many transactions, serialized as Bitcoin Core does, with real
 * txids, merkle roots and block hashes; keys, signatures and hashes are
 * bytes from the host's shared random content. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../lib/util.h"
#include "agent.h"
#include "bitcoin.h"

/* ---- parsers ------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int bitcoin__header(const uint8_t *b, size_t len, struct bitcoin__hdr *h)
{
	bool end = false;

	/* A wrong magic is known from the first bytes: garbage is refused
	 * before 24 bytes of it arrive. */
	if (memcmp(b, BTC_MAGIC, MIN(len, 4)))
		return -EPROTO;
	if (len < BTC_HDR)
		return 0;
	if (!b[4])
		return -EPROTO;
	for (size_t i = 0; i < 12; i++) {
		uint8_t c = b[4 + i];

		if (!c)
			end = true;
		else if (end || c < 0x20 || c > 0x7e)
			return -EPROTO;
		h->cmd[i] = (char)c;
	}
	h->cmd[12] = 0;
	h->len = le32(b + 16);
	if (h->len > BTC_MAX_PAYLOAD)
		return -EPROTO;
	memcpy(h->sum, b + 20, 4);
	return 1;
}

void bitcoin__sha256d(const void *p, size_t n, uint8_t out[32])
{
	uint8_t first[32];

	/* EVP_Digest cannot fail for SHA-256 short of memory, which
	 * OpenSSL reports by aborting in our configuration anyway. */
	EVP_Digest(p, n, first, NULL, EVP_sha256(), NULL);
	EVP_Digest(first, 32, out, NULL, EVP_sha256(), NULL);
}

bool bitcoin__checksum_ok(const struct bitcoin__hdr *h, const uint8_t *payload)
{
	uint8_t d[32];

	bitcoin__sha256d(payload, h->len, d);
	return !memcmp(d, h->sum, 4);
}

int bitcoin__varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	size_t o = *off, n;
	uint64_t x;

	if (o >= len)
		return -EPROTO;
	switch (p[o]) {
	case 0xfd: n = 2; break;
	case 0xfe: n = 4; break;
	case 0xff: n = 8; break;
	default:
		*v = p[o];
		*off = o + 1;
		return 0;
	}
	if (len - o - 1 < n)
		return -EPROTO;
	x = n == 2 ? (uint64_t)(p[o + 1] | p[o + 2] << 8) : n == 4 ? le32(p + o + 1) : le64(p + o + 1);
	/* Core refuses non-canonical encodings. */
	if ((n == 2 && x < 0xfd) || (n == 4 && x <= 0xffff) || (n == 8 && x <= 0xffffffffu))
		return -EPROTO;
	*v = x;
	*off = o + 1 + n;
	return 0;
}

/* Skip a varint-prefixed byte string. */
static int skip_bytes(const uint8_t *p, size_t len, size_t *off)
{
	uint64_t n;

	if (bitcoin__varint(p, len, off, &n) < 0 || n > len - *off)
		return -EPROTO;
	*off += (size_t)n;
	return 0;
}

int bitcoin__parse_version(const uint8_t *p, size_t len, struct bitcoin__version *v)
{
	size_t off = 80;
	uint64_t n;

	memset(v, 0, sizeof(*v));
	/* version, services, timestamp, addr_recv, addr_from, nonce */
	if (len < 80)
		return -EPROTO;
	v->version = (int32_t)le32(p);
	v->services = le64(p + 4);
	v->timestamp = (int64_t)le64(p + 12);
	v->nonce = le64(p + 72);
	if (bitcoin__varint(p, len, &off, &n) < 0 || n > 256 || n > len - off)
		return -EPROTO;
	v->agent = (const char *)p + off;
	v->agent_len = (size_t)n;
	off += (size_t)n;
	if (len - off < 4)
		return -EPROTO;
	v->height = (int32_t)le32(p + off);
	off += 4;
	/* The relay flag is optional (BIP37); absent means relay. */
	v->relay = off < len ? p[off] != 0 : true;
	return 0;
}

int bitcoin__parse_inv(const uint8_t *p, size_t len, uint64_t *n, size_t *off)
{
	size_t o = 0;

	if (bitcoin__varint(p, len, &o, n) < 0 || *n > BTC_MAX_INV || len - o != *n * 36)
		return -EPROTO;
	*off = o;
	return 0;
}

int bitcoin__parse_tx(const uint8_t *p, size_t len, size_t *used)
{
	size_t off = 4;
	uint64_t nin, nout;
	bool witness = false;

	if (len < 4 + 1 || bitcoin__varint(p, len, &off, &nin) < 0)
		return -EPROTO;
	if (nin == 0) {
		/* BIP144: marker 0, flag 1, then the real input count. */
		if (off >= len || p[off] != 1)
			return -EPROTO;
		off++;
		witness = true;
		if (bitcoin__varint(p, len, &off, &nin) < 0 || !nin)
			return -EPROTO;
	}
	if (nin > len / 41)
		return -EPROTO;
	for (uint64_t i = 0; i < nin; i++) {
		if (len - off < 36)
			return -EPROTO;
		off += 36;
		if (skip_bytes(p, len, &off) < 0 || len - off < 4)
			return -EPROTO;
		off += 4;
	}
	if (bitcoin__varint(p, len, &off, &nout) < 0 || nout > len / 9)
		return -EPROTO;
	for (uint64_t i = 0; i < nout; i++) {
		if (len - off < 8)
			return -EPROTO;
		off += 8;
		if (skip_bytes(p, len, &off) < 0)
			return -EPROTO;
	}
	for (uint64_t i = 0; witness && i < nin; i++) {
		uint64_t items;

		if (bitcoin__varint(p, len, &off, &items) < 0 || items > len - off)
			return -EPROTO;
		for (uint64_t k = 0; k < items; k++)
			if (skip_bytes(p, len, &off) < 0)
				return -EPROTO;
	}
	if (len - off < 4)
		return -EPROTO;
	*used = off + 4;
	return 0;
}

int bitcoin__parse_block(const uint8_t *p, size_t len, uint64_t *ntx)
{
	size_t off = 80;

	if (len < 81 || bitcoin__varint(p, len, &off, ntx) < 0 || !*ntx || *ntx > len / 60)
		return -EPROTO;
	for (uint64_t i = 0; i < *ntx; i++) {
		size_t used;

		if (bitcoin__parse_tx(p + off, len - off, &used) < 0)
			return -EPROTO;
		off += used;
	}
	return off == len ? 0 : -EPROTO;
}

int bitcoin__parse_addr(const uint8_t *p, size_t len, uint64_t *n)
{
	size_t off = 0;

	if (bitcoin__varint(p, len, &off, n) < 0 || *n > BTC_MAX_ADDR || len - off != *n * 30)
		return -EPROTO;
	return 0;
}

int bitcoin__parse_nonce(const uint8_t *p, size_t len, uint64_t *nonce)
{
	if (len != 8)
		return -EPROTO;
	*nonce = le64(p);
	return 0;
}

/* ---- building messages ------------------------------------------------- */

static void put_u8(struct buf *b, uint8_t v)
{
	buf_put(b, (const char *)&v, 1);
}

static void put_u16be(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	buf_put(b, (const char *)x, 2);
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	buf_put(b, (const char *)x, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_varint(struct buf *b, uint64_t v)
{
	if (v < 0xfd) {
		put_u8(b, (uint8_t)v);
	} else if (v <= 0xffff) {
		put_u8(b, 0xfd);
		put_u8(b, (uint8_t)v);
		put_u8(b, (uint8_t)(v >> 8));
	} else if (v <= 0xffffffffu) {
		put_u8(b, 0xfe);
		put_u32(b, (uint32_t)v);
	} else {
		put_u8(b, 0xff);
		put_u64(b, v);
	}
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_put(b, p, n);
}

/* A network address as in version and addr: services, IPv4-mapped IPv6,
 * port (big-endian). */
static void put_netaddr(struct buf *b, uint64_t services, uint32_t ip, uint16_t port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	put_u64(b, services);
	put_bytes(b, mapped, 12);
	put_u8(b, (uint8_t)(ip >> 24));
	put_u8(b, (uint8_t)(ip >> 16));
	put_u8(b, (uint8_t)(ip >> 8));
	put_u8(b, (uint8_t)ip);
	put_u16be(b, port);
}

/* ---- nodes ----------------------------------------------------------- */

#define BTC_VERSION 70016
#define BTC_AGENT "/dynamo:0.1/"
#define BTC_SERVICES 0x409ull             /* NETWORK, WITNESS, NETWORK_LIMITED */
#define BTC_BIG (256u << 10)              /* payloads copied aside, not in c->in */
#define BTC_HANDSHAKE_WAIT 60.0           /* s, as Core */
#define BTC_STALL 30.0                    /* s for the rest of a message */
#define BTC_PING_EVERY 120.0              /* s of silence before the node pings */
#define BTC_HEIGHT_AT 840000u              /* mainnet's height at BTC_TIME_AT */
#define BTC_TIME_AT 1713571767
#define BTC_RELAY_RING 16384              /* relay entries a slow peer may lag */

/* What a node knows: items by hash, with their bytes while it can still
 * serve them.  A ring: the oldest are forgotten first. */
struct item {
	uint8_t hash[32];
	uint8_t sum[4];         /* message checksum of data */
	uint8_t type;
	uint32_t len;
	uint8_t *data;          /* NULL: known, not kept */
};

struct relay {
	uint8_t hash[32];
	uint8_t type;
	uint64_t src;           /* peer id it came from */
};

struct peer;

struct bnode {
	struct host *h;
	struct stats *st;
	const struct model *m;
	struct item *items;
	uint32_t cap, head, n;
	size_t bytes, max_bytes;
	struct peer *peers;
	struct relay *ring;     /* what to announce, BTC_RELAY_RING entries */
	uint64_t rhead;         /* sequence number of the next entry */
	uint8_t tip[32];
	uint32_t height;
	uint64_t next_id, nonce;
	bool keep_received;     /* keep what peers send, to relay it */
	struct bnode *next;
};

enum { HS_GOT_VERSION = 1, HS_GOT_VERACK = 2, HS_SENT_VERSION = 4 };
#define HS_DONE (HS_GOT_VERSION | HS_GOT_VERACK)

struct peer {
	struct conn c;
	struct timer t;         /* server: handshake, stall, ping; client: guard */
	struct timer tk;        /* server: this peer's inv trickle */
	struct defer d;
	struct bnode *node;
	struct peer *next, **pprev;
	uint8_t *big;           /* a large payload being received */
	uint32_t big_got;
	struct bitcoin__hdr big_hdr;
	uint64_t id, ping_nonce;
	uint64_t rseq;          /* next relay entry to announce to it */
	uint32_t want;          /* items asked for with getdata, not yet in */
	uint32_t owed;          /* items announced, not yet asked for */
	uint8_t hs;
	bool inbound, ping_out;
};

/* Servers live as long as the process; this keeps them reachable. */
static struct bnode *servers;

static void node_init(struct bnode *nd, struct host *h, struct stats *st, const struct model *m,
		      uint32_t cap, size_t max_bytes)
{
	time_t now = time(NULL);
	char tag[32];

	nd->h = h;
	nd->st = st;
	nd->m = m;
	nd->cap = cap;
	nd->max_bytes = max_bytes;
	/* Every node starts at the same height, the one mainnet has about
	 * now (a block per 10 minutes since block 840000), on the same tip,
	 * so that the blocks they mine chain up. */
	nd->height = BTC_HEIGHT_AT + (uint32_t)(now > BTC_TIME_AT ? (now - BTC_TIME_AT) / 600 : 0);
	snprintf(tag, sizeof(tag), "dynamo block %u", nd->height);
	bitcoin__sha256d(tag, strlen(tag), nd->tip);
	nd->nonce = rng_next(&h->rng);
}

static void item_drop_data(struct bnode *nd, struct item *it)
{
	if (it->data) {
		nd->bytes -= it->len;
		free(it->data);
		it->data = NULL;
	}
}

static void node_fini(struct bnode *nd)
{
	for (uint32_t i = 0; i < nd->n; i++)
		free(nd->items[(nd->head + i) % nd->cap].data);
	free(nd->items);
	free(nd->ring);
	nd->items = NULL;
	nd->ring = NULL;
	nd->n = 0;
}

static struct item *node_find(struct bnode *nd, const uint8_t hash[32])
{
	/* Newest first: what is asked for was mostly just announced. */
	for (uint32_t i = nd->n; i-- > 0;) {
		struct item *it = &nd->items[(nd->head + i) % nd->cap];

		if (!memcmp(it->hash, hash, 32))
			return it;
	}
	return NULL;
}

/* Add or update an item; data (owned, may be NULL) is taken. */
static struct item *node_add(struct bnode *nd, const uint8_t hash[32], uint8_t type, uint8_t *data,
			     size_t len)
{
	struct item *it = node_find(nd, hash);

	if (!nd->items)
		nd->items = xcalloc(nd->cap, sizeof(*nd->items));
	if (!it) {
		if (nd->n == nd->cap) {
			item_drop_data(nd, &nd->items[nd->head]);
			nd->head = (nd->head + 1) % nd->cap;
			nd->n--;
		}
		it = &nd->items[(nd->head + nd->n++) % nd->cap];
		memset(it, 0, sizeof(*it));
		memcpy(it->hash, hash, 32);
	}
	it->type = type;
	if (data && !it->data) {
		uint8_t d[32];

		bitcoin__sha256d(data, len, d);
		memcpy(it->sum, d, 4);
		it->data = data;
		it->len = (uint32_t)len;
		nd->bytes += len;
		/* Over the byte budget: forget the oldest bytes (not this). */
		for (uint32_t i = 0; nd->bytes > nd->max_bytes && i + 1 < nd->n; i++)
			item_drop_data(nd, &nd->items[(nd->head + i) % nd->cap]);
	} else {
		free(data);
	}
	return it;
}

static void send_msg(struct peer *p, const char *cmd, const void *payload, size_t n,
		     const uint8_t *sum)
{
	uint8_t h[BTC_HDR] = { 0 }, d[32];

	memcpy(h, BTC_MAGIC, 4);
	memcpy(h + 4, cmd, strlen(cmd));
	h[16] = (uint8_t)n;
	h[17] = (uint8_t)(n >> 8);
	h[18] = (uint8_t)(n >> 16);
	h[19] = (uint8_t)(n >> 24);
	if (!sum) {
		bitcoin__sha256d(payload, n, d);
		sum = d;
	}
	memcpy(h + 20, sum, 4);
	conn_write(&p->c, h, sizeof(h));
	conn_write(&p->c, payload, n);
}

static void send_buf(struct peer *p, const char *cmd, struct buf *b)
{
	send_msg(p, cmd, b->p, b->len, NULL);
	buf_free(b);
}

static void send_version(struct peer *p)
{
	struct bnode *nd = p->node;
	struct buf b = { 0 };
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);

	/* addr_recv is the peer as we see it. */
	if (getpeername(p->c.io.fd, (struct sockaddr *)&sa, &sl) < 0 || sa.sin_family != AF_INET)
		sa.sin_family = 0;
	put_u32(&b, BTC_VERSION);
	put_u64(&b, BTC_SERVICES);
	put_u64(&b, (uint64_t)time(NULL));
	/* addr_from: unroutable, as Core sends it. */
	put_netaddr(&b, p->inbound ? 0 : BTC_SERVICES, ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port));
	put_netaddr(&b, BTC_SERVICES, 0, 0);
	put_u64(&b, nd->nonce);
	put_varint(&b, strlen(BTC_AGENT));
	put_bytes(&b, BTC_AGENT, strlen(BTC_AGENT));
	put_u32(&b, nd->height);
	put_u8(&b, 1);
	send_buf(p, "version", &b);
	p->hs |= HS_SENT_VERSION;
}

static void send_inv(struct peer *p, const char *cmd, const struct relay *v, size_t n)
{
	struct buf b = { 0 };

	put_varint(&b, n);
	for (size_t i = 0; i < n; i++) {
		put_u32(&b, v[i].type);
		put_bytes(&b, v[i].hash, 32);
	}
	send_buf(p, cmd, &b);
}

/* Announce to p what the node took in since the last time, but what
 * came from p itself.  Each peer has its own timer, as in Bitcoin Core,
 * so that a block is not sent to every peer at the same moment. */
static void trickle_cb(struct loop *l, struct timer *t)
{
	struct peer *p = container_of(t, struct peer, tk);
	struct bnode *nd = p->node;
	uint64_t from = MAX(p->rseq, nd->rhead > BTC_RELAY_RING ? nd->rhead - BTC_RELAY_RING : 0);
	struct relay *v;
	size_t n = 0;

	(void)l;
	if ((p->hs & HS_DONE) != HS_DONE || !conn_is_open(&p->c) || from >= nd->rhead)
		return;
	v = xreallocarray(NULL, (size_t)(nd->rhead - from), sizeof(*v));
	for (uint64_t q = from; q < nd->rhead; q++)
		if (nd->ring[q % BTC_RELAY_RING].src != p->id)
			v[n++] = nd->ring[q % BTC_RELAY_RING];
	p->rseq = nd->rhead;
	for (size_t at = 0; at < n; at += BTC_MAX_INV)
		send_inv(p, "inv", v + at, MIN(n - at, BTC_MAX_INV));
	free(v);
}

static void relay_queue(struct bnode *nd, const uint8_t hash[32], uint8_t type, uint64_t src)
{
	struct relay *r;

	if (!nd->ring)
		nd->ring = xcalloc(BTC_RELAY_RING, sizeof(*nd->ring));
	r = &nd->ring[nd->rhead++ % BTC_RELAY_RING];
	memcpy(r->hash, hash, 32);
	r->type = type;
	r->src = src;
	for (struct peer *p = nd->peers; p; p = p->next) {
		if (p->id == src || (p->hs & HS_DONE) != HS_DONE || loop_timer_armed(&p->tk))
			continue;
		/* Core trickles invs out on a Poisson timer per peer. */
		loop_timer_start(nd->h->loop, &p->tk,
				 host_ns(model_draw(nd->m, "trickle", &nd->h->rng, 0.5)));
	}
}

/* ---- transactions and blocks ------------------------------------------ */

/* n bytes of the host's random content, different on each call. */
static const uint8_t *rnd(struct bnode *nd, size_t n)
{
	return (const uint8_t *)content_get(&nd->h->content, CONTENT_BINARY, rng_next(&nd->h->rng), n);
}

/* A DER signature with SIGHASH_ALL, as a scriptSig push. */
static void put_sig(struct buf *b, struct bnode *nd)
{
	uint8_t r[33], s[32];
	size_t rl = 32;

	memcpy(r + 1, rnd(nd, 32), 32);
	memcpy(s, rnd(nd, 32), 32);
	r[1] |= 1;
	s[0] = (uint8_t)((s[0] & 0x7f) | 1);      /* low S (BIP62) */
	r[0] = 0;
	if (r[1] & 0x80)
		rl = 33;                            /* DER sign byte */
	put_u8(b, (uint8_t)(2 + rl + 2 + 32 + 2 + 1));     /* push length */
	put_u8(b, 0x30);
	put_u8(b, (uint8_t)(2 + rl + 2 + 32));
	put_u8(b, 0x02);
	put_u8(b, (uint8_t)rl);
	put_bytes(b, rl == 33 ? r : r + 1, rl);
	put_u8(b, 0x02);
	put_u8(b, 32);
	put_bytes(b, s, 32);
	put_u8(b, 0x01);                            /* SIGHASH_ALL */
}

static void put_p2pkh(struct buf *b, struct bnode *nd)
{
	put_varint(b, 25);
	put_u8(b, 0x76);        /* OP_DUP */
	put_u8(b, 0xa9);        /* OP_HASH160 */
	put_u8(b, 20);
	put_bytes(b, rnd(nd, 20), 20);
	put_u8(b, 0x88);        /* OP_EQUALVERIFY */
	put_u8(b, 0xac);        /* OP_CHECKSIG */
}

static uint32_t count_draw(struct bnode *nd, const char *param, double dflt, uint32_t max)
{
	double v = model_draw(nd->m, param, &nd->h->rng, dflt);

	return 1 + (uint32_t)MIN(MAX(v, 0.0), (double)max);
}

/* A P2PKH transaction spending nin outputs to nout. */
static void gen_tx(struct bnode *nd, struct buf *b)
{
	struct rng *r = &nd->h->rng;
	uint32_t nin = count_draw(nd, "tx_inputs", 1, 50), nout = count_draw(nd, "tx_outputs", 1, 50);

	put_u32(b, rng_below(r, 4) ? 2 : 1);
	put_varint(b, nin);
	for (uint32_t i = 0; i < nin; i++) {
		const uint8_t *pub = rnd(nd, 33);

		put_bytes(b, rnd(nd, 32), 32);             /* previous txid */
		put_u32(b, (uint32_t)rng_below(r, 3));     /* its output */
		/* The script's length (106 or 107, one byte) depends on
		 * the signature's: write it, then patch the length. */
		put_u8(b, 0);
		{
			size_t at = b->len - 1, start = b->len;

			put_sig(b, nd);
			put_u8(b, 33);
			put_u8(b, (uint8_t)(2 + (pub[0] & 1)));    /* compressed key */
			put_bytes(b, pub + 1, 32);
			b->p[at] = (char)(b->len - start);
		}
		put_u32(b, rng_below(r, 2) ? 0xffffffffu : 0xfffffffdu);
	}
	put_varint(b, nout);
	for (uint32_t i = 0; i < nout; i++) {
		/* Amounts spread over orders of magnitude (satoshis). */
		double btc = exp(rng_normal(r) * 1.8 - 3.0);

		put_u64(b, (uint64_t)MIN(btc * 1e8, 2.1e15) + 546);
		put_p2pkh(b, nd);
	}
	put_u32(b, rng_below(r, 2) ? 0 : nd->height);
}

static void gen_coinbase(struct bnode *nd, struct buf *b, uint32_t height)
{
	static const char tag[] = "/dynamo/";
	uint8_t zero[32] = { 0 };

	put_u32(b, 1);
	put_varint(b, 1);
	put_bytes(b, zero, 32);
	put_u32(b, 0xffffffffu);
	/* BIP34: the height first, then an extra nonce and a tag. */
	put_varint(b, 4 + 8 + 1 + sizeof(tag) - 1);
	put_u8(b, 3);
	put_u8(b, (uint8_t)height);
	put_u8(b, (uint8_t)(height >> 8));
	put_u8(b, (uint8_t)(height >> 16));
	put_bytes(b, rnd(nd, 8), 8);
	put_u8(b, sizeof(tag) - 1);
	put_bytes(b, tag, sizeof(tag) - 1);
	put_u32(b, 0xffffffffu);
	put_varint(b, 1);
	put_u64(b, 625000000ull + rng_below(&nd->h->rng, 50000000));
	put_p2pkh(b, nd);
	put_u32(b, 0);
}

static void merkle_root(uint8_t (*ids)[32], size_t n, uint8_t out[32])
{
	while (n > 1) {
		size_t k = 0;

		for (size_t i = 0; i < n; i += 2) {
			uint8_t pair[64];

			memcpy(pair, ids[i], 32);
			memcpy(pair + 32, ids[i + 1 < n ? i + 1 : i], 32);
			bitcoin__sha256d(pair, 64, ids[k++]);
		}
		n = k;
	}
	memcpy(out, ids[0], 32);
}

/* A block of about size bytes on top of the node's tip; the node's new
 * tip.  Returns the serialization (owned by the caller). */
static uint8_t *gen_block(struct bnode *nd, size_t size, size_t *len, uint8_t hash[32])
{
	struct buf txs = { 0 }, b = { 0 };
	uint8_t (*ids)[32] = NULL, root[32];
	size_t n = 0, cap = 0, start;

	nd->height++;
	while (!n || txs.len < size) {
		start = txs.len;
		if (!n)
			gen_coinbase(nd, &txs, nd->height);
		else
			gen_tx(nd, &txs);
		bitcoin__sha256d(txs.p + start, txs.len - start, *VEC_PUSH(ids, n, cap));
	}
	merkle_root(ids, n, root);
	put_u32(&b, 0x20000000u | (uint32_t)rng_below(&nd->h->rng, 8) << 1);
	put_bytes(&b, nd->tip, 32);
	put_bytes(&b, root, 32);
	put_u32(&b, (uint32_t)time(NULL));
	put_u32(&b, 0x17034219u);           /* a 2023 mainnet difficulty */
	put_u32(&b, (uint32_t)rng_next(&nd->h->rng));
	bitcoin__sha256d(b.p, 80, hash);
	memcpy(nd->tip, hash, 32);
	put_varint(&b, n);
	put_bytes(&b, txs.p, txs.len);
	buf_free(&txs);
	free(ids);
	*len = b.len;
	return (uint8_t *)buf_steal(&b);
}

/* ---- protocol ----------------------------------------------------------- */

static void peer_error(struct peer *p)
{
	if (p->node->st)
		p->node->st->errors++;
	conn_close(&p->c, -EPROTO);
}

static void on_inv(struct peer *p, const uint8_t *q, size_t len, bool stopping)
{
	struct bnode *nd = p->node;
	struct relay *want;
	size_t off, k = 0;
	uint64_t n;

	if (bitcoin__parse_inv(q, len, &n, &off) < 0) {
		peer_error(p);
		return;
	}
	/* A node on its way out asks for nothing new. */
	if (stopping || !n)
		return;
	want = xreallocarray(NULL, (size_t)n, sizeof(*want));
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *e = q + off + i * 36;
		uint32_t type = le32(e) & 0x3fffffffu;      /* witness flag off */

		if ((type != BTC_MSG_TX && type != BTC_MSG_BLOCK) || node_find(nd, e + 4))
			continue;
		/* Known from now on, so that it is asked for once. */
		node_add(nd, e + 4, (uint8_t)type, NULL, 0);
		want[k].type = (uint8_t)type;
		memcpy(want[k++].hash, e + 4, 32);
	}
	if (k) {
		send_inv(p, "getdata", want, k);
		p->want += (uint32_t)k;
	}
	free(want);
}

static void on_getdata(struct peer *p, const uint8_t *q, size_t len)
{
	struct bnode *nd = p->node;
	struct relay *missing = NULL;
	size_t off, nm = 0, cap = 0;
	uint64_t n;

	if (bitcoin__parse_inv(q, len, &n, &off) < 0) {
		peer_error(p);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *e = q + off + i * 36;
		struct item *it = node_find(nd, e + 4);

		if (p->owed)
			p->owed--;
		if (it && it->data) {
			send_msg(p, it->type == BTC_MSG_BLOCK ? "block" : "tx", it->data, it->len, it->sum);
			/* A client's one peer has it now. */
			if (!nd->keep_received)
				item_drop_data(nd, it);
		} else {
			struct relay *m = VEC_PUSH(missing, nm, cap);

			m->type = (uint8_t)(le32(e) & 0x3fffffffu);
			memcpy(m->hash, e + 4, 32);
		}
	}
	if (nm)
		send_inv(p, "notfound", missing, nm);
	free(missing);
}

/* A tx or block arrived: keep it (to relay) or just note it. */
static void on_item(struct peer *p, uint8_t type, const uint8_t *q, size_t len)
{
	struct bnode *nd = p->node;
	uint8_t hash[32];
	struct item *it;
	size_t used;
	uint64_t ntx;
	bool fresh;

	if (type == BTC_MSG_TX ? bitcoin__parse_tx(q, len, &used) < 0 || used != len
			       : bitcoin__parse_block(q, len, &ntx) < 0) {
		peer_error(p);
		return;
	}
	bitcoin__sha256d(q, type == BTC_MSG_BLOCK ? 80 : len, hash);
	it = node_find(nd, hash);
	if (it && !it->data && p->want)
		p->want--;
	fresh = !it || (!it->data && nd->keep_received);
	if (type == BTC_MSG_BLOCK && (fresh || !nd->keep_received)) {
		memcpy(nd->tip, hash, 32);
		nd->height++;
	}
	if (nd->keep_received) {
		uint8_t *copy = xmalloc(len);

		memcpy(copy, q, len);
		it = node_add(nd, hash, type, copy, len);
	} else {
		it = node_add(nd, hash, type, NULL, 0);
	}
	if (fresh && nd->keep_received)
		relay_queue(nd, hash, type, p->id);
}

static void send_addr(struct peer *p)
{
	struct bnode *nd = p->node;
	struct rng *r = &nd->h->rng;
	uint32_t n = count_draw(nd, "addr_count", 100, BTC_MAX_ADDR) - 1, now = (uint32_t)time(NULL);
	struct buf b = { 0 };

	put_varint(&b, n);
	for (uint32_t i = 0; i < n; i++) {
		/* Public-looking addresses, seen in the last days. */
		uint32_t ip = (uint32_t)rng_next(r);

		if ((ip >> 24) == 0 || (ip >> 24) == 10 || (ip >> 24) == 127 || (ip >> 24) >= 224)
			ip ^= 0x40000000u;
		put_u32(&b, now - (uint32_t)rng_below(r, 3 * 86400));
		put_netaddr(&b, rng_below(r, 3) ? BTC_SERVICES : 0x408, ip,
			    rng_below(r, 10) ? 8333 : (uint16_t)(1024 + rng_below(r, 60000)));
	}
	send_buf(p, "addr", &b);
}

/* One message; the peer may be closed on return. */
static void peer_message(struct peer *p, const struct bitcoin__hdr *h, const uint8_t *q,
			 bool stopping)
{
	struct bitcoin__version v;
	uint64_t nonce, n;

	if (!bitcoin__checksum_ok(h, q)) {
		/* Core drops a message with a bad checksum, and the peer
		 * stays. */
		if (p->node->st)
			p->node->st->errors++;
		return;
	}
	if (!strcmp(h->cmd, "version")) {
		if (p->hs & HS_GOT_VERSION)
			return;     /* redundant: ignored */
		if (bitcoin__parse_version(q, h->len, &v) < 0 || v.version < BTC_MIN_VERSION) {
			peer_error(p);
			return;
		}
		p->hs |= HS_GOT_VERSION;
		if (!(p->hs & HS_SENT_VERSION))
			send_version(p);
		send_msg(p, "verack", "", 0, NULL);
		return;
	}
	if (!(p->hs & HS_GOT_VERSION)) {
		/* Anything before version: not a Bitcoin peer. */
		peer_error(p);
		return;
	}
	if (!strcmp(h->cmd, "verack")) {
		if (h->len) {
			peer_error(p);
			return;
		}
		p->hs |= HS_GOT_VERACK;
		/* Relays start from here. */
		p->rseq = p->node->rhead;
		return;
	}
	if ((p->hs & HS_DONE) != HS_DONE)
		return;     /* Core ignores the rest before verack */
	if (!strcmp(h->cmd, "ping")) {
		if (bitcoin__parse_nonce(q, h->len, &nonce) < 0)
			peer_error(p);
		else
			send_msg(p, "pong", q, 8, NULL);
	} else if (!strcmp(h->cmd, "pong")) {
		if (bitcoin__parse_nonce(q, h->len, &nonce) < 0 || !p->ping_out || nonce != p->ping_nonce)
			peer_error(p);
		else
			p->ping_out = false;
	} else if (!strcmp(h->cmd, "inv")) {
		on_inv(p, q, h->len, stopping);
	} else if (!strcmp(h->cmd, "getdata")) {
		on_getdata(p, q, h->len);
	} else if (!strcmp(h->cmd, "notfound")) {
		if (bitcoin__parse_inv(q, h->len, &n, &nonce) < 0)
			peer_error(p);
		else
			p->want -= (uint32_t)MIN(n, p->want);
	} else if (!strcmp(h->cmd, "tx")) {
		on_item(p, BTC_MSG_TX, q, h->len);
	} else if (!strcmp(h->cmd, "block")) {
		on_item(p, BTC_MSG_BLOCK, q, h->len);
	} else if (!strcmp(h->cmd, "getaddr")) {
		if (p->inbound)
			send_addr(p);
	} else if (!strcmp(h->cmd, "addr")) {
		if (bitcoin__parse_addr(q, h->len, &n) < 0)
			peer_error(p);
	}
	/* Others (sendheaders, feefilter, sendcmpct, wtxidrelay, headers,
	 * reject, ...): understood by their absence of effect here, as a
	 * node that does not use them ignores them. */
}

/* Parse what is in; big payloads are gathered aside so that a 2 MB
 * block does not have to fit in the connection's input buffer. */
static void peer_input(struct peer *p, bool stopping)
{
	struct conn *c = &p->c;

	while (conn_is_open(c) && c->in.len) {
		const uint8_t *b = (const uint8_t *)c->in.p;
		struct bitcoin__hdr h;
		int r;

		if (p->big) {
			size_t take = MIN(c->in.len, p->big_hdr.len - p->big_got);

			memcpy(p->big + p->big_got, b, take);
			p->big_got += (uint32_t)take;
			conn_consume(c, take);
			if (p->big_got < p->big_hdr.len)
				break;
			h = p->big_hdr;
			{
				uint8_t *q = p->big;

				p->big = NULL;
				peer_message(p, &h, q, stopping);
				free(q);
			}
			continue;
		}
		r = bitcoin__header(b, c->in.len, &h);
		if (r < 0) {
			peer_error(p);
			return;
		}
		if (r == 0)
			break;
		if (c->in.len - BTC_HDR >= h.len) {
			peer_message(p, &h, b + BTC_HDR, stopping);
			if (conn_is_open(c))
				conn_consume(c, BTC_HDR + h.len);
		} else if (h.len > BTC_BIG) {
			p->big_hdr = h;
			p->big = xmalloc(h.len);
			p->big_got = 0;
			conn_consume(c, BTC_HDR);
		} else {
			break;
		}
	}
}

/* ---- server ------------------------------------------------------------- */

static void srv_arm(struct peer *p)
{
	double t = BTC_PING_EVERY;

	if ((p->hs & HS_DONE) != HS_DONE)
		t = BTC_HANDSHAKE_WAIT;
	else if (p->c.in.len || p->big)
		t = BTC_STALL;
	loop_timer_start(p->c.loop, &p->t, host_ns(t));
}

static void srv_timer(struct loop *l, struct timer *t)
{
	struct peer *p = container_of(t, struct peer, t);

	if ((p->hs & HS_DONE) != HS_DONE || p->c.in.len || p->big || p->ping_out) {
		/* No handshake, half a message, or a ping unanswered for
		 * the whole period: the peer is gone. */
		conn_close(&p->c, -ETIMEDOUT);
		return;
	}
	p->ping_nonce = rng_next(&p->node->h->rng);
	p->ping_out = true;
	{
		uint8_t nb[8];

		for (int i = 0; i < 8; i++)
			nb[i] = (uint8_t)(p->ping_nonce >> (8 * i));
		send_msg(p, "ping", nb, 8, NULL);
	}
	loop_timer_start(l, t, host_ns(BTC_PING_EVERY));
}

static void srv_readable(struct conn *c)
{
	struct peer *p = container_of(c, struct peer, c);

	peer_input(p, false);
	if (conn_is_open(c))
		srv_arm(p);
}

static void peer_free(struct defer *d)
{
	free(container_of(d, struct peer, d));
}

static void srv_closed(struct conn *c, int err)
{
	struct peer *p = container_of(c, struct peer, c);

	(void)err;
	loop_timer_stop(c->loop, &p->t);
	loop_timer_stop(c->loop, &p->tk);
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	free(p->big);
	p->big = NULL;
	loop_defer(c->loop, &p->d, peer_free);
}

static void srv_connected(struct conn *c)
{
	srv_arm(container_of(c, struct peer, c));
}

static const struct conn_ops srv_ops = {
	.connected = srv_connected,
	.readable = srv_readable,
	.closed = srv_closed,
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents);

struct bserver {
	struct io lio;
	struct bnode node;
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct bserver *srv = container_of(io, struct bserver, lio);
	struct bnode *nd = &srv->node;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
		struct peer *p;

		if (fd < 0)
			break;
		p = xcalloc(1, sizeof(*p));
		p->node = nd;
		p->inbound = true;
		p->id = ++nd->next_id;
		p->c.st = nd->st;
		p->t.cb = srv_timer;
		p->tk.cb = trickle_cb;
		p->next = nd->peers;
		if (p->next)
			p->next->pprev = &p->next;
		p->pprev = &nd->peers;
		nd->peers = p;
		err = conn_accept(&p->c, l, &srv_ops, fd);
		if (err)
			conn_close(&p->c, err);   /* closed() unlinks and frees */
	}
}

static int btc_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	struct bserver *srv;
	int fd, rc;

	rc = agent_listen_tcp(port, &fd);
	if (rc) {
		snprintf(err, errlen, "bitcoin: listen on port %u: %s", port, strerror(-rc));
		return rc;
	}
	srv = xcalloc(1, sizeof(*srv));
	/* A relaying node keeps what it relays: 64 MB, 8192 items. */
	node_init(&srv->node, h, st, m, 8192, 64u << 20);
	srv->node.keep_received = true;
	srv->lio.fd = fd;
	srv->lio.cb = srv_accept;
	rc = loop_io_set(h->loop, &srv->lio, IO_IN);
	if (rc) {
		snprintf(err, errlen, "bitcoin: watch listener: %s", strerror(-rc));
		close(fd);
		free(srv);
		return rc;
	}
	srv->node.next = servers;
	servers = &srv->node;
	return 0;
}

/* ---- clients ------------------------------------------------------------ */

enum { ACT_CONNECT, ACT_ANNOUNCE_TX, ACT_MINE_BLOCK, ACT_PING, ACT_DISCONNECT, ACT__N };

static const char *const btc_actions[] = {
	"connect", "announce_tx", "mine_block", "ping", "disconnect", NULL,
};

static const char *const btc_params[] = {
	"txs_per_inv", "tx_inputs", "tx_outputs", "block_size", "addr_count", "trickle", NULL,
};

#define SLICE 0.5       /* s: how often a sleeping user looks at stopping */
#define BTC_FINISH_WAIT 2.0

enum { U_IDLE, U_CONNECTING, U_READY, U_CLOSING, U_DONE };
enum { W_ACTION, W_SESSION };

struct bclient {
	struct agent_env env;
	struct defer d;
	struct bclient *next, **pprev;  /* in clients */
	struct buser **users;   /* NULL once a user is done */
	int act[ACT__N];
	uint32_t live;
};

/* A user is a node with one outbound peer. */
struct buser {
	struct peer p;
	struct bnode node;
	struct timer sleep;
	struct defer d;
	struct bclient *cl;
	uint64_t wake;
	uint32_t k;
	int a;
	uint8_t state, wait;
	bool after_disconnect, fin;
};

/* Client instances end when their users do; until then this list keeps
 * them (and their users) reachable, as servers are. */
static struct bclient *clients;

static void user_sleep(struct buser *u, double seconds, uint8_t what);
static void user_begin(struct buser *u);

static int act_of(const struct bclient *cl, int a)
{
	for (int i = 0; i < ACT__N; i++)
		if (cl->act[i] == a)
			return i;
	return -1;
}

static void user_free(struct defer *d)
{
	struct buser *u = container_of(d, struct buser, d);

	node_fini(&u->node);
	free(u);
}

static void client_free(struct defer *d)
{
	struct bclient *cl = container_of(d, struct bclient, d);

	*cl->pprev = cl->next;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	free(cl->users);
	free(cl);
}

static void user_exit(struct buser *u)
{
	struct bclient *cl = u->cl;
	struct loop *l = cl->env.host->loop;

	u->state = U_DONE;
	cl->users[u->k] = NULL;
	loop_timer_stop(l, &u->sleep);
	loop_timer_stop(l, &u->p.t);
	loop_defer(l, &u->d, user_free);
	if (!--cl->live)
		loop_defer(l, &cl->d, client_free);
}

/* Close once nothing is in flight: no item asked for or owed, no ping
 * unanswered.  Bitcoin has no goodbye message: a FIN ends it. */
static void user_try_close(struct buser *u)
{
	struct peer *p = &u->p;

	if (u->state != U_CLOSING || !conn_is_open(&p->c))
		return;
	if (p->want || p->owed || p->ping_out || p->big || p->c.in.len || u->fin)
		return;
	u->fin = true;
	conn_shutdown(&p->c);
}

static void user_finish(struct buser *u)
{
	if (u->state == U_READY) {
		u->state = U_CLOSING;
		loop_timer_start(u->p.c.loop, &u->p.t, host_ns(BTC_FINISH_WAIT));
		user_try_close(u);
	} else if (u->state == U_IDLE) {
		user_exit(u);
	}
}

static void do_announce(struct buser *u)
{
	struct bnode *nd = &u->node;
	uint32_t n = count_draw(nd, "txs_per_inv", 2, 1000);
	struct relay *v = xreallocarray(NULL, n, sizeof(*v));

	for (uint32_t i = 0; i < n; i++) {
		struct buf b = { 0 };
		size_t len;

		gen_tx(nd, &b);
		len = b.len;
		bitcoin__sha256d(b.p, len, v[i].hash);
		v[i].type = BTC_MSG_TX;
		node_add(nd, v[i].hash, BTC_MSG_TX, (uint8_t *)buf_steal(&b), len);
	}
	send_inv(&u->p, "inv", v, n);
	u->p.owed += n;
	free(v);
}

static void do_mine(struct buser *u)
{
	struct bnode *nd = &u->node;
	double size = model_draw(nd->m, "block_size", &nd->h->rng, 500000);
	struct relay v = { .type = BTC_MSG_BLOCK };
	size_t len;
	uint8_t *blk = gen_block(nd, (size_t)MIN(MAX(size, 1000.0), 3.9e6), &len, v.hash);

	node_add(nd, v.hash, BTC_MSG_BLOCK, blk, len);
	send_inv(&u->p, "inv", &v, 1);
	u->p.owed++;
}

static void do_ping(struct buser *u)
{
	struct peer *p = &u->p;
	uint8_t nb[8];

	if (p->ping_out)
		return;     /* one at a time, as Core */
	p->ping_nonce = rng_next(&u->node.h->rng);
	p->ping_out = true;
	for (int i = 0; i < 8; i++)
		nb[i] = (uint8_t)(p->ping_nonce >> (8 * i));
	send_msg(p, "ping", nb, 8, NULL);
}

static void do_action(struct buser *u, int a)
{
	const struct agent_env *e = &u->cl->env;

	u->a = a;
	e->st->actions++;
	switch (act_of(u->cl, a)) {
	case ACT_ANNOUNCE_TX:
		do_announce(u);
		break;
	case ACT_MINE_BLOCK:
		do_mine(u);
		break;
	case ACT_PING:
		do_ping(u);
		break;
	case ACT_DISCONNECT:
		u->after_disconnect = true;
		user_finish(u);
		return;
	default:
		break;
	}
	user_sleep(u, model_think(e->model, a, &e->host->rng) * agent_think_scale(e), W_ACTION);
}

static void next_action(struct buser *u)
{
	const struct agent_env *e = &u->cl->env;
	int a;

	if (e->host->stopping) {
		user_finish(u);
		return;
	}
	a = model_next(e->model, u->a, &e->host->rng);
	if (a == MODEL_END) {
		u->after_disconnect = false;
		user_finish(u);
		return;
	}
	do_action(u, a);
}

static void sleep_cb(struct loop *l, struct timer *t)
{
	struct buser *u = container_of(t, struct buser, sleep);
	uint64_t now = loop_now(l);

	if (u->cl->env.host->stopping) {
		user_finish(u);
		return;
	}
	if (now < u->wake) {
		loop_timer_start(l, t, MIN(u->wake - now, host_ns(SLICE)));
		return;
	}
	if (u->wait == W_SESSION)
		user_begin(u);
	else if (u->state == U_READY)
		next_action(u);
}

static void user_sleep(struct buser *u, double seconds, uint8_t what)
{
	struct loop *l = u->cl->env.host->loop;
	uint64_t ns = host_ns(seconds);

	u->wait = what;
	u->wake = loop_now(l) + ns;
	loop_timer_start(l, &u->sleep, MIN(ns, host_ns(SLICE)));
}

static void guard_cb(struct loop *l, struct timer *t)
{
	struct buser *u = container_of(t, struct buser, p.t);

	(void)l;
	if (u->state == U_CLOSING && conn_is_open(&u->p.c) && !u->fin) {
		/* What was in flight has not come (a peer under load is
		 * slow, not wrong): leave anyway. */
		u->fin = true;
		conn_shutdown(&u->p.c);
		loop_timer_start(u->p.c.loop, t, host_ns(BTC_FINISH_WAIT));
		return;
	}
	if (u->state != U_CLOSING)
		u->cl->env.st->errors++;
	conn_close(&u->p.c, -ETIMEDOUT);
}

static void do_ping(struct buser *u);

static void on_ready(struct buser *u)
{
	const struct agent_env *e = &u->cl->env;
	int start = model_start(e->model);

	loop_timer_stop(u->p.c.loop, &u->p.t);
	u->state = U_READY;
	/* Core asks a new outbound peer for addresses, and pings it. */
	send_msg(&u->p, "getaddr", "", 0, NULL);
	do_ping(u);
	if (e->host->stopping) {
		user_finish(u);
		return;
	}
	if (act_of(u->cl, start) == ACT_CONNECT) {
		u->a = start;
		e->st->actions++;
		user_sleep(u, model_think(e->model, start, &e->host->rng) * agent_think_scale(e), W_ACTION);
	} else {
		do_action(u, start);
	}
}

static void user_connected(struct conn *c)
{
	struct buser *u = container_of(c, struct buser, p.c);

	send_version(&u->p);
}

static void user_readable(struct conn *c)
{
	struct buser *u = container_of(c, struct buser, p.c);

	peer_input(&u->p, u->state == U_CLOSING || u->cl->env.host->stopping);
	if (!conn_is_open(c))
		return;
	if (u->state == U_CONNECTING && (u->p.hs & HS_DONE) == HS_DONE)
		on_ready(u);
	else if (u->state == U_CLOSING)
		user_try_close(u);
}

static void user_closed(struct conn *c, int err)
{
	struct buser *u = container_of(c, struct buser, p.c);
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	bool expected = u->state == U_CLOSING;

	loop_timer_stop(l, &u->p.t);
	loop_timer_stop(l, &u->sleep);
	free(u->p.big);
	u->p.big = NULL;
	if (!expected && u->state == U_READY && err != -EPROTO)
		e->st->errors++;
	u->state = U_IDLE;
	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	if (expected && u->after_disconnect)
		user_sleep(u, model_think(e->model, u->a, &e->host->rng) * agent_think_scale(e), W_SESSION);
	else
		user_sleep(u, expected ? 0 : 1.0, W_SESSION);
}

static const struct conn_ops user_ops = {
	.connected = user_connected,
	.readable = user_readable,
	.closed = user_closed,
};

static void user_begin(struct buser *u)
{
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	struct peer *p = &u->p;
	int err;

	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	p->c.st = e->st;
	p->hs = 0;
	p->want = p->owed = 0;
	p->ping_out = false;
	u->after_disconnect = false;
	u->fin = false;
	err = conn_connect(&p->c, l, &user_ops, 0, e->server, e->port);
	if (err) {
		e->st->conn_fail++;
		user_sleep(u, 1.0, W_SESSION);
		return;
	}
	e->st->sessions++;
	u->state = U_CONNECTING;
	loop_timer_start(l, &p->t, host_ns(BTC_HANDSHAKE_WAIT));
}

static int btc_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct bclient *cl;
	struct rng *r = &env->host->rng;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (int i = 0; i < ACT__N; i++)
		cl->act[i] = model_action(env->model, btc_actions[i]);
	cl->live = env->users;
	cl->users = xcalloc(env->users, sizeof(*cl->users));
	cl->next = clients;
	if (cl->next)
		cl->next->pprev = &cl->next;
	cl->pprev = &clients;
	clients = cl;
	for (uint32_t k = 0; k < env->users; k++) {
		struct buser *u = xcalloc(1, sizeof(*u));

		cl->users[k] = u;
		u->k = k;
		u->cl = cl;
		/* A wallet-sized memory: 512 items, 4 MB. */
		node_init(&u->node, env->host, env->st, env->model, 512, 4u << 20);
		u->p.node = &u->node;
		u->p.id = 1;
		u->p.t.cb = guard_cb;
		u->p.c.io.fd = -1;
		u->sleep.cb = sleep_cb;
		u->state = U_IDLE;
		user_sleep(u, rng_unit(r) * 0.5 * MIN(1.0, agent_think_scale(env) * 5), W_SESSION);
	}
	return 0;
}

const struct agent agent_bitcoin = {
	.name = "bitcoin",
	.proto = PROTO_BITCOIN,
	.model = "bitcoin",
	.actions = btc_actions,
	.params = btc_params,
	.serve = btc_serve,
	.client = btc_client,
};
