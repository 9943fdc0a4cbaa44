/*
 * test_config.c — unit tests for session/config.c: defaults, every value type,
 * bounds, the YAML loader's errors and warnings, flag parsing and precedence,
 * the to_argv round trip, the dump round trip and configs/rayd.yaml.
 * Runs from the repository root (configs/rayd.yaml is read relative to it).
 */
#include "tests/unit/unit.h"
#include "session/config.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];
static char tmpdir[UNIT_DIR_MAX];

static void tmp_setup(void)
{
    unit_tmpdir(tmpdir, "config");
}

static void tmp_teardown(void)
{
    unit_rmtree(tmpdir);
}

/* Write TEXT to NAME in the temp dir; returns the path (static buffer per call site's copy). */
static const char *write_file(const char *name, const char *text)
{
    static char path[2][192];
    static int which;
    char *p = path[which++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return p;
}

static char *slurp(const char *path)
{
    static char text[8192];
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

static void expect_set_err(const char *name, const char *value, const char *needle)
{
    struct rayd_config c;
    config_init(&c);
    err[0] = '\0';
    ck_assert_msg(config_set(&c, name, value, err, sizeof err) == -1, "%s=%s accepted", name, value);
    ck_assert_msg(strstr(err, needle) != NULL, "%s=%s: '%s' lacks '%s'", name, value, err, needle);
    config_free(&c);
}

START_TEST(test_defaults)
{
    struct rayd_config c;
    config_init(&c);
    ck_assert(!c.head);
    ck_assert_ptr_null(c.address);
    ck_assert_int_eq(c.port, 6379);
    ck_assert_ptr_null(c.node_ip_address);
    ck_assert(c.num_cpus == CONFIG_AUTO);
    ck_assert(c.num_gpus == CONFIG_AUTO);
    ck_assert_int_eq(c.memory, CONFIG_AUTO);
    ck_assert_int_eq(c.object_store_memory, CONFIG_AUTO);
    ck_assert_ptr_null(c.resources);
    ck_assert_str_eq(c.temp_dir, "/tmp/ray");
    ck_assert_ptr_null(c.gcs_address);
    ck_assert_int_eq(c.dashboard_port, 8265);
    ck_assert(!c.block);
    ck_assert_int_eq(c.node_manager_port, 0);
    ck_assert_ptr_null(c.token);
    ck_assert_str_eq(c.cluster_name, "default");
    ck_assert_int_eq(c.heartbeat_interval_ms, 500);
    ck_assert_int_eq(c.node_timeout_ms, 5000);
    ck_assert_int_eq(c.max_workers, 0);
    ck_assert(c.prestart_workers);
    ck_assert_int_eq(c.worker_idle_timeout_ms, 60000);
    ck_assert_int_eq(c.queue_threshold, 0);
    ck_assert_int_eq(c.event_log_max_len, 100000);
    ck_assert_int_eq(c.task_table_max_finished, 10000);
    ck_assert_int_eq(c.lineage_max_bytes, 1LL << 30);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_INFO);
    ck_assert_str_eq(c.redis_server, "redis-server");
    ck_assert_ptr_null(c.config);
    ck_assert_ptr_null(c.object_spill_dir);
    ck_assert_int_eq(config_validate(&c, err, sizeof err), 0);
    config_free(&c);
    config_free(&c); /* strings already NULL */
    config_free(NULL);
}
END_TEST

START_TEST(test_types)
{
    struct rayd_config c;
    config_init(&c);
    /* bool spellings */
    const char *yes[] = { "yes", "true", "on", "1", "YES", "True" };
    const char *no[] = { "no", "false", "off", "0", "NO", "False" };
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(config_set(&c, "prestart_workers", no[i], err, sizeof err), 0);
        ck_assert(!c.prestart_workers);
        ck_assert_int_eq(config_set(&c, "prestart_workers", yes[i], err, sizeof err), 0);
        ck_assert(c.prestart_workers);
    }
    /* int, double, string; '-' spelling of the name */
    ck_assert_int_eq(config_set(&c, "port", "7000", err, sizeof err), 0);
    ck_assert_int_eq(c.port, 7000);
    ck_assert_int_eq(config_set(&c, "num-cpus", "2.5", err, sizeof err), 0);
    ck_assert(c.num_cpus == 2.5);
    ck_assert_int_eq(config_set(&c, "num_cpus", "auto", err, sizeof err), 0);
    ck_assert(c.num_cpus == CONFIG_AUTO);
    ck_assert_int_eq(config_set(&c, "temp_dir", "/var/tmp/r", err, sizeof err), 0);
    ck_assert_str_eq(c.temp_dir, "/var/tmp/r");
    ck_assert_int_eq(config_set(&c, "node_ip_address", "127.0.0.2", err, sizeof err), 0);
    ck_assert_str_eq(c.node_ip_address, "127.0.0.2");
    ck_assert_int_eq(config_set(&c, "node_ip_address", "auto", err, sizeof err), 0);
    ck_assert_ptr_null(c.node_ip_address);
    ck_assert_int_eq(config_set(&c, "address", "10.0.0.1:6379", err, sizeof err), 0);
    ck_assert_str_eq(c.address, "10.0.0.1:6379");
    ck_assert_int_eq(config_set(&c, "address", "", err, sizeof err), 0);
    ck_assert_ptr_null(c.address);
    ck_assert_int_eq(config_set(&c, "gcs_address", "redis://:pw@127.0.0.1:6380", err, sizeof err), 0);
    ck_assert_int_eq(config_set(&c, "resources", "{\"foo\": 2}", err, sizeof err), 0);
    ck_assert_str_eq(c.resources, "{\"foo\": 2}");
    /* sizes */
    struct { const char *text; int64_t bytes; } sizes[] = {
        { "123", 123 }, { "512MB", 512000000 }, { "2GiB", 2147483648LL }, { "1.5G", 1500000000 },
        { "1.1G", 1100000000 }, { "4k", 4000 }, { "4KiB", 4096 }, { "3 MiB", 3145728 }, { "1T", 1000000000000LL },
        { "2TiB", 2199023255552LL }, { "100B", 100 }, { "0.5KiB", 512 },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ck_assert_msg(config_set(&c, "memory", sizes[i].text, err, sizeof err) == 0, "%s: %s", sizes[i].text, err);
        ck_assert_msg(c.memory == sizes[i].bytes, "%s -> %lld", sizes[i].text, (long long)c.memory);
    }
    ck_assert_int_eq(config_set(&c, "object_store_memory", "1MiB", err, sizeof err), 0);
    ck_assert_int_eq(c.object_store_memory, 1048576);
    /* durations */
    ck_assert_int_eq(config_set(&c, "node_timeout_ms", "2s", err, sizeof err), 0);
    ck_assert_int_eq(c.node_timeout_ms, 2000);
    ck_assert_int_eq(config_set(&c, "worker_idle_timeout_ms", "1.5m", err, sizeof err), 0);
    ck_assert_int_eq(c.worker_idle_timeout_ms, 90000);
    ck_assert_int_eq(config_set(&c, "heartbeat_interval_ms", "250", err, sizeof err), 0);
    ck_assert_int_eq(c.heartbeat_interval_ms, 250);
    /* enum */
    ck_assert_int_eq(config_set(&c, "log_level", "debug", err, sizeof err), 0);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
    ck_assert_int_eq(config_set(&c, "log_level", "ERROR", err, sizeof err), 0);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_ERROR);
    config_free(&c);
}
END_TEST

START_TEST(test_type_and_bounds_errors)
{
    expect_set_err("port", "70000", "port: 70000 is out of range 1..65535");
    expect_set_err("port", "0", "out of range 1..65535");
    expect_set_err("port", "99999999999999999999", "out of range");
    expect_set_err("port", "12ab", "port: expected an integer, got '12ab'");
    expect_set_err("num_cpus", "lots", "num_cpus: expected a number, got 'lots'");
    expect_set_err("num_cpus", "nan", "expected a number");
    expect_set_err("num_cpus", "-1", "out of range 0..100000");
    expect_set_err("num_gpus", "2000", "out of range 0..1024");
    expect_set_err("object_store_memory", "1000", "out of range 1MiB..");
    expect_set_err("memory", "12XB", "expected a size");
    expect_set_err("memory", "-5", "expected a size");
    expect_set_err("memory", "1e9", "expected a size");
    expect_set_err("memory", "99999999999T", "out of range");
    expect_set_err("prestart_workers", "maybe", "expected true or false");
    expect_set_err("log_level", "loud", "expected one of debug|info|warn|error, got 'loud'");
    expect_set_err("heartbeat_interval_ms", "5", "out of range 10..60000");
    expect_set_err("node_timeout_ms", "5 fortnights", "expected milliseconds");
    expect_set_err("event_log_max_len", "99", "out of range 100..100000000");
    expect_set_err("max_workers", "10001", "out of range 0..10000");
    expect_set_err("address", "nohost", "expected HOST:PORT");
    expect_set_err("address", "h:99999", "expected HOST:PORT");
    expect_set_err("gcs_address", "http://x:1", "redis://");
    expect_set_err("resources", "foo=-1", "negative");
    expect_set_err("temp_dir", "", "must not be empty");
    expect_set_err("no_such_thing", "1", "unknown setting 'no_such_thing'");

    /* a failed set leaves the old value */
    struct rayd_config c;
    config_init(&c);
    ck_assert_int_eq(config_set(&c, "port", "70000", err, sizeof err), -1);
    ck_assert_int_eq(c.port, 6379);
    ck_assert_int_eq(config_set(&c, "address", "bad", err, sizeof err), -1);
    ck_assert_ptr_null(c.address);

    /* cross-setting checks */
    c.head = true;
    config_set(&c, "address", "h:1", err, sizeof err);
    ck_assert_int_eq(config_validate(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "--head and --address"));
    config_set(&c, "address", "", err, sizeof err);
    config_set(&c, "heartbeat_interval_ms", "6000", err, sizeof err);
    ck_assert_int_eq(config_validate(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "node_timeout_ms"));
    config_free(&c);
}
END_TEST

START_TEST(test_yaml_load)
{
    const char *path = write_file("ok.yaml",
                                  "# comment\n"
                                  "port: 7001\n"
                                  "num_cpus: 4\n"
                                  "num-gpus: 0.5\n"
                                  "memory: 2GiB\n"
                                  "temp_dir: \"/tmp/x y\"\n"
                                  "prestart_workers: no\n"
                                  "log_level: warn\n"
                                  "resources: '{\"foo\": 1}'\n"
                                  "cluster_name: ~\n");
    struct rayd_config c;
    config_init(&c);
    config_set(&c, "cluster_name", "other", err, sizeof err);
    ck_assert_msg(config_load_yaml(&c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.port, 7001);
    ck_assert(c.num_cpus == 4);
    ck_assert(c.num_gpus == 0.5);
    ck_assert_int_eq(c.memory, 2147483648LL);
    ck_assert_str_eq(c.temp_dir, "/tmp/x y");
    ck_assert(!c.prestart_workers);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_WARN);
    ck_assert_str_eq(c.resources, "{\"foo\": 1}");
    ck_assert_str_eq(c.cluster_name, "default"); /* null = default */
    config_free(&c);

    /* empty file and comment-only file are fine */
    config_init(&c);
    ck_assert_int_eq(config_load_yaml(&c, write_file("empty.yaml", ""), err, sizeof err), 0);
    ck_assert_int_eq(config_load_yaml(&c, write_file("comments.yaml", "# nothing\n---\n"), err, sizeof err), 0);
    ck_assert_int_eq(c.port, 6379);
    config_free(&c);
}
END_TEST

START_TEST(test_yaml_unknown_key_warns)
{
    char logpath[192];
    snprintf(logpath, sizeof logpath, "%s/log", tmpdir);
    ck_assert_int_eq(log_open(logpath), 0);
    const char *path = write_file("unk.yaml",
                                  "port: 7002\n"
                                  "foo: 1\n"
                                  "nested:\n"
                                  "  a: [1, 2]\n"
                                  "head: true\n"
                                  "num_cpus: 3\n");
    struct rayd_config c;
    config_init(&c);
    ck_assert_msg(config_load_yaml(&c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.port, 7002);
    ck_assert(c.num_cpus == 3);
    ck_assert(!c.head); /* flag only: ignored in YAML */
    log_open(NULL);
    const char *log = slurp(logpath);
    char want[256];
    snprintf(want, sizeof want, "%s:2: unknown key 'foo' ignored", path);
    ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
    snprintf(want, sizeof want, "%s:3: unknown key 'nested' ignored", path);
    ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
    ck_assert_msg(strstr(log, ":5: 'head' can only be given as a flag") != NULL, "log: %s", log);
    config_free(&c);
}
END_TEST

START_TEST(test_yaml_errors)
{
    struct rayd_config c;
    char want[256];
    config_init(&c);

    const char *path = write_file("type.yaml", "port: 7003\n\nnum_cpus: lots\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: num_cpus: expected a number, got 'lots'", path);
    ck_assert_str_eq(err, want);

    path = write_file("range.yaml", "port: 70000\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: port: 70000 is out of range 1..65535", path);
    ck_assert_str_eq(err, want);

    path = write_file("syntax.yaml", "port: 1\nnum_cpus: \"abc\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:", path);
    ck_assert_ptr_nonnull(strstr(err, want));
    ck_assert_msg(strstr(err, "YAML syntax error") != NULL, "%s", err);
    int line = 0, col = 0;
    ck_assert_int_eq(sscanf(err + strlen(want), "%d:%d:", &line, &col), 2);
    ck_assert_int_ge(line, 2);
    ck_assert_int_ge(col, 1);

    path = write_file("tabs.yaml", "port: 1\n\t- x: : :\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "YAML syntax error") != NULL, "%s", err);

    path = write_file("list.yaml", "- port: 1\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: expected a mapping") != NULL, "%s", err);

    path = write_file("scalar.yaml", "just text\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "expected a mapping") != NULL, "%s", err);

    path = write_file("nested.yaml", "port: 1\nnum_cpus:\n  a: 1\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":3: num_cpus: expected a single value") != NULL, "%s", err);

    path = write_file("alias.yaml", "port: &p 1\ndashboard_port: *p\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":2: YAML aliases are not supported") != NULL, "%s", err);

    path = write_file("two.yaml", "port: 1\n---\nport: 2\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "only one YAML document") != NULL, "%s", err);

    ck_assert_int_eq(config_load_yaml(&c, "/nonexistent/rayd.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/rayd.yaml: No such file or directory");
    config_free(&c);
}
END_TEST

/* A launcher config (ray up's) given to --config: one error line, no
 * warnings, whatever comes before the key that gives it away. */
START_TEST(test_yaml_cluster_config)
{
    char logpath[192], want[256];
    snprintf(logpath, sizeof logpath, "%s/log", tmpdir);
    ck_assert_int_eq(log_open(logpath), 0);
    const char *path = write_file("cluster.yaml",
                                  "cluster_name: demo\n"
                                  "max_workers: 2\n"
                                  "upscaling_speed: 1.0\n"
                                  "provider:\n"
                                  "  type: local\n"
                                  "  head_ip: 10.0.0.1\n"
                                  "auth:\n"
                                  "  ssh_user: ubuntu\n");
    struct rayd_config c;
    config_init(&c);
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: this is a cluster config (for ray up), not a node config", path);
    ck_assert_str_eq(err, want);
    /* a value that is wrong for a node setting comes first: still the same line */
    path = write_file("cluster2.yaml", "max_workers: 100000\nhead_node_type: ray.head\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: this is a cluster config (for ray up), not a node config", path);
    ck_assert_str_eq(err, want);
    /* and a node config with a bad value keeps its own error and warnings */
    path = write_file("node.yaml", "num_cpus: lots\nfoo: 1\n");
    ck_assert_int_eq(config_load_yaml(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: num_cpus: expected a number, got 'lots'", path);
    ck_assert_str_eq(err, want);
    log_open(NULL);
    const char *log = slurp(logpath);
    ck_assert_msg(strstr(log, "cluster.yaml") == NULL, "log: %s", log);
    ck_assert_msg(strstr(log, "cluster2.yaml") == NULL, "log: %s", log);
    ck_assert_msg(strstr(log, "node.yaml:2: unknown key 'foo' ignored") != NULL, "log: %s", log);
    config_free(&c);
}
END_TEST

START_TEST(test_args_forms)
{
    struct rayd_config c;
    config_init(&c);
    char *argv[] = { "start", "--head", "--port", "7004", "--num-cpus=3", "--node_ip_address", "127.0.0.3",
                     "--no-prestart-workers", "--block=false", "--object-store-memory", "100MB",
                     "--log-level=debug", "rest", "--port", "1", NULL };
    int argc = 15, next = -1;
    ck_assert_msg(config_parse_args(&c, argc, argv, &next, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(next, 12);
    ck_assert(c.head);
    ck_assert_int_eq(c.port, 7004);
    ck_assert(c.num_cpus == 3);
    ck_assert_str_eq(c.node_ip_address, "127.0.0.3");
    ck_assert(!c.prestart_workers);
    ck_assert(!c.block);
    ck_assert_int_eq(c.object_store_memory, 100000000);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
    config_free(&c);

    /* "--" ends the flags; a lone "-" is not a flag */
    config_init(&c);
    char *argv2[] = { "rayd", "--block", "--", "--port", "1", NULL };
    ck_assert_int_eq(config_parse_args(&c, 5, argv2, &next, err, sizeof err), 0);
    ck_assert_int_eq(next, 3);
    ck_assert(c.block);
    ck_assert_int_eq(c.port, 6379);
    char *argv3[] = { "rayd", "-", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, argv3, &next, err, sizeof err), 0);
    ck_assert_int_eq(next, 1);
    char *argv4[] = { "rayd", "--port", "1", "--help", NULL };
    ck_assert_int_eq(config_parse_args(&c, 4, argv4, NULL, err, sizeof err), 1);
    ck_assert_int_eq(c.port, 6379); /* nothing applied */
    config_free(&c);
}
END_TEST

START_TEST(test_args_errors)
{
    struct rayd_config c;
    config_init(&c);
    char *a1[] = { "start", "--foo", "1", NULL };
    ck_assert_int_eq(config_parse_args(&c, 3, a1, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option --foo (see ray start --help)");
    char *a1b[] = { "start", "--foo=1", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a1b, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option --foo (see ray start --help)");
    char *a2[] = { "start", "--port", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a2, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "option --port needs a value");
    char *a3[] = { "start", "--address", "--head", NULL };
    ck_assert_int_eq(config_parse_args(&c, 3, a3, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "option --address needs a value");
    char *a4[] = { "start", "--port=70000", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a4, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "--port: 70000 is out of range 1..65535");
    char *a5[] = { "start", "-x", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a5, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option -x (see ray start --help)");
    char *a6[] = { "start", "--no-port", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a6, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown option --no-port (see ray start --help)");
    char *a7[] = { "start", "--no-block=1", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, a7, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "option --no-block takes no value");
    char *a8[] = { "start", "--config", "/nonexistent.yaml", NULL };
    ck_assert_int_eq(config_parse_args(&c, 3, a8, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent.yaml"));
    ck_assert_int_eq(c.port, 6379);
    config_free(&c);
}
END_TEST

START_TEST(test_flags_override_yaml)
{
    const char *path = write_file("base.yaml", "port: 7005\nnum_cpus: 8\ncluster_name: fromfile\n");
    struct rayd_config c;
    config_init(&c);
    /* the flag comes before --config, yet wins */
    char *argv[] = { "start", "--num-cpus", "2", "--config", (char *)path, "--dashboard-port=0", NULL };
    ck_assert_msg(config_parse_args(&c, 6, argv, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert(c.num_cpus == 2);
    ck_assert_int_eq(c.port, 7005);
    ck_assert_str_eq(c.cluster_name, "fromfile");
    ck_assert_int_eq(c.dashboard_port, 0);
    ck_assert_str_eq(c.config, path);
    config_free(&c);

    /* a YAML error through --config names the file and line */
    path = write_file("bad.yaml", "port: 1\nport: nope\n");
    config_init(&c);
    char *argv2[] = { "start", "--config=", NULL };
    ck_assert_int_eq(config_parse_args(&c, 2, argv2, NULL, err, sizeof err), 0); /* empty: none */
    ck_assert_ptr_null(c.config);
    char *argv3[] = { "start", "--config", (char *)path, NULL };
    ck_assert_int_eq(config_parse_args(&c, 3, argv3, NULL, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s:2: port: expected an integer, got 'nope'", path);
    ck_assert_str_eq(err, want);
    config_free(&c);
}
END_TEST

/* Every field of A and B is the same. */
static void assert_same(const struct rayd_config *a, const struct rayd_config *b)
{
#define SAME_STR(f) ck_assert_msg((a->f == NULL && b->f == NULL) || (a->f && b->f && strcmp(a->f, b->f) == 0), #f)
    ck_assert_int_eq(a->head, b->head);
    ck_assert_int_eq(a->block, b->block);
    ck_assert_int_eq(a->prestart_workers, b->prestart_workers);
    ck_assert_int_eq(a->port, b->port);
    ck_assert_int_eq(a->dashboard_port, b->dashboard_port);
    ck_assert_int_eq(a->node_manager_port, b->node_manager_port);
    ck_assert_int_eq(a->object_manager_port, b->object_manager_port);
    ck_assert(a->num_cpus == b->num_cpus);
    ck_assert(a->num_gpus == b->num_gpus);
    ck_assert_int_eq(a->memory, b->memory);
    ck_assert_int_eq(a->object_store_memory, b->object_store_memory);
    ck_assert_int_eq(a->heartbeat_interval_ms, b->heartbeat_interval_ms);
    ck_assert_int_eq(a->node_timeout_ms, b->node_timeout_ms);
    ck_assert_int_eq(a->max_workers, b->max_workers);
    ck_assert_int_eq(a->worker_idle_timeout_ms, b->worker_idle_timeout_ms);
    ck_assert_int_eq(a->queue_threshold, b->queue_threshold);
    ck_assert_int_eq(a->event_log_max_len, b->event_log_max_len);
    ck_assert_int_eq(a->task_table_max_finished, b->task_table_max_finished);
    ck_assert_int_eq(a->lineage_max_bytes, b->lineage_max_bytes);
    ck_assert_int_eq(a->log_level, b->log_level);
    SAME_STR(address);
    SAME_STR(node_ip_address);
    SAME_STR(gcs_address);
    SAME_STR(token);
    SAME_STR(cluster_name);
    SAME_STR(resources);
    SAME_STR(temp_dir);
    SAME_STR(object_spill_dir);
    SAME_STR(redis_server);
#undef SAME_STR
}

static void set_many(struct rayd_config *c)
{
    static const char *const kv[][2] = {
        { "head", "true" }, { "block", "yes" }, { "prestart_workers", "false" }, { "port", "7006" },
        { "dashboard_port", "0" }, { "node_manager_port", "40000" }, { "object_manager_port", "40001" },
        { "num_cpus", "0.1" }, { "num_gpus", "1.25" }, { "memory", "1234567" },
        { "object_store_memory", "3GiB" }, { "heartbeat_interval_ms", "100" }, { "node_timeout_ms", "1s" },
        { "max_workers", "7" }, { "worker_idle_timeout_ms", "0" }, { "queue_threshold", "9" },
        { "event_log_max_len", "1000" }, { "task_table_max_finished", "0" }, { "log_level", "error" },
        { "lineage_max_bytes", "64MiB" },
        { "node_ip_address", "127.0.0.9" }, { "gcs_address", "redis://:p@w@h:1" }, { "token", "s3cr\"et" },
        { "cluster_name", "c1" }, { "resources", "foo=1,bar=0.5" }, { "temp_dir", "/tmp/a b" },
        { "object_spill_dir", "/spill" }, { "redis_server", "/usr/bin/redis-server" },
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_msg(config_set(c, kv[i][0], kv[i][1], err, sizeof err) == 0, "%s: %s", kv[i][0], err);
}

START_TEST(test_to_argv_roundtrip)
{
    struct rayd_config a, b;
    char **argv;
    int argc;

    /* defaults give no flags */
    config_init(&a);
    ck_assert_int_eq(config_to_argv(&a, &argv, &argc), 0);
    ck_assert_int_eq(argc, 0);
    ck_assert_ptr_null(argv[0]);
    config_argv_free(argv, argc);
    config_argv_free(NULL, 0);

    set_many(&a);
    config_set(&a, "config", "/x.yaml", err, sizeof err); /* never re-emitted */
    ck_assert_int_eq(config_to_argv(&a, &argv, &argc), 0);
    ck_assert_int_eq(argc, 28);
    ck_assert_ptr_null(argv[argc]);
    for (int i = 0; i < argc; i++)
        ck_assert_msg(strncmp(argv[i], "--config", 8) != 0, "%s", argv[i]);

    /* parse them after a program name into a fresh config */
    char **full = calloc((size_t)argc + 2, sizeof *full);
    full[0] = "rayd";
    memcpy(full + 1, argv, (size_t)argc * sizeof *argv);
    config_init(&b);
    int next = 0;
    ck_assert_msg(config_parse_args(&b, argc + 1, full, &next, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(next, argc + 1);
    assert_same(&a, &b);
    free(full);
    config_argv_free(argv, argc);
    config_free(&a);
    config_free(&b);
}
END_TEST

START_TEST(test_dump_roundtrip)
{
    struct rayd_config a, b;
    config_init(&a);
    set_many(&a);
    char path[192];
    snprintf(path, sizeof path, "%s/dump.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    config_dump(fp, &a);
    fclose(fp);
    config_init(&b);
    ck_assert_msg(config_load_yaml(&b, path, err, sizeof err) == 0, "%s", err);
    /* flag-only and secret settings are not in the dump */
    ck_assert(!b.head && !b.block);
    ck_assert_ptr_null(b.token);
    b.head = a.head;
    b.block = a.block;
    b.token = strdup(a.token);
    assert_same(&a, &b);
    config_free(&a);
    config_free(&b);
}
END_TEST

START_TEST(test_shipped_yaml_and_usage)
{
    /* configs/rayd.yaml loads without error and holds exactly the defaults */
    struct rayd_config a, b;
    config_init(&a);
    config_init(&b);
    config_set(&a, "port", "1", err, sizeof err);
    ck_assert_msg(config_load_yaml(&a, "configs/rayd.yaml", err, sizeof err) == 0, "%s", err);
    assert_same(&a, &b);

    /* and it names every YAML-settable setting: the dump of the defaults has
     * the same keys */
    char path[192];
    snprintf(path, sizeof path, "%s/def.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    config_dump(fp, &b);
    fclose(fp);
    char dump[8192];
    snprintf(dump, sizeof dump, "%s", slurp(path));
    const char *shipped = slurp("configs/rayd.yaml");
    for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char key[80];
        ck_assert_int_eq(sscanf(line, "%79[^:]:", key), 1);
        char want[96];
        snprintf(want, sizeof want, "\n%s:", key);
        ck_assert_msg(strstr(shipped, want) != NULL, "configs/rayd.yaml lacks %s", key);
    }

    /* --help is generated from the table */
    snprintf(path, sizeof path, "%s/usage.txt", tmpdir);
    fp = fopen(path, "w");
    config_usage(fp, "ray start [--head | --address HOST:PORT] [options]");
    fclose(fp);
    const char *usage = slurp(path);
    ck_assert_ptr_nonnull(strstr(usage, "usage: ray start [--head"));
    ck_assert_ptr_nonnull(strstr(usage, "--node-ip-address IP|auto"));
    ck_assert_ptr_nonnull(strstr(usage, "--port N"));
    ck_assert_ptr_nonnull(strstr(usage, "[default 6379]"));
    ck_assert_ptr_nonnull(strstr(usage, "--log-level debug|info|warn|error"));
    ck_assert_ptr_nonnull(strstr(usage, "--head "));
    ck_assert_ptr_nonnull(strstr(usage, "[flag only]"));
    config_free(&a);
    config_free(&b);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_type_and_bounds_errors);
    tcase_add_test(tc, test_yaml_load);
    tcase_add_test(tc, test_yaml_unknown_key_warns);
    tcase_add_test(tc, test_yaml_errors);
    tcase_add_test(tc, test_yaml_cluster_config);
    tcase_add_test(tc, test_args_forms);
    tcase_add_test(tc, test_args_errors);
    tcase_add_test(tc, test_flags_override_yaml);
    tcase_add_test(tc, test_to_argv_roundtrip);
    tcase_add_test(tc, test_dump_roundtrip);
    tcase_add_test(tc, test_shipped_yaml_and_usage);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(config_suite);
