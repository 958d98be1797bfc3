/* Gradient check: backpropagation (network_forward / network_loss / network_backward) against
 * central finite differences of the cost, for every weight and bias of small networks, every
 * hidden activation, both output kinds (softmax + cross-entropy, sigmoid + binary cross-entropy),
 * with the scalar kernels and with every other variant this CPU runs (the best included).
 *
 *   numeric_i  = (cost(θ + h e_i) - cost(θ - h e_i)) / (2h)      (step h = 1e-2, or 1e-3)
 *   error_i    = |analytic_i - numeric_i| / max(|analytic_i| + |numeric_i|, 1e-3)
 *   pass when error_i <= GRADIENT_TOLERANCE for every checked parameter.
 *
 * The cost is a double mean of float per-example losses, so each cost value carries an absolute
 * error near 1e-7; divided by 2h that is 1e-5 (1e-4 with the small step), below the 1e-3 floor
 * × tolerance. Measured worst error: 4.6e-3 with h = 1e-2, 8.9e-3 with h = 1e-3 (avx512).
 * ReLU is not differentiable at 0: when a parameter's ±h perturbation flips the sign of any hidden
 * pre-activation (seen as a change of the "unit active" pattern), the check retries with h = 1e-3;
 * if that crosses a kink too, the parameter is skipped and counted; more than MAX_KINK_FRACTION
 * skipped fails the test.
 *
 * The step functions are "collective" but run fine outside a parallel region: there the team
 * has one thread and the barriers are no-ops. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/rng.h"
#include "test_util.h"

/* Central-difference steps: the first, then (only for a ReLU parameter whose first step crosses
 * a kink) the smaller one, whose cost difference carries ten times more rounding noise. */
static const float steps[] = {1e-2f, 1e-3f};
#define STEP_COUNT 2
#define GRADIENT_TOLERANCE 2e-2
#define GRADIENT_FLOOR 1e-3
#define MAX_KINK_FRACTION 0.05
#define BATCH 7

typedef struct gradient_case {
    int sizes[5];
    int size_count;
    mlp_output output;
} gradient_case;

static const gradient_case cases[] = {
    {{12, 7, 5, 10}, 4, MLP_OUTPUT_SOFTMAX},
    {{9, 6, 10}, 3, MLP_OUTPUT_SOFTMAX},
    {{12, 7, 5, 1}, 4, MLP_OUTPUT_SIGMOID},
    {{9, 6, 1}, 3, MLP_OUTPUT_SIGMOID},
};

static const mlp_activation activations[] = {MLP_ACTIVATION_RELU, MLP_ACTIVATION_SIGMOID,
                                             MLP_ACTIVATION_TANH};

/* The mean cost of the batch at the current parameters (forward pass and loss only). */
static double batch_cost(mlp_network *network, const uint8_t *pixels, const uint8_t *targets) {
    mlp_network_forward(network, pixels, BATCH);
    return mlp_network_loss(network, targets, BATCH, 0);
}

/* Which hidden units are active (output > 0) for every example: the ReLU kink pattern. */
static void active_pattern(const mlp_network *network, uint8_t *pattern) {
    const mlp_model *model = network->model;
    size_t at = 0;
    for (int l = 1; l < model->layer_count; l++)
        for (size_t i = 0; i < (size_t)BATCH * model->sizes[l]; i++)
            pattern[at++] = network->activations[l][i] > 0.0f;
}

static size_t hidden_unit_count(const mlp_model *model) {
    size_t count = 0;
    for (int l = 1; l < model->layer_count; l++) count += (size_t)BATCH * model->sizes[l];
    return count;
}

/* The parameter indices that belong to the model (not to the alignment padding). */
static int is_real_parameter(const mlp_model *model, size_t index) {
    for (int l = 0; l < model->layer_count; l++) {
        size_t weights = (size_t)model->sizes[l] * model->sizes[l + 1];
        if (index >= model->weight_offset[l] && index < model->weight_offset[l] + weights) return 1;
        if (index >= model->bias_offset[l] && index < model->bias_offset[l] + (size_t)model->sizes[l + 1])
            return 1;
    }
    return 0;
}

/* Checks one network shape with one activation and kernel variant; returns the worst error. */
static double check_case(const mlp_kernel_table *kernels, const gradient_case *c, mlp_activation activation,
                         uint64_t seed) {
    mlp_error error;
    mlp_model model;
    if (mlp_model_create(&model, c->sizes, c->size_count, activation, c->output, &error) != 0) {
        CHECK(0, "model_create: %s", error.message);
        return INFINITY;
    }
    mlp_model_init_he(&model, seed);
    mlp_rng_state rng;
    mlp_rng_seed(&rng, seed + 1000);
    /* Non-zero biases, so their gradients and the kinks are not at special points. */
    for (int l = 0; l < model.layer_count; l++)
        for (int j = 0; j < model.sizes[l + 1]; j++)
            mlp_model_biases(&model, l)[j] = (float)(0.1 * mlp_rng_normal(&rng));

    uint8_t pixels[BATCH * 12], targets[BATCH];
    for (int i = 0; i < BATCH * c->sizes[0]; i++) pixels[i] = (uint8_t)mlp_rng_below(&rng, 256);
    int classes = c->output == MLP_OUTPUT_SIGMOID ? 2 : c->sizes[c->size_count - 1];
    for (int i = 0; i < BATCH; i++) targets[i] = (uint8_t)mlp_rng_below(&rng, (uint64_t)classes);

    mlp_network network;
    if (mlp_network_create(&network, &model, kernels, BATCH, 1, &error) != 0) {
        CHECK(0, "network_create: %s", error.message);
        mlp_model_free(&model);
        return INFINITY;
    }
    /* The analytic gradient. */
    mlp_network_forward(&network, pixels, BATCH);
    mlp_network_loss(&network, targets, BATCH, 1);
    mlp_network_backward(&network, pixels, BATCH);
    float *analytic = malloc(model.parameter_count * sizeof *analytic);
    memcpy(analytic, network.gradients, model.parameter_count * sizeof *analytic);

    size_t units = hidden_unit_count(&model);
    uint8_t *base_pattern = malloc(units + 1), *pattern = malloc(units + 1);
    batch_cost(&network, pixels, targets);
    active_pattern(&network, base_pattern);

    double worst = 0.0, largest_gradient = 0.0;
    size_t checked = 0, skipped = 0, retried = 0, nonzero = 0, failed = 0;
    for (size_t i = 0; i < model.parameter_count; i++) {
        if (!is_real_parameter(&model, i)) continue;
        /* The largest step whose ±h does not cross a ReLU kink (ReLU only; others use the first). */
        double numeric = 0.0;
        int kink = 1;
        for (int s = 0; s < STEP_COUNT && kink; s++) {
            float saved = model.parameters[i];
            float plus = saved + steps[s], minus = saved - steps[s];
            model.parameters[i] = plus;
            double cost_plus = batch_cost(&network, pixels, targets);
            active_pattern(&network, pattern);
            kink = memcmp(pattern, base_pattern, units) != 0;
            model.parameters[i] = minus;
            double cost_minus = batch_cost(&network, pixels, targets);
            active_pattern(&network, pattern);
            kink |= memcmp(pattern, base_pattern, units) != 0;
            model.parameters[i] = saved;
            if (activation != MLP_ACTIVATION_RELU) kink = 0;
            /* The step actually taken, (θ+h) - (θ-h) after rounding to float. */
            numeric = (cost_plus - cost_minus) / ((double)plus - (double)minus);
            retried += kink == 0 && s > 0;
        }
        if (kink) {
            skipped++;
            continue;
        }
        double a = analytic[i];
        double relative = fabs(a - numeric) / fmax(fabs(a) + fabs(numeric), GRADIENT_FLOOR);
        failed += relative > GRADIENT_TOLERANCE;
        if (relative > GRADIENT_TOLERANCE && failed <= 5) /* the first few, then a count */
            CHECK(relative <= GRADIENT_TOLERANCE,
                  "%s, %d layers, %s, %s output: parameter %zu analytic %.6g numeric %.6g (error %.3g)",
                  kernels->name, model.layer_count, mlp_model_activation_name(activation),
                  c->output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax", i, a, numeric, relative);
        if (relative > worst) worst = relative;
        if (fabs(a) > largest_gradient) largest_gradient = fabs(a);
        nonzero += a != 0.0;
        checked++;
    }
    size_t real = checked + skipped;
    CHECK(failed == 0, "%s %s: %zu of %zu parameters beyond the tolerance", kernels->name,
          mlp_model_activation_name(activation), failed, checked);
    CHECK(skipped <= MAX_KINK_FRACTION * real, "%s %s: %zu of %zu parameters skipped at ReLU kinks",
          kernels->name, mlp_model_activation_name(activation), skipped, real);
    CHECK(largest_gradient > 1e-4 && nonzero > real / 4,
          "%s %s: the gradient is (nearly) all zeros: largest %.3g, %zu of %zu non-zero", kernels->name,
          mlp_model_activation_name(activation), largest_gradient, nonzero, real);
    printf("  %-6s %-7s %-7s sizes", kernels->name, mlp_model_activation_name(activation),
           c->output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax");
    for (int l = 0; l < c->size_count; l++) printf("%s%d", l ? "," : " ", c->sizes[l]);
    printf(": %zu parameters checked (%zu with the small step), %zu skipped (ReLU kink), worst error %.2e\n",
           checked, retried, skipped, worst);

    free(base_pattern);
    free(pattern);
    free(analytic);
    mlp_network_free(&network);
    mlp_model_free(&model);
    return worst;
}

int main(void) {
    /* The scalar reference and every other variant this CPU runs (the best among them). */
    int compiled_count, variant_count = 0;
    const mlp_kernel_table *const *compiled = mlp_kernels_compiled(&compiled_count);
    const mlp_kernel_table *variants[8];
    for (int i = 0; i < compiled_count && variant_count < 8; i++)
        if (mlp_kernels_supported(compiled[i], NULL)) variants[variant_count++] = compiled[i];
    CHECK(mlp_kernels_find("scalar") != NULL && variants[0] == mlp_kernels_find("scalar"),
          "the scalar kernels are not compiled in, or not listed first");
    double worst = 0.0;
    for (int v = 0; v < variant_count; v++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (size_t a = 0; a < sizeof activations / sizeof activations[0]; a++) {
                double error = check_case(variants[v], &cases[c], activations[a], 42 + 7 * c + a);
                if (error > worst) worst = error;
            }
    printf("worst relative error %.2e (tolerance %.0e, steps %g and %g)\n", worst, GRADIENT_TOLERANCE,
           (double)steps[0], (double)steps[1]);
    return test_exit_code();
}
