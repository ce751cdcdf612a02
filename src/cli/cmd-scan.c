/* cmd-scan.c - 'dynamo catalog scan PATH...': the projects under each
 * PATH (a repository checkout, a folder of them, a compose file, or a
 * file that lists such paths one a line), the classes each would make
 * and the evidence (src/catalog/scan.h).  Text or --json through one
 * code path; a file that cannot be read or parsed is reported with its
 * place and the scan goes on. */
#include "cli.h"
#include "../catalog/catalog.h"
#include "../catalog/scan.h"
#include "../lib/out.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_DEPTH 6            /* folders below a PATH looked into */
#define LIST_DEPTH 2            /* lists that name lists */
#define REPORT_MIN 0.5          /* a class is found from this confidence */
#define K8S_FILES 64            /* Kubernetes manifests of one folder */

struct scan_run {
	const struct scan_map *map;
	struct out *o;
	bool progress;
	size_t projects, files, errors;
	double min;
	char **built;           /* folders a compose service is built from */
	size_t nbuilt, built_cap;
	/* --write: the catalog, and the names this scan wrote into it */
	const struct catalog *cat;
	const char *dir;
	char **wrote;
	size_t nwrote, written, kept;
};

static void error(struct scan_run *s, const char *msg)
{
	s->errors++;
	fprintf(stderr, "%sdynamo: %s\n", s->progress ? "\r\033[K" : "", msg);
}

static void write_entry(struct scan_run *s, const struct scan_project *p);

static void print_project(struct scan_run *s, const struct scan_project *p)
{
	struct out *o = s->o;
	bool any = false;

	out_obj_open(o, NULL);
	out_str(o, "path", "%s\n", p->path);
	if (p->commit) {
		if (p->repo)
			out_str(o, "repository", "  from %s", p->repo);
		else
			out_null(o, "repository", "  from %s", "a checkout with no origin");
		out_str(o, "commit", " at %.12s", p->commit);
		out_str(o, "subdir", ", %s\n", p->subdir);
	}
	out_arr_open(o, "files");
	for (size_t i = 0; i < p->nfiles; i++)
		out_str(o, NULL, NULL, p->files[i]);
	out_arr_close(o);
	out_arr_open(o, "services");
	for (size_t i = 0; i < p->nsvc; i++) {
		const struct scan_service *sv = &p->svc[i];

		out_obj_open(o, NULL);
		out_str(o, "name", NULL, sv->name);
		if (sv->image)
			out_str(o, "image", NULL, sv->image);
		if (sv->build)
			out_str(o, "build", NULL, sv->build);
		out_str(o, "file", NULL, sv->file);
		out_uint(o, "line", NULL, sv->line);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_arr_open(o, "classes");
	for (int c = 0; c < CLASS__COUNT; c++) {
		const struct scan_class *k = &p->cls[c];

		if (k->confidence < s->min)
			continue;
		any = true;
		out_obj_open(o, NULL);
		out_str(o, "class", "  %-15s", spec_class_name(c));
		out_double(o, "confidence", "%.2f", k->confidence);
		out_arr_open(o, "evidence");
		for (size_t i = 0; i < k->nev; i++) {
			out_obj_open(o, NULL);
			out_text(o, i ? "\n%23s" : "  ", "");
			out_str(o, "file", "%s", k->ev[i].file);
			out_uint(o, "line", ":%llu", k->ev[i].line);
			out_str(o, "why", " %s", k->ev[i].why);
			out_obj_close(o);
		}
		out_text(o, "\n");
		out_arr_close(o);
		out_obj_close(o);
	}
	out_arr_close(o);
	if (!any)
		out_text(o, "  no class found (%zu service%s)\n", p->nsvc, p->nsvc == 1 ? "" : "s");
	out_bool(o, "drives", NULL, p->drives);
	if (p->drives)
		out_str(o, "drives_why", "  makes traffic on its own: %s\n", p->drives_why);
	else
		out_text(o, "  needs dynamo's users to make traffic\n");
	if (s->cat)
		write_entry(s, p);
	out_obj_close(o);
}

static bool name_taken(const struct scan_run *s, const char *name)
{
	if (catalog_find(s->cat, name))
		return true;
	for (size_t i = 0; i < s->nwrote; i++)
		if (!strcmp(s->wrote[i], name))
			return true;
	return false;
}

/* --write: p as an entry of the catalog, under a name no other source
 * has (NAME, NAME-2, ...); a project already there (the same start) is
 * kept as it is, with its profile.  The entry is parsed back before it
 * is written, so that a path the catalog cannot hold is an error here,
 * not a bad file in the catalog. */
static void write_entry(struct scan_run *s, const struct scan_project *p)
{
	struct catalog_entry e, back = { 0 };
	char base[CATALOG_MAX_NAME + 1], real[PATH_MAX], file[PATH_MAX + 80], err[PATH_MAX + 256];
	char *text;

	if (!scan_entry(p, REPORT_MIN, &e)) {
		out_null(s->o, "entry", "  catalog: not written, no class found\n", NULL);
		return;
	}
	if (realpath(p->path, real)) {
		free(e.start);
		e.start = xstrdup(real);
	}
	snprintf(base, sizeof(base), "%s", e.name);
	for (int i = 1;; i++) {
		const struct catalog_entry *old;

		if (i > 1) {
			char name[CATALOG_MAX_NAME + 16];

			snprintf(name, sizeof(name), "%.*s-%d", CATALOG_MAX_NAME - 3, base, i);
			free(e.name);
			e.name = xstrdup(name);
		}
		old = catalog_find(s->cat, e.name);
		if (old && old->kind == CATALOG_PROJECT && old->start && !strcmp(old->start, e.start)) {
			s->kept++;
			out_str(s->o, "entry", "  catalog: kept %s (already there)\n",
				old->file ? old->file : old->name);
			catalog_entry_free(&e);
			return;
		}
		if (!name_taken(s, e.name))
			break;
		if (i == 99) {
			snprintf(err, sizeof(err), "%s: no free name for its catalog entry (%s-2 to "
				 "%s-99 are taken)", p->path, base, base);
			error(s, err);
			out_null(s->o, "entry", NULL, NULL);
			catalog_entry_free(&e);
			return;
		}
	}
	snprintf(file, sizeof(file), "%s/%s.source", s->dir, e.name);
	text = catalog_format(&e);
	if (catalog_parse(&back, file, text, strlen(text), err, sizeof(err)) ||
	    catalog_write_file(file, text, err, sizeof(err))) {
		error(s, err);
		out_null(s->o, "entry", NULL, NULL);
	} else {
		s->written++;
		s->wrote = xreallocarray(s->wrote, s->nwrote + 1, sizeof(*s->wrote));
		s->wrote[s->nwrote++] = xstrdup(e.name);
		out_str(s->o, "entry", "  catalog: wrote %s\n", file);
	}
	catalog_entry_free(&back);
	catalog_entry_free(&e);
	free(text);
}

/* A YAML file that is a Kubernetes manifest by its first lines' keys
 * (read whole: it is small, or not one). */
static bool looks_k8s(const char *path)
{
	struct buf b = { 0 };
	char err[64];
	bool k8s = !scan_read(path, &b, err, sizeof(err)) && scan_is_k8s_text(b.p ? b.p : "", b.len);

	buf_free(&b);
	return k8s;
}

/* Hidden folders and vendored code are no project's own. */
static bool skipped(const char *name)
{
	return name[0] == '.' || !strcmp(name, "node_modules") || !strcmp(name, "vendor");
}

#define CODE_DEPTH 4            /* folders below a project for its code */
#define CODE_FILES 500          /* source files read, at most */
#define CODE_BYTES (256u << 10) /* of each, at most */

/* The project's source files under dir, in name order: the modules
 * they import. */
static void code(struct scan_run *s, struct scan_project *p, const char *dir, int depth, size_t *left)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *path = NULL, err[PATH_MAX + 64];
		struct stat st;

		if (*left && !skipped(name))
			path = xasprintf("%s/%s", dir, name);
		if (!path || lstat(path, &st) < 0) {
			free(path);
			free(names[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < CODE_DEPTH) {
			code(s, p, path, depth + 1, left);
		} else if (S_ISREG(st.st_mode) && scan_is_code_name(name) && st.st_size <= (off_t)CODE_BYTES) {
			struct buf b = { 0 };

			if (!scan_read(path, &b, err, sizeof(err)) &&
			    scan_code(p, s->map, path, b.p ? b.p : "", b.len))
				(*left)--;
			buf_free(&b);
		}
		free(path);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* A Dockerfile for service (of p, or a new one): read, added. */
static void dockerfile(struct scan_run *s, struct scan_project *p, const char *service,
		       const char *file)
{
	struct buf b = { 0 };
	char err[PATH_MAX + 256];

	s->files++;
	if (scan_read(file, &b, err, sizeof(err)) ||
	    scan_dockerfile(p, service, file, b.p ? b.p : "", b.len, err, sizeof(err)))
		error(s, err);
	buf_free(&b);
}

/* The Dockerfiles of the services built in this repository (a build
 * context that is a folder, not a URL), noted so that the walk does not
 * take their folders for projects of their own. */
static void built_from(struct scan_run *s, struct scan_project *p, const char *compose)
{
	for (size_t i = 0, n = p->nsvc; i < n; i++) {
		const struct scan_service *sv = &p->svc[i];
		char *dir, *slash, *ctx, *df, *real;
		struct stat st;

		if (!sv->build || strstr(sv->build, "://") || !strncmp(sv->build, "git@", 4))
			continue;
		dir = xstrdup(compose);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		{
			const char *b = sv->build;

			while (b[0] == '.' && b[1] == '/')
				b += 2;
			ctx = b[0] == '/' ? xstrdup(b) : xasprintf("%s/%s", slash ? dir : ".", b);
		}
		df = xasprintf("%s/Dockerfile", ctx);
		if (!stat(df, &st) && S_ISREG(st.st_mode)) {
			char *name = xstrdup(sv->name);

			dockerfile(s, p, name, df);
			free(name);
			if ((real = realpath(ctx, NULL)))
				*VEC_PUSH(s->built, s->nbuilt, s->built_cap) = real;
		}
		free(df);
		free(ctx);
		free(dir);
	}
}

static bool was_built(const struct scan_run *s, const char *dir)
{
	char *real = realpath(dir, NULL);
	bool yes = false;

	for (size_t i = 0; real && i < s->nbuilt && !yes; i++)
		yes = !strcmp(s->built[i], real);
	free(real);
	return yes;
}

/* One project: its compose files (a directory's, or the one file), or
 * its Dockerfile alone (df: a folder with no compose file). */
/* What else a folder holds: a Procfile, Kubernetes manifests. */
struct extras {
	char *procfile;
	char **k8s;
	size_t nk8s;
};

static void extras_read(struct scan_run *s, struct scan_project *p, const struct extras *x)
{
	char err[1024];

	if (x && x->procfile) {
		struct buf b = { 0 };

		s->files++;
		if (scan_read(x->procfile, &b, err, sizeof(err)) ||
		    scan_procfile(p, x->procfile, b.p ? b.p : "", b.len, err, sizeof(err)))
			error(s, err);
		buf_free(&b);
	}
	for (size_t i = 0; x && i < x->nk8s; i++) {
		struct buf b = { 0 };
		int r;

		s->files++;
		if ((r = scan_read(x->k8s[i], &b, err, sizeof(err))) ||
		    (r = scan_k8s(p, x->k8s[i], b.p ? b.p : "", b.len, err, sizeof(err))))
			if (r != -ENOENT)
				error(s, err);
		buf_free(&b);
	}
}

static void project(struct scan_run *s, const char *path, char **files, size_t n, const char *df,
		    const struct extras *x)
{
	struct scan_project p = { .path = xstrdup(path) };
	char err[1024];

	for (size_t i = 0; i < n; i++) {
		struct buf b = { 0 };

		s->files++;
		if (scan_read(files[i], &b, err, sizeof(err)) ||
		    scan_compose(&p, files[i], b.p ? b.p : "", b.len, err, sizeof(err)))
			error(s, err);
		else
			built_from(s, &p, files[i]);
		buf_free(&b);
	}
	if (df) {
		const char *base = strrchr(path, '/');

		dockerfile(s, &p, base && base[1] ? base + 1 : path, df);
	}
	extras_read(s, &p, x);
	if (p.nfiles || (df && p.nsvc)) {
		size_t left = CODE_FILES;
		struct stat st;

		scan_provenance(&p);
		scan_classify(&p, s->map);
		if (!stat(path, &st) && S_ISDIR(st.st_mode))
			code(s, &p, path, 0, &left);
		print_project(s, &p);
		s->projects++;
		if (s->progress && s->projects % 100 == 0)
			fprintf(stderr, "\r\033[Kscanned %zu projects, %zu files", s->projects, s->files);
	}
	scan_project_free(&p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: its compose files make one project; then the folders in
 * it (other projects: a folder of checkouts, or a repository's
 * sub-projects), in name order, skipping hidden ones and vendored code. */
static void walk(struct scan_run *s, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **files = NULL, **subs = NULL;
	size_t nf = 0, cf = 0, ns = 0, cs = 0, ck = 0;
	char err[PATH_MAX + 64];
	bool has_df = false;
	struct extras x = { 0 };

	if (!d) {
		snprintf(err, sizeof(err), "%s: %s", dir, strerror(errno));
		error(s, err);
		return;
	}
	while ((e = readdir(d))) {
		char *path;
		struct stat st;

		if (skipped(e->d_name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode)) {
			free(path);
			continue;
		}
		if (S_ISREG(st.st_mode) && scan_is_compose_name(e->d_name)) {
			*VEC_PUSH(files, nf, cf) = path;
			continue;
		}
		if (S_ISREG(st.st_mode) && !strcmp(e->d_name, "Dockerfile"))
			has_df = true;
		if (S_ISREG(st.st_mode) && !strcmp(e->d_name, "Procfile") && !x.procfile) {
			x.procfile = path;
			continue;
		}
		if (S_ISREG(st.st_mode) && scan_is_yaml_name(e->d_name) && x.nk8s < K8S_FILES &&
		    st.st_size <= SCAN_MAX_FILE && looks_k8s(path)) {
			*VEC_PUSH(x.k8s, x.nk8s, ck) = path;
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH)
			*VEC_PUSH(subs, ns, cs) = path;
		else
			free(path);
	}
	closedir(d);
	if (nf > 1)
		qsort(files, nf, sizeof(*files), cmp_str);
	if (ns > 1)
		qsort(subs, ns, sizeof(*subs), cmp_str);
	if (x.nk8s > 1)
		qsort(x.k8s, x.nk8s, sizeof(*x.k8s), cmp_str);
	if (nf) {
		project(s, dir, files, nf, NULL, &x);
	} else if (has_df && !was_built(s, dir)) {
		char *df = xasprintf("%s/Dockerfile", dir);

		project(s, dir, NULL, 0, df, &x);
		free(df);
	} else if (x.procfile || x.nk8s) {
		project(s, dir, NULL, 0, NULL, &x);
	}
	free(x.procfile);
	for (size_t i = 0; i < x.nk8s; i++)
		free(x.k8s[i]);
	free(x.k8s);
	for (size_t i = 0; i < ns; i++)
		walk(s, subs[i], depth + 1);
	for (size_t i = 0; i < nf; i++)
		free(files[i]);
	for (size_t i = 0; i < ns; i++)
		free(subs[i]);
	free(files);
	free(subs);
}


static void scan_path(struct scan_run *s, const char *path, int lists);

/* A list: a path a line (relative to the list's folder), '#' comments. */
static void list(struct scan_run *s, const char *file, int lists)
{
	struct buf b = { 0 };
	char err[PATH_MAX + 64], *dir, *slash;

	if (scan_read(file, &b, err, sizeof(err))) {
		error(s, err);
		return;
	}
	dir = xstrdup(file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	for (char *line = b.p, *next; line && *line; line = next) {
		char *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		line += strspn(line, " \t");
		end = line + strcspn(line, "#\r");
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = 0;
		if (!*line)
			continue;
		if (line[0] == '/') {
			scan_path(s, line, lists + 1);
		} else {
			char *p = xasprintf("%s/%s", dir, line);

			scan_path(s, p, lists + 1);
			free(p);
		}
	}
	free(dir);
	buf_free(&b);
}

static void scan_path(struct scan_run *s, const char *path, int lists)
{
	struct stat st;
	char err[PATH_MAX + 64];

	if (stat(path, &st) < 0) {
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		error(s, err);
	} else if (S_ISDIR(st.st_mode)) {
		walk(s, path, 0);
	} else if (scan_is_yaml_name(path)) {
		char *one = (char *)path;

		if (looks_k8s(path)) {
			struct extras x = { .k8s = &one, .nk8s = 1 };

			project(s, path, NULL, 0, NULL, &x);
		} else {
			project(s, path, &one, 1, NULL, NULL);
		}
	} else if (lists < LIST_DEPTH) {
		list(s, path, lists);
	} else {
		snprintf(err, sizeof(err), "%s: a list named in a list named in a list: not followed",
			 path);
		error(s, err);
	}
}

static const struct option scan_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "map", required_argument, NULL, 'm' },
	{ "all", no_argument, NULL, 'a' },
	{ "write", no_argument, NULL, 'w' },
	{ "catalog", required_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int catalog_scan(int argc, char **argv)
{
	const struct cmd *self = cli_find("catalog");
	const char *given = NULL;
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct scan_run s = { .min = REPORT_MIN };
	struct scan_map map;
	struct catalog cat = { 0 };
	const char *cat_given = NULL;
	char cat_dir[PATH_MAX];
	bool json = false, write = false;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", scan_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'm':
			given = optarg;
			break;
		case 'a':
			s.min = 1e-9;
			break;
		case 'w':
			write = true;
			break;
		case 'C':
			cat_given = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind == argc)
		return cli_usage_error(self, "catalog scan needs a PATH: a repository, a folder of "
				       "them, a compose file or a file that lists them");
	if (!given) {
		cli_find_datadir(path, sizeof(path));
		strncat(path, "/scan/services.map", sizeof(path) - strlen(path) - 1);
		given = path;
	}
	if (cat_given && !write)
		return cli_usage_error(self, "--catalog DIR says where --write writes: give both");
	if (scan_map_load(&map, given, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s\n", err);
		return EXIT_INVALID;
	}
	/* --write: names are checked against the catalog, which must load */
	if (write) {
		if ((st = cli_catalog_load(cat_given, cat_dir, sizeof(cat_dir), &cat))) {
			scan_map_free(&map);
			return st;
		}
		s.cat = &cat;
		s.dir = cat_dir;
	}
	s.map = &map;
	s.progress = !json && isatty(STDERR_FILENO);
	s.o = out_new(stdout, json);
	out_obj_open(s.o, NULL);
	out_arr_open(s.o, "projects");
	for (int i = optind; i < argc; i++)
		scan_path(&s, argv[i], 0);
	out_arr_close(s.o);
	out_uint(s.o, "files", NULL, s.files);
	out_uint(s.o, "errors", NULL, s.errors);
	out_obj_close(s.o);
	out_free(s.o);
	if (s.progress && s.projects >= 100)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "dynamo: %zu project%s in %zu file%s, %zu error%s\n", s.projects,
		s.projects == 1 ? "" : "s", s.files, s.files == 1 ? "" : "s", s.errors,
		s.errors == 1 ? "" : "s");
	if (write)
		fprintf(stderr, "dynamo: %zu catalog entr%s written into %s, %zu kept\n", s.written,
			s.written == 1 ? "y" : "ies", cat_dir, s.kept);
	scan_map_free(&map);
	catalog_free(&cat);
	for (size_t i = 0; i < s.nwrote; i++)
		free(s.wrote[i]);
	free(s.wrote);
	for (size_t i = 0; i < s.nbuilt; i++)
		free(s.built[i]);
	free(s.built);
	return s.projects || !s.errors ? EXIT_OK : EXIT_FAIL;
}
