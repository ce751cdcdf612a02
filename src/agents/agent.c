/* agent.c - the table of built-in agents and the socket helpers they
 * share. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "../lib/util.h"

/* Weak while the agents land one by one; a missing one is skipped. */
#define AGENT(x) extern const struct agent x __attribute__((weak));
AGENT(agent_http) AGENT(agent_https) AGENT(agent_smtp) AGENT(agent_imap)
AGENT(agent_dns) AGENT(agent_ftp) AGENT(agent_postgresql) AGENT(agent_redis)
AGENT(agent_mqtt) AGENT(agent_bitcoin) AGENT(agent_ssh) AGENT(agent_sip)
AGENT(agent_hls) AGENT(agent_hls_tls) AGENT(agent_generic) AGENT(agent_generic_udp)
#undef AGENT

/* The protocols' own agents first: agent_find() takes the first. */
static const struct agent *const table[] = {
	&agent_http, &agent_https, &agent_smtp, &agent_imap, &agent_dns, &agent_ftp,
	&agent_postgresql, &agent_redis, &agent_mqtt, &agent_bitcoin, &agent_ssh, &agent_sip,
	&agent_hls, &agent_hls_tls, &agent_generic, &agent_generic_udp,
};

const struct agent *agent_find(enum spec_proto p)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i] && table[i]->proto == p)
			return table[i];
	return NULL;
}

const struct agent *agent_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i] && !strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

const struct agent *agent_for(const char *name, enum spec_proto p)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i] && table[i]->proto == p &&
		    !strcmp(table[i]->source ? table[i]->source : table[i]->name, name))
			return table[i];
	return NULL;
}

char *agent_model_path(const char *datadir, const char *name)
{
	return xasprintf("%s/behaviours/%s.model", datadir, name);
}

struct model *agent_model(const struct agent *a, const char *datadir, const char *path, char **msg)
{
	char *own = path ? NULL : agent_model_path(datadir, a->model);
	struct model *m = model_load_file(path ? path : own, msg);

	free(own);
	if (m && (*msg = model_check(m, a->actions, a->params))) {
		char *why = *msg;

		*msg = xasprintf("%s (for %s users)", why, a->name);
		free(why);
		model_free(m);
		m = NULL;
	}
	return m;
}

int agent_listen_tcp(uint16_t port, int *fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err;

	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4096) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

int agent_bind_udp(uint16_t port, int *fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

void agent_md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(p, n, md, &len, EVP_md5(), NULL))
		len = 0;
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", i < len ? md[i] : 0);
	out[32] = '\0';
}
