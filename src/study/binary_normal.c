/* Linear regression of the 0/1 target by the normal equations, (XᵀX + λI) β = Xᵀy, where X has a
 * column of ones for the bias (λ is not applied to it). XᵀX is accumulated in double from
 * float GEMMs over blocks of NORMAL_BLOCK images (the kernel table's weight-gradient form), then
 * factored by Cholesky (LAPACKE dpotrf) and solved (dpotrs). */
#include "mlp/binary.h"

#ifdef MLP_HAVE_LAPACKE

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/network.h"
#include "mlp/rng.h"

/* Images per GEMM: float sums over at most this many terms, so rounding stays near 1e-7. */
#define NORMAL_BLOCK 256

/* Block rows [first, first + rows) of X as floats: pixel / 255 (+ σ·N(0,1) when noise), then 1. */
static void fill_block(const mlp_binary_problem *problem, int first, int rows, double noise,
                       mlp_rng_state *rng, float *block) {
    int features = problem->features, d = features + 1;
    for (int i = 0; i < rows; i++) {
        const uint8_t *pixels = problem->pixels + (size_t)(first + i) * features;
        float *row = block + (size_t)i * d;
        for (int p = 0; p < features; p++) {
            double x = pixels[p] / 255.0;
            if (noise > 0) x += noise * mlp_rng_normal(rng);
            row[p] = (float)x;
        }
        row[features] = 1.0f;
    }
}

/* gram += blockᵀ·block (d × d) and moment += blockᵀ·y, each thread its own columns of the GEMM
 * and of the double sums. */
static void accumulate_block(const mlp_binary_problem *problem, const float *block, int first,
                             int rows, float *product, double *gram, double *moment) {
    int d = problem->features + 1;
#pragma omp parallel num_threads(problem->threads)
    {
        int thread = omp_get_thread_num(), begin, end;
        mlp_parallel_range(d, 32, thread, omp_get_num_threads(), &begin, &end);
        if (begin < end) {
            mlp_gemm_problem gram_block = {
                .m = d, .n = end - begin, .k = rows,
                .a = block, .lda = d, .a_transposed = 1,
                .b = block + begin, .ldb = d,
                .c = product + begin, .ldc = d,
                .workspace = problem->gemm_workspace + problem->workspace_stride * thread,
            };
            problem->kernels->gemm(&gram_block);
            for (int i = 0; i < d; i++)
                for (int j = begin; j < end; j++) gram[(size_t)i * d + j] += product[(size_t)i * d + j];
            for (int j = begin; j < end; j++)
                for (int r = 0; r < rows; r++)
                    if (problem->targets[first + r]) moment[j] += block[(size_t)r * d + j];
        }
    }
}

/* ‖A β − b‖ / ‖b‖ for the d × d matrix A. */
static double relative_residual(const double *a, const double *beta, const double *b, int d) {
    double residual = 0.0, norm = 0.0;
    for (int i = 0; i < d; i++) {
        double sum = 0.0;
        for (int j = 0; j < d; j++) sum += a[(size_t)i * d + j] * beta[j];
        residual += (sum - b[i]) * (sum - b[i]);
        norm += b[i] * b[i];
    }
    return norm > 0 ? sqrt(residual / norm) : sqrt(residual);
}

/* Mean squared error of the fitted regression on the training images. */
static double mean_squared_error(const mlp_binary_problem *problem, const mlp_binary_model *model) {
    mlp_binary_scores unused;
    mlp_binary_evaluate(model, problem, 0.5, &unused); /* leaves z = Xβ in problem->scores */
    double sum = 0.0;
    for (int i = 0; i < problem->count; i++) {
        double e = problem->scores[i] - (problem->targets[i] ? 1.0 : 0.0);
        sum += e * e;
    }
    return sum / problem->count;
}

int mlp_binary_fit_normal(const mlp_binary_problem *problem, const mlp_binary_options *options,
                      mlp_binary_model *model, mlp_error *error) {
    int features = problem->features, d = features + 1;
    if (mlp_binary_model_create(model, MLP_BINARY_NORMAL, features, error) != 0) return -1;
    double *gram = calloc((size_t)d * d, sizeof *gram);
    double *factor = malloc((size_t)d * d * sizeof *factor);
    double *moment = calloc((size_t)d, sizeof *moment);
    double *beta = malloc((size_t)d * sizeof *beta);
    float *block = mlp_aligned_calloc((size_t)NORMAL_BLOCK * d, sizeof(float));
    float *product = mlp_aligned_calloc((size_t)d * d, sizeof(float));
    int status = -1;
    if (!gram || !factor || !moment || !beta || !block || !product) {
        mlp_error_set(error, "normal equations: out of memory for a %d × %d system", d, d);
        goto done;
    }
    mlp_rng_state rng;
    mlp_rng_seed(&rng, options->seed);
    for (int first = 0; first < problem->count; first += NORMAL_BLOCK) {
        int rows = problem->count - first < NORMAL_BLOCK ? problem->count - first : NORMAL_BLOCK;
        fill_block(problem, first, rows, options->noise, &rng, block);
        accumulate_block(problem, block, first, rows, product, gram, moment);
    }
    for (int p = 0; p < features; p++) gram[(size_t)p * d + p] += options->l2;

    /* Cholesky XᵀX + λI = L Lᵀ: fails (info > 0) when the matrix is not positive definite. */
    memcpy(factor, gram, (size_t)d * d * sizeof *factor);
    double norm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'L', d, factor, d);
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', d, factor, d);
    if (info > 0) {
        /* Pivot info fails first; when its diagonal entry Σ x² is 0, that pixel is always 0. */
        int pixel = (int)info - 1;
        char why[96] = "";
        if (pixel < features && gram[(size_t)pixel * d + pixel] == 0.0)
            snprintf(why, sizeof why, ": pixel %d is 0 in every training image", pixel);
        mlp_error_set(error, "normal equations: XᵀX%s is singular (pivot %d of %d is not positive%s); "
                  "add ridge --l2 1e-3 or input noise --noise 0.02",
                  options->l2 > 0 ? " + λI" : "", (int)info, d, why);
        goto done;
    }
    if (info < 0) {
        mlp_error_set(error, "normal equations: LAPACKE_dpotrf failed (argument %d)", (int)-info);
        goto done;
    }
    /* Positive pivots can still hide a numerically singular system: check its condition. */
    double rcond = 0.0;
    LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', d, factor, d, norm, &rcond);
    if (!(rcond > (double)d * DBL_EPSILON)) {
        mlp_error_set(error, "normal equations: XᵀX%s is numerically singular (reciprocal condition "
                  "number %.2g); add ridge --l2 1e-3 or input noise --noise 0.02",
                  options->l2 > 0 ? " + λI" : "", rcond);
        goto done;
    }
    memcpy(beta, moment, (size_t)d * sizeof *beta);
    info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', d, 1, factor, d, beta, 1);
    if (info != 0) {
        mlp_error_set(error, "normal equations: LAPACKE_dpotrs failed (%d)", (int)info);
        goto done;
    }
    model->residual = relative_residual(gram, beta, moment, d);
    for (int j = 0; j < d; j++) model->parameters[j] = (float)beta[j];
    model->final_cost = mean_squared_error(problem, model);
    status = 0;
done:
    if (status != 0) mlp_binary_model_free(model);
    free(gram);
    free(factor);
    free(moment);
    free(beta);
    mlp_aligned_free(block);
    mlp_aligned_free(product);
    return status;
}

#else /* built without LAPACKE */

int mlp_binary_fit_normal(const mlp_binary_problem *problem, const mlp_binary_options *options,
                      mlp_binary_model *model, mlp_error *error) {
    (void)problem, (void)options, (void)model;
    return mlp_error_set(error, "--method normal: this trainer was built without LAPACKE "
                            "(MLP_WITH_EXPERIMENTS=OFF)");
}

#endif
