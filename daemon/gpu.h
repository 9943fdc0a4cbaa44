/*
 * gpu.h — NVIDIA GPU detection for the GPU resource.
 */
#ifndef RAY_GPU_H
#define RAY_GPU_H

/* Number of NVIDIA GPUs on this machine: the entries of
 * /proc/driver/nvidia/gpus/ (one directory per GPU), else the /dev/nvidiaN
 * device nodes; 0 if none. $CUDA_VISIBLE_DEVICES, when set, limits the count
 * to the devices it lists (as Ray does). Never fails. */
int gpu_detect(void);

#endif
