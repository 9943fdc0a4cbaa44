/*
 * version.h — the one place rayd's version is written. `ray --version`,
 * `rayd --version` and ray.pc (the Makefile reads it from here) use it.
 */
#ifndef RAY_VERSION_H
#define RAY_VERSION_H

#define RAYD_VERSION "0.1.0"

#endif
