// OpenBLAS runs single-threaded in SatSeek: the engine splits work over the cores itself and calls BLAS from
// several threads at once. The thread count is set here, once, while the program loads — before any thread can
// be inside OpenBLAS — because changing it while other threads run BLAS calls is not safe (it was done when
// each model was built, and parallel tests then saw rare heap corruption).
#include "COpenBLASSetup.h"

extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);

static int threads_at_load = 0;

__attribute__((constructor)) static void satseek_single_threaded_blas(void) {
    openblas_set_num_threads(1);
    threads_at_load = openblas_get_num_threads();
}

int satseek_blas_threads_at_load(void) { return threads_at_load; }
