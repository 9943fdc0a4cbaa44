/*
 * test_registry.c — RAY_REMOTE / RAY_ACTOR / RAY_METHOD register through the
 * real macros (constructors of this file), lookups find them, unknown names
 * fail, and a duplicate name keeps the last registration.
 */
#include "api/api_internal.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

static int add(ray_task *t, const ray_value *args, size_t nargs)
{
    return 0;
}
RAY_REMOTE(add);

static int other(ray_task *t, const ray_value *args, size_t nargs)
{
    return 1;
}

/* The method is registered before its class: constructor order is not fixed. */
static int counter_incr(void *self, ray_task *t, const ray_value *args, size_t nargs)
{
    return ++*(int *)self;
}
RAY_METHOD(counter, incr);

static void *counter_new(ray_task *t, const ray_value *args, size_t nargs)
{
    return calloc(1, sizeof(int));
}
static void counter_free(void *self)
{
    free(self);
}
RAY_ACTOR(counter);

START_TEST(test_lookup)
{
    ck_assert_ptr_eq((void *)api_registry_function_("add"), (void *)add);
    ck_assert_ptr_null((void *)api_registry_function_("nope"));
    ck_assert_ptr_null((void *)api_registry_function_(NULL));

    ray_actor_new_fn mk = NULL;
    ray_actor_free_fn fr = NULL;
    ck_assert_int_eq(api_registry_actor_("counter", &mk, &fr), 0);
    ck_assert_ptr_eq((void *)mk, (void *)counter_new);
    ck_assert_ptr_eq((void *)fr, (void *)counter_free);
    ck_assert_int_eq(api_registry_actor_("add", &mk, &fr), -1); /* a function is not a class */
    ck_assert_ptr_eq((void *)api_registry_method_("counter", "incr"), (void *)counter_incr);
    ck_assert_ptr_null((void *)api_registry_method_("counter", "decr"));
    ck_assert_ptr_null((void *)api_registry_method_("other", "incr"));

    /* and they work */
    void *self = mk(NULL, NULL, 0);
    ck_assert_int_eq(api_registry_method_("counter", "incr")(self, NULL, NULL, 0), 1);
    fr(self);
}
END_TEST

START_TEST(test_duplicate_last_wins)
{
    ray_register_function_("dup", add);
    ray_register_function_("dup", other);
    ck_assert_ptr_eq((void *)api_registry_function_("dup"), (void *)other);
    /* a function and a class may share a name: different kinds */
    ray_register_actor_("dup", counter_new, counter_free);
    ck_assert_ptr_eq((void *)api_registry_function_("dup"), (void *)other);
    ck_assert_int_eq(api_registry_actor_("dup", NULL, NULL), 0);
    /* nameless registrations are ignored */
    ray_register_function_(NULL, add);
    ray_register_function_("", add);
    ck_assert_ptr_null((void *)api_registry_function_(""));
}
END_TEST

struct names { int functions, actors, methods; bool saw_incr; };

static void count_cb(enum api_reg_kind kind, const char *name, const char *method, void *arg)
{
    struct names *n = arg;
    if (strncmp(name, "ray_", 4) == 0)
        return; /* the libraries' own classes (libs/: ray_pool_actor, ray_tune_*) */
    if (kind == API_REG_FUNCTION)
        n->functions++;
    else if (kind == API_REG_ACTOR)
        n->actors++;
    else {
        n->methods++;
        if (strcmp(name, "counter") == 0 && strcmp(method, "incr") == 0)
            n->saw_incr = true;
    }
}

START_TEST(test_foreach)
{
    struct names n = { 0 };
    api_registry_foreach_(count_cb, &n);
    ck_assert_int_eq(n.functions, 1);
    ck_assert_int_eq(n.actors, 1);
    ck_assert_int_eq(n.methods, 1);
    ck_assert(n.saw_incr);
}
END_TEST

START_TEST(test_library_name)
{
    ck_assert_str_eq(api_registry_library_(), "(none loaded)");
    api_registry_set_library_("/tmp/x/job.so");
    ck_assert_str_eq(api_registry_library_(), "job.so");
    api_registry_set_library_(NULL);
    ck_assert_str_eq(api_registry_library_(), "(none loaded)");
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_duplicate_last_wins);
    tcase_add_test(tc, test_foreach);
    tcase_add_test(tc, test_library_name);
    suite_add_tcase(s, tc);
    return s;
}
UNIT_SUITE(registry_suite);
