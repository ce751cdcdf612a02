/* html.c - compare's page: the figures as tables, and per class and
 * metric the reference's and the generated trace's CDFs in one SVG plot
 * (values on a log scale).  One self-contained file, no scripts. */
#include <math.h>
#include <string.h>

#include "compare.h"

#define W 360
#define H 220
#define ML 46                   /* margins: left, right, top, bottom */
#define MR 12
#define MT 24
#define MB 34

static void esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		default: buf_putc(b, *s);
		}
	}
}

/* The x range (log10) that holds both histograms' mass */
static void range(const struct hist *a, const struct hist *b, double *lo, double *hi)
{
	int first = HIST_BINS, last = 0;

	for (int i = 0; i < HIST_BINS; i++) {
		if (a->bin[i] || b->bin[i]) {
			if (i < first)
				first = i;
			last = i;
		}
	}
	*lo = log10(fmax(hist_lo(first), 1));
	*hi = log10(fmax(hist_lo(last + 1), 10));
	if (*hi - *lo < 1) {
		*lo = floor(*lo);
		*hi = *lo + 1;
	}
}

static void curve(struct buf *b, const struct hist *h, double lo, double hi, const char *color)
{
	double f = 0;
	bool first = true;

	if (!h->n)
		return;
	buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
	for (int i = 0; i < HIST_BINS; i++) {
		double x0, x1, y0, y1;

		if (!h->bin[i])
			continue;
		x0 = ML + (log10(fmax(hist_lo(i), 1)) - lo) / (hi - lo) * (W - ML - MR);
		x1 = ML + (log10(fmax(hist_lo(i + 1), 1)) - lo) / (hi - lo) * (W - ML - MR);
		y0 = H - MB - f * (H - MT - MB);
		f += (double)h->bin[i] / (double)h->n;
		y1 = H - MB - f * (H - MT - MB);
		if (first)
			buf_printf(b, "%d,%.1f ", ML, y0);
		/* a step: flat to the bin, up across it */
		buf_printf(b, "%.1f,%.1f %.1f,%.1f ", x0, y0, x1, y1);
		first = false;
	}
	buf_printf(b, "%d,%.1f\"/>\n", W - MR, H - MB - f * (H - MT - MB));
}

static void plot(struct buf *b, const struct cmp_dist *d, enum cmp_metric m)
{
	double lo, hi;

	range(&d->ref, &d->gen, &lo, &hi);
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
	buf_printf(b, "<text x=\"%d\" y=\"14\">%s (%s): JS %.3f, KS %.3f</text>\n", ML,
		   cmp_metric_name(m), cmp_metric_unit(m), d->js, d->ks);
	buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
		   ML, MT, W - ML - MR, H - MT - MB);
	for (double e = ceil(lo); e <= hi; e++) {
		double x = ML + (e - lo) / (hi - lo) * (W - ML - MR);

		buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">1e%.0f</text>\n",
			   x, MT, x, H - MB, x, H - MB + 14, e);
	}
	for (int q = 0; q <= 4; q++)
		buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", ML - 4,
			   H - MB - q / 4.0 * (H - MT - MB) + 4, q / 4.0);
	curve(b, &d->ref, lo, hi, "#1f77b4");
	curve(b, &d->gen, lo, hi, "#ff7f0e");
	buf_puts(b, "</svg>\n");
}

static void row(struct buf *b, const char *name, const char *ref, const char *gen)
{
	buf_puts(b, "<tr><th>");
	esc(b, name);
	buf_puts(b, "</th><td>");
	esc(b, ref);
	buf_puts(b, "</td><td>");
	esc(b, gen);
	buf_puts(b, "</td></tr>\n");
}

void compare_html(const struct cmp_result *r, const char *ref_name, const char *gen_name,
		  struct buf *b)
{
	char x[64], y[64];

	buf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>dynamo compare</title>\n"
		    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
		    "th{text-align:left}.k{color:#1f77b4}.g{color:#ff7f0e}</style></head><body>\n");
	buf_puts(b, "<h1>dynamo compare</h1>\n<p><span class=\"k\">&#9632; reference</span> ");
	esc(b, ref_name);
	buf_puts(b, "<br><span class=\"g\">&#9632; generated</span> ");
	esc(b, gen_name);
	buf_puts(b, "</p>\n<table><tr><th></th><th>reference</th><th>generated</th></tr>\n");
	fmt_rate(x, sizeof(x), r->rate_ref);
	fmt_rate(y, sizeof(y), r->rate_gen);
	row(b, "rate (active time)", x, y);
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!r->cls[c].present)
			continue;
		snprintf(x, sizeof(x), "%.1f %%", 100 * r->cls[c].share_ref);
		snprintf(y, sizeof(y), "%.1f %%", 100 * r->cls[c].share_gen);
		row(b, spec_class_name((enum spec_class)c), x, y);
	}
	snprintf(x, sizeof(x), "%zu", r->hosts_ref);
	snprintf(y, sizeof(y), "%zu of them", r->hosts_covered);
	row(b, "internal hosts", x, y);
	snprintf(x, sizeof(x), "%zu", r->services_ref);
	snprintf(y, sizeof(y), "%zu of them", r->services_covered);
	row(b, "internal services", x, y);
	buf_printf(b, "</table>\n<p>class mix error: %.1f points</p>\n", 100 * r->mix_error);
	buf_puts(b, "<h2>all classes</h2>\n<div>\n");
	for (int m = 0; m < CMP__COUNT; m++)
		plot(b, &r->all[m], (enum cmp_metric)m);
	buf_puts(b, "</div>\n");
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!r->cls[c].present)
			continue;
		buf_printf(b, "<h2>%s</h2>\n<div>\n", spec_class_name((enum spec_class)c));
		for (int m = 0; m < CMP__COUNT; m++)
			plot(b, &r->cls[c].d[m], (enum cmp_metric)m);
		buf_puts(b, "</div>\n");
	}
	buf_puts(b, "</body></html>\n");
}
