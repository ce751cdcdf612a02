/* out.c - see out.h.  The JSON writer keeps a stack of "first member"
 * flags so commas and indentation come out right without buffering. */
#include "out.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX_DEPTH 64

struct out {
	FILE *f;
	bool json;
	int depth;
	bool first[OUT_MAX_DEPTH];
	bool array[OUT_MAX_DEPTH]; /* the container at each depth is an array */
};

struct out *out_new(FILE *f, bool json)
{
	struct out *o = xcalloc(1, sizeof(*o));

	o->f = f;
	o->json = json;
	o->first[0] = true;
	return o;
}

void out_free(struct out *o)
{
	if (!o)
		return;
	if (o->json)
		fputc('\n', o->f);
	fflush(o->f);
	free(o);
}

bool out_is_json(const struct out *o)
{
	return o->json;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* Start a member: comma, newline, indentation and the key. */
static void json_member(struct out *o, const char *key)
{
	int i;

	if (o->depth == 0 && o->first[0]) {
		/* top-level value: nothing before it */
	} else {
		if (!o->first[o->depth])
			fputc(',', o->f);
		fputc('\n', o->f);
		for (i = 0; i < o->depth; i++)
			fputs("  ", o->f);
	}
	o->first[o->depth] = false;
	if (key) {
		json_string(o->f, key);
		fputs(": ", o->f);
	}
}

static void json_open(struct out *o, const char *key, char c)
{
	json_member(o, key);
	fputc(c, o->f);
	if (o->depth + 1 >= OUT_MAX_DEPTH)
		abort(); /* a programming error: nesting is static */
	o->first[++o->depth] = true;
	o->array[o->depth] = c == '[';
}

static void json_close(struct out *o, char c)
{
	int i;
	bool empty = o->first[o->depth];

	o->depth--;
	if (!empty) {
		fputc('\n', o->f);
		for (i = 0; i < o->depth; i++)
			fputs("  ", o->f);
	}
	fputc(c, o->f);
}

void out_obj_open(struct out *o, const char *key)
{
	if (o->json)
		json_open(o, key, '{');
}

void out_obj_close(struct out *o)
{
	if (o->json)
		json_close(o, '}');
}

void out_arr_open(struct out *o, const char *key)
{
	if (o->json)
		json_open(o, key, '[');
}

void out_arr_close(struct out *o)
{
	if (o->json)
		json_close(o, ']');
}

/* In JSON a value needs a key, except as an element of an array; a
 * keyless value inside an object is text-only and skipped. */
static bool json_skip(const struct out *o, const char *key)
{
	return !key && !o->array[o->depth];
}

/* Text formats are checked where they are written, as literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void out_str(struct out *o, const char *key, const char *fmt, const char *val)
{
	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		if (val)
			json_string(o->f, val);
		else
			fputs("null", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, val ? val : "-");
	}
}

void out_uint(struct out *o, const char *key, const char *fmt, uint64_t v)
{
	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		fprintf(o->f, "%llu", (unsigned long long)v);
	} else if (fmt) {
		fprintf(o->f, fmt, (unsigned long long)v);
	}
}

void out_bool(struct out *o, const char *key, const char *fmt, bool v)
{
	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		fputs(v ? "true" : "false", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, v ? "yes" : "no");
	}
}

void out_null(struct out *o, const char *key, const char *fmt, const char *text)
{
	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		fputs("null", o->f);
	} else if (fmt) {
		fprintf(o->f, fmt, text);
	}
}

void out_double(struct out *o, const char *key, const char *fmt, double v)
{
	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		fprintf(o->f, "%.9g", v);
	} else if (fmt) {
		fprintf(o->f, fmt, v);
	}
}

void out_rate(struct out *o, const char *key, const char *fmt, uint64_t bps)
{
	char s[64];

	if (o->json) {
		out_uint(o, key, NULL, bps);
		return;
	}
	/* text: the human quantity */
	fmt_rate(s, sizeof(s), bps);
	out_str(o, NULL, fmt, s);
}

void out_target(struct out *o, const char *key, const char *fmt, uint64_t v, bool packets)
{
	char s[64];

	if (o->json) {
		out_uint(o, key, NULL, v);
		return;
	}
	fmt_target(s, sizeof(s), v, packets);
	out_str(o, NULL, fmt, s);
}

void out_time(struct out *o, const char *key, const char *fmt, uint64_t us)
{
	char s[64];

	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		{
			char frac[8] = "";
			int n;

			/* exact decimal seconds, trailing zeros trimmed */
			if (us % 1000000) {
				snprintf(frac, sizeof(frac), ".%06llu",
					 (unsigned long long)(us % 1000000));
				for (n = 6; frac[n] == '0'; n--)
					frac[n] = '\0';
			}
			fprintf(o->f, "%llu%s", (unsigned long long)(us / 1000000), frac);
		}
		return;
	}
	fmt_time_us(s, sizeof(s), us);
	out_str(o, NULL, fmt, s);
}

void out_ppm(struct out *o, const char *key, const char *fmt, uint32_t ppm)
{
	char s[64];

	if (o->json) {
		if (json_skip(o, key))
			return;
		json_member(o, key);
		if (ppm == 1000000)
			fputs("1", o->f);
		else
			fprintf(o->f, "0.%06u", ppm);
		return;
	}
	fmt_ppm_percent(s, sizeof(s), ppm);
	out_str(o, NULL, fmt, s);
}

void out_text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json)
		return;
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
}

#pragma GCC diagnostic pop
