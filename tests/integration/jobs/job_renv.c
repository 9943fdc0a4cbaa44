/*
 * job_renv.c — runtime environments as a user sees them (test_runtime_env).
 * Submitted with --runtime-env-json '{"env_vars": {"GREETING": "hello",
 * "OTHER": "x"}}' --working-dir DIR (DIR holds data.txt), and a resource
 * NODE_RES that only another node has:
 *
 *   ray submit --runtime-env-json ... --working-dir DIR job_renv.so -- NODE_RES
 */
#include <ray.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void describe(char *out, size_t len)
{
    char data[64] = "-";
    FILE *f = fopen("data.txt", "r");
    if (f) {
        if (fgets(data, sizeof data, f) == NULL)
            data[0] = '\0';
        data[strcspn(data, "\n")] = '\0';
        fclose(f);
    }
    const char *g = getenv("GREETING"), *o = getenv("OTHER");
    snprintf(out, len, "GREETING=%s OTHER=%s data=%s pid=%d", g ? g : "(unset)", o ? o : "(unset)",
             data, (int)getpid());
}

static int env_of(ray_task *t, const ray_value *a, size_t n)
{
    (void)a, (void)n;
    char s[256];
    describe(s, sizeof s);
    return ray_return(t, RAY_S(s));
}
RAY_REMOTE(env_of);

static void *probe_new(ray_task *t, const ray_value *a, size_t n)
{
    (void)t, (void)a, (void)n;
    return calloc(1, 1);
}
static void probe_free(void *s)
{
    free(s);
}
static int probe_env(void *s, ray_task *t, const ray_value *a, size_t n)
{
    (void)s;
    return env_of(t, a, n);
}
RAY_ACTOR(probe);
RAY_METHOD(probe, env);

static int show(const char *what, const ray_opts *o, char *out, size_t len)
{
    ray_ref r;
    ray_value v;
    int rc = ray_call("env_of", NULL, 0, o, &r);
    if (rc == RAY_OK)
        rc = ray_get(r, 30000, &v);
    if (rc != RAY_OK) {
        printf("%s: %s (%s)\n", what, ray_strerror(rc), ray_last_error());
        return rc;
    }
    snprintf(out, len, "%s", (const char *)v.as.buf.ptr);
    printf("%s: %s\n", what, out);
    ray_value_release(&v);
    return RAY_OK;
}

static const char *pid_of(const char *s)
{
    const char *p = strstr(s, "pid=");
    return p ? p + 4 : "";
}

int ray_main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char s[256], a[256], b[256], c[256];
    describe(s, sizeof s);
    printf("driver: %s\n", s);
    if (show("task", NULL, a, sizeof a) != RAY_OK)
        return 1;
    ray_opts o = RAY_OPTS;
    o.runtime_env = "{\"env_vars\": {\"GREETING\": \"override\"}}";
    if (show("task with its own env", &o, b, sizeof b) != RAY_OK)
        return 1;
    printf("different environments, different workers: %s\n",
           strcmp(pid_of(a), pid_of(b)) != 0 ? "yes" : "no");
    /* the job's environment again, several times: never on the other environment's worker */
    int shared = 0;
    for (int i = 0; i < 6; i++)
        if (show("task again", NULL, c, sizeof c) == RAY_OK && strcmp(pid_of(c), pid_of(b)) == 0)
            shared++;
    printf("a worker of the other environment was reused: %s\n", shared ? "yes" : "no");
    if (argc > 1) {
        ray_opts r = RAY_OPTS;
        r.resources = argv[1];
        show("task on another node", &r, a, sizeof a);
    }
    ray_opts ao = RAY_ACTOR_OPTS;
    ao.runtime_env = "{\"env_vars\": {\"OTHER\": \"actor\"}}";
    ray_actor act;
    ray_ref ref;
    ray_value v;
    if (ray_actor_create("probe", NULL, 0, &ao, &act) == RAY_OK &&
        ray_actor_call(act, "env", NULL, 0, NULL, &ref) == RAY_OK && ray_get(ref, 30000, &v) == RAY_OK) {
        printf("actor: %s\n", (const char *)v.as.buf.ptr);
        ray_value_release(&v);
    } else {
        printf("actor: %s\n", ray_last_error());
    }
    static const char *const bad[] = {
        "{\"env_vars\": {\"A\": 1}}", "{\"pip\": [\"numpy\"]}", "not json",
        "{\"working_dir\": \"/tmp\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ray_opts x = RAY_OPTS;
        x.runtime_env = bad[i];
        ray_ref r;
        int rc = ray_call("env_of", NULL, 0, &x, &r);
        printf("bad runtime_env %zu: %s: %s\n", i, rc == RAY_EINVAL ? "RAY_EINVAL" : ray_strerror(rc),
               ray_last_error());
    }
    return 0;
}
