/* job_no_main.c — a shared library that registers a function but has no
 * ray_main: `ray submit` must refuse it with one clear line. */
#include <ray.h>

static int f(ray_task *t, const ray_value *args, size_t nargs)
{
    (void)args;
    (void)nargs;
    return ray_return(t, RAY_I(1));
}
RAY_REMOTE(f);
