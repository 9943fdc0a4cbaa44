/*
 * joblib.h — the check `ray submit`, `ray job submit` and the dashboard's
 * job API make of a job library before they send it anywhere, so that a
 * wrong file gets one line naming it rather than an error from the driver
 * and every worker that fails to load it.
 */
#ifndef RAY_JOBLIB_H
#define RAY_JOBLIB_H

#include <stddef.h>

/* A job library is a shared object (not a program) that defines ray_main.
 * IMAGE is LEN bytes of the file (the caller's; not kept); NAME names it in
 * the message. Images this cannot read (not ELF64) pass: the driver then
 * says what is wrong. Returns 0, or -1 with one line in ERR ("NAME: a
 * program, not a job library ..."). Never reads outside IMAGE. */
int joblib_check(const char *name, const char *image, size_t len, char *err, size_t errlen);

#endif
