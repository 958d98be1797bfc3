/* gemm_problem -> cblas_sgemm. Both are row-major with the same leading dimensions, and the
 * transposed flags mean the same storage, so the translation is one call. */
#include "reference_blas.h"

#include <cblas.h>

void reference_blas_init(void) { openblas_set_num_threads(1); }

const char *reference_blas_core(void) { return openblas_get_corename(); }

const char *reference_blas_config(void) { return openblas_get_config(); }

void reference_blas_gemm(const mlp_gemm_problem *g) {
    cblas_sgemm(CblasRowMajor, g->a_transposed ? CblasTrans : CblasNoTrans,
                g->b_transposed ? CblasTrans : CblasNoTrans, g->m, g->n, g->k, 1.0f, g->a, g->lda,
                g->b, g->ldb, 0.0f, g->c, g->ldc);
}
