#include <cblas.h>
// Provided by OpenBLAS; declared here so callers can pin the BLAS thread count.
void openblas_set_num_threads(int num_threads);
