/* fuzz-decode.c - libFuzzer target for the frame decoder and the flow
 * table (src/packet/decode.c, flow.c): the first byte picks a link type,
 * the rest is frames, each 2 bytes of length then the frame.  Decoding
 * never reads past a frame, and what it says fits in it; the flows it
 * makes account for every decoded packet. */
#include "../../src/packet/decode.h"
#include "../../src/packet/flow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t ended;

static void on_end(struct flow *f, enum flow_end why, void *arg)
{
	(void)why;
	(void)arg;
	ended += f->packets[0] + f->packets[1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = { LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_IPV4,
				     LINK_IPV6, LINK_NULL, LINK_LOOP, 147 };
	struct flow_config c = { .max_flows = 8, .end = on_end, .linger_s = 0.001, .udp_idle_s = 0.002 };
	struct flow_table *t;
	uint64_t decoded = 0, ts = 0;
	int link;

	if (size < 1)
		return 0;
	link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	data++, size--;
	ended = 0;
	t = flow_table_new(&c);
	while (size >= 2) {
		size_t n = (size_t)(data[0] << 8 | data[1]);
		struct pkt k;
		const char *why;
		uint8_t *frame;
		enum decode_res r;
		struct flow *f;
		bool is_new;
		int dir;

		data += 2, size -= 2;
		if (n > size)
			n = size;
		/* a copy of exactly n bytes, so ASan sees any read past it */
		frame = malloc(n ? n : 1);
		memcpy(frame, data, n);
		r = decode_frame(link, frame, (uint32_t)n, (uint32_t)n + (n % 3) * 100, &k, &why);
		if (r != DECODE_OK) {
			if (!why)
				__builtin_trap();
		} else {
			if (k.payload_cap > k.payload_len || k.payload_len > k.ip_len)
				__builtin_trap();
			if (k.payload_cap && (k.payload < frame || k.payload + k.payload_cap > frame + n))
				__builtin_trap();
			if (k.l3 && (k.l3 < frame || k.l3 + k.l3_cap > frame + n))
				__builtin_trap();
			ts += (uint64_t)(n % 7) * 1000000;
			f = flow_packet(t, &k, ts, &dir, &is_new);
			if (dir != FLOW_UP && dir != FLOW_DOWN)
				__builtin_trap();
			(void)f;
			decoded++;
		}
		free(frame);
		data += n, size -= n;
	}
	flow_flush(t);
	if (ended != decoded)
		__builtin_trap();
	flow_table_free(t);
	return 0;
}
