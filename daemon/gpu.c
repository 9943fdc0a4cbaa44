/*
 * gpu.c — count NVIDIA GPUs without linking any NVIDIA library: the driver
 * publishes one directory per GPU under /proc/driver/nvidia/gpus/.
 */
#include "daemon/gpu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count_proc_gpus(void)
{
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int count_dev_nodes(void)
{
    int n = 0;
    for (int i = 0; i < 64; i++) {
        char path[32];
        snprintf(path, sizeof path, "/dev/nvidia%d", i);
        if (access(path, F_OK) == 0)
            n++;
    }
    return n;
}

int gpu_detect(void)
{
    int n = count_proc_gpus();
    if (n < 0)
        n = count_dev_nodes();
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    if (cvd != NULL) {
        int listed = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", cvd);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (*tok)
                listed++;
        if (listed < n)
            n = listed;
    }
    return n;
}
