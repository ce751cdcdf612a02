/* test-scan.c - compose files as 'catalog scan' reads them (services,
 * images with variables, anchors and merges, both port syntaxes,
 * environment as a mapping or a list, the first format without
 * 'services'), what it refuses and where, the map's rules and errors,
 * the classes a small map finds with their evidence, and the files of a
 * git checkout that give a project's provenance. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>

#include "unit.h"
#include "../../src/catalog/scan.h"
#include "../../src/lib/util.h"

static struct scan_project compose_of(const char *text)
{
	struct scan_project p = { 0 };
	char err[512];

	if (scan_compose(&p, "c.yml", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
	return p;
}

static const struct scan_service *svc(const struct scan_project *p, const char *name)
{
	for (size_t i = 0; i < p->nsvc; i++)
		if (!strcmp(p->svc[i].name, name))
			return &p->svc[i];
	fail_msg("no service %s", name);
	return NULL;
}

static bool has_word(const struct scan_service *s, const char *w, unsigned line)
{
	for (size_t i = 0; i < s->nwords; i++)
		if (!strcmp(s->words[i], w) && (!line || s->word_line[i] == line))
			return true;
	return false;
}

static void services(void **state)
{
	struct scan_project p = compose_of(
		"x-common: &common\n"                                   /* 1 */
		"  environment:\n"
		"    - MQTT_HOST=broker\n"
		"  restart: always\n"
		"services:\n"                                           /* 5 */
		"  app:\n"
		"    <<: *common\n"
		"    image: \"${REGISTRY:-ghcr.io}/acme/shop-api:${TAG:-1.2}\"\n"
		"    command: >\n"
		"      run --with-redis\n"                               /* 10 */
		"      --listen 0.0.0.0:8000\n"
		"    ports:\n"
		"      - \"127.0.0.1:8080:8000\"\n"
		"      - 5353:53/udp\n"
		"      - target: 9000\n"                                 /* 15 */
		"        protocol: udp\n"
		"      - \"7000-7002:7000-7002\"\n"
		"      - \"${WEB_PORT:-80}:80\"\n"
		"  db:\n"
		"    image: postgres\n"                                  /* 20 */
		"    environment:\n"
		"      POSTGRES_DB: shop\n"
		"    expose: [\"5432\"]\n");
	const struct scan_service *a = svc(&p, "app"), *d = svc(&p, "db");

	(void)state;
	assert_int_equal(p.nsvc, 2);
	assert_string_equal(a->image, "ghcr.io/acme/shop-api:1.2");
	assert_int_equal(a->image_line, 8);
	assert_int_equal(a->line, 6);
	assert_true(has_word(a, "app", 6));
	assert_true(has_word(a, "redis", 10));          /* a folded command, its own line */
	assert_true(has_word(a, "listen", 11));
	assert_true(has_word(a, "mqtt", 3));            /* merged from the anchor */
	assert_int_equal(a->nports, 5);
	assert_true(a->ports[0].lo == 8000 && a->ports[0].proto == IPPROTO_TCP && a->ports[0].line == 13);
	assert_true(a->ports[1].lo == 53 && a->ports[1].proto == IPPROTO_UDP);
	assert_true(a->ports[2].lo == 9000 && a->ports[2].proto == IPPROTO_UDP && a->ports[2].line == 15);
	assert_true(a->ports[3].lo == 7000 && a->ports[3].hi == 7002);
	assert_true(a->ports[4].lo == 80);
	assert_string_equal(d->image, "postgres");
	assert_true(has_word(d, "postgres", 22));
	assert_true(d->nports == 1 && d->ports[0].lo == 5432);
	scan_project_free(&p);

	/* the first format: services at the top, known by image or build */
	p = compose_of("web:\n  build: ./site\n  links: [db]\ndb:\n  image: mysql:5\nnotes:\n  text: hi\n");
	assert_int_equal(p.nsvc, 2);
	assert_string_equal(svc(&p, "web")->build, "./site");
	assert_true(has_word(svc(&p, "web"), "site", 2));
	scan_project_free(&p);

	/* merges of merges of many aliases: a bounded look */
	{
		struct buf b = { 0 };
		struct scan_project q = { 0 };
		char err[256];

		buf_puts(&b, "x0: &a0 {k: v}\n");
		for (int l = 1; l <= 8; l++) {
			buf_printf(&b, "x%d: &a%d\n  <<: [", l, l);
			for (int i = 0; i < 40; i++)
				buf_printf(&b, "%s*a%d", i ? ", " : "", l - 1);
			buf_puts(&b, "]\n");
		}
		buf_puts(&b, "services:\n  web:\n    <<: *a8\n    image: nginx\n");
		assert_int_equal(scan_compose(&q, "c.yml", b.p, b.len, err, sizeof(err)), 0);
		assert_string_equal(q.svc[0].image, "nginx");
		scan_project_free(&q);
		buf_free(&b);
	}

	/* a merge of itself ends */
	p = compose_of("services:\n  web: &w\n    <<: *w\n    ports: [80]\n");
	assert_int_equal(p.nsvc, 1);
	assert_null(svc(&p, "web")->image);
	scan_project_free(&p);
}

static void argv_is(const struct scan_argv *a, bool set, size_t n, ...)
{
	va_list ap;

	if (a->set != set || a->n != n)
		fail_msg("set %d n %zu, want set %d n %zu", a->set, a->n, set, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *w = va_arg(ap, const char *);

		if (strcmp(a->v[i], w))
			fail_msg("word %zu: '%s', want '%s'", i, a->v[i], w);
	}
	va_end(ap);
}

/* What running a service needs: its command and entrypoint as words
 * (a string split as a shell splits it, a list as it is), its
 * environment with defaults, and what it depends on. */
static void run_fields(void **state)
{
	struct scan_project p = compose_of(
		"services:\n"
		"  web:\n"
		"    image: busybox\n"
		"    command: httpd -f -p \"${PORT:-80}\" -h '/w w' a\\ b \"q\\\"x\" ''\n"
		"    environment:\n"
		"      A: 1\n"
		"      B: \"\"\n"
		"      C:\n"
		"      D: ${X:-dflt}\n"
		"  load:\n"
		"    image: busybox\n"
		"    entrypoint: [\"sh\", \"-c\"]\n"
		"    command: [\"while true; do wget http://web/$$f; done\"]\n"
		"    environment: [\"E=2\", \"F\", \"=G\"]\n"
		"    depends_on: [web]\n"
		"  db:\n"
		"    image: postgres\n"
		"    command: \"\"\n"
		"    depends_on:\n"
		"      web: {condition: service_started}\n");

	(void)state;
	argv_is(&svc(&p, "web")->command, true, 9, "httpd", "-f", "-p", "80", "-h", "/w w", "a b",
		"q\"x", "");
	argv_is(&svc(&p, "web")->entrypoint, false, 0);
	argv_is(&svc(&p, "web")->env, true, 3, "A=1", "B=", "D=dflt");
	argv_is(&svc(&p, "web")->depends, false, 0);
	argv_is(&svc(&p, "load")->entrypoint, true, 2, "sh", "-c");
	argv_is(&svc(&p, "load")->command, true, 1, "while true; do wget http://web/$f; done");
	argv_is(&svc(&p, "load")->env, true, 1, "E=2");
	argv_is(&svc(&p, "load")->depends, true, 1, "web");
	argv_is(&svc(&p, "db")->command, true, 0);
	argv_is(&svc(&p, "db")->depends, true, 1, "web");
	scan_project_free(&p);
}

/* Kubernetes manifests: every container of every workload kind, in
 * documents of one file, with its image, ports, command and args, env;
 * a YAML file of something else is no manifest (-ENOENT), a broken one
 * says where.  Procfiles: a service a line. */
static void manifests_and_procfiles(void **state)
{
	static const char k8s[] =
		"apiVersion: apps/v1\n"                                  /* 1 */
		"kind: Deployment\n"
		"metadata: {name: shop}\n"
		"spec:\n"
		"  template:\n"                                          /* 5 */
		"    spec:\n"
		"      containers:\n"
		"        - name: api\n"
		"          image: ghcr.io/acme/api:1\n"
		"          command: [\"/bin/api\"]\n"                     /* 10 */
		"          args: [\"--port\", \"8000\"]\n"
		"          ports: [{containerPort: 8000}, {containerPort: 53, protocol: UDP}]\n"
		"          env: [{name: DB, value: pg}, {name: KEY, valueFrom: {secretKeyRef: {name: k}}}]\n"
		"        - name: redis\n"
		"          image: redis:7\n"                              /* 15 */
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: probe}\n"
		"spec: {containers: [{image: busybox}]}\n"               /* 20 */
		"---\n"
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: api}\n";
	static const char proc[] = "web: gunicorn app:app --bind 0.0.0.0:$PORT\r\n\n# a comment\n"
				   "worker: celery -A app worker\n";
	struct scan_project p = { 0 };
	const struct scan_service *api;
	char err[512];

	(void)state;
	assert_true(scan_is_k8s_text(k8s, strlen(k8s)));
	assert_false(scan_is_k8s_text("name: ci\non: push\n", 18));
	if (scan_k8s(&p, "k.yaml", k8s, strlen(k8s), err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(p.nsvc, 3);
	api = svc(&p, "api");
	assert_string_equal(api->image, "ghcr.io/acme/api:1");
	assert_int_equal(api->line, 8);
	assert_int_equal(api->nports, 2);
	assert_int_equal(api->ports[0].lo, 8000);
	assert_int_equal(api->ports[1].proto, IPPROTO_UDP);
	argv_is(&api->entrypoint, true, 1, "/bin/api");
	argv_is(&api->command, true, 2, "--port", "8000");
	argv_is(&api->env, true, 1, "DB=pg");
	assert_true(has_word(api, "shop", 8) && has_word(api, "key", 13));
	assert_string_equal(svc(&p, "redis")->image, "redis:7");
	assert_string_equal(svc(&p, "probe")->image, "busybox");
	assert_int_equal(p.nfiles, 1);

	assert_int_equal(scan_k8s(&p, "ci.yml", "name: ci\non: push\n", 18, err, sizeof(err)), -ENOENT);
	assert_int_equal(scan_k8s(&p, "b.yaml", "apiVersion: v1\nkind: [\n", 23, err, sizeof(err)),
			 -EINVAL);
	if (strncmp(err, "b.yaml:3:1: not YAML", 20))
		fail_msg("%s", err);
	assert_int_equal(p.nsvc, 3);

	if (scan_procfile(&p, "Procfile", proc, strlen(proc), err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(p.nsvc, 5);
	argv_is(&svc(&p, "web")->command, true, 4, "gunicorn", "app:app", "--bind", "0.0.0.0:$PORT");
	assert_true(has_word(svc(&p, "web"), "gunicorn", 1));
	assert_int_equal(svc(&p, "worker")->line, 4);
	assert_int_equal(scan_procfile(&p, "P2", "web gunicorn\n", 13, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "P2:1: not a Procfile line (NAME: COMMAND)");
	assert_int_equal(scan_procfile(&p, "P3", "# only\n", 7, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "P3:1: not a Procfile: no process");
	assert_int_equal(p.nsvc, 5);
	scan_project_free(&p);
}

static void refused(void **state)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "services:\n  web:\n    image: [nginx\n", "c.yml:4:1: not YAML: " },
		{ "services:\n  web: {image: nginx\n", "c.yml:3:1: not YAML: " },
		{ "- a\n- b\n", "c.yml:1: not a compose file: its top is not a mapping" },
		{ "", "c.yml:1: not a compose file: empty" },
		{ "version: '3'\nname: x\n", "c.yml:1: not a compose file: no 'services'" },
		{ "services:\n  - web\n", "c.yml:2: 'services' is not a mapping of names to services" },
		{ "a: &a [*a]\n", "c.yml:1: not a compose file: no 'services'" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct scan_project p = { 0 };
		char err[512] = "";

		if (scan_compose(&p, "c.yml", bad[i].text, strlen(bad[i].text), err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
		assert_int_equal(p.nsvc, 0);
		assert_int_equal(p.nfiles, 0);
		scan_project_free(&p);
	}
}

static void map_rules(void **state)
{
	static const char good[] = "# a map\nimage nginx web\n\nport 1883/tcp message-broker\n"
				   "port 10000-20000/udp realtime\nword locust web client\n"
				   "image bitcoind crypto,web peer   # both\n";
	static const struct { const char *text, *want; } bad[] = {
		{ "image nginx webb\n", "m:1: unknown class 'webb'" },
		{ "picture nginx web\n", "m:1: unknown kind 'picture'" },
		{ "image Nginx web\n", "m:1: 'Nginx': a pattern is lowercase" },
		{ "port 0 web\n", "m:1: '0' is not a port" },
		{ "port 20-10 web\n", "m:1: '20-10' is not a port" },
		{ "port 53/sctp dns\n", "m:1: 'sctp': a port is tcp or udp" },
		{ "\nimage nginx\n", "m:2: expected KIND PATTERN" },
		{ "image nginx web server\n", "m:1: 'server': a role is client or peer" },
		{ "image nginx web client extra\n", "m:1: too many fields" },
	};
	struct scan_map m;
	char err[256];

	(void)state;
	assert_int_equal(scan_map_parse(&m, "m", good, sizeof(good) - 1, err, sizeof(err)), 0);
	assert_int_equal(m.n, 5);
	assert_true(m.v[2].port_lo == 10000 && m.v[2].port_hi == 20000 && m.v[2].proto == IPPROTO_UDP);
	assert_int_equal(m.v[3].role, SCAN_CLIENT);
	assert_int_equal(m.v[4].classes, 1u << CLASS_CRYPTO | 1u << CLASS_WEB);
	assert_int_equal(m.v[4].line, 7);
	scan_map_free(&m);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		if (scan_map_parse(&m, "m", bad[i].text, strlen(bad[i].text), err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
		assert_int_equal(m.n, 0);
	}
}

static void classes(void **state)
{
	static const char rules[] = "image nginx web\nimage mosquitto message-broker\n"
				    "port 443 web\nport 1883 message-broker\nword locust web client\n"
				    "word db database\nword postgres database\nimage bitcoind crypto peer\n";
	struct scan_project p = compose_of(
		"services:\n"
		"  proxy:\n"
		"    image: nginx:1.25\n"
		"  mq:\n"
		"    image: eclipse-mosquitto\n"
		"    ports: ['443:1883']\n"                     /* a known image's ports say nothing */
		"  app:\n"
		"    build: .\n"
		"    ports: ['8443:443']\n"
		"    environment: [POSTGRES_URL=x]\n");
	struct scan_map m;
	char err[256];

	(void)state;
	assert_int_equal(scan_map_parse(&m, "m", rules, sizeof(rules) - 1, err, sizeof(err)), 0);
	scan_classify(&p, &m);
	assert_true(p.cls[CLASS_WEB].confidence > 0.95);        /* image and port */
	assert_int_equal(p.cls[CLASS_WEB].nev, 2);
	assert_int_equal(p.cls[CLASS_WEB].ev[0].line, 3);
	assert_string_equal(p.cls[CLASS_WEB].ev[0].why, "service proxy: image nginx:1.25");
	assert_string_equal(p.cls[CLASS_WEB].ev[1].why, "service app: port 443/tcp");
	assert_true(fabs(p.cls[CLASS_MESSAGE_BROKER].confidence - 0.9) < 1e-9);
	assert_true(fabs(p.cls[CLASS_DATABASE].confidence - 0.4) < 1e-9);  /* one word */
	assert_false(p.drives);
	scan_project_free(&p);

	p = compose_of("services:\n  load:\n    image: me/tests\n    command: locust -f x.py\n"
		  "  db:\n    image: me/store\n  node:\n    image: ruimarinho/bitcoind\n");
	scan_classify(&p, &m);
	assert_true(fabs(p.cls[CLASS_DATABASE].confidence - 0.5) < 1e-9);  /* its name */
	assert_true(p.drives);
	assert_non_null(strstr(p.drives_why, "service load (a client of the others, c.yml:2)"));
	assert_true(p.cls[CLASS_CRYPTO].confidence > 0.8);
	scan_project_free(&p);
	scan_map_free(&m);
}

/* A checkout's files as scan_provenance() reads them. */
static void git_files(void **state)
{
	static const char packed[] =
		"# pack-refs with: peeled fully-peeled sorted\n"
		"1111111111111111111111111111111111111111 refs/heads/mainline\n"
		"2222222222222222222222222222222222222222 refs/heads/main\n"
		"^3333333333333333333333333333333333333333\n";
	static const char config[] =
		"[core]\n\turl = not-this\n[remote \"upstream\"]\n\turl = nor-this\n"
		"[remote \"origin\"]\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
		"\turl = git@example.org:acme/shop.git  \r\n";
	char *r;

	(void)state;
	r = scan__packed_ref(packed, "refs/heads/main");
	assert_string_equal(r, "2222222222222222222222222222222222222222");
	free(r);
	assert_null(scan__packed_ref(packed, "refs/heads/ma"));
	assert_null(scan__packed_ref("", "refs/heads/main"));
	r = scan__origin_url(config);
	assert_string_equal(r, "git@example.org:acme/shop.git");
	free(r);
	assert_null(scan__origin_url("[remote \"origin\"]\n\turl =\n"));
	assert_null(scan__origin_url(NULL));
}

/* Imports in five languages, where the 'code' rules find them. */
static void source_code(void **state)
{
	static const char rules[] = "code psycopg2 database\ncode flask web\ncode requests web client\n"
				    "code github.com/eclipse/paho.mqtt.golang message-broker\n"
				    "code net/http web\ncode pg database\ncode axios web client\n"
				    "code org.postgresql database\ncode curl/curl.h web client\n"
				    "code paho.mqtt message-broker\n";
	static const struct { const char *file, *text, *why; unsigned line; int cls; } cases[] = {
		{ "a.py", "# db\nimport os, sys\nimport psycopg2.extras\n", "psycopg2.extras", 3, CLASS_DATABASE },
		{ "b.py", "from flask import Flask\n", "flask", 1, CLASS_WEB },
		{ "c.py", "from paho.mqtt import client\n", "paho.mqtt", 1, CLASS_MESSAGE_BROKER },
		{ "d.go", "package main\nimport (\n\t\"fmt\"\n\tmqtt \"github.com/eclipse/paho.mqtt.golang\"\n)\n",
		  "github.com/eclipse/paho.mqtt.golang", 4, CLASS_MESSAGE_BROKER },
		{ "e.go", "import \"net/http/httptest\"\n", "net/http/httptest", 1, CLASS_WEB },
		{ "f.js", "const { Pool } = require('pg');\n", "pg", 1, CLASS_DATABASE },
		{ "g.ts", "import axios from \"axios\";\n", "axios", 1, CLASS_WEB },
		{ "h.java", "import org.postgresql.Driver;\n", "org.postgresql.Driver", 1, CLASS_DATABASE },
		{ "i.c", "#  include <curl/curl.h>\n", "curl/curl.h", 1, CLASS_WEB },
	};
	static const struct { const char *file, *text; } none[] = {
		{ "x.py", "# requests are handled here\nx = 'import flask'\n" },
		{ "x.js", "const pgx = require('pgx');\n" },
		{ "x.go", "import \"net/httpx\"\n" },
		{ "x.c", "#include <curl.h>\n" },
		{ "x.rb", "require 'pg'\n" },
	};
	struct scan_map m;
	char err[256];

	(void)state;
	assert_int_equal(scan_map_parse(&m, "m", rules, sizeof(rules) - 1, err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct scan_project p = { 0 };
		const struct scan_class *k = &p.cls[cases[i].cls];
		char want[128];

		assert_true(scan_code(&p, &m, cases[i].file, cases[i].text, strlen(cases[i].text)));
		snprintf(want, sizeof(want), "code: imports %s", cases[i].why);
		if (k->nev != 1 || strcmp(k->ev[0].why, want) || k->ev[0].line != cases[i].line)
			fail_msg("%s: %zu evidence, '%s' at %u", cases[i].file, k->nev,
				 k->nev ? k->ev[0].why : "", k->nev ? k->ev[0].line : 0);
		assert_int_equal(p.drives, cases[i].cls == CLASS_WEB && strcmp(cases[i].file, "b.py") &&
					   strcmp(cases[i].file, "e.go"));
		scan_project_free(&p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
		struct scan_project p = { 0 };
		bool known = scan_code(&p, &m, none[i].file, none[i].text, strlen(none[i].text));

		assert_int_equal(known, strcmp(none[i].file, "x.rb") != 0);
		for (int c = 0; c < CLASS__COUNT; c++)
			if (p.cls[c].nev)
				fail_msg("%s: %s", none[i].file, p.cls[c].ev[0].why);
		scan_project_free(&p);
	}
	scan_map_free(&m);
}

/* Dockerfiles: the last stage's image (an earlier stage's by its name),
 * EXPOSE with continuations, CMD, ENTRYPOINT and ENV names; a compose
 * service built from one keeps its own image when it has one. */
static void dockerfiles(void **state)
{
	static const char df[] =
		"# syntax=docker/dockerfile:1\n"                       /* 1 */
		"FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
		"RUN go build -o /srv ./...\n"
		"FROM build AS test\n"
		"FROM gcr.io/distroless/base\n"                        /* 5 */
		"ENV HTTP_PORT=8080 \\\n"
		"    # a comment inside\n"
		"    MQTT_HOST=broker\n"
		"ENV LEGACY value\n"
		"EXPOSE 8080/tcp \\\n"                                /* 10 */
		"       1883 ${GRPC:-9090}/udp\n"
		"ENTRYPOINT [\"/srv\", \"--listen\"]\n"
		"CMD serve\n";
	struct scan_project p = { 0 };
	const struct scan_service *sv;
	char err[256];

	(void)state;
	assert_int_equal(scan_dockerfile(&p, "api", "api/Dockerfile", df, sizeof(df) - 1, err, sizeof(err)), 0);
	assert_int_equal(p.nsvc, 1);
	sv = &p.svc[0];
	assert_string_equal(sv->name, "api");
	assert_string_equal(sv->image, "gcr.io/distroless/base");
	assert_true(sv->image_df && sv->image_line == 5);
	assert_string_equal(sv->dockerfile, "api/Dockerfile");
	assert_int_equal(sv->nports, 3);
	assert_true(sv->ports[0].lo == 8080 && sv->ports[0].line == 10 && sv->ports[0].df);
	assert_true(sv->ports[1].lo == 1883 && sv->ports[2].lo == 9090 && sv->ports[2].proto == IPPROTO_UDP);
	assert_true(has_word(sv, "mqtt", 6) && has_word(sv, "http", 6) && has_word(sv, "legacy", 9));
	assert_false(has_word(sv, "broker", 0));        /* values are not read */
	assert_true(has_word(sv, "listen", 12) && has_word(sv, "serve", 13));
	scan_project_free(&p);

	/* FROM an earlier stage: that stage's image */
	p = compose_of("services:\n  web:\n    build: .\n  db:\n    image: postgres\n    build: ./db\n");
	assert_int_equal(scan_dockerfile(&p, "web", "Dockerfile", "FROM nginx AS base\nFROM base\n", 29,
					 err, sizeof(err)), 0);
	assert_int_equal(scan_dockerfile(&p, "db", "db/Dockerfile", "FROM alpine\n", 12, err, sizeof(err)), 0);
	assert_int_equal(p.nsvc, 2);
	assert_string_equal(svc(&p, "web")->image, "nginx");
	assert_string_equal(svc(&p, "db")->image, "postgres");  /* its own */
	assert_false(svc(&p, "db")->image_df);
	scan_project_free(&p);

	assert_int_equal(scan_dockerfile(&p, "x", "Dockerfile", "RUN true\n# FROM nginx\n", 22, err,
					 sizeof(err)), -EINVAL);
	assert_string_equal(err, "Dockerfile:1: not a Dockerfile: no FROM");
	assert_int_equal(p.nsvc, 0);
	scan_project_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(services),
		cmocka_unit_test(run_fields),
		cmocka_unit_test(manifests_and_procfiles),
		cmocka_unit_test(refused),
		cmocka_unit_test(map_rules),
		cmocka_unit_test(classes),
		cmocka_unit_test(git_files),
		cmocka_unit_test(source_code),
		cmocka_unit_test(dockerfiles),
	};

	return cmocka_run_group_tests_name("scan", tests, NULL, NULL);
}
