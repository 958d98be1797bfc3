/* The binary "is this a 3?" models on a 1,500-image subset of MNIST (skips when MNIST is absent):
 *  - gd and neuron are one model: after the same steps their weights agree within float tolerance;
 *  - the normal-equations solution satisfies (XᵀX + λI)β = Xᵀy to a small residual, checked
 *    against XᵀX and Xᵀy recomputed here in double from the pixels;
 *  - without ridge or noise the system is singular and the fit says so;
 *  - lbfgs reaches a lower cost than gd after their default iterations;
 *  - the validation counts add up and a fitted model beats "never a 3". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/binary.h"
#include "mlp/data.h"
#include "test_util.h"

#define SUBSET 1500
#define HELD_OUT 1000

/* ‖(XᵀX + λI)β − Xᵀy‖ / ‖Xᵀy‖ with XᵀX and Xᵀy summed in double here (no ridge on the bias). */
static double independent_residual(const mlp_binary_problem *p, const float *beta, double l2) {
    int f = p->features, d = f + 1;
    double *x = malloc((size_t)d * sizeof *x), *product = calloc((size_t)d, sizeof *product);
    double *moment = calloc((size_t)d, sizeof *moment);
    for (int i = 0; i < p->count; i++) {
        for (int j = 0; j < f; j++) x[j] = p->pixels[(size_t)i * f + j] / 255.0;
        x[f] = 1.0;
        double xb = 0.0; /* (XᵀX β)_j = Σ_i x_ij (x_i · β) */
        for (int j = 0; j < d; j++) xb += x[j] * beta[j];
        for (int j = 0; j < d; j++) {
            product[j] += x[j] * xb;
            if (p->targets[i]) moment[j] += x[j];
        }
    }
    double residual = 0.0, norm = 0.0;
    for (int j = 0; j < d; j++) {
        double r = product[j] + (j < f ? l2 * beta[j] : 0.0) - moment[j];
        residual += r * r;
        norm += moment[j] * moment[j];
    }
    free(x);
    free(product);
    free(moment);
    return sqrt(residual / norm);
}

static double max_abs(const float *v, int n) {
    double m = 0.0;
    for (int i = 0; i < n; i++) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static void check_gd_equals_neuron(const mlp_binary_problem *train) {
    mlp_binary_options options = {.learning_rate = 0.5f, .iterations = 100};
    mlp_binary_model gd, neuron;
    mlp_error error;
    CHECK(mlp_binary_fit_gd(train, &options, &gd, &error) == 0, "%s", error.message);
    CHECK(mlp_binary_fit_neuron(train, &options, &neuron, &error) == 0, "%s", error.message);
    if (!gd.parameters || !neuron.parameters) return;
    int n = train->features + 1;
    double largest = max_abs(gd.parameters, n), difference = 0.0;
    for (int j = 0; j < n; j++) {
        double d = fabs((double)gd.parameters[j] - neuron.parameters[j]);
        difference = d > difference ? d : difference;
    }
    printf("gd vs neuron after 100 steps: largest |Δw| %.3g, largest |w| %.3g\n", difference, largest);
    CHECK(largest > 1e-3, "gd moved away from zero (largest |w| %g)", largest);
    CHECK(difference <= 1e-5 * largest + 1e-7, "gd and neuron weights differ by %g (largest |w| %g)",
          difference, largest);
    CHECK(gd.history_count == 100 && neuron.history_count == 100, "both recorded 100 costs");
    for (int t = 0; t < gd.history_count && t < neuron.history_count; t += 25)
        CHECK(fabs(gd.cost_history[t] - neuron.cost_history[t]) <= 1e-5,
              "cost at step %d: gd %.8f, neuron %.8f", t, gd.cost_history[t], neuron.cost_history[t]);
    CHECK(gd.cost_history[99] < gd.cost_history[0], "gd lowers the cost (%.4f -> %.4f)",
          gd.cost_history[0], gd.cost_history[99]);
    mlp_binary_model_free(&gd);
    mlp_binary_model_free(&neuron);
}

static void check_normal_equations(const mlp_binary_problem *train, const mlp_binary_problem *held_out) {
    mlp_error error;
    mlp_binary_model model;
    mlp_binary_options singular = {0};
    int status = mlp_binary_fit_normal(train, &singular, &model, &error);
    CHECK(status == -1 && strstr(error.message, "singular") && strstr(error.message, "--l2"),
          "without ridge or noise: a 'singular' error suggesting --l2 (got status %d: %s)", status,
          status ? error.message : "");

    mlp_binary_options ridge = {.l2 = 0.01};
    CHECK(mlp_binary_fit_normal(train, &ridge, &model, &error) == 0, "%s", error.message);
    if (!model.parameters) return;
    /* The solve in double: the residual of the system it factored. */
    CHECK(model.residual < 1e-9, "ridge: solver residual %.3g < 1e-9", model.residual);
    /* Against sums in double here: the float GEMM blocks keep XᵀX to about 1e-6. */
    double residual = independent_residual(train, model.parameters, ridge.l2);
    printf("normal, λ = 0.01: solver residual %.3g, residual against double sums %.3g\n",
           model.residual, residual);
    CHECK(residual < 1e-4, "ridge: independent residual %.3g < 1e-4", residual);
    mlp_binary_scores scores;
    mlp_binary_evaluate(&model, held_out, 0.5, &scores);
    double negatives = (double)(scores.true_negative + scores.false_positive) / held_out->count;
    CHECK(scores.accuracy > negatives, "regression accuracy %.4f beats 'never a 3' (%.4f)",
          scores.accuracy, negatives);
    mlp_binary_model_free(&model);

    mlp_binary_options noise = {.noise = 0.02, .seed = 7};
    CHECK(mlp_binary_fit_normal(train, &noise, &model, &error) == 0, "noise: %s", error.message);
    if (model.parameters) CHECK(model.residual < 1e-9, "noise: solver residual %.3g", model.residual);
    mlp_binary_model_free(&model);
}

static void check_lbfgs_beats_gd(const mlp_binary_problem *train, const mlp_binary_problem *held_out) {
    mlp_error error;
    mlp_binary_model gd, lbfgs;
    mlp_binary_options gd_defaults = {.learning_rate = 0.01f, .iterations = 1000};
    mlp_binary_options lbfgs_defaults = {.iterations = 200};
    CHECK(mlp_binary_fit_gd(train, &gd_defaults, &gd, &error) == 0, "%s", error.message);
    CHECK(mlp_binary_fit_lbfgs(train, &lbfgs_defaults, &lbfgs, &error) == 0, "%s", error.message);
    if (!gd.parameters || !lbfgs.parameters) return;
    printf("cost after the default iterations: lbfgs %.5f (%s), gd %.5f\n", lbfgs.final_cost,
           lbfgs.status, gd.final_cost);
    CHECK(lbfgs.final_cost < gd.final_cost, "lbfgs cost %.5f < gd cost %.5f (%s)", lbfgs.final_cost,
          gd.final_cost, lbfgs.status);
    mlp_binary_scores scores;
    mlp_binary_evaluate(&lbfgs, held_out, 0.5, &scores);
    long total = scores.true_positive + scores.false_positive + scores.true_negative + scores.false_negative;
    CHECK(total == held_out->count, "confusion counts add up (%ld of %d)", total, held_out->count);
    double negatives = (double)(scores.true_negative + scores.false_positive) / held_out->count;
    CHECK(scores.accuracy > negatives, "lbfgs accuracy %.4f beats 'never a 3' (%.4f)",
          scores.accuracy, negatives);
    double f1 = 2.0 * scores.precision * scores.recall / (scores.precision + scores.recall);
    CHECK(fabs(scores.f1 - f1) < 1e-12, "F1 is the harmonic mean of precision and recall");
    mlp_binary_model_free(&gd);
    mlp_binary_model_free(&lbfgs);
}

int main(void) {
    if (!mlp_dataset_idx_folder_has(MLP_MNIST_DIR, "train"))
        TEST_SKIP("MNIST not found in %s (scripts/fetch_data.sh fetches it)", MLP_MNIST_DIR);
    mlp_dataset data;
    mlp_error error;
    if (mlp_dataset_load_idx_folder(MLP_MNIST_DIR, "train", &data, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    const mlp_kernel_table *kernels = mlp_kernels_best();
    int indices[SUBSET + HELD_OUT];
    for (int i = 0; i < SUBSET + HELD_OUT; i++) indices[i] = i;
    mlp_binary_problem train, held_out;
    if (mlp_binary_problem_create(&train, &data, indices, SUBSET, 3, kernels, 2, &error) != 0 ||
        mlp_binary_problem_create(&held_out, &data, indices + SUBSET, HELD_OUT, 3, kernels, 2, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    printf("kernel %s, %d training images, %d held out\n", kernels->name, SUBSET, HELD_OUT);
    /* Two threads where the two models meet (each splits its GEMMs differently), one for the
     * long fits: a matrix-vector product is too small to share, and CI cores are busy. */
    check_gd_equals_neuron(&train);
    train.threads = held_out.threads = 1;
#if defined(MLP_HAVE_EXPERIMENTS)
    check_normal_equations(&train, &held_out);
    check_lbfgs_beats_gd(&train, &held_out);
#else
    (void)check_normal_equations, (void)check_lbfgs_beats_gd;
    printf("built without LAPACKE and liblbfgs (MLP_WITH_EXPERIMENTS=OFF): normal, lbfgs not checked\n");
#endif
    mlp_binary_problem_free(&train);
    mlp_binary_problem_free(&held_out);
    mlp_dataset_free(&data);
    return test_exit_code();
}
