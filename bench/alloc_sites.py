#!/usr/bin/env python3
"""alloc_sites.py — the allocation sites of bench/malloc_count.c's counts,
for bench/alloc_cost.sh: START MID END MAPS OPS [TOP]. START, MID and END
are copies of one process's count file taken before, between and after two
runs, the second OPS operations longer than the first; prints the call sites
(the first four frames of our code) by allocations per operation
((END - MID) - (MID - START)) / OPS, most first, each frame named by
addr2line through the process's MAPS. Reads only; exits 1 on a
file it cannot read."""
import struct
import subprocess
import sys
from collections import defaultdict

DEPTH = 8
SITE = struct.Struct("<Q%dQ" % DEPTH)
HEAD = struct.Struct("<QQQ")


def sites(path):
    data = open(path, "rb").read()
    out = {}
    for off in range(HEAD.size, len(data) - SITE.size + 1, SITE.size):
        rec = SITE.unpack_from(data, off)
        if rec[0]:
            out[rec[1:]] = rec[0]
    return out


def maps(path):
    regions = []
    for line in open(path):
        f = line.split()
        if len(f) < 6 or not f[5].startswith("/"):
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        regions.append((lo, hi, int(f[2], 16), f[5]))
    return regions


def names(pcs, regions):
    """pc -> 'function file:line' through addr2line, one call per object."""
    byobj = defaultdict(list)
    for pc in pcs:
        for lo, hi, off, obj in regions:
            if lo <= pc < hi:
                byobj[obj].append((pc, pc - lo + off - 1))  # -1: the call, not the return
                break
    out = {}
    for obj, items in byobj.items():
        r = subprocess.run(["addr2line", "-f", "-s", "-e", obj] + ["%x" % a for _, a in items],
                           capture_output=True, text=True)
        lines = r.stdout.splitlines()
        for i, (pc, _) in enumerate(items):
            fn = lines[2 * i] if 2 * i < len(lines) else "?"
            loc = lines[2 * i + 1] if 2 * i + 1 < len(lines) else "?"
            out[pc] = "%s %s" % (fn, loc) if fn != "??" else obj.rsplit("/", 1)[-1]
    return out


def main():
    s0, s1, s2 = (sites(p) for p in sys.argv[1:4])
    mp, ops = sys.argv[4], int(sys.argv[5])
    top = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6].isdigit() else 30
    delta = {k: (n - s1.get(k, 0)) - (s1.get(k, 0) - s0.get(k, 0)) for k, n in s2.items()}
    nm = names({pc for k in delta for pc in k if pc}, maps(mp))
    bysite = defaultdict(int)
    for k, n in delta.items():
        frames = [nm.get(pc, "?").split(" (discriminator")[0] for pc in k if pc]
        # leave out the allocator wrappers: the first frame of our code says where
        skip = 0
        while skip < len(frames) - 1 and frames[skip].split()[0] in (
                "xmalloc", "xcalloc", "xrealloc", "xstrdup", "xasprintf", "xreallocarray",
                "strdup", "vasprintf", "__vasprintf_internal", "__GI___vasprintf_chk",
                "__vasprintf_chk", "mem_alloc", "mem_realloc", "mem_calloc", "buf_reserve", "?"):
            skip += 1
        bysite[" <- ".join(frames[skip:skip + 4])] += n
    total = 0
    for name, n in sorted(bysite.items(), key=lambda x: -x[1]):
        total += n
        if n / ops >= 0.02 and top > 0:
            top -= 1
            print("  %6.2f/op  %s" % (n / ops, name))
    print("  %6.2f/op  in all (sites)" % (total / ops))


if __name__ == "__main__":
    main()
