/*
 * bench_mpi_allreduce.c — the peer of allreduce_gbps: OpenMPI's
 * MPI_Allreduce (float32 SUM, in place) of the same array on the same
 * number of ranks, timed the same way (ITERS calls between barriers, the
 * slowest rank's time, a warm-up first). bench/run.sh builds it with mpicc
 * and runs `mpirun --allow-run-as-root --oversubscribe -np 4`.
 *     bench_mpi_allreduce RUNS ITERS [MIB]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int runs = argc > 1 ? atoi(argv[1]) : 5, iters = argc > 2 ? atoi(argv[2]) : 3;
    size_t mib = argc > 3 ? (size_t)atoi(argv[3]) : 64, n = mib * 1024 * 1024 / 4;
    float *buf = malloc(n * sizeof *buf);
    double *gbps = calloc((size_t)runs, sizeof *gbps);
    if (buf == NULL || gbps == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t i = 0; i < n; i++)
        buf[i] = 1.0f;
    for (int k = 0; k <= runs; k++) {
        int it = k == 0 ? 1 : iters;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < it; i++)
            MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double dt = MPI_Wtime() - t0, worst;
        MPI_Reduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0 && k > 0)
            gbps[k - 1] = (double)n * 4 * it / worst / 1e9;
    }
    if (rank == 0) {
        qsort(gbps, (size_t)runs, sizeof *gbps, cmp_d);
        double med = runs % 2 ? gbps[runs / 2] : (gbps[runs / 2 - 1] + gbps[runs / 2]) / 2;
        printf("{\"benchmark\": \"allreduce_gbps_openmpi\", \"value\": %.4g, \"unit\": \"GB/s\", "
               "\"runs\": %d, \"min\": %.4g, \"max\": %.4g, \"ranks\": %d, \"mib\": %zu}\n",
               med, runs, gbps[0], gbps[runs - 1], size, mib);
    }
    free(buf);
    free(gbps);
    MPI_Finalize();
    return 0;
}
