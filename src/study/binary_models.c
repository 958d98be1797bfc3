/* The binary "is this a 3?" problem, the logistic cost through the kernels, gradient descent, the
 * one-neuron network, and the validation scores. The normal equations and L-BFGS live in
 * binary_normal.c and binary_lbfgs.c (they need LAPACKE and liblbfgs). */
#include "mlp/binary.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/model.h"
#include "mlp/network.h"

static const char *const method_names[] = {"normal", "lbfgs", "gd", "neuron"};

const char *mlp_binary_method_name(mlp_binary_method method) {
    return (unsigned)method < 4 ? method_names[method] : "?";
}

int mlp_binary_parse_method(const char *text, mlp_binary_method *method, mlp_error *error) {
    for (int i = 0; i < 4; i++)
        if (strcmp(text, method_names[i]) == 0) {
            *method = (mlp_binary_method)i;
            return 0;
        }
    return mlp_error_set(error, "--method: '%s' is not one of normal, lbfgs, gd, neuron", text);
}

int mlp_binary_problem_create(mlp_binary_problem *problem, const mlp_dataset *data, const int *indices,
                          int count, int digit, const mlp_kernel_table *kernels, int threads,
                          mlp_error *error) {
    memset(problem, 0, sizeof *problem);
    if (count < 1) return mlp_error_set(error, "binary: no images");
    problem->count = count;
    problem->features = data->features;
    problem->kernels = kernels;
    problem->threads = threads;
    problem->pixels = mlp_aligned_calloc((size_t)count * data->features, 1);
    problem->targets = mlp_aligned_calloc((size_t)count, 1);
    problem->scores = mlp_aligned_calloc((size_t)count, sizeof(float));
    problem->residuals = mlp_aligned_calloc((size_t)count, sizeof(float));
    problem->row_cost = mlp_aligned_calloc((size_t)count, sizeof(float));
    problem->workspace_stride = (kernels->gemm_workspace_floats + 15) & ~(size_t)15;
    problem->gemm_workspace = mlp_aligned_calloc(problem->workspace_stride * threads + 16, sizeof(float));
    if (!problem->pixels || !problem->targets || !problem->scores || !problem->residuals ||
        !problem->row_cost || !problem->gemm_workspace) {
        mlp_binary_problem_free(problem);
        return mlp_error_set(error, "binary: out of memory for %d images", count);
    }
    /* The labels become 0/1 targets in place after the gather. */
    mlp_dataset_gather(data, indices, count, problem->pixels, problem->targets);
    for (int i = 0; i < count; i++) problem->targets[i] = problem->targets[i] == digit;
    return 0;
}

void mlp_binary_problem_free(mlp_binary_problem *problem) {
    mlp_aligned_free(problem->pixels);
    mlp_aligned_free(problem->targets);
    mlp_aligned_free(problem->scores);
    mlp_aligned_free(problem->residuals);
    mlp_aligned_free(problem->row_cost);
    mlp_aligned_free(problem->gemm_workspace);
    memset(problem, 0, sizeof *problem);
}

int mlp_binary_model_create(mlp_binary_model *model, mlp_binary_method method, int features,
                        mlp_error *error) {
    memset(model, 0, sizeof *model);
    model->method = method;
    model->features = features;
    model->logistic = method != MLP_BINARY_NORMAL;
    model->parameters = mlp_aligned_calloc((size_t)features + 1, sizeof(float));
    if (!model->parameters) return mlp_error_set(error, "binary: out of memory");
    return 0;
}

void mlp_binary_model_free(mlp_binary_model *model) {
    mlp_aligned_free(model->parameters);
    free(model->cost_history);
    memset(model, 0, sizeof *model);
}

/* ---- collective steps (every thread of one team calls them) ---- */

static float *thread_workspace(const mlp_binary_problem *problem) {
    return problem->gemm_workspace + problem->workspace_stride * omp_get_thread_num();
}

/* Collective. z = X·w + b for this thread's block of images (the forward GEMM form, the bias in
 * the epilogue). */
static void linear_scores(const mlp_binary_problem *problem, const float *parameters) {
    int begin, end, features = problem->features;
    mlp_parallel_range(problem->count, 16, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    if (begin < end) {
        mlp_gemm_problem scores = {
            .m = end - begin, .n = 1, .k = features,
            .a_u8 = problem->pixels + (size_t)begin * features, .a_scale = MLP_BINARY_PIXEL_SCALE,
            .lda = features,
            .b = parameters, .ldb = 1,
            .c = problem->scores + begin, .ldc = 1,
            .epilogue = MLP_GEMM_EPILOGUE_BIAS_ACTIVATION, .activation = MLP_ACTIVATION_NONE,
            .bias = parameters + features,
            .workspace = thread_workspace(problem),
        };
        problem->kernels->gemm(&scores);
    }
#pragma omp barrier
}

/* Collective. Per image: cost = softplus(z) − y z (binary cross-entropy of σ(z), written so it
 * never overflows) and residual r = (σ(z) − y) / n, the gradient of the mean cost w.r.t. z. */
static void logistic_residuals(const mlp_binary_problem *problem) {
    int begin, end, n = problem->count;
    mlp_parallel_range(n, 16, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    for (int i = begin; i < end; i++) {
        float z = problem->scores[i], y = problem->targets[i] ? 1.0f : 0.0f;
        problem->row_cost[i] = (z > 0.0f ? z : 0.0f) - y * z + log1pf(expf(-fabsf(z)));
    }
    if (begin < end)
        problem->kernels->sigmoid_forward(problem->scores + begin, problem->residuals + begin,
                                          (size_t)(end - begin));
    float scale = 1.0f / (float)n;
    for (int i = begin; i < end; i++)
        problem->residuals[i] = (problem->residuals[i] - (problem->targets[i] ? 1.0f : 0.0f)) * scale;
#pragma omp barrier
}

/* Collective. gradient[0..features) = Xᵀ r (the weight-gradient GEMM form, each thread a block
 * of pixels), gradient[features] = Σ r (the bias gradient, in increasing i). */
static void logistic_gradient(const mlp_binary_problem *problem, float *gradient) {
    int begin, end, features = problem->features;
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    mlp_parallel_range(features, 16, thread, threads, &begin, &end);
    if (begin < end) {
        mlp_gemm_problem weight_gradient = {
            .m = end - begin, .n = 1, .k = problem->count,
            .a_u8 = problem->pixels + begin, .a_scale = MLP_BINARY_PIXEL_SCALE, .lda = features,
            .a_transposed = 1,
            .b = problem->residuals, .ldb = 1,
            .c = gradient + begin, .ldc = 1,
            .workspace = thread_workspace(problem),
        };
        problem->kernels->gemm(&weight_gradient);
    }
    if (thread == threads - 1)
        problem->kernels->bias_gradient(problem->residuals, problem->count, 1, 1, gradient + features);
#pragma omp barrier
}

/* The mean of the per-image costs, in image order (the same for any thread count). */
static double mean_row_cost(const mlp_binary_problem *problem) {
    double sum = 0.0;
    for (int i = 0; i < problem->count; i++) sum += problem->row_cost[i];
    return sum / problem->count;
}

double mlp_binary_logistic_cost(const mlp_binary_problem *problem, const float *parameters,
                            float *gradient) {
#pragma omp parallel num_threads(problem->threads)
    {
        linear_scores(problem, parameters);
        logistic_residuals(problem);
        if (gradient) logistic_gradient(problem, gradient);
    }
    return mean_row_cost(problem);
}

/* ---- the fits ---- */

static int allocate_history(mlp_binary_model *model, int iterations, mlp_error *error) {
    model->cost_history = calloc((size_t)iterations + 1, sizeof *model->cost_history);
    if (!model->cost_history) return mlp_error_set(error, "binary: out of memory");
    return 0;
}

/* Gradient descent on the mean BCE from w = 0, b = 0: θ ← θ − lr ∇θ, full batch. */
int mlp_binary_fit_gd(const mlp_binary_problem *problem, const mlp_binary_options *options,
                  mlp_binary_model *model, mlp_error *error) {
    int features = problem->features;
    if (mlp_binary_model_create(model, MLP_BINARY_GD, features, error) != 0) return -1;
    float *gradient = mlp_aligned_calloc((size_t)features + 1, sizeof(float));
    if (!gradient || allocate_history(model, options->iterations, error) != 0) {
        mlp_aligned_free(gradient);
        mlp_binary_model_free(model);
        return mlp_error_set(error, "binary: out of memory");
    }
    for (int t = 0; t < options->iterations; t++) {
        model->cost_history[model->history_count++] =
            mlp_binary_logistic_cost(problem, model->parameters, gradient);
        problem->kernels->sgd_update(model->parameters, gradient, (size_t)features + 1,
                                     options->learning_rate);
    }
    model->final_cost = mlp_binary_logistic_cost(problem, model->parameters, NULL);
    mlp_aligned_free(gradient);
    return 0;
}

/* The same model as a 784,1 network: sigmoid output, BCE, zero initialisation, one full batch per
 * step through network_train_step (forward, loss, backward, SGD update). */
int mlp_binary_fit_neuron(const mlp_binary_problem *problem, const mlp_binary_options *options,
                      mlp_binary_model *model, mlp_error *error) {
    int features = problem->features, sizes[2] = {features, 1};
    if (mlp_binary_model_create(model, MLP_BINARY_NEURON, features, error) != 0) return -1;
    mlp_model neuron;
    mlp_network network;
    if (mlp_model_create(&neuron, sizes, 2, MLP_ACTIVATION_NONE, MLP_OUTPUT_SIGMOID, error) != 0) {
        mlp_binary_model_free(model);
        return -1;
    }
    if (mlp_network_create(&network, &neuron, problem->kernels, problem->count, problem->threads,
                       error) != 0 ||
        allocate_history(model, options->iterations, error) != 0) {
        mlp_model_free(&neuron);
        mlp_binary_model_free(model);
        return -1;
    }
    for (int t = 0; t < options->iterations; t++)
        model->cost_history[model->history_count++] =
            mlp_network_train_step(&network, &neuron, problem->pixels, problem->targets,
                               problem->count, options->learning_rate);
    memcpy(model->parameters, mlp_model_weights(&neuron, 0), (size_t)features * sizeof(float));
    model->parameters[features] = mlp_model_biases(&neuron, 0)[0];
    model->final_cost = mlp_binary_logistic_cost(problem, model->parameters, NULL);
    mlp_network_free(&network);
    mlp_model_free(&neuron);
    return 0;
}

int mlp_binary_fit(mlp_binary_method method, const mlp_binary_problem *problem, const mlp_binary_options *options,
               mlp_binary_model *model, mlp_error *error) {
    switch (method) {
    case MLP_BINARY_NORMAL: return mlp_binary_fit_normal(problem, options, model, error);
    case MLP_BINARY_LBFGS: return mlp_binary_fit_lbfgs(problem, options, model, error);
    case MLP_BINARY_GD: return mlp_binary_fit_gd(problem, options, model, error);
    case MLP_BINARY_NEURON: return mlp_binary_fit_neuron(problem, options, model, error);
    }
    return mlp_error_set(error, "binary: unknown method");
}

/* ---- validation scores ---- */

void mlp_binary_evaluate(const mlp_binary_model *model, const mlp_binary_problem *problem, double threshold,
                     mlp_binary_scores *scores) {
    memset(scores, 0, sizeof *scores);
#pragma omp parallel num_threads(problem->threads)
    {
        linear_scores(problem, model->parameters);
        if (model->logistic) {
            int begin, end;
            mlp_parallel_range(problem->count, 16, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
            if (begin < end)
                problem->kernels->sigmoid_forward(problem->scores + begin, problem->scores + begin,
                                                  (size_t)(end - begin));
        }
    }
    for (int i = 0; i < problem->count; i++) {
        int predicted = problem->scores[i] >= threshold, truth = problem->targets[i];
        if (predicted && truth) scores->true_positive++;
        else if (predicted) scores->false_positive++;
        else if (truth) scores->false_negative++;
        else scores->true_negative++;
    }
    long tp = scores->true_positive, fp = scores->false_positive, fn = scores->false_negative;
    scores->accuracy = (double)(tp + scores->true_negative) / problem->count;
    scores->precision = tp + fp ? (double)tp / (tp + fp) : 0.0;
    scores->recall = tp + fn ? (double)tp / (tp + fn) : 0.0;
    double sum = scores->precision + scores->recall;
    scores->f1 = sum > 0 ? 2.0 * scores->precision * scores->recall / sum : 0.0;
}
