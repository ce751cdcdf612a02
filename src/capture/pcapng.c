/* pcapng.c - a small pcapng writer (see pcapng.h).  Blocks are written
 * in host byte order, which the section header's magic tells readers. */
#include <errno.h>
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0a0d0d0aU
#define BT_IDB 0x00000001U
#define BT_EPB 0x00000006U
#define LINKTYPE_ETHERNET 1

static void put(struct pcapng *w, const void *p, size_t n)
{
	if (!w->err && fwrite(p, 1, n, w->f) != n)
		w->err = errno ? -errno : -EIO;
}

static void put32(struct pcapng *w, uint32_t v)
{
	put(w, &v, 4);
}

static void pad(struct pcapng *w, size_t n)
{
	static const char zero[4];

	put(w, zero, (4 - n % 4) % 4);
}

static size_t padded(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* An option: code, length, value padded to 4. */
static void option(struct pcapng *w, uint16_t code, const void *v, uint16_t len)
{
	uint16_t hdr[2] = { code, len };

	put(w, hdr, 4);
	put(w, v, len);
	pad(w, len);
}

int pcapng_open(struct pcapng *w, const char *path, const char *app)
{
	uint16_t applen = (uint16_t)strlen(app);
	uint32_t total = 28 + 4 + (uint32_t)padded(applen) + 4;
	uint16_t ver[2] = { 1, 0 };
	int64_t seclen = -1;

	memset(w, 0, sizeof(*w));
	w->f = fopen(path, "we");
	if (!w->f)
		return -errno;
	put32(w, BT_SHB);
	put32(w, total);
	put32(w, 0x1a2b3c4d);
	put(w, ver, 4);
	put(w, &seclen, 8);
	option(w, 4 /* shb_userappl */, app, applen);
	put32(w, 0); /* opt_endofopt */
	put32(w, total);
	if (w->err) {
		fclose(w->f);
		w->f = NULL;
	}
	return w->err;
}

uint32_t pcapng_iface(struct pcapng *w, const char *name, uint32_t snaplen)
{
	uint16_t namelen = (uint16_t)strlen(name), lt[2] = { LINKTYPE_ETHERNET, 0 };
	uint32_t total = 20 + 4 + (uint32_t)padded(namelen) + 4 + 4 + 4;
	uint8_t tsresol = 9; /* nanoseconds */

	put32(w, BT_IDB);
	put32(w, total);
	put(w, lt, 4);
	put32(w, snaplen);
	option(w, 2 /* if_name */, name, namelen);
	option(w, 9 /* if_tsresol */, &tsresol, 1);
	put32(w, 0);
	put32(w, total);
	return w->nifaces++;
}

void pcapng_packet(struct pcapng *w, uint32_t iface, uint64_t ts_ns, const void *p,
		   uint32_t caplen, uint32_t len)
{
	uint32_t total = 32 + (uint32_t)padded(caplen);

	put32(w, BT_EPB);
	put32(w, total);
	put32(w, iface);
	put32(w, (uint32_t)(ts_ns >> 32));
	put32(w, (uint32_t)ts_ns);
	put32(w, caplen);
	put32(w, len);
	put(w, p, caplen);
	pad(w, caplen);
	put32(w, total);
}

int pcapng_close(struct pcapng *w)
{
	int err;

	if (!w->f)
		return 0;
	if (fflush(w->f) && !w->err)
		w->err = -errno;
	if (fclose(w->f) && !w->err)
		w->err = -errno;
	w->f = NULL;
	err = w->err;
	return err;
}
