/* The recipe's pure parts (include/mlp/optimizer.h):
 *   schedules: mlp_schedule_rate at chosen steps of every schedule (constant, step, cosine with
 *              and without warm-up, one-cycle with its default and a given rise), the plateau
 *              factor, and the constant schedule returning --lr bit for bit;
 *   --lr-plateau: the counters over a sequence of validation costs;
 *   the update descriptor: Adam's bias correction at step 1 (the first step is ±lr whatever the
 *              gradient's scale), weight decay coupled (SGD, Adam: λw added to the gradient)
 *              against decoupled (AdamW: w·(1 - lr·λ) before the step) through the kernel table;
 *   recipes: names round-trip; out-of-range options are refused naming the flag. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mlp/optimizer.h"
#include "test_util.h"

static int close_to(double a, double b, double tolerance) { return fabs(a - b) <= tolerance * (1.0 + fabs(b)); }

static void check_rate(const mlp_recipe *recipe, float lr, int epoch, int batch, int per_epoch, int epochs,
                       double expected, const char *what) {
    float rate = mlp_schedule_rate(recipe, lr, epoch, batch, per_epoch, epochs, 1.0f);
    CHECK(close_to(rate, expected, 1e-6), "%s: epoch %d batch %d: rate %.9g, expected %.9g", what, epoch, batch,
          rate, expected);
}

static void test_schedules(void) {
    const double pi = 3.14159265358979323846;
    mlp_recipe r;
    mlp_recipe_init(&r);
    /* constant: --lr itself, bit for bit (the study's default run depends on it) */
    float lr = 0.1f;
    CHECK(mlp_schedule_rate(&r, lr, 3, 17, 100, 10, 1.0f) == lr, "constant: not --lr's bits");
    CHECK(mlp_schedule_rate(&r, lr, 3, 17, 100, 10, mlp_plateau_factor(2)) == lr * 0.01f, "constant x plateau 2");
    CHECK(mlp_plateau_factor(0) == 1.0f && mlp_plateau_factor(1) == 0.1f, "plateau factors");

    /* step: x0.5 every 2 epochs (per epoch, whatever the batch) */
    r.schedule.kind = MLP_LR_STEP;
    r.schedule.step_epochs = 2;
    r.schedule.gamma = 0.5f;
    check_rate(&r, 0.1f, 1, 0, 10, 8, 0.1, "step");
    check_rate(&r, 0.1f, 2, 9, 10, 8, 0.1, "step");
    check_rate(&r, 0.1f, 3, 0, 10, 8, 0.05, "step");
    check_rate(&r, 0.1f, 8, 5, 10, 8, 0.0125, "step");
    /* with a warm-up of 1 epoch (10 batches): batch p of it is scaled by (p + 1)/10 */
    r.schedule.warmup_epochs = 1.0f;
    check_rate(&r, 0.1f, 1, 0, 10, 8, 0.01, "step + warm-up");
    check_rate(&r, 0.1f, 1, 4, 10, 8, 0.05, "step + warm-up");
    check_rate(&r, 0.1f, 2, 0, 10, 8, 0.1, "step + warm-up");

    /* cosine over 4 epochs of 10 batches from 0.1 to 0.001 */
    mlp_recipe_init(&r);
    r.schedule.kind = MLP_LR_COSINE;
    r.schedule.lr_min = 0.001f;
    double lr_min = 0.001f;
    check_rate(&r, 0.1f, 1, 0, 10, 4, 0.1, "cosine");
    check_rate(&r, 0.1f, 3, 0, 10, 4, lr_min + (0.1 - lr_min) * 0.5, "cosine half-way");
    check_rate(&r, 0.1f, 2, 0, 10, 4, lr_min + (0.1 - lr_min) * 0.5 * (1 + cos(pi * 0.25)), "cosine quarter");
    check_rate(&r, 0.1f, 4, 9, 10, 4, lr_min + (0.1 - lr_min) * 0.5 * (1 + cos(pi * 39 / 40)), "cosine last");
    /* with 0.5 epochs (5 batches) of warm-up: linear, then the cosine over the 35 batches left */
    r.schedule.warmup_epochs = 0.5f;
    check_rate(&r, 0.1f, 1, 0, 10, 4, 0.1 * 1 / 5, "cosine warm-up");
    check_rate(&r, 0.1f, 1, 3, 10, 4, 0.1 * 4 / 5, "cosine warm-up");
    check_rate(&r, 0.1f, 1, 5, 10, 4, 0.1, "cosine after warm-up");
    check_rate(&r, 0.1f, 3, 0, 10, 4, lr_min + (0.1 - lr_min) * 0.5 * (1 + cos(pi * 15 / 35)), "cosine after warm-up");

    /* one-cycle over 10 epochs of 10 batches: the rise is round(0.3 * 100) = 30 batches from
     * lr/25 to lr, then down to lr_min (0) over the 70 left */
    mlp_recipe_init(&r);
    r.schedule.kind = MLP_LR_ONECYCLE;
    check_rate(&r, 0.25f, 1, 0, 10, 10, 0.01, "onecycle start (lr/25)");
    check_rate(&r, 0.25f, 2, 5, 10, 10, 0.25 + (0.01 - 0.25) * 0.5 * (1 + cos(pi * 15 / 30)), "onecycle rising");
    check_rate(&r, 0.25f, 4, 0, 10, 10, 0.25, "onecycle peak");
    check_rate(&r, 0.25f, 7, 5, 10, 10, 0.25 * 0.5 * (1 + cos(pi * 35 / 70)), "onecycle falling");
    check_rate(&r, 0.25f, 10, 9, 10, 10, 0.25 * 0.5 * (1 + cos(pi * 69 / 70)), "onecycle last");
    /* --warmup-epochs sets the rise: 2 epochs = 20 batches */
    r.schedule.warmup_epochs = 2.0f;
    check_rate(&r, 0.25f, 3, 0, 10, 10, 0.25, "onecycle peak after the given rise");
    check_rate(&r, 0.25f, 2, 0, 10, 10, 0.25 + (0.01 - 0.25) * 0.5 * (1 + cos(pi * 10 / 20)), "onecycle given rise");
}

static void test_plateau(void) {
    mlp_plateau_state p;
    mlp_plateau_init(&p);
    /* patience 2: costs 1.0 0.9 0.95 0.92 (two without a better one: /10) 0.91 0.8 0.85 0.85 (/10) */
    const double costs[] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.85};
    const int reductions[] = {0, 0, 0, 1, 1, 1, 1, 2};
    for (int e = 0; e < 8; e++) {
        mlp_plateau_update(&p, 2, costs[e]);
        CHECK(p.reductions == reductions[e], "plateau after epoch %d: %d reductions, expected %d", e + 1,
              p.reductions, reductions[e]);
    }
    mlp_plateau_init(&p);
    CHECK(mlp_plateau_update(&p, 0, 1.0) == 0 && mlp_plateau_update(&p, 0, 2.0) == 0 && p.reductions == 0,
          "--lr-plateau 0 never reduces");
}

/* One element through the scalar kernel. */
static float one_step(const mlp_optimizer_options *o, float lr, uint64_t t, float w, float g, float *m, float *v) {
    mlp_optimizer_step step;
    mlp_optimizer_step_prepare(o, lr, t, &step);
    mlp_kernels_find("scalar")->optimizer_update(&step, &w, &g, m, v, 1);
    return w;
}

static void test_updates(void) {
    const mlp_kernel_table *best = mlp_kernels_best();
    mlp_recipe r;
    mlp_recipe_init(&r);
    /* Adam, step 1: m = (1-β1) g, v = (1-β2) g², bias-corrected to g and g²: w moves by lr·g/(|g|+eps) */
    r.optimizer.kind = MLP_OPTIMIZER_ADAM;
    const float gradients[] = {1e-5f, -0.3f, 42.0f};
    for (int i = 0; i < 3; i++) {
        float m = 0, v = 0, g = gradients[i];
        float w = one_step(&r.optimizer, 0.01f, 1, 1.0f, g, &m, &v);
        double expected = 1.0 - 0.01 * g / (fabs(g) + 1e-8);
        CHECK(close_to(w, expected, 2e-7), "adam step 1, g %g: w %.9g, expected %.9g", g, w, expected);
        CHECK(close_to(m, 0.1 * g, 1e-6) && close_to(v, 0.001 * g * g, 1e-5), "adam step 1 moments");
    }
    /* Without the correction step 1 would move w by lr·(1-β1)/sqrt(1-β2) = 3.16 lr: check step 2 too. */
    {
        float m = 0, v = 0;
        float w = one_step(&r.optimizer, 0.01f, 1, 1.0f, 0.5f, &m, &v);
        w = one_step(&r.optimizer, 0.01f, 2, w, 0.5f, &m, &v);
        CHECK(close_to(w, 1.0 - 0.02, 1e-6), "adam two equal gradients: two steps of lr (w %.9g)", w);
    }

    /* Weight decay: with a zero gradient, coupled L2 (SGD) moves w by lr·λ·w; Adam's coupled L2
     * goes through the normalisation (a step of ~lr whatever λ); AdamW's decoupled decay scales w
     * by (1 - lr·λ) and leaves the Adam step (0 for a zero gradient) alone. */
    float lambda = 0.1f, lr = 0.01f, w0 = 2.0f;
    mlp_optimizer_options sgd = r.optimizer, adam = r.optimizer, adamw = r.optimizer;
    sgd.kind = MLP_OPTIMIZER_SGD;
    sgd.weight_decay = adam.weight_decay = adamw.weight_decay = lambda;
    adamw.kind = MLP_OPTIMIZER_ADAMW;
    float m = 0, v = 0;
    float w = one_step(&sgd, lr, 1, w0, 0.0f, &m, &v);
    CHECK(close_to(w, w0 - lr * lambda * w0, 1e-7), "sgd coupled decay: %.9g", w);
    m = v = 0;
    w = one_step(&adam, lr, 1, w0, 0.0f, &m, &v);
    CHECK(close_to(w, w0 - lr, 1e-6), "adam coupled decay (normalised): %.9g, expected %.9g", w, w0 - lr);
    m = v = 0;
    w = one_step(&adamw, lr, 1, w0, 0.0f, &m, &v);
    CHECK(close_to(w, w0 * (1.0 - lr * lambda), 1e-7) && m == 0.0f && v == 0.0f,
          "adamw decoupled decay: %.9g, expected %.9g", w, w0 * (1.0 - lr * lambda));
    /* with a gradient: AdamW = decay, then Adam's step on the raw gradient */
    m = v = 0;
    w = one_step(&adamw, lr, 1, w0, 0.5f, &m, &v);
    CHECK(close_to(w, w0 * (1.0 - lr * lambda) - lr, 1e-6), "adamw with a gradient: %.9g", w);

    /* momentum and nesterov, two steps of g = 1 from w = 0 (μ = 0.9): velocities 1 and 1.9;
     * momentum moves by lr·(1 + 1.9), nesterov by lr·((1 + 0.9) + (1 + 0.9·1.9)) */
    mlp_optimizer_options momentum = r.optimizer, nesterov = r.optimizer;
    momentum.kind = MLP_OPTIMIZER_MOMENTUM;
    nesterov.kind = MLP_OPTIMIZER_NESTEROV;
    m = 0;
    w = one_step(&momentum, 0.1f, 1, 0.0f, 1.0f, &m, NULL);
    w = one_step(&momentum, 0.1f, 2, w, 1.0f, &m, NULL);
    CHECK(close_to(w, -0.29, 1e-6) && close_to(m, 1.9, 1e-6), "momentum: w %.9g, m %.9g", w, m);
    m = 0;
    w = one_step(&nesterov, 0.1f, 1, 0.0f, 1.0f, &m, NULL);
    w = one_step(&nesterov, 0.1f, 2, w, 1.0f, &m, NULL);
    CHECK(close_to(w, -0.1 * (1.9 + 2.71), 1e-6), "nesterov: w %.9g", w);

    /* the best variant agrees with scalar bit for bit on the same descriptor */
    float a[37], b[37], g[37], ma[37] = {0}, mb[37] = {0}, va[37] = {0}, vb[37] = {0};
    for (int i = 0; i < 37; i++) {
        a[i] = b[i] = 0.1f * (float)(i - 18);
        g[i] = 0.01f * (float)((i * 7) % 13 - 6);
    }
    mlp_optimizer_step step;
    mlp_optimizer_step_prepare(&adamw, lr, 3, &step);
    mlp_kernels_find("scalar")->optimizer_update(&step, a, g, ma, va, 37);
    best->optimizer_update(&step, b, g, mb, vb, 37);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(ma, mb, sizeof ma) == 0 && memcmp(va, vb, sizeof va) == 0,
          "%s's optimizer_update differs from scalar's", best->name);
}

static void test_recipes(void) {
    for (int k = MLP_OPTIMIZER_SGD; k <= MLP_OPTIMIZER_ADAMW; k++) {
        mlp_optimizer back;
        CHECK(mlp_optimizer_parse(mlp_optimizer_name((mlp_optimizer)k), &back) == 0 && back == (mlp_optimizer)k,
              "optimizer name %d", k);
    }
    for (int k = MLP_LR_CONSTANT; k <= MLP_LR_ONECYCLE; k++) {
        mlp_lr_schedule back;
        CHECK(mlp_lr_schedule_parse(mlp_lr_schedule_name((mlp_lr_schedule)k), &back) == 0 &&
                  back == (mlp_lr_schedule)k, "schedule name %d", k);
    }
    mlp_optimizer unknown;
    CHECK(mlp_optimizer_parse("lion", &unknown) != 0, "an unknown optimizer parses");
    mlp_recipe zero, r;
    memset(&zero, 0, sizeof zero);
    mlp_error error;
    CHECK(mlp_recipe_check(&zero, &error) == 0, "the all-zero recipe (plain SGD) is valid: %s", error.message);
    CHECK(mlp_optimizer_is_plain_sgd(&zero.optimizer), "all zero is plain SGD");
    mlp_recipe_init(&r);
    CHECK(mlp_optimizer_is_plain_sgd(&r.optimizer) && mlp_recipe_check(&r, &error) == 0, "mlp_recipe_init: plain SGD");
    r.optimizer.kind = MLP_OPTIMIZER_ADAM;
    r.optimizer.beta2 = 1.0f;
    CHECK(mlp_recipe_check(&r, &error) != 0 && strstr(error.message, "--beta2"), "beta2 1: %s", error.message);
    mlp_recipe_init(&r);
    r.schedule.kind = MLP_LR_STEP;
    CHECK(mlp_recipe_check(&r, &error) != 0 && strstr(error.message, "--lr-step"), "step without a period: %s",
          error.message);
    mlp_recipe_init(&r);
    r.optimizer.kind = MLP_OPTIMIZER_ADAMW;
    r.optimizer.weight_decay = 0.01f;
    r.schedule.kind = MLP_LR_ONECYCLE;
    char text[256];
    mlp_recipe_describe(&r, text, sizeof text);
    CHECK(strstr(text, "adamw") && strstr(text, "weight decay 0.01 decoupled") && strstr(text, "onecycle"),
          "description: %s", text);
}

int main(void) {
    test_schedules();
    test_plateau();
    test_updates();
    test_recipes();
    return test_exit_code();
}
