/* Logistic regression by L-BFGS (liblbfgs): the optimiser works in double, each evaluation
 * converts θ to float and asks binary_logistic_cost for the mean BCE and its gradient (the same
 * kernels as gd). With --l2 λ the cost gains λ/2 ‖w‖² (not on the bias); none by default. */
#include "mlp/binary.h"

#ifdef MLP_HAVE_LBFGS

#include <lbfgs.h>
#include <stdlib.h>

typedef struct lbfgs_context {
    const mlp_binary_problem *problem;
    mlp_binary_model *model;
    float *parameters; /* θ in float for the kernels  */
    float *gradient;
    double l2;
    int max_history;
} lbfgs_context;

/* liblbfgs callback: cost and gradient at x. */
static lbfgsfloatval_t evaluate_cost(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                     const int n, const lbfgsfloatval_t step) {
    (void)step;
    lbfgs_context *c = instance;
    for (int j = 0; j < n; j++) c->parameters[j] = (float)x[j];
    double cost = mlp_binary_logistic_cost(c->problem, c->parameters, c->gradient);
    for (int j = 0; j < n; j++) g[j] = c->gradient[j];
    for (int j = 0; j + 1 < n && c->l2 > 0; j++) {
        cost += 0.5 * c->l2 * x[j] * x[j];
        g[j] += c->l2 * x[j];
    }
    return cost;
}

/* liblbfgs callback after each iteration: records the cost. */
static int record_progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                           const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                           const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k,
                           int ls) {
    (void)x, (void)g, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)k, (void)ls;
    lbfgs_context *c = instance;
    if (c->model->history_count < c->max_history) c->model->cost_history[c->model->history_count++] = fx;
    return 0;
}

/* How the optimiser stopped, in words; NULL for a failure that left no usable point. */
static const char *stop_reason(int status) {
    switch (status) {
    case LBFGS_SUCCESS: return "converged";
    case LBFGS_ALREADY_MINIMIZED: return "already at a minimum";
    case LBFGSERR_MAXIMUMITERATION: return "reached the iteration limit";
    case LBFGSERR_ROUNDING_ERROR: return "stopped: rounding errors prevent further progress";
    case LBFGSERR_MAXIMUMLINESEARCH: return "stopped: the line search reached its step limit";
    case LBFGSERR_MINIMUMSTEP: return "stopped: the line search step became too small";
    case LBFGSERR_MAXIMUMSTEP: return "stopped: the line search step became too large";
    case LBFGSERR_WIDTHTOOSMALL: return "stopped: the line search interval became too small";
    case LBFGSERR_INCREASEGRADIENT: return "stopped: the search direction went uphill";
    default: return NULL;
    }
}

int mlp_binary_fit_lbfgs(const mlp_binary_problem *problem, const mlp_binary_options *options,
                     mlp_binary_model *model, mlp_error *error) {
    int n = problem->features + 1;
    if (mlp_binary_model_create(model, MLP_BINARY_LBFGS, problem->features, error) != 0) return -1;
    lbfgs_context context = {
        .problem = problem, .model = model, .l2 = options->l2,
        .max_history = options->iterations + 1,
        .parameters = mlp_aligned_calloc((size_t)n, sizeof(float)),
        .gradient = mlp_aligned_calloc((size_t)n, sizeof(float)),
    };
    lbfgsfloatval_t *x = lbfgs_malloc(n);
    model->cost_history = calloc((size_t)context.max_history, sizeof *model->cost_history);
    int status = -1;
    if (!context.parameters || !context.gradient || !x || !model->cost_history) {
        mlp_error_set(error, "lbfgs: out of memory");
        goto done;
    }
    for (int j = 0; j < n; j++) x[j] = 0.0; /* from zero, like gd */
    lbfgs_parameter_t parameters;
    lbfgs_parameter_init(&parameters);
    parameters.max_iterations = options->iterations;
    lbfgsfloatval_t cost = 0.0;
    int result = lbfgs(n, x, &cost, evaluate_cost, record_progress, &context, &parameters);
    model->status = stop_reason(result);
    if (!model->status) {
        mlp_error_set(error, "lbfgs: the optimiser failed (liblbfgs status %d)", result);
        goto done;
    }
    for (int j = 0; j < n; j++) model->parameters[j] = (float)x[j];
    model->final_cost = mlp_binary_logistic_cost(problem, model->parameters, NULL);
    status = 0;
done:
    if (status != 0) mlp_binary_model_free(model);
    lbfgs_free(x);
    mlp_aligned_free(context.parameters);
    mlp_aligned_free(context.gradient);
    return status;
}

#else /* built without liblbfgs */

int mlp_binary_fit_lbfgs(const mlp_binary_problem *problem, const mlp_binary_options *options,
                     mlp_binary_model *model, mlp_error *error) {
    (void)problem, (void)options, (void)model;
    return mlp_error_set(error, "--method lbfgs: this trainer was built without liblbfgs "
                            "(MLP_WITH_EXPERIMENTS=OFF)");
}

#endif
