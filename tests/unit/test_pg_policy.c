/*
 * test_pg_policy.c — where placement groups' bundles go and the resource
 * names they add (sched/pg_policy.c).
 */
#include "sched/pg_policy.h"
#include "tests/unit/unit.h"

#include <string.h>

static struct res_set mk(const char *spec)
{
    struct res_set s = RES_SET_INIT;
    char err[128];
    ck_assert_int_eq(res_parse(&s, spec, err, sizeof err), 0);
    return s;
}

/* A cluster to place bundles on: nodes with free resources FREE[i] (totals
 * the same), the bundles (specs BUNDLES[i]) and where each went (out). */
struct fx {
    struct res_set tot[8], av[8];
    struct pg_node_view v[8];
    size_t n;
    struct res_set b[8];
    size_t nb;
    int out[8];
};
/* FREE and BUNDLES end with NULL. */
static void fx_mk(struct fx *x, const char *const *free, const char *const *bundles)
{
    memset(x, 0, sizeof *x);
    for (; free[x->n]; x->n++) {
        x->tot[x->n] = mk(free[x->n]);
        x->av[x->n] = mk(free[x->n]);
        x->v[x->n] = (struct pg_node_view){ &x->tot[x->n], &x->av[x->n], true };
    }
    for (; bundles[x->nb]; x->nb++)
        x->b[x->nb] = mk(bundles[x->nb]);
}
static void fx_free(struct fx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        res_free(&x->tot[i]);
        res_free(&x->av[i]);
    }
    for (size_t i = 0; i < x->nb; i++)
        res_free(&x->b[i]);
}
/* Place the first NB bundles on every node with STRATEGY (FIXED, NEVER as
 * pg_policy_place); where they went is in x->out. */
static int fx_place(struct fx *x, size_t nb, int strategy, const int *fixed, bool *never)
{
    return pg_policy_place(x->v, x->n, x->b, nb, strategy, fixed, x->out, never);
}
#define NODES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define BUNDLES NODES

START_TEST(strict_pack_needs_one_node_for_all)
{
    struct fx x;
    fx_mk(&x, NODES("CPU=1", "CPU=3", "CPU=2"), BUNDLES("CPU=1", "CPU=1", "CPU=1", "CPU=1"));
    bool never = true;
    ck_assert_int_eq(fx_place(&x, 3, PG_STRICT_PACK, NULL, &never), 0);
    ck_assert(x.out[0] == 1 && x.out[1] == 1 && x.out[2] == 1);
    /* four of them fit no node: infeasible, and said so */
    ck_assert_int_eq(fx_place(&x, 4, PG_STRICT_PACK, NULL, &never), -1);
    ck_assert(never);
    fx_free(&x);
}
END_TEST

START_TEST(pack_fills_nodes_it_uses_first)
{
    struct fx x;
    fx_mk(&x, NODES("CPU=2", "CPU=2", "CPU=2"), BUNDLES("CPU=1", "CPU=1", "CPU=1", "CPU=1"));
    ck_assert_int_eq(fx_place(&x, 4, PG_PACK, NULL, NULL), 0);
    /* no node holds all four: two nodes, full */
    int on[3] = { 0 };
    for (int i = 0; i < 4; i++)
        on[x.out[i]]++;
    ck_assert_int_eq(on[0], 2);
    ck_assert_int_eq(on[1], 2);
    ck_assert_int_eq(on[2], 0);
    fx_free(&x);
}
END_TEST

START_TEST(spread_and_strict_spread)
{
    struct fx x;
    fx_mk(&x, NODES("CPU=4", "CPU=4", "CPU=4"), BUNDLES("CPU=1", "CPU=1", "CPU=1", "CPU=1"));
    ck_assert_int_eq(fx_place(&x, 3, PG_SPREAD, NULL, NULL), 0);
    ck_assert(x.out[0] != x.out[1] && x.out[1] != x.out[2] && x.out[0] != x.out[2]);
    /* SPREAD of four on three nodes: doubles up once */
    ck_assert_int_eq(fx_place(&x, 4, PG_SPREAD, NULL, NULL), 0);
    /* STRICT_SPREAD of four on three nodes: never */
    bool never = false;
    ck_assert_int_eq(fx_place(&x, 4, PG_STRICT_SPREAD, NULL, &never), -1);
    ck_assert(never);
    ck_assert_int_eq(fx_place(&x, 3, PG_STRICT_SPREAD, NULL, NULL), 0);
    ck_assert(x.out[0] != x.out[1] && x.out[1] != x.out[2] && x.out[0] != x.out[2]);
    fx_free(&x);
}
END_TEST

START_TEST(strict_spread_backtracks)
{
    /* bundle 0 fits both nodes, bundle 1 only node 0: greedy would fail */
    struct fx x;
    fx_mk(&x, NODES("CPU=1,gpu_like=1", "CPU=1"), BUNDLES("CPU=1", "CPU=1,gpu_like=1"));
    ck_assert_int_eq(fx_place(&x, 2, PG_STRICT_SPREAD, NULL, NULL), 0);
    ck_assert_int_eq(x.out[0], 1);
    ck_assert_int_eq(x.out[1], 0);
    fx_free(&x);
}
END_TEST

START_TEST(busy_now_is_not_never)
{
    struct fx x;
    fx_mk(&x, NODES("CPU=2"), BUNDLES("CPU=1"));
    res_set_amount(&x.av[0], "CPU", 0); /* all taken for now */
    bool never = true;
    ck_assert_int_eq(fx_place(&x, 1, PG_PACK, NULL, &never), -1);
    ck_assert(!never);
    x.v[0].alive = false;
    ck_assert_int_eq(fx_place(&x, 1, PG_PACK, NULL, &never), -1);
    ck_assert(never);
    fx_free(&x);
}
END_TEST

START_TEST(rescheduling_keeps_survivors)
{
    struct fx x;
    fx_mk(&x, NODES("CPU=1", "CPU=1", "CPU=1"), BUNDLES("CPU=1", "CPU=1"));
    /* bundle 0 survives on node 1 (its CPU is taken by it); bundle 1 lost */
    res_set_amount(&x.av[1], "CPU", 0);
    int fixed[2] = { 1, -1 };
    ck_assert_int_eq(fx_place(&x, 2, PG_STRICT_SPREAD, fixed, NULL), 0);
    ck_assert_int_eq(x.out[0], 1);
    ck_assert(x.out[1] == 0 || x.out[1] == 2);
    /* STRICT_PACK: the lost bundle must join the survivor's node, full: not now */
    ck_assert_int_eq(fx_place(&x, 2, PG_STRICT_PACK, fixed, NULL), -1);
    fx_free(&x);
}
END_TEST

START_TEST(group_resource_names)
{
    uint8_t id[20];
    for (int i = 0; i < 20; i++)
        id[i] = (uint8_t)i;
    char tag[PG_POLICY_TAG_LEN + 1];
    pg_policy_tag(id, tag);
    ck_assert_str_eq(tag, "0405060708090a0b0c0d0e0f");
    struct res_set bundle = mk("CPU=2,GPU=1"), added = RES_SET_INIT;
    ck_assert_int_eq(pg_policy_bundle_res(&bundle, 1, tag, &added), 0);
    ck_assert_int_eq(res_get(&added, "CPU_group_1_0405060708090a0b0c0d0e0f"), res_units(2));
    ck_assert_int_eq(res_get(&added, "CPU_group_0405060708090a0b0c0d0e0f"), res_units(2));
    ck_assert_int_eq(res_get(&added, "GPU_group_1_0405060708090a0b0c0d0e0f"), res_units(1));
    ck_assert_int_eq(res_get(&added, "bundle_group_1_0405060708090a0b0c0d0e0f"), res_units(1000));
    /* a task of bundle 1 asking for 1 CPU fits; of bundle 0 it does not */
    struct res_set d = mk("CPU=1");
    ck_assert_int_eq(pg_policy_demand(&d, 1, tag), 0);
    ck_assert(res_fits(&added, &d));
    ck_assert_int_eq(res_get(&d, "CPU"), 0);
    struct res_set d0 = mk("CPU=1");
    ck_assert_int_eq(pg_policy_demand(&d0, 0, tag), 0);
    ck_assert(!res_fits(&added, &d0));
    /* any bundle: the group-wide names */
    struct res_set dany = RES_SET_INIT;
    ck_assert_int_eq(pg_policy_demand(&dany, -1, tag), 0);
    ck_assert(res_fits(&added, &dany));
    ck_assert_int_eq(res_get(&dany, "bundle_group_0405060708090a0b0c0d0e0f"), RES_SCALE / 1000);
    struct res_set g1 = mk("CPU=1,GPU=1");
    ck_assert_int_eq(pg_policy_demand(&g1, 1, tag), 0);
    ck_assert_int_eq(pg_policy_gpu_units(&g1), res_units(1)); /* once, not per name */
    res_free(&g1);
    ck_assert(pg_policy_is_group_res("CPU_group_1_0405060708090a0b0c0d0e0f", tag));
    ck_assert(!pg_policy_is_group_res("CPU", NULL));
    ck_assert(!pg_policy_is_group_res("CPU_group_1_0405060708090a0b0c0d0e0e", tag));
    res_free(&bundle); res_free(&added); res_free(&d); res_free(&d0); res_free(&dany);
}
END_TEST

START_TEST(bundle_strings)
{
    struct res_set s = RES_SET_INIT;
    char err[200];
    ck_assert_int_eq(pg_policy_bundle_parse("CPU=1,GPU=1", &s, err, sizeof err), 0);
    res_free(&s);
    ck_assert_int_eq(pg_policy_bundle_parse("CPU=0", &s, err, sizeof err), -1);
    ck_assert(strstr(err, "at least one resource") != NULL);
    ck_assert_int_eq(pg_policy_bundle_parse("CPU=x", &s, err, sizeof err), -1);
    ck_assert_int_eq(pg_policy_bundle_parse("a_very_long_custom_resource_name_indeed_=1", &s, err,
                                            sizeof err), -1);
    ck_assert(strstr(err, "too long") != NULL);
    ck_assert_int_eq(pg_strategy_parse("STRICT_SPREAD"), PG_STRICT_SPREAD);
    ck_assert_str_eq(pg_strategy_name(PG_PACK), "PACK");
    ck_assert_int_eq(pg_strategy_parse("pack"), -1);
}
END_TEST

static Suite *pg_policy_suite(void)
{
    Suite *s = suite_create("pg_policy");
    TCase *tc = tcase_create("placement");
    tcase_add_test(tc, strict_pack_needs_one_node_for_all);
    tcase_add_test(tc, pack_fills_nodes_it_uses_first);
    tcase_add_test(tc, spread_and_strict_spread);
    tcase_add_test(tc, strict_spread_backtracks);
    tcase_add_test(tc, busy_now_is_not_never);
    tcase_add_test(tc, rescheduling_keeps_survivors);
    tcase_add_test(tc, group_resource_names);
    tcase_add_test(tc, bundle_strings);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(pg_policy_suite);
