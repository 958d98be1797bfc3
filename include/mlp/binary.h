/* The study's binary "is this a 3?" models: one linear score z = x·w + b per image (x = pixels /
 * 255), fitted four ways:
 *   normal  linear regression of the 0/1 target by the normal equations (XᵀX + λI) β = Xᵀy,
 *           solved by Cholesky (LAPACKE); XᵀX is singular on MNIST (border pixels are always 0),
 *           so ridge λ (--l2) or Gaussian noise added to X (--noise) makes it solvable;
 *   lbfgs   logistic regression, mean binary cross-entropy minimised by L-BFGS (liblbfgs);
 *   gd      the same logistic regression by full-batch gradient descent from zero;
 *   neuron  the same again as a 784,1 network (sigmoid output, BCE) trained by the trainer's own
 *           layer code: it must end where gd ends, since the two are one model.
 * Every score, cost and gradient goes through the kernel table's GEMM, on the caller's threads. */
#ifndef MLP_BINARY_H
#define MLP_BINARY_H

#include <stdint.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlp_binary_method {
    MLP_BINARY_NORMAL = 0,
    MLP_BINARY_LBFGS,
    MLP_BINARY_GD,
    MLP_BINARY_NEURON,
} mlp_binary_method;

/* "normal", "lbfgs", "gd", "neuron"; parse returns -1 with an error for anything else. */
const char *mlp_binary_method_name(mlp_binary_method method);
int mlp_binary_parse_method(const char *text, mlp_binary_method *method, mlp_error *error);

/* The pixels' scale to 0..1, as the trainer's first layer applies it (1/255 in float). */
#define MLP_BINARY_PIXEL_SCALE (1.0f / 255.0f)

/* Images of one split with their 0/1 targets (label == digit), and the scratch space every fit
 * and evaluation uses. */
typedef struct mlp_binary_problem {
    int count, features;
    /* count × features, gathered from the dataset. The GEMMs read X = pixels × (1/255) from
     * them directly (a_u8, a_scale = BINARY_PIXEL_SCALE): the weight gradient's one-column
     * tiles convert the bytes in place, the scores' tiles while packing; a float copy of X
     * would be 4× the memory traffic (150 MB for MNIST) on every iteration. */
    uint8_t *pixels;
    uint8_t *targets;  /* count, 1 when the label is the digit                 */
    const mlp_kernel_table *kernels;
    int threads;
    float *scores;     /* count: z, then whatever a step needs                  */
    float *residuals;  /* count: (σ(z) − y) / count                             */
    float *row_cost;   /* count                                                 */
    float *gemm_workspace; /* threads × workspace_stride floats                */
    size_t workspace_stride;
} mlp_binary_problem;

int mlp_binary_problem_create(mlp_binary_problem *problem, const mlp_dataset *data, const int *indices,
                          int count, int digit, const mlp_kernel_table *kernels, int threads,
                          mlp_error *error);
void mlp_binary_problem_free(mlp_binary_problem *problem);

typedef struct mlp_binary_options {
    float learning_rate; /* gd, neuron (default 0.01)                                  */
    int iterations;      /* gd, neuron (default 1000); lbfgs: the most (default 200)    */
    double l2;           /* normal: ridge λ; lbfgs: penalty λ/2 ‖w‖² (default 0)        */
    double noise;        /* normal: σ of the Gaussian noise added to X (default 0)      */
    uint64_t seed;       /* of the noise                                                */
} mlp_binary_options;

/* A fitted model: parameters[0 .. features-1] = w, parameters[features] = b (64-byte aligned). */
typedef struct mlp_binary_model {
    mlp_binary_method method;
    int features;
    float *parameters;
    int logistic;          /* 1: p = σ(z) is the probability; 0: z is a regression value   */
    double *cost_history;  /* gd, neuron, lbfgs: the cost at each iteration (before its step) */
    int history_count;
    double final_cost;     /* logistic: mean BCE; normal: mean squared error (training set) */
    double residual;       /* normal: ‖(XᵀX+λI)β − Xᵀy‖ / ‖Xᵀy‖                           */
    const char *status;    /* lbfgs: how it stopped (static text)                          */
} mlp_binary_model;

void mlp_binary_model_free(mlp_binary_model *model);

/* Fits by the method; one-line errors (a singular system, a build without LAPACKE ...). */
int mlp_binary_fit(mlp_binary_method method, const mlp_binary_problem *problem, const mlp_binary_options *options,
               mlp_binary_model *model, mlp_error *error);
int mlp_binary_fit_normal(const mlp_binary_problem *problem, const mlp_binary_options *options,
                      mlp_binary_model *model, mlp_error *error);
int mlp_binary_fit_lbfgs(const mlp_binary_problem *problem, const mlp_binary_options *options,
                     mlp_binary_model *model, mlp_error *error);
int mlp_binary_fit_gd(const mlp_binary_problem *problem, const mlp_binary_options *options,
                  mlp_binary_model *model, mlp_error *error);
int mlp_binary_fit_neuron(const mlp_binary_problem *problem, const mlp_binary_options *options,
                      mlp_binary_model *model, mlp_error *error);

/* The mean binary cross-entropy of the logistic model with these parameters over the problem, and
 * its gradient (features + 1 floats, NULL to skip): Xᵀ(σ(Xw + b) − y) / n and Σ(σ − y) / n. */
double mlp_binary_logistic_cost(const mlp_binary_problem *problem, const float *parameters,
                            float *gradient);

/* Allocates a model with zero parameters (for the fits and for tests). */
int mlp_binary_model_create(mlp_binary_model *model, mlp_binary_method method, int features,
                        mlp_error *error);

typedef struct mlp_binary_scores {
    long true_positive, false_positive, true_negative, false_negative;
    double accuracy, precision, recall, f1;
} mlp_binary_scores;

/* Predicts "is the digit" when σ(z) ≥ threshold (logistic) or z ≥ threshold (regression). */
void mlp_binary_evaluate(const mlp_binary_model *model, const mlp_binary_problem *problem, double threshold,
                     mlp_binary_scores *scores);

#ifdef __cplusplus
}
#endif
#endif
