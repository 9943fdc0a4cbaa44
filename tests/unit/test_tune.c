/*
 * test_tune.c — the tune library without a cluster: spaces and configs
 * round-trip through their byte form, and the controller actor's ASHA
 * verdicts, driven through its registered methods in a local context.
 */
#include "api/api_internal.h"
#include "libs/pool/pool_internal.h"
#include "libs/tune/tune_internal.h"
#include "ray_tune.h"
#include "tests/unit/unit.h"

#include <math.h>
#include <string.h>

START_TEST(test_space_roundtrip)
{
    ray_value kinds[] = { RAY_S("a"), RAY_S("b") };
    ray_tune_param sp[] = { RAY_TUNE_LOGUNIFORM("lr", 1e-4, 1e-1), RAY_TUNE_CHOICE_OF("k", kinds, 2),
                            RAY_TUNE_RANDINT_P("n", 1, 9) };
    struct ray_pool_buf_ b = { 0 };
    ck_assert_int_eq(ray_tune_space_put_(&b, sp, 3), RAY_OK);
    struct ray_tune_sparam_ *got;
    size_t n;
    ck_assert_int_eq(ray_tune_space_get_(b.data, b.len, &got, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(got[0].kind, RAY_TUNE_LOGUNIFORM);
    ck_assert(got[0].lo == 1e-4 && got[0].hi == 1e-1);
    ck_assert_uint_eq(got[1].nvalues, 2);
    ck_assert_str_eq(got[1].values[1].as.buf.ptr, "b");
    ck_assert(got[2].hi == 9);
    ray_tune_space_free_(got, n);
    /* truncated: refused */
    ck_assert_int_eq(ray_tune_space_get_(b.data, b.len - 3, &got, &n), -1);
    ray_pool_buf_free_(&b);

    ray_value cfg[2] = { RAY_F(0.5), RAY_S("x") }, back[2];
    for (int i = 0; i < 2; i++)
        ray_pool_value_put_(&b, &cfg[i]);
    ck_assert_int_eq(ray_tune_config_get_(b.data, b.len, back, 2), 0);
    ck_assert(back[0].as.f == 0.5);
    ck_assert_str_eq(back[1].as.buf.ptr, "x");
    ck_assert_int_eq(ray_tune_config_get_(b.data, b.len, back, 1), -1); /* bytes left over */
    ray_pool_buf_free_(&b);
}
END_TEST

static void *g_self;
static ray_method_fn g_report;
static int call_report(ray_task *t, const ray_value *a, size_t n)
{
    return g_report(g_self, t, a, n);
}

/* report(trial, it, value) -> true: go on */
static bool go_on(ray_task *lt, int64_t trial, int64_t it, double v)
{
    ray_value args[3] = { RAY_I(trial), RAY_I(it), RAY_F(v) }, ret;
    ck_assert_int_eq(ray_task_local_run(lt, call_report, args, 3, &ret), RAY_OK);
    ck_assert_int_eq(ret.type, RAY_BOOL);
    return ret.as.b;
}

START_TEST(test_asha_controller)
{
    ray_actor_new_fn mk;
    ray_actor_free_fn fr;
    ck_assert_int_eq(api_registry_actor_("ray_tune_controller", &mk, &fr), 0);
    g_report = api_registry_method_("ray_tune_controller", "report");
    ck_assert_ptr_nonnull((void *)g_report);
    /* 3 trials, ASHA, min, max_t 16, grace 1, rf 2: rungs at 1, 2, 4, 8 */
    ray_value a[11] = { RAY_I(3), RAY_I(RAY_TUNE_ASHA), RAY_I(RAY_TUNE_MIN), RAY_I(16), RAY_I(1),
                        RAY_F(2), RAY_I(0), RAY_F(0.25), RAY_F(0.25), RAY_I(1),
                        RAY_BYTES_V("", 0) };
    g_self = mk(NULL, a, 11);
    ck_assert_ptr_nonnull(g_self);
    ray_task *lt = ray_task_local_new("unit", NULL);
    /* trial 0 is first at every rung: never stopped, until max_t */
    for (int64_t it = 1; it < 16; it++)
        ck_assert(go_on(lt, 0, it, 1.0 / (double)it));
    ck_assert(!go_on(lt, 0, 16, 1.0 / 16));
    /* trial 1 is worse than trial 0 at rung 1: stopped at once */
    ck_assert(!go_on(lt, 1, 1, 5.0));
    /* trial 2 is better at rungs 1 and 2 but worse at rung 4, whose cutoff
     * is the only value recorded there, trial 0's 0.25 */
    ck_assert(go_on(lt, 2, 1, 0.5));
    ck_assert(go_on(lt, 2, 2, 0.4));
    ck_assert(go_on(lt, 2, 3, 0.4));
    ck_assert(!go_on(lt, 2, 4, 0.3));
    ray_task_local_free(lt);
    fr(g_self);
}
END_TEST

UNIT_SIMPLE_SUITE(tune_suite, "tune", "core", test_space_roundtrip, test_asha_controller);
