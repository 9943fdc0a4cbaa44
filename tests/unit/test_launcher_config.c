/*
 * test_launcher_config.c — unit tests for launcher/config.c (the cluster
 * YAML: good configs, Ray's own example for provider local, every kind of
 * error and warning with its line and key), the helpers of launcher/remote.c
 * that read the start commands, the state file of launcher/state.c, and the
 * small helpers of ssh.c and provider.c (quoting, error lines, names).
 */
#include "tests/unit/unit.h"

#include "common/buf.h"
#include "launcher/config.h"
#include "launcher/provider.h"
#include "launcher/remote.h"
#include "launcher/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[1024];
static struct buf warn = BUF_INIT;

static int parse(struct launch_config *c, const char *text)
{
    buf_reset(&warn);
    err[0] = '\0';
    int rc = launch_config_parse(c, "c.yaml", text, strlen(text), &warn, err, sizeof err);
    buf_append(&warn, "", 1);
    return rc;
}

/* The config must fail with exactly MSG as its error. */
static void bad(const char *text, const char *msg)
{
    struct launch_config c;
    ck_assert_int_eq(parse(&c, text), -1);
    ck_assert_str_eq(err, msg);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(c.cluster_name); /* nothing left behind */
    launch_config_free(&c);
}

#define LOCAL "provider:\n  type: local\n  head_ip: 10.0.0.1\n"

START_TEST(test_minimal)
{
    struct launch_config c;
    ck_assert_int_eq(parse(&c, "cluster_name: mini\n" LOCAL), 0);
    ck_assert_str_eq(c.cluster_name, "mini");
    ck_assert_str_eq(c.provider_type, "local");
    ck_assert_str_eq(c.head_ip, "10.0.0.1");
    ck_assert_uint_eq(c.worker_ips.n, 0);
    ck_assert_int_eq(c.max_workers, -1);
    ck_assert_int_eq(c.min_workers, -1);
    ck_assert(c.idle_timeout_minutes == 5);
    ck_assert_ptr_null(c.ssh_user);
    /* the default start commands (SPEC section 8) */
    ck_assert_uint_eq(c.head_start_ray_commands.n, 2);
    ck_assert_str_eq(c.head_start_ray_commands.v[0], "ray stop");
    ck_assert_ptr_nonnull(strstr(c.head_start_ray_commands.v[1], "--autoscaling-config="));
    ck_assert_uint_eq(c.worker_start_ray_commands.n, 2);
    ck_assert_str_eq(c.worker_start_ray_commands.v[1], "ray start --address=$RAY_HEAD_IP:6379");
    ck_assert_str_eq(warn.data, "");
    launch_config_free(&c);
    launch_config_free(&c); /* a freed config frees again as a no-op */
}
END_TEST

/* Ray's own example-full.yaml for provider local, as Ray ships it. */
static const char ray_local_example[] =
    "# A unique identifier for the head node and workers of this cluster.\n"
    "cluster_name: default\n"
    "\n"
    "## NOTE: Typically for local clusters, min_workers == max_workers == len(worker_ips).\n"
    "\n"
    "# The minimum number of workers nodes to launch in addition to the head\n"
    "min_workers: 2\n"
    "max_workers: 2\n"
    "upscaling_speed: 1.0\n"
    "\n"
    "docker:\n"
    "    image: \"rayproject/ray-ml:latest-gpu\"\n"
    "    container_name: \"ray_container\"\n"
    "    pull_before_run: True\n"
    "    run_options:   # Extra options to pass into \"docker run\"\n"
    "        - --ulimit nofile=65536:65536\n"
    "\n"
    "idle_timeout_minutes: 5\n"
    "\n"
    "provider:\n"
    "    type: local\n"
    "    head_ip: YOUR_HEAD_NODE_HOSTNAME\n"
    "    worker_ips: [WORKER_NODE_1_HOSTNAME, WORKER_NODE_2_HOSTNAME]\n"
    "\n"
    "auth:\n"
    "    ssh_user: YOUR_USERNAME\n"
    "    # ssh_private_key: ~/.ssh/id_rsa\n"
    "\n"
    "file_mounts: {\n"
    "#    \"/path1/on/remote/machine\": \"/path1/on/local/machine\",\n"
    "}\n"
    "cluster_synced_files: []\n"
    "file_mounts_sync_continuously: False\n"
    "rsync_exclude:\n"
    "    - \"**/.git\"\n"
    "    - \"**/.git/**\"\n"
    "rsync_filter:\n"
    "    - \".gitignore\"\n"
    "initialization_commands: []\n"
    "setup_commands: []\n"
    "head_setup_commands: []\n"
    "worker_setup_commands: []\n"
    "head_start_ray_commands:\n"
    "    - ray stop\n"
    "    - ulimit -c unlimited && ray start --head --port=6379 "
    "--autoscaling-config=~/ray_bootstrap_config.yaml\n"
    "worker_start_ray_commands:\n"
    "    - ray stop\n"
    "    - ray start --address=$RAY_HEAD_IP:6379\n";

START_TEST(test_ray_example)
{
    struct launch_config c;
    ck_assert_int_eq(parse(&c, ray_local_example), 0);
    ck_assert_str_eq(c.cluster_name, "default");
    ck_assert_int_eq(c.min_workers, 2);
    ck_assert_int_eq(c.max_workers, 2);
    ck_assert_uint_eq(c.worker_ips.n, 2);
    ck_assert_str_eq(c.worker_ips.v[1], "WORKER_NODE_2_HOSTNAME");
    ck_assert_str_eq(c.ssh_user, "YOUR_USERNAME");
    ck_assert(c.has_docker);
    ck_assert_uint_eq(c.rsync_exclude.n, 2);
    ck_assert_uint_eq(c.nmounts, 0);
    ck_assert_uint_eq(c.head_start_ray_commands.n, 2);
    ck_assert(c.head_start_given);
    /* the only warning: docker is not supported, named with its line */
    ck_assert_ptr_nonnull(strstr(warn.data, "c.yaml:11: warning: key 'docker': unsupported"));
    ck_assert_ptr_null(strchr(strchr(warn.data, '\n') + 1, '\n'));
    ck_assert_uint_eq(launch_worker_count(&c, -1, -1), 2);
    ck_assert_int_eq(launch_head_port(&c.head_start_ray_commands), 6379);
    launch_config_free(&c);
}
END_TEST

START_TEST(test_full)
{
    struct launch_config c;
    ck_assert_int_eq(parse(&c, "cluster_name: full\n"
                               "provider:\n  type: local\n  head_ip: h\n  worker_ips:\n    - w1\n    - w2\n    - w3\n"
                               "auth: {ssh_user: me, ssh_private_key: ~/.ssh/k}\n"
                               "max_workers: 2\nidle_timeout_minutes: 0.5\nno_restart: yes\n"
                               "file_mounts:\n  ~/a: /tmp/a\n  /b: ./b\n"
                               "setup_commands:\n  - echo one\n  - 'echo \"two\"'\n"
                               "head_start_ray_commands:\n  - ray start --head --port 7000 --temp-dir=$HOME/t\n"
                               "worker_start_ray_commands: []\n"
                               "metadata: {anything: [goes, {here: 1}]}\n"
                               "available_node_types: {head: {resources: {}}}\n"
                               "head_node_type: head\n"),
                     0);
    ck_assert_str_eq(warn.data, "");
    ck_assert_uint_eq(c.worker_ips.n, 3);
    ck_assert_str_eq(c.ssh_private_key, "~/.ssh/k");
    ck_assert(c.idle_timeout_minutes == 0.5);
    ck_assert(c.no_restart);
    ck_assert_uint_eq(c.nmounts, 2);
    ck_assert_str_eq(c.mounts[0].remote, "~/a");
    ck_assert_str_eq(c.mounts[1].local, "./b");
    ck_assert_str_eq(c.setup_commands.v[1], "echo \"two\"");
    /* an explicit empty list stays empty: no defaults */
    ck_assert(c.worker_start_given);
    ck_assert_uint_eq(c.worker_start_ray_commands.n, 0);
    ck_assert_int_eq(launch_head_port(&c.head_start_ray_commands), 7000);
    char temp[256];
    launch_temp_dir(&c.head_start_ray_commands, temp, sizeof temp);
    ck_assert_str_eq(temp, "$HOME/t");
    launch_temp_dir(&c.worker_start_ray_commands, temp, sizeof temp);
    ck_assert_str_eq(temp, "/tmp/ray");
    /* workers: all of worker_ips, capped by max_workers and the flags */
    ck_assert_uint_eq(launch_worker_count(&c, -1, -1), 2);
    ck_assert_uint_eq(launch_worker_count(&c, 1, -1), 1);
    ck_assert_uint_eq(launch_worker_count(&c, -1, 3), 3);
    ck_assert_uint_eq(launch_worker_count(&c, 5, 9), 3);
    launch_config_free(&c);
}
END_TEST

START_TEST(test_warnings)
{
    struct launch_config c;
    ck_assert_int_eq(parse(&c, "cluster_name: w\n" LOCAL "  colour: red\nfoo: 1\nauth:\n  ssh_proxy_command: nc\n"),
                     0);
    ck_assert_str_eq(warn.data, "c.yaml:5: warning: unknown key 'provider.colour' ignored\n"
                                "c.yaml:6: warning: unknown key 'foo' ignored\n"
                                "c.yaml:8: warning: key 'auth.ssh_proxy_command': ignored: put a "
                                "ProxyCommand in ~/.ssh/config instead\n");
    launch_config_free(&c);
    /* null values are the defaults */
    ck_assert_int_eq(parse(&c, "cluster_name: n\n" LOCAL "setup_commands:\nfile_mounts: ~\nmax_workers: null\n"), 0);
    ck_assert_uint_eq(c.setup_commands.n, 0);
    ck_assert_int_eq(c.max_workers, -1);
    launch_config_free(&c);
}
END_TEST

START_TEST(test_errors)
{
    bad("", "c.yaml:1: missing key 'cluster_name' (the file is empty)");
    bad(LOCAL, "c.yaml:1: missing key 'cluster_name'");
    bad("cluster_name: x\n", "c.yaml:1: missing key 'provider'");
    bad("cluster_name: x\nprovider:\n  head_ip: 1.2.3.4\n", "c.yaml:2: missing key 'provider.type'");
    bad("cluster_name: x\nprovider:\n  type: local\n", "c.yaml:1: missing key 'provider.head_ip' "
                                                      "(provider local needs the head's address)");
    bad("cluster_name: x\nprovider:\n  type: aws\n",
        "c.yaml:3: key 'provider.type': unknown provider 'aws' (known: local, gcp, azure)");
    bad("cluster_name: x\nprovider: local\n", "c.yaml:2: key 'provider': expected a mapping, found a single value");
    bad("cluster_name: [a]\n" LOCAL, "c.yaml:1: key 'cluster_name': expected a string, found a list");
    bad("cluster_name: ''\n" LOCAL, "c.yaml:1: key 'cluster_name': must not be empty");
    bad("cluster_name: x\nmax_workers: 2.5\n" LOCAL,
        "c.yaml:2: key 'max_workers': expected a whole number, found '2.5'");
    bad("cluster_name: x\nmax_workers: -1\n" LOCAL, "c.yaml:2: key 'max_workers': -1 is out of range [0, 100000]");
    bad("cluster_name: x\nidle_timeout_minutes: soon\n" LOCAL,
        "c.yaml:2: key 'idle_timeout_minutes': expected a number, found 'soon'");
    bad("cluster_name: x\nno_restart: maybe\n" LOCAL,
        "c.yaml:2: key 'no_restart': expected true or false, found 'maybe'");
    bad("cluster_name: x\n" LOCAL "setup_commands: echo hi\n",
        "c.yaml:5: key 'setup_commands': expected a list of strings, found a single value");
    bad("cluster_name: x\n" LOCAL "setup_commands:\n  - [nested]\n",
        "c.yaml:6: key 'setup_commands': expected a list of strings, found a list in it");
    bad("cluster_name: x\n" LOCAL "file_mounts: [a, b]\n",
        "c.yaml:5: key 'file_mounts': expected a mapping of remote path: local path, found a list");
    bad("cluster_name: x\n" LOCAL "  worker_ips: 10.0.0.2\n",
        "c.yaml:5: key 'provider.worker_ips': expected a list of strings, found a single value");
    bad("cluster_name: x\ncluster_name: y\n" LOCAL, "c.yaml:2: key 'cluster_name' is given twice");
    bad("cluster_name: x\nmin_workers: 3\nmax_workers: 1\n" LOCAL,
        "c.yaml:1: key 'min_workers': 3 is more than max_workers (1)");
    bad("- a\n- b\n", "c.yaml:1: expected a mapping of key: value at the top level, found a list");
    bad("cluster_name: x\n" LOCAL "---\ncluster_name: y\n", "c.yaml:5: only one YAML document is allowed");
    bad("? [a]\n: b\n", "c.yaml:1: keys must be plain words, not a list");
}
END_TEST

START_TEST(test_syntax)
{
    /* bad indentation: the line and the key near it */
    bad("cluster_name: x\nprovider:\n  type: local\n head_ip: 1.2.3.4\n",
        "c.yaml:4: bad YAML at key 'head_ip': did not find expected key while parsing a block mapping");
    struct launch_config c;
    ck_assert_int_eq(parse(&c, "cluster_name: x\n\tprovider: {}\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "c.yaml:2: bad YAML"));
    ck_assert_int_eq(parse(&c, "cluster_name: \"x\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "bad YAML"));
    ck_assert_int_eq(parse(&c, "cluster_name: *nothing\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "c.yaml:1: bad YAML"));
    /* control bytes in a key are shown escaped, never raw */
    ck_assert_int_eq(parse(&c, "cluster_name: x\n" LOCAL "\"a\\x01b\": 1\n"), 0);
    ck_assert_ptr_nonnull(strstr(warn.data, "unknown key 'a\\x01b'"));
    launch_config_free(&c);
    /* aliases are resolved, and a value that refers to itself is harmless */
    ck_assert_int_eq(parse(&c, "cluster_name: &n x\nmetadata: &m [*m]\n" LOCAL "head_node_type: *n\n"), 0);
    launch_config_free(&c);
}
END_TEST

START_TEST(test_load_file)
{
    char dir[UNIT_DIR_MAX], path[UNIT_PATH_MAX];
    unit_path(path, unit_tmpdir(dir, "launch"), "cluster.yaml");
    FILE *fp = fopen(path, "w");
    fputs("cluster_name: f\n" LOCAL "max_workers: nope\n", fp);
    fclose(fp);
    struct launch_config c;
    ck_assert_int_eq(launch_config_load(&c, path, NULL, err, sizeof err), -1);
    char want[UNIT_PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:5: key 'max_workers': expected a whole number, found 'nope'", path);
    ck_assert_str_eq(err, want);
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    ck_assert_int_eq(launch_config_load(&c, path, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));

    /* the state file round trip, under a HOME of our own */
    setenv("HOME", dir, 1);
    struct launch_state st = { 0 }, back;
    snprintf(st.cluster_name, sizeof st.cluster_name, "my cluster/1");
    snprintf(st.provider, sizeof st.provider, "local");
    snprintf(st.config, sizeof st.config, "/x/\"quoted\".yaml");
    launch_state_set(&st, "10.0.0.1", "head", "up");
    launch_state_set(&st, "10.0.0.2", "worker", "up");
    launch_state_set(&st, "10.0.0.2", "worker", "failed");
    ck_assert_uint_eq(st.n, 2);
    ck_assert_int_eq(launch_state_save(&st, err, sizeof err), 0);
    launch_state_path("my cluster/1", "json", path, sizeof path);
    ck_assert_ptr_nonnull(strstr(path, "/.ray/clusters/my_cluster_1.json"));
    ck_assert_int_eq(access(path, R_OK), 0);
    ck_assert_int_eq(launch_state_load("my cluster/1", &back, err, sizeof err), 0);
    ck_assert_str_eq(back.config, "/x/\"quoted\".yaml");
    ck_assert_uint_eq(back.n, 2);
    ck_assert_str_eq(back.nodes[1].state, "failed");
    ck_assert_str_eq(back.nodes[0].kind, "head");
    launch_state_free(&back);
    ck_assert_int_eq(launch_state_load("other", &back, err, sizeof err), 1);
    launch_state_remove("my cluster/1");
    ck_assert_int_eq(launch_state_load("my cluster/1", &back, err, sizeof err), 1);
    launch_state_free(&st);
    /* the token: made once, 0600, the same on every later call */
    char t1[128], t2[128];
    ck_assert_int_eq(launch_state_token("c1", t1, sizeof t1, err, sizeof err), 0);
    ck_assert_int_eq(launch_state_token("c1", t2, sizeof t2, err, sizeof err), 0);
    ck_assert_str_eq(t1, t2);
    ck_assert_uint_eq(strlen(t1), 64);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test \"$(stat -c %%a '%s/.ray/clusters/c1.token')\" = 600 && rm -rf '%s'",
             dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* available_node_types: types, resources, node_config, their rules, and
 * the plan of workers ray up starts and the ray start flags they get. */
START_TEST(test_node_types)
{
    struct launch_config c;
    /* without types: Ray's two default ones */
    ck_assert_int_eq(parse(&c, "cluster_name: d\nmin_workers: 1\nmax_workers: 3\n" LOCAL
                               "  worker_ips: [w1, w2]\n"), 0);
    ck_assert(!c.types_given);
    ck_assert_uint_eq(c.ntypes, 2);
    ck_assert_str_eq(c.head_node_type, "ray.head.default");
    ck_assert_int_eq(c.types[1].min_workers, 1);
    ck_assert_int_eq(c.types[1].max_workers, 3);
    ck_assert(!launch_node_type_is_worker(&c, &c.types[0]));
    ck_assert(launch_node_type_is_worker(&c, &c.types[1]));
    ck_assert_ptr_eq(launch_ip_type(&c, "w2"), &c.types[1]);
    launch_config_free(&c);

    ck_assert_int_eq(parse(&c, "cluster_name: t\nmax_workers: 4\n" LOCAL "  worker_ips: [w1, w2]\n"
                               "available_node_types:\n"
                               "  head: {resources: {CPU: 1}, node_config: {}, max_workers: 0}\n"
                               "  small:\n    resources: {CPU: 2}\n    min_workers: 1\n    max_workers: 2\n"
                               "    node_config: {machineType: zones/z/machineTypes/n1-standard-2}\n"
                               "  bee:\n    resources: {CPU: 1, bee: 1, memory: 1000000}\n"
                               "    node_config:\n      worker_ips: [b1, b2]\n"
                               "      azure_arm_parameters: {vmSize: Standard_D2s_v3}\n"
                               "      disks: [{initializeParams: {sourceImage: projects/p/global/images/family/f}}]\n"
                               "    max_workers: 1\n"
                               "    worker_setup_commands: [echo]\n"
                               "head_node_type: head\n"), 0);
    ck_assert_str_eq(warn.data, "c.yaml:21: warning: key 'available_node_types.bee.worker_setup_commands': "
                                "per-type worker_setup_commands are not supported; ignored\n");
    ck_assert(c.types_given);
    ck_assert_uint_eq(c.ntypes, 3);
    const struct launch_node_type *small = launch_node_type_find(&c, "small");
    const struct launch_node_type *bee = launch_node_type_find(&c, "bee");
    ck_assert_ptr_nonnull(small);
    ck_assert_str_eq(small->resources, "CPU=2");
    ck_assert_int_eq(small->min_workers, 1);
    ck_assert_int_eq(small->max_workers, 2);
    ck_assert_str_eq(launch_node_config(small, "machineType"), "zones/z/machineTypes/n1-standard-2");
    ck_assert_str_eq(bee->resources, "CPU=1,bee=1,memory=1000000");
    ck_assert_uint_eq(bee->worker_ips.n, 2);
    ck_assert_str_eq(launch_node_config(bee, "azure_arm_parameters.vmSize"), "Standard_D2s_v3");
    ck_assert_str_eq(launch_node_config(bee, "disks.0.initializeParams.sourceImage"),
                     "projects/p/global/images/family/f");
    ck_assert_ptr_null(launch_node_config(bee, "nope"));
    ck_assert(!launch_node_type_is_worker(&c, launch_node_type_find(&c, "head")));
    /* local hosts: own worker_ips, else the provider's go to the first type without */
    ck_assert_ptr_eq(launch_ip_type(&c, "b2"), bee);
    ck_assert_ptr_eq(launch_ip_type(&c, "w1"), small);
    struct launch_strv all;
    launch_local_ips(&c, &all);
    ck_assert_uint_eq(all.n, 4);
    free(all.v);
    /* ray up: each type's min_workers (small: 1), on its own hosts */
    const char **ips;
    const struct launch_node_type **types;
    ck_assert_uint_eq(launch_worker_plan(&c, -1, -1, &ips, &types), 1);
    ck_assert_str_eq(ips[0], "w1");
    ck_assert_ptr_eq(types[0], small);
    free(ips);
    free(types);
    /* the ray start flags of a type */
    struct buf f = BUF_INIT;
    launch_type_start_flags(bee, &f);
    buf_append(&f, "", 1);
    ck_assert_str_eq(f.data, " --num-cpus=1 --memory=1000000 --resources=bee=1");
    buf_free(&f);
    struct launch_strv in = { (char *[]){ "ray stop", "ray start --address=h:1 --num-cpus=4" }, 2 }, out;
    launch_typed_start(&in, small, &out);
    ck_assert_str_eq(out.v[0], "ray stop");
    ck_assert_str_eq(out.v[1], "ray start --address=h:1 --num-cpus=4 --num-cpus=2");
    launch_strv_free(&out);
    launch_config_free(&c);

    /* local with only a head type (as in Ray's examples): worker_ips as they are */
    ck_assert_int_eq(parse(&c, "cluster_name: h\n" LOCAL "  worker_ips: [w1, w2]\n"
                               "available_node_types: {head: {resources: {}}}\nhead_node_type: head\n"), 0);
    ck_assert_uint_eq(launch_worker_plan(&c, -1, -1, &ips, &types), 2);
    ck_assert_str_eq(ips[1], "w2");
    ck_assert_ptr_null(types[1]);
    free(ips);
    free(types);
    launch_config_free(&c);

    /* clouds: the plan has no addresses, one entry per min_workers */
    ck_assert_int_eq(parse(&c, "cluster_name: g\nprovider: {type: gcp}\nmax_workers: 2\n"
                               "available_node_types: {h: {}, w: {min_workers: 3}}\nhead_node_type: h\n"),
                     0);
    ck_assert_uint_eq(launch_worker_plan(&c, -1, -1, &ips, &types), 2); /* capped by max_workers */
    ck_assert_ptr_null(ips[0]);
    ck_assert_str_eq(types[1]->name, "w");
    free(ips);
    free(types);
    launch_config_free(&c);

    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {}}\n",
        "c.yaml:1: missing key 'head_node_type' (needed with available_node_types)");
    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {}}\nhead_node_type: b\n",
        "c.yaml:1: key 'head_node_type': 'b' is not one of available_node_types");
    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {resources: {CPU: lots}}}\nhead_node_type: a\n",
        "c.yaml:5: key 'available_node_types.a.resources.CPU': expected a number >= 0, found 'lots'");
    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {resources: [1]}}\nhead_node_type: a\n",
        "c.yaml:5: key 'available_node_types.a.resources': expected a mapping of resource: amount, found a list");
    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {min_workers: 3, max_workers: 1}}\nhead_node_type: a\n",
        "c.yaml:5: key 'available_node_types.a.min_workers': 3 is more than its max_workers (1)");
    bad("cluster_name: x\n" LOCAL "available_node_types: {a: {max_workers: two}}\nhead_node_type: a\n",
        "c.yaml:5: key 'available_node_types.a.max_workers': expected a whole number, found 'two'");
    bad("cluster_name: x\n" LOCAL "available_node_types: [a]\n",
        "c.yaml:5: key 'available_node_types': expected a mapping of node type name: its settings, found a list");
    /* node_config that refers to itself is read to a bounded depth */
    ck_assert_int_eq(parse(&c, "cluster_name: x\n" LOCAL "available_node_types:\n  a:\n    node_config: &n {k: [1, 2]}\n"
                               "  b: {node_config: {x: *n, y: *n}}\nhead_node_type: a\n"), 0);
    ck_assert_str_eq(launch_node_config(launch_node_type_find(&c, "b"), "x.k.1"), "2");
    launch_config_free(&c);
}
END_TEST

START_TEST(test_helpers)
{
    /* shell quoting of what goes to the remote shell */
    struct buf b = BUF_INIT;
    launch_sh_quote(&b, "it's $HOME; rm -rf /");
    ck_assert_str_eq(b.data, "'it'\\''s $HOME; rm -rf /'");
    buf_reset(&b);
    launch_sh_quote(&b, "");
    ck_assert_str_eq(b.data, "''");
    /* the line an error shows: the last one with text, control bytes masked */
    char line[64];
    buf_reset(&b);
    buf_printf(&b, "first\nssh: connect to host x port 22: No route\x1b[0m\n\n  \n");
    launch_ssh_last_line(&b, line, sizeof line);
    ck_assert_str_eq(line, "ssh: connect to host x port 22: No route?[0m");
    buf_reset(&b);
    launch_ssh_last_line(&b, line, sizeof line);
    ck_assert_str_eq(line, "");
    buf_free(&b);
    /* cloud machine names: lower case, [a-z0-9-] */
    char name[128];
    launch_machine_name("My_Cluster.1", "worker", 3, name, sizeof name);
    ck_assert_str_eq(name, "ray-my-cluster-1-worker-3");
    launch_machine_name("c", "head", 0, name, sizeof name);
    ck_assert_str_eq(name, "ray-c-head");
    ck_assert_ptr_nonnull(launch_provider_get("gcp"));
    ck_assert_ptr_null(launch_provider_get("aws"));
    /* a missing cloud CLI: one line saying what to install */
    char e[512];
    const char *path = getenv("PATH");
    char *saved = path ? strdup(path) : NULL;
    setenv("PATH", "/nonexistent", 1);
    ck_assert_int_eq(launch_provider_check(launch_provider_get("azure"), e, sizeof e), -1);
    ck_assert_ptr_nonnull(strstr(e, "provider azure needs `az`, which is not on PATH: install the Azure CLI"));
    ck_assert_int_eq(launch_provider_check(launch_provider_get("local"), e, sizeof e), 0);
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    }
    /* clouds start min_workers (0 by default) */
    struct launch_config c;
    ck_assert_int_eq(parse(&c, "cluster_name: g\nprovider: {type: gcp, availability_zone: z}\n"), 0);
    ck_assert_uint_eq(launch_worker_count(&c, -1, -1), 0);
    ck_assert_uint_eq(launch_worker_count(&c, 2, -1), 2);
    launch_config_free(&c);
}
END_TEST

static Suite *launcher_config_suite(void)
{
    Suite *s = suite_create("launcher_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_ray_example);
    tcase_add_test(tc, test_full);
    tcase_add_test(tc, test_warnings);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_syntax);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_helpers);
    tcase_add_test(tc, test_node_types);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_SUITE(launcher_config_suite);
