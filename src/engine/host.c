/* host.c - the shared state of one emulated host's agents. */
#include <string.h>

#include <openssl/ssl.h>

#include "host.h"

int host_init(struct host *h, const char *name, uint32_t addr, const char *datadir, uint64_t seed)
{
	int err;

	memset(h, 0, sizeof(*h));
	err = loop_new(&h->loop);
	if (err)
		return err;
	h->name = name;
	h->addr = addr;
	h->datadir = datadir;
	rng_seed(&h->rng, seed ^ rng_hash(name, strlen(name), 0));
	content_init(&h->content, seed);
	return 0;
}

void host_view(struct host *h, const struct host *base, uint64_t seed)
{
	*h = *base;
	h->shared = true;
	h->stopping = false;
	/* TLS contexts are made on first use; make them now so the view
	 * and its base share them. */
	h->tls_server = NULL;
	h->tls_client = host_tls_client((struct host *)base);
	rng_seed(&h->rng, seed ^ rng_hash(base->name, strlen(base->name), 0));
}

void host_fini(struct host *h)
{
	if (h->shared) {
		if (h->tls_server)
			SSL_CTX_free(h->tls_server);
		h->tls_server = NULL;
		return;
	}
	loop_free(h->loop);
	h->loop = NULL;
	content_free(&h->content);
	SSL_CTX_free(h->tls_server);
	SSL_CTX_free(h->tls_client);
	h->tls_server = h->tls_client = NULL;
}

SSL_CTX *host_tls_server(struct host *h)
{
	if (!h->tls_server)
		h->tls_server = conn_tls_server_ctx(h->name);
	return h->tls_server;
}

SSL_CTX *host_tls_client(struct host *h)
{
	if (!h->tls_client)
		h->tls_client = conn_tls_client_ctx();
	return h->tls_client;
}

uint64_t host_ns(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > 86400)
		seconds = 86400;
	return (uint64_t)(seconds * 1e9);
}
