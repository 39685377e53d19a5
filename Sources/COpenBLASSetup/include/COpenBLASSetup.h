#ifndef SATSEEK_OPENBLAS_SETUP_H
#define SATSEEK_OPENBLAS_SETUP_H

/// OpenBLAS's thread count as set when the program was loaded (1: SatSeek splits work itself).
int satseek_blas_threads_at_load(void);

/// The kernel set OpenBLAS runs ("Haswell", "SkylakeX", …).
const char *satseek_blas_core(void);

/// 1 when the set-up replaced OpenBLAS's AVX-512 kernel set on an AMD processor by the Haswell one.
int satseek_blas_core_replaced(void);

#endif
