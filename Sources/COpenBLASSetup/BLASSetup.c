// OpenBLAS set-up while the program loads, before any thread can be inside OpenBLAS.
//
// 1. Single-threaded: SatSeek's engine splits work over the cores itself and calls BLAS from several threads at
//    once. Changing the count while other threads run BLAS calls is not safe (it was done when each model was
//    built, and parallel tests then saw rare heap corruption).
// 2. No AVX-512 kernels: the OpenBLAS of Debian 12 (0.3.21) predates AMD's AVX-512 parts (Zen 4) and runs its
//    Intel Cooper Lake kernels there. On such a machine the full test suite crashed with glibc heap corruption
//    (malloc_consolidate, "corrupted unsorted chunks", tcache errors on thread exit) in 3 of 4 runs, and passed
//    2 of 2 runs with OPENBLAS_CORETYPE=Haswell. The first version of this work-around did so on AMD processors
//    only; CI then aborted in a thread running only system code — how the tcache errors showed — on a machine
//    whose processor it did not print. So wherever OpenBLAS chose an AVX-512 kernel set (SkylakeX, Cooperlake, SapphireRapids), the Haswell
//    (AVX2) set is chosen instead — unless the user set OPENBLAS_CORETYPE.
#include "COpenBLASSetup.h"

#include <stdlib.h>
#include <string.h>

extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern void gotoblas_dynamic_init(void);
extern void gotoblas_dynamic_quit(void);

static int threads_at_load = 0;
static int core_replaced = 0;

static int is_avx512_core(const char *name) {
    static const char *cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids", "skylakex", "cooperlake",
                                  "sapphirerapids"};
    for (unsigned i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (name && strcmp(name, cores[i]) == 0) return 1;
    return 0;
}

__attribute__((constructor)) static void satseek_blas_setup(void) {
    if (getenv("OPENBLAS_CORETYPE") == NULL && is_avx512_core(openblas_get_corename())) {
        // OpenBLAS picks its kernel set from OPENBLAS_CORETYPE when (re)initialised; the variable is also seen by
        // child processes, which then make the same choice.
        setenv("OPENBLAS_CORETYPE", "Haswell", 0);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
        core_replaced = 1;
    }
    openblas_set_num_threads(1);
    threads_at_load = openblas_get_num_threads();
}

int satseek_blas_threads_at_load(void) { return threads_at_load; }

const char *satseek_blas_core(void) { return openblas_get_corename(); }

int satseek_blas_core_replaced(void) { return core_replaced; }
