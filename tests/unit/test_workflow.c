/*
 * test_workflow.c — the workflow library's files without a cluster: the dag
 * and checkpoint codecs (round trip, every truncation and a forward
 * dependency refused), workflow IDs, the status file and the run lock.
 */
#include "libs/workflow/workflow_internal.h"
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A 3-step dag file: s0 (no deps), s1 <- s0, s2 <- s0, s1; output 2. */
static void make_dag(struct ray_pool_buf_ *b)
{
    ray_value items[] = { RAY_I(1), RAY_S("two") };
    ray_value args[] = { RAY_I(5), RAY_S("x"), RAY_LIST_V(items, 2), RAY_F(0.5) };
    ray_opts o = RAY_OPTS;
    ray_wf_dag_head_put_(b, 3, 2);
    ck_assert_int_eq(ray_wf_step_put_(b, "s0", "fa", args, 4, NULL, 0, &o), RAY_OK);
    int d1[] = { 0 }, d2[] = { 0, 1 };
    o.resources = "side=1";
    o.max_retries = 7;
    o.retry_on_error = true;
    ck_assert_int_eq(ray_wf_step_put_(b, "s1", "fb", NULL, 0, d1, 1, &o), RAY_OK);
    ck_assert_int_eq(ray_wf_step_put_(b, "s2", "fc", args, 1, d2, 2, &o), RAY_OK);
    ck_assert(!b->oom);
}

START_TEST(test_dag_roundtrip)
{
    struct ray_pool_buf_ b = { 0 };
    struct ray_wf_dag_ d;
    char err[256];
    make_dag(&b);
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.n, 3);
    ck_assert_uint_eq(d.output, 2);
    ck_assert_str_eq(d.steps[0].name, "s0");
    ck_assert_str_eq(d.steps[0].fn, "fa");
    ck_assert_uint_eq(d.steps[0].nargs, 4);
    ck_assert_int_eq(d.steps[0].args[0].as.i, 5);
    ck_assert_str_eq(d.steps[0].args[1].as.buf.ptr, "x");
    ck_assert_uint_eq(ray_list_len(&d.steps[0].args[2]), 2);
    ck_assert_str_eq(ray_list_at(&d.steps[0].args[2], 1)->as.buf.ptr, "two");
    ck_assert(d.steps[0].num_cpus == 1.0);
    ck_assert_int_eq(d.steps[0].max_retries, 3);
    ck_assert_str_eq(d.steps[0].resources, "");
    ck_assert_uint_eq(d.steps[2].ndeps, 2);
    ck_assert_uint_eq(d.steps[2].deps[1], 1);
    ck_assert_str_eq(d.steps[2].resources, "side=1");
    ck_assert_int_eq(d.steps[2].max_retries, 7);
    ck_assert(d.steps[2].retry_on_error);
    ray_wf_dag_free_(&d);
    /* every truncation is refused, never read past */
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b.data, n);
        ck_assert_int_eq(ray_wf_dag_decode_(cut, n, &d, err, sizeof err), -1);
        free(cut);
    }
    /* trailing bytes */
    ray_pool_buf_put_(&b, "z", 1);
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), -1);
    ck_assert(strstr(err, "trailing") != NULL);
    ray_pool_buf_free_(&b);
}
END_TEST

START_TEST(test_dag_bad)
{
    struct ray_pool_buf_ b = { 0 };
    struct ray_wf_dag_ d;
    char err[256];
    ray_opts o = RAY_OPTS;
    int fwd[] = { 1 };
    /* a dependency on a later step (a cycle in the making) */
    ray_wf_dag_head_put_(&b, 2, 1);
    ray_wf_step_put_(&b, "s0", "f", NULL, 0, fwd, 1, &o);
    ray_wf_step_put_(&b, "s1", "f", NULL, 0, NULL, 0, &o);
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "step 0") != NULL, "%s", err);
    ray_pool_buf_free_(&b);
    /* output out of range, zero steps, bad magic */
    ray_wf_dag_head_put_(&b, 1, 1);
    ray_wf_step_put_(&b, "s0", "f", NULL, 0, NULL, 0, &o);
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), -1);
    ck_assert(strstr(err, "output step") != NULL);
    b.data[0] = 'X';
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), -1);
    ck_assert(strstr(err, "magic") != NULL);
    ray_pool_buf_free_(&b);
    ray_wf_dag_head_put_(&b, 0, 0);
    ck_assert_int_eq(ray_wf_dag_decode_(b.data, b.len, &d, err, sizeof err), -1);
    ray_pool_buf_free_(&b);
}
END_TEST

START_TEST(test_out_and_ids)
{
    struct ray_pool_buf_ b = { 0 };
    struct ray_pool_arena_ ar = { 0 };
    ray_value v, k[] = { RAY_S("n") }, vals[] = { RAY_I(3) };
    ray_pool_buf_put_(&b, RAY_WF_OUT_MAGIC_, 8);
    ray_value m = RAY_MAP_V(k, vals, 1);
    ck_assert_int_eq(ray_pool_value_put_(&b, &m), RAY_OK);
    ck_assert_int_eq(ray_wf_out_decode_(b.data, b.len, &v, &ar), 0);
    ck_assert_int_eq(ray_map_get(&v, "n")->as.i, 3);
    ck_assert_int_eq(ray_wf_out_decode_(b.data, b.len - 1, &v, &ar), -1);
    ray_pool_arena_free_(&ar);
    ray_pool_buf_free_(&b);
    ray_ref r = { { 1 } };
    ray_value rv = RAY_R(r);
    ray_pool_buf_put_(&b, RAY_WF_OUT_MAGIC_, 8);
    ray_pool_value_put_(&b, &rv);
    ck_assert_int_eq(ray_wf_out_decode_(b.data, b.len, &v, &ar), -1); /* a REF is not durable */
    ray_pool_buf_free_(&b);

    ck_assert(ray_wf_id_ok_("wf-1_a.b"));
    ck_assert(!ray_wf_id_ok_(""));
    ck_assert(!ray_wf_id_ok_(NULL));
    ck_assert(!ray_wf_id_ok_("../x"));
    ck_assert(!ray_wf_id_ok_(".hidden"));
    ck_assert(!ray_wf_id_ok_("a/b"));
    char longid[200];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ck_assert(!ray_wf_id_ok_(longid));
    ck_assert_str_eq(ray_workflow_status_name(RAY_WORKFLOW_RESUMABLE), "RESUMABLE");
    ck_assert_str_eq(ray_workflow_status_name((ray_workflow_status)99), "UNKNOWN");
}
END_TEST

START_TEST(test_status_and_lock)
{
    char dir[UNIT_DIR_MAX];
    unit_tmpdir(dir, "wf");
    ray_workflow_status s;
    char msg[64];
    ck_assert_int_eq(ray_wf_status_read_(dir, &s, msg, sizeof msg), -1); /* none yet */
    ck_assert_int_eq(ray_wf_status_write_(dir, RAY_WORKFLOW_FAILED, "step 'x' failed"), 0);
    ck_assert_int_eq(ray_wf_status_read_(dir, &s, msg, sizeof msg), 0);
    ck_assert_int_eq(s, RAY_WORKFLOW_FAILED);
    ck_assert_str_eq(msg, "step 'x' failed");
    ck_assert_int_eq(ray_wf_status_write_(dir, RAY_WORKFLOW_SUCCESSFUL, NULL), 0);
    ck_assert_int_eq(ray_wf_status_read_(dir, &s, msg, sizeof msg), 0);
    ck_assert_int_eq(s, RAY_WORKFLOW_SUCCESSFUL);
    ck_assert_str_eq(msg, "");
    int fd = ray_wf_lock_(dir);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ray_wf_lock_(dir), -1); /* held: another open file cannot take it */
    close(fd);
    fd = ray_wf_lock_(dir);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unit_rmtree(dir);
}
END_TEST

UNIT_SIMPLE_SUITE(workflow_suite, "workflow", "files", test_dag_roundtrip, test_dag_bad, test_out_and_ids, test_status_and_lock);
