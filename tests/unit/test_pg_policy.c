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

/* N nodes with free resources FREE[i] (totals the same). */
struct nodes {
    struct res_set tot[8], av[8];
    struct pg_node_view v[8];
    size_t n;
};
static void nodes_mk(struct nodes *ns, const char *const *free, size_t n)
{
    ns->n = n;
    for (size_t i = 0; i < n; i++) {
        ns->tot[i] = mk(free[i]);
        ns->av[i] = mk(free[i]);
        ns->v[i] = (struct pg_node_view){ &ns->tot[i], &ns->av[i], true };
    }
}
static void nodes_free(struct nodes *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        res_free(&ns->tot[i]);
        res_free(&ns->av[i]);
    }
}
static void bundles_mk(struct res_set *b, const char *spec, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = mk(spec);
}
static void bundles_free(struct res_set *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        res_free(&b[i]);
}

START_TEST(strict_pack_needs_one_node_for_all)
{
    const char *f[] = { "CPU=1", "CPU=3", "CPU=2" };
    struct nodes ns;
    nodes_mk(&ns, f, 3);
    struct res_set b[3];
    bundles_mk(b, "CPU=1", 3);
    int out[4];
    bool never;
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 3, PG_STRICT_PACK, NULL, out, &never), 0);
    ck_assert(out[0] == 1 && out[1] == 1 && out[2] == 1);
    /* four of them fit no node: infeasible, and said so */
    struct res_set b4[4];
    bundles_mk(b4, "CPU=1", 4);
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b4, 4, PG_STRICT_PACK, NULL, out, &never), -1);
    ck_assert(never);
    bundles_free(b, 3);
    bundles_free(b4, 4);
    nodes_free(&ns);
}
END_TEST

START_TEST(pack_fills_nodes_it_uses_first)
{
    const char *f[] = { "CPU=2", "CPU=2", "CPU=2" };
    struct nodes ns;
    nodes_mk(&ns, f, 3);
    struct res_set b[4];
    bundles_mk(b, "CPU=1", 4);
    int out[4];
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 4, PG_PACK, NULL, out, NULL), 0);
    /* no node holds all four: two nodes, full */
    int on[3] = { 0 };
    for (int i = 0; i < 4; i++)
        on[out[i]]++;
    ck_assert_int_eq(on[0], 2);
    ck_assert_int_eq(on[1], 2);
    ck_assert_int_eq(on[2], 0);
    bundles_free(b, 4);
    nodes_free(&ns);
}
END_TEST

START_TEST(spread_and_strict_spread)
{
    const char *f[] = { "CPU=4", "CPU=4", "CPU=4" };
    struct nodes ns;
    nodes_mk(&ns, f, 3);
    struct res_set b[4];
    bundles_mk(b, "CPU=1", 4);
    int out[4];
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 3, PG_SPREAD, NULL, out, NULL), 0);
    ck_assert(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
    /* SPREAD of four on three nodes: doubles up once */
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 4, PG_SPREAD, NULL, out, NULL), 0);
    /* STRICT_SPREAD of four on three nodes: never */
    bool never = false;
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 4, PG_STRICT_SPREAD, NULL, out, &never), -1);
    ck_assert(never);
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 3, PG_STRICT_SPREAD, NULL, out, NULL), 0);
    ck_assert(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
    bundles_free(b, 4);
    nodes_free(&ns);
}
END_TEST

START_TEST(strict_spread_backtracks)
{
    /* bundle 0 fits both nodes, bundle 1 only node 0: greedy would fail */
    const char *f[] = { "CPU=1,gpu_like=1", "CPU=1" };
    struct nodes ns;
    nodes_mk(&ns, f, 2);
    struct res_set b[2] = { mk("CPU=1"), mk("CPU=1,gpu_like=1") };
    int out[2];
    ck_assert_int_eq(pg_policy_place(ns.v, 2, b, 2, PG_STRICT_SPREAD, NULL, out, NULL), 0);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[1], 0);
    bundles_free(b, 2);
    nodes_free(&ns);
}
END_TEST

START_TEST(busy_now_is_not_never)
{
    const char *f[] = { "CPU=2" };
    struct nodes ns;
    nodes_mk(&ns, f, 1);
    res_set_amount(&ns.av[0], "CPU", 0); /* all taken for now */
    struct res_set b[1] = { mk("CPU=1") };
    int out[1];
    bool never = true;
    ck_assert_int_eq(pg_policy_place(ns.v, 1, b, 1, PG_PACK, NULL, out, &never), -1);
    ck_assert(!never);
    ns.v[0].alive = false;
    ck_assert_int_eq(pg_policy_place(ns.v, 1, b, 1, PG_PACK, NULL, out, &never), -1);
    ck_assert(never);
    bundles_free(b, 1);
    nodes_free(&ns);
}
END_TEST

START_TEST(rescheduling_keeps_survivors)
{
    const char *f[] = { "CPU=1", "CPU=1", "CPU=1" };
    struct nodes ns;
    nodes_mk(&ns, f, 3);
    /* bundle 0 survives on node 1 (its CPU is taken by it); bundle 1 lost */
    res_set_amount(&ns.av[1], "CPU", 0);
    struct res_set b[2];
    bundles_mk(b, "CPU=1", 2);
    int fixed[2] = { 1, -1 }, out[2];
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 2, PG_STRICT_SPREAD, fixed, out, NULL), 0);
    ck_assert_int_eq(out[0], 1);
    ck_assert(out[1] == 0 || out[1] == 2);
    /* STRICT_PACK: the lost bundle must join the survivor's node, full: not now */
    ck_assert_int_eq(pg_policy_place(ns.v, 3, b, 2, PG_STRICT_PACK, fixed, out, NULL), -1);
    bundles_free(b, 2);
    nodes_free(&ns);
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
