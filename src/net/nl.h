/* nl.h - a small rtnetlink client on libmnl: requests are batched into
 * one sendmsg, every request is acknowledged, and a failure comes back as
 * -errno with the kernel's extended-ack text.  Nothing here prints. */
#ifndef DYNAMO_NL_H
#define DYNAMO_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

#define NL_WUR __attribute__((warn_unused_result))

struct nl;

/* A socket in the calling thread's current network namespace. */
int nl_open(struct nl **out) NL_WUR;
void nl_close(struct nl *nl);
/* The socket, for device ioctls (SIOCGIFINDEX) in its namespace. */
int nl_fd(const struct nl *nl);

/* Start a request of the given type in the batch (NLM_F_REQUEST and
 * NLM_F_ACK are added); the caller appends its header and attributes
 * with libmnl.  A full batch is sent first, and an error of that send
 * is kept for the next nl_commit. */
struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags);

/* Send the batch and wait for every acknowledgement.  Returns 0, or the
 * first error as -errno with its text (the kernel's, or strerror) in err. */
int nl_commit(struct nl *nl, char *err, size_t errlen) NL_WUR;

#endif
