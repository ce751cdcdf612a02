/* test-project.c - a project as dynamo runs it, without running it: its
 * compose files (and override) merged into services, each with its role
 * by the map (a load generator runs on the client host), the image it
 * runs (its own, or one built from its context under a name of
 * dynamo's), and the exact podman command that starts it in a host's
 * namespace; what is missing is said. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "../../src/control/project.h"
#include "../../src/lib/util.h"

static char dir[] = "/tmp/test-project-XXXXXX";

static void put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void map_of(struct scan_map *m)
{
	static const char text[] = "image busybox web\nword loadgen web client\n";
	char err[256];

	if (scan_map_parse(m, "m.map", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
}

static const struct project_svc *svc(const struct project *pj, const char *name)
{
	for (size_t i = 0; i < pj->nsvc; i++)
		if (!strcmp(pj->svc[i].name, name))
			return &pj->svc[i];
	fail_msg("no service %s", name);
	return NULL;
}

/* The words of argv from its first "--name" on, blank-separated. */
static char *joined(char **argv)
{
	struct buf b = { 0 };
	bool on = false;

	for (size_t i = 0; argv[i]; i++) {
		on |= !strcmp(argv[i], "--name");
		if (on)
			buf_printf(&b, "%s%s", b.len ? " " : "", argv[i]);
	}
	return buf_steal(&b);
}

static void loads_and_runs(void **state)
{
	struct scan_map m;
	struct project pj;
	char err[512], **argv, *s;
	/* an owner past any pid_max: no such process, start time 0 */
	struct project_run r = { .nspid = 4242, .owner = 999999999, .client = 0x0a000102,
				 .server = 0x0a000202, .tag = "17-h2" };

	(void)state;
	assert_non_null(mkdtemp(dir));
	put("compose.yaml",
	    "services:\n"
	    "  web:\n"
	    "    image: localhost/busybox\n"
	    "    command: httpd -f -p 80 -h /www\n"
	    "    ports: [\"8080:80\"]\n"
	    "    environment: {A: 1}\n"
	    "  loadgen:\n"
	    "    build: ./load\n"
	    "    entrypoint: [\"sh\", \"-c\"]\n"
	    "    command: [\"while :; do wget -q http://web/; done\"]\n"
	    "    depends_on: [web]\n");
	put("compose.override.yaml",
	    "services:\n"
	    "  web:\n"
	    "    environment: [\"B=2\"]\n"
	    "    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n");
	map_of(&m);
	if (project_load(&pj, "Shop", dir, &m, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(pj.nsvc, 2);
	assert_false(svc(&pj, "web")->client);
	assert_true(svc(&pj, "loadgen")->client);
	assert_string_equal(svc(&pj, "web")->image, "localhost/busybox");
	assert_null(svc(&pj, "web")->context);
	assert_string_equal(svc(&pj, "loadgen")->image, "localhost/dynamo-shop-loadgen");
	s = xasprintf("%s/./load", dir);
	assert_string_equal(svc(&pj, "loadgen")->context, s);
	free(s);

	/* the override's command wins, environments add up */
	argv = project_run_argv(&pj, (size_t)(svc(&pj, "web") - pj.svc), &r);
	assert_string_equal(argv[0], "podman");
	assert_string_equal(argv[1], "run");
	s = joined(argv);
	assert_string_equal(s, "--name dynamo-17-h2-web --label dynamo.owner=999999999:0 --label dynamo.project=Shop "
			    "--network ns:/proc/4242/ns/net --add-host web:10.0.2.2 "
			    "--add-host loadgen:10.0.1.2 --env A=1 --env B=2 localhost/busybox "
			    "httpd -f -p 80");
	free(s);
	project_argv_free(argv);
	/* podman as it runs here: runc, limits given, nothing pulled; a
	 * container that a killed run left dies by itself */
	r.timeout_s = 140;
	argv = project_run_argv(&pj, 0, &r);
	s = NULL;
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], "--runtime"))
			s = argv[i + 1];
	assert_string_equal(s, "runc");
	s = NULL;
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], "--timeout"))
			s = argv[i + 1];
	assert_string_equal(s, "140");
	r.timeout_s = 0;
	project_argv_free(argv);
	/* a live owner is named by its pid and when it started */
	r.owner = getpid();
	argv = project_run_argv(&pj, 0, &r);
	s = NULL;
	for (size_t i = 0; argv[i]; i++)
		if (!strncmp(argv[i], "dynamo.owner=", 13))
			s = argv[i];
	{
		char *want = xasprintf("dynamo.owner=%ld:", (long)getpid());

		assert_non_null(s);
		assert_true(!strncmp(s, want, strlen(want)) && strtoull(s + strlen(want), NULL, 10) > 0);
		free(want);
	}
	project_argv_free(argv);
	r.owner = 999999999;
	argv = project_run_argv(&pj, (size_t)(svc(&pj, "loadgen") - pj.svc), &r);
	s = joined(argv);
	assert_non_null(strstr(s, "--entrypoint [\"sh\",\"-c\"] localhost/dynamo-shop-loadgen "
				  "while :; do wget -q http://web/; done"));
	free(s);
	project_argv_free(argv);
	project_free(&pj);

	/* a folder of Kubernetes manifests runs as well: each container */
	s = xasprintf("%s/compose.yaml", dir);
	unlink(s);
	free(s);
	s = xasprintf("%s/compose.override.yaml", dir);
	unlink(s);
	free(s);
	put("app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
	    "  template:\n    spec:\n      containers:\n        - name: web\n"
	    "          image: localhost/busybox\n          ports: [{containerPort: 80}]\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: loadgen}\nspec:\n"
	    "  containers: [{name: loadgen, image: localhost/busybox, command: [sh, -c], "
	    "args: [\"wget http://web/\"]}]\n");
	put("ci.yml", "name: ci\non: push\n");
	if (project_load(&pj, "k", dir, &m, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(pj.nsvc, 2);
	assert_false(svc(&pj, "web")->client);
	assert_int_equal(svc(&pj, "web")->ports[0].lo, 80);
	assert_true(svc(&pj, "loadgen")->client);
	argv = project_run_argv(&pj, (size_t)(svc(&pj, "loadgen") - pj.svc), &r);
	s = joined(argv);
	assert_non_null(strstr(s, "--entrypoint [\"sh\",\"-c\"] localhost/busybox wget http://web/"));
	free(s);
	project_argv_free(argv);
	project_free(&pj);
	s = xasprintf("%s/app.yaml", dir);
	unlink(s);
	free(s);

	/* what is missing, said */
	put("compose.yaml", "services:\n  x:\n    restart: always\n");
	assert_int_equal(project_load(&pj, "p", dir, &m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "project p: service x has neither an image nor a build context");
	assert_int_equal(project_load(&pj, "p", "/nonexistent/p", &m, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "project p: /nonexistent/p: No such file or directory");
	put("compose.yaml", "services:\n  x: [\n");
	assert_int_equal(project_load(&pj, "p", dir, &m, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "/compose.yaml:3:1: not YAML"))
		fail_msg("%s", err);
	scan_map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads_and_runs),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (strcmp(dir, "/tmp/test-project-XXXXXX") && system(cmd))
		r = 1;
	free(cmd);
	return r;
}
