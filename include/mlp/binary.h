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

typedef enum binary_method {
    BINARY_NORMAL = 0,
    BINARY_LBFGS,
    BINARY_GD,
    BINARY_NEURON,
} binary_method;

/* "normal", "lbfgs", "gd", "neuron"; parse returns -1 with an error for anything else. */
const char *binary_method_name(binary_method method);
int binary_parse_method(const char *text, binary_method *method, mlp_error *error);

/* The pixels' scale to 0..1, as the trainer's first layer applies it (1/255 in float). */
#define BINARY_PIXEL_SCALE (1.0f / 255.0f)

/* Images of one split with their 0/1 targets (label == digit), and the scratch space every fit
 * and evaluation uses. */
typedef struct binary_problem {
    int count, features;
    /* count × features, gathered from the dataset. The GEMMs read X = pixels × (1/255) from
     * them directly (a_u8, a_scale = BINARY_PIXEL_SCALE): the weight gradient's one-column
     * tiles convert the bytes in place, the scores' tiles while packing; a float copy of X
     * would be 4× the memory traffic (150 MB for MNIST) on every iteration. */
    uint8_t *pixels;
    uint8_t *targets;  /* count, 1 when the label is the digit                 */
    const kernel_table *kernels;
    int threads;
    float *scores;     /* count: z, then whatever a step needs                  */
    float *residuals;  /* count: (σ(z) − y) / count                             */
    float *row_cost;   /* count                                                 */
    float *gemm_workspace; /* threads × workspace_stride floats                */
    size_t workspace_stride;
} binary_problem;

int binary_problem_create(binary_problem *problem, const mlp_dataset *data, const int *indices,
                          int count, int digit, const kernel_table *kernels, int threads,
                          mlp_error *error);
void binary_problem_free(binary_problem *problem);

typedef struct binary_options {
    float learning_rate; /* gd, neuron (default 0.01)                                  */
    int iterations;      /* gd, neuron (default 1000); lbfgs: the most (default 200)    */
    double l2;           /* normal: ridge λ; lbfgs: penalty λ/2 ‖w‖² (default 0)        */
    double noise;        /* normal: σ of the Gaussian noise added to X (default 0)      */
    uint64_t seed;       /* of the noise                                                */
} binary_options;

/* A fitted model: parameters[0 .. features-1] = w, parameters[features] = b (64-byte aligned). */
typedef struct binary_model {
    binary_method method;
    int features;
    float *parameters;
    int logistic;          /* 1: p = σ(z) is the probability; 0: z is a regression value   */
    double *cost_history;  /* gd, neuron, lbfgs: the cost at each iteration (before its step) */
    int history_count;
    double final_cost;     /* logistic: mean BCE; normal: mean squared error (training set) */
    double residual;       /* normal: ‖(XᵀX+λI)β − Xᵀy‖ / ‖Xᵀy‖                           */
    const char *status;    /* lbfgs: how it stopped (static text)                          */
} binary_model;

void binary_model_free(binary_model *model);

/* Fits by the method; one-line errors (a singular system, a build without LAPACKE ...). */
int binary_fit(binary_method method, const binary_problem *problem, const binary_options *options,
               binary_model *model, mlp_error *error);
int binary_fit_normal(const binary_problem *problem, const binary_options *options,
                      binary_model *model, mlp_error *error);
int binary_fit_lbfgs(const binary_problem *problem, const binary_options *options,
                     binary_model *model, mlp_error *error);
int binary_fit_gd(const binary_problem *problem, const binary_options *options,
                  binary_model *model, mlp_error *error);
int binary_fit_neuron(const binary_problem *problem, const binary_options *options,
                      binary_model *model, mlp_error *error);

/* The mean binary cross-entropy of the logistic model with these parameters over the problem, and
 * its gradient (features + 1 floats, NULL to skip): Xᵀ(σ(Xw + b) − y) / n and Σ(σ − y) / n. */
double binary_logistic_cost(const binary_problem *problem, const float *parameters,
                            float *gradient);

/* Allocates a model with zero parameters (for the fits and for tests). */
int binary_model_create(binary_model *model, binary_method method, int features,
                        mlp_error *error);

typedef struct binary_scores {
    long true_positive, false_positive, true_negative, false_negative;
    double accuracy, precision, recall, f1;
} binary_scores;

/* Predicts "is the digit" when σ(z) ≥ threshold (logistic) or z ≥ threshold (regression). */
void binary_evaluate(const binary_model *model, const binary_problem *problem, double threshold,
                     binary_scores *scores);

#ifdef __cplusplus
}
#endif
#endif
