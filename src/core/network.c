/* Forward, loss, backward and update for a mini-batch: the textbook algorithm, one layer step per
 * function, every tensor operation a kernel call. See include/mlp/network.h for the threading. */
#include "mlp/network.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/team_barrier.h"
#include "core/timeline.h"
#include "mlp/data.h"
#include "mlp/dropout.h"

/* An owner's blocks of a layer: W's columns, and the optimizer's moments m and v of them. */
enum { OWNER_BLOCK_W = 0, OWNER_BLOCK_M = 1, OWNER_BLOCK_V = 2, OWNER_BLOCK_KINDS = 3 };

void mlp_parallel_range(int total, int granularity, int thread, int threads, int *begin, int *end) {
    int chunks = (total + granularity - 1) / granularity;
    int first = (int)((long long)chunks * thread / threads);
    int last = (int)((long long)chunks * (thread + 1) / threads);
    *begin = first * granularity < total ? first * granularity : total;
    *end = last * granularity < total ? last * granularity : total;
}

int mlp_network_create(mlp_network *network, const mlp_model *model, const mlp_kernel_table *kernels,
                   int batch_capacity, int threads, mlp_error *error) {
    memset(network, 0, sizeof *network);
    network->model = model;
    network->kernels = kernels;
    network->batch_capacity = batch_capacity;
    network->threads = threads;
    /* MLP_UNFUSED_UPDATE=1: the unfused step (to measure what owner computes gains) */
    const char *unfused = getenv("MLP_UNFUSED_UPDATE");
    network->fused_update = !(unfused && strcmp(unfused, "1") == 0);
    network->min_flops_per_thread = MLP_PARALLEL_MIN_FLOPS_PER_THREAD;
    network->barrier = mlp_team_barrier_create(); /* NULL: the OpenMP barrier (still correct) */
    int failed = 0;
    for (int l = 1; l <= model->layer_count; l++) {
        size_t count = (size_t)batch_capacity * model->sizes[l];
        network->activations[l] = mlp_aligned_calloc(count, sizeof(float));
        network->deltas[l] = mlp_aligned_calloc(count, sizeof(float));
        failed |= !network->activations[l] || !network->deltas[l];
    }
    network->gradients = mlp_aligned_calloc(model->parameter_count, sizeof(float));
    network->row_loss = mlp_aligned_calloc((size_t)batch_capacity, sizeof(float));
    network->input_pixels = mlp_aligned_calloc((size_t)batch_capacity * model->sizes[0], 1);
    network->input_targets = mlp_aligned_calloc((size_t)batch_capacity, 1);
    network->spare_pixels = mlp_aligned_calloc((size_t)batch_capacity * model->sizes[0], 1);
    network->spare_targets = mlp_aligned_calloc((size_t)batch_capacity, 1);
    /* one slab of scaled pixels per thread, each on its own cache lines */
    network->input_floats_stride = ((size_t)batch_capacity * model->sizes[0] + 15) & ~(size_t)15;
    network->input_floats = mlp_aligned_calloc(network->input_floats_stride * threads, sizeof(float));
    /* Each thread's packing space starts on its own cache lines. */
    network->workspace_stride = (kernels->gemm_workspace_floats + 15) & ~(size_t)15;
    network->gemm_workspace = mlp_aligned_calloc(network->workspace_stride * threads + 16, sizeof(float));
    failed |= !network->gradients || !network->row_loss || !network->gemm_workspace ||
              !network->input_pixels || !network->input_targets || !network->input_floats ||
              !network->spare_pixels || !network->spare_targets;
    if (failed) {
        mlp_network_free(network);
        return mlp_error_set(error, "network: out of memory for a batch of %d", batch_capacity);
    }
    return 0;
}

int mlp_network_set_precision(mlp_network *network, mlp_precision precision, mlp_error *error) {
    if (!mlp_kernels_gemm_for(network->kernels, precision))
        return mlp_error_set(error, "--precision %s: kernel variant '%s' has no GEMM for it",
                             mlp_precision_name(precision), network->kernels->name);
    network->precision = precision;
    return 0;
}

void mlp_network_free(mlp_network *network) {
    mlp_network_dropout_free(network);
    mlp_team_barrier_free(network->barrier);
    network->barrier = NULL;
    for (int b = 0; network->owner_blocks && b < network->model->layer_count * network->threads * OWNER_BLOCK_KINDS; b++)
        free(network->owner_blocks[b]);
    free(network->owner_blocks);
    network->owner_blocks = NULL;
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) {
        mlp_aligned_free(network->activations[l]);
        mlp_aligned_free(network->deltas[l]);
        network->activations[l] = network->deltas[l] = NULL;
    }
    mlp_aligned_free(network->gradients);
    mlp_aligned_free(network->row_loss);
    mlp_aligned_free(network->gemm_workspace);
    mlp_aligned_free(network->input_pixels);
    mlp_aligned_free(network->input_targets);
    mlp_aligned_free(network->spare_pixels);
    mlp_aligned_free(network->spare_targets);
    mlp_aligned_free(network->input_floats);
    network->input_floats = NULL;
    network->gradients = network->row_loss = network->gemm_workspace = NULL;
    network->input_pixels = network->input_targets = NULL;
    network->spare_pixels = network->spare_targets = NULL;
}

int mlp_parallel_gemm_workers(const mlp_gemm_problem *whole, int threads, long min_flops_per_thread) {
    double flops = 2.0 * whole->m * whole->n * whole->k;
    double useful = flops / (double)(min_flops_per_thread > 0 ? min_flops_per_thread : 1);
    return useful < 1.0 ? 1 : (useful < threads ? (int)useful : threads);
}

int mlp_network_useful_threads(const mlp_model *model, int batch, int threads,
                               long min_flops_per_thread) {
    int useful = 1;
    for (int l = 0; l < model->layer_count; l++) {
        /* forward, weight gradient and input gradient: the same 2·batch·in·out flops */
        mlp_gemm_problem layer = {.m = batch, .n = model->sizes[l + 1], .k = model->sizes[l]};
        int workers = mlp_parallel_gemm_workers(&layer, threads, min_flops_per_thread);
        if (workers > useful) useful = workers;
    }
    return useful;
}

void mlp_network_layer_columns(const mlp_model *model, int l, int n, int thread, int threads,
                               long min_flops_per_thread, int *begin, int *end) {
    int out = model->sizes[l + 1];
    mlp_gemm_problem layer = {.m = n, .n = out, .k = model->sizes[l]};
    int workers = mlp_parallel_gemm_workers(&layer, threads, min_flops_per_thread);
    if (workers > 1) {
        mlp_parallel_range(out, MLP_OWNER_COLUMN_GRANULARITY, thread, workers, begin, end);
        return;
    }
    /* one owner: the last thread of the team (the master keeps the trainer's bookkeeping) */
    int owner = thread == threads - 1;
    *begin = owner ? 0 : out;
    *end = out;
}

/* The larger of m and n is split (the operand along the other dimension is then packed by every
 * part, the cheaper duplication), in chunks that keep whole register tiles together. */
int mlp_parallel_gemm_part(const mlp_gemm_problem *whole, int part, int parts, mlp_gemm_problem *piece) {
    *piece = *whole;
    int begin, end;
    if (whole->n >= whole->m) {
        mlp_parallel_range(whole->n, 32, part, parts, &begin, &end);
        if (begin >= end) return 0;
        piece->n = end - begin;
        piece->c += begin;
        piece->b += whole->b_transposed ? (size_t)begin * whole->ldb : (size_t)begin;
        if (piece->bias) piece->bias += begin;
        if (piece->activation_output) piece->activation_output += begin;
        for (int s = 0; s < 2; s++)
            if (piece->update.state[s]) piece->update.state[s] += begin;
    } else {
        mlp_parallel_range(whole->m, 16, part, parts, &begin, &end);
        if (begin >= end) return 0;
        piece->m = end - begin;
        piece->c += (size_t)begin * whole->ldc;
        size_t a_offset = whole->a_transposed ? (size_t)begin : (size_t)begin * whole->lda;
        if (piece->a_u8) piece->a_u8 += a_offset;
        else piece->a += a_offset;
        if (piece->activation_output)
            piece->activation_output += (size_t)begin * whole->ld_activation_output;
        for (int s = 0; s < 2; s++)
            if (piece->update.state[s])
                piece->update.state[s] += (size_t)begin * whole->update.ld_state[s];
    }
    return 1;
}

/* One GEMM (a thread's block of one) at the network's precision: gemm, or gemm_bf16 in BF16. */
/* The plan's blocking (network->blocking) is derived for the FP32 GEMM; the BF16 GEMM, whose
 * packed operands take half the bytes, keeps its own measured constants (blocking 0). */
static void network_gemm(const mlp_network *network, const mlp_gemm_problem *problem) {
    mlp_gemm_problem planned = *problem;
    if (network->precision == MLP_PRECISION_FP32) planned.blocking = network->blocking;
    mlp_kernels_gemm_for(network->kernels, network->precision)(&planned);
}

/* Runs this thread's share of a GEMM, over as many threads as have enough work. */
static void parallel_gemm(const mlp_network *network, const mlp_gemm_problem *whole) {
    int thread = omp_get_thread_num();
    int workers = mlp_parallel_gemm_workers(whole, omp_get_num_threads(), network->min_flops_per_thread);
    mlp_gemm_problem part;
    if (thread >= workers || !mlp_parallel_gemm_part(whole, thread, workers, &part)) return;
    part.workspace = network->gemm_workspace + network->workspace_stride * thread;
    network_gemm(network, &part);
}

/* ---- profiling (only when network->profile is set) ---- */

/* Collective. Start of a timed step: the master's clock, or 0 when not profiling. */
static double profile_start(const mlp_network *network) {
    mlp_timeline_mark(MLP_TIMELINE_PHASE_START, 0, 0);
    if (!network->profile) return 0.0;
    mlp_team_barrier_wait(network->barrier);
    return omp_get_thread_num() == 0 ? mlp_wall_seconds() : 0.0;
}

/* Collective. End of a timed step: waits for every thread, then the master books the time. */
static void profile_stop(const mlp_network *network, double start, int layer,
                         mlp_profile_kernel kernel, double flops) {
    mlp_timeline_mark(MLP_TIMELINE_PHASE_END, layer, kernel);
    if (!network->profile) return;
    mlp_team_barrier_wait(network->barrier);
    if (omp_get_thread_num() == 0) {
        mlp_profile_entry *entry = &network->profile->entries[layer][kernel];
        entry->calls++;
        entry->seconds += mlp_wall_seconds() - start;
        entry->flops += flops;
    }
}

/* ---- the GEMMs of one layer, shared by the unfused passes and the owner-computes step ---- */

/* Layer l forward, Z = A_{l-1} · W_l with bias and activation in the epilogue; A is float
 * (`a`) or, for the first layer of the unfused pass, the uint8 pixels (`a_u8`, scaled by 1/255). */
static mlp_gemm_problem forward_problem(const mlp_network *network, int l, int n, const float *a,
                                        const uint8_t *a_u8) {
    const mlp_model *model = network->model;
    int last = l == model->layer_count - 1;
    return (mlp_gemm_problem){
        .m = n, .n = model->sizes[l + 1], .k = model->sizes[l],
        .a = a, .a_u8 = a_u8, .a_scale = 1.0f / 255.0f,
        .lda = model->sizes[l],
        .b = mlp_model_weights(model, l), .ldb = model->sizes[l + 1],
        .c = network->activations[l + 1], .ldc = model->sizes[l + 1],
        .epilogue = MLP_GEMM_EPILOGUE_BIAS_ACTIVATION,
        .activation = last ? MLP_ACTIVATION_NONE : model->hidden_activation,
        .bias = mlp_model_biases(model, l),
    };
}

/* Layer l > 0, the input gradient dZ_{l-1} = (dZ_l · W_lᵀ) ⊙ act'(A_{l-1}) (act' from the
 * activations before dropout when dropout is on). */
static mlp_gemm_problem input_gradient_problem(const mlp_network *network, int l, int n) {
    const mlp_model *model = network->model;
    int in = model->sizes[l], out = model->sizes[l + 1];
    return (mlp_gemm_problem){
        .m = n, .n = in, .k = out,
        .a = network->deltas[l + 1], .lda = out,
        .b = mlp_model_weights(model, l), .ldb = out, .b_transposed = 1,
        .c = network->deltas[l], .ldc = in,
        .epilogue = MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE,
        .activation = model->hidden_activation,
        .activation_output = mlp_network_dropout_activation_output(network, l), .ld_activation_output = in,
    };
}

/* ---- forward ---- */

/* Layer l forward: A_l = act(A_{l-1} · W_l + b_l); the first layer reads uint8 pixels × 1/255. */
static void dense_forward(mlp_network *network, int l, const uint8_t *input, int n) {
    mlp_gemm_problem forward = forward_problem(network, l, n, l == 0 ? NULL : network->activations[l],
                                               l == 0 ? input : NULL);
    double start = profile_start(network);
    parallel_gemm(network, &forward);
    profile_stop(network, start, l, MLP_PROFILE_FORWARD_GEMM, 2.0 * forward.m * forward.n * forward.k);
}

void mlp_network_forward(mlp_network *network, const uint8_t *input, int n) {
    for (int l = 0; l < network->model->layer_count; l++) {
        dense_forward(network, l, input, n);
        mlp_team_barrier_wait(network->barrier);
        if (mlp_network_dropout_on(network, l)) mlp_network_dropout_forward(network, l, n);
    }
}

/* ---- loss ---- */

/* One sigmoid unit with binary cross-entropy, target y in {0, 1}:
 * cost = softplus(z) - y z = max(z, 0) - y z + log(1 + e^-|z|)   (never overflows),
 * dCost/dz = sigmoid(z) - y. */
static void sigmoid_binary_cross_entropy(const mlp_kernel_table *kernels, int n, float *logits,
                                         const uint8_t *targets, float *row_loss, float *gradient,
                                         float gradient_scale) {
    for (int i = 0; i < n; i++) {
        float z = logits[i], y = targets[i] ? 1.0f : 0.0f;
        row_loss[i] = (z > 0.0f ? z : 0.0f) - y * z + log1pf(expf(-fabsf(z)));
    }
    kernels->sigmoid_forward(logits, logits, (size_t)n); /* logits become probabilities */
    if (gradient)
        for (int i = 0; i < n; i++) gradient[i] = (logits[i] - (targets[i] ? 1.0f : 0.0f)) * gradient_scale;
}

void mlp_network_row_costs(mlp_network *network, const uint8_t *targets, int n, int batch_rows,
                       int want_gradient) {
    const mlp_model *model = network->model;
    int L = model->layer_count, classes = model->sizes[L];
    float *logits = network->activations[L];
    float *gradient = want_gradient ? network->deltas[L] : NULL;
    float scale = 1.0f / (float)batch_rows;
    /* Rows are independent: each thread takes a block of them. */
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    int workers = n * classes >= 4096 ? threads : 1;
    int begin = 0, end = 0;
    double start = profile_start(network);
    if (workers > 1)
        mlp_parallel_range(n, 16, thread, workers, &begin, &end);
    else if (thread == threads - 1) /* the owner of a one-thread last layer (owner computes) */
        end = n;
    if (begin < end) {
        size_t offset = (size_t)begin * classes;
        if (model->output == MLP_OUTPUT_SIGMOID)
            sigmoid_binary_cross_entropy(network->kernels, end - begin, logits + offset,
                                         targets + begin, network->row_loss + begin,
                                         gradient ? gradient + offset : NULL, scale);
        else
            network->kernels->softmax_cross_entropy(end - begin, classes, logits + offset, classes,
                                                    targets + begin, logits + offset, classes,
                                                    network->row_loss + begin,
                                                    gradient ? gradient + offset : NULL, classes,
                                                    scale);
    }
    profile_stop(network, start, L - 1, MLP_PROFILE_SOFTMAX, 0.0);
    mlp_team_barrier_wait(network->barrier);
}

double mlp_network_loss(mlp_network *network, const uint8_t *targets, int n, int want_gradient) {
    mlp_network_row_costs(network, targets, n, n, want_gradient);
    /* The mean in a fixed order (row 0 first), in double: the same on every thread count. */
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += network->row_loss[i];
    return sum / n;
}

/* ---- backward ---- */

void mlp_network_layer_parameter_gradient(mlp_network *network, int l, const uint8_t *input,
                                      int first_row, int rows, float *layer_gradient) {
    const mlp_model *model = network->model;
    int in = model->sizes[l], out = model->sizes[l + 1];
    const float *dz = network->deltas[l + 1] + (size_t)first_row * out;
    float *weight_gradient = layer_gradient;
    float *bias_gradient = layer_gradient + (model->bias_offset[l] - model->weight_offset[l]);

    mlp_gemm_problem weight = {
        .m = in, .n = out, .k = rows,
        .a = l == 0 ? NULL : network->activations[l] + (size_t)first_row * in,
        .a_u8 = l == 0 ? input + (size_t)first_row * in : NULL,
        .a_scale = 1.0f / 255.0f,
        .lda = in, .a_transposed = 1,
        .b = dz, .ldb = out,
        .c = weight_gradient, .ldc = out,
    };
    double start = profile_start(network);
    parallel_gemm(network, &weight);
    profile_stop(network, start, l, MLP_PROFILE_WEIGHT_GRADIENT, 2.0 * weight.m * weight.n * weight.k);

    /* Bias gradient: each thread sums its own columns over the rows. */
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    int workers = (long long)rows * out >= 65536 ? threads : 1, begin = 0, end = 0;
    start = profile_start(network);
    if (thread < workers) mlp_parallel_range(out, 16, thread, workers, &begin, &end);
    if (begin < end)
        network->kernels->bias_gradient(dz + begin, rows, end - begin, out, bias_gradient + begin);
    profile_stop(network, start, l, MLP_PROFILE_BIAS_GRADIENT, (double)rows * out);
}

void mlp_network_layer_input_gradient(mlp_network *network, int l, int n) {
    mlp_gemm_problem input_gradient = input_gradient_problem(network, l, n);
    double start = profile_start(network);
    parallel_gemm(network, &input_gradient);
    profile_stop(network, start, l, MLP_PROFILE_INPUT_GRADIENT,
                 2.0 * input_gradient.m * input_gradient.n * input_gradient.k);
    if (mlp_network_dropout_on(network, l - 1)) mlp_network_dropout_backward(network, l - 1, n);
}

/* Layer l backward, given dZ_l in deltas[l+1]:
 *   dW_l     = A_{l-1}ᵀ · dZ_l                       (weight gradient; A_{-1} = the pixels)
 *   db_l     = column sums of dZ_l                     (bias gradient)
 *   dZ_{l-1} = (dZ_l · W_lᵀ) ⊙ act'(A_{l-1})           (input gradient, for l > 0)
 * The three read only dZ_l, W_l and A_{l-1}, so they run in one phase without barriers. */
static void dense_backward(mlp_network *network, int l, const uint8_t *input, int n) {
    mlp_network_layer_parameter_gradient(network, l, input, 0, n,
                                     network->gradients + network->model->weight_offset[l]);
    if (l > 0) mlp_network_layer_input_gradient(network, l, n);
}

void mlp_network_backward(mlp_network *network, const uint8_t *input, int n) {
    for (int l = network->model->layer_count - 1; l >= 0; l--) {
        dense_backward(network, l, input, n);
        mlp_team_barrier_wait(network->barrier);
    }
}

/* ---- update ---- */

void mlp_network_sgd_update(mlp_network *network, mlp_model *model, float learning_rate) {
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    int total = (int)model->parameter_count;
    int workers = total >= 65536 ? threads : 1, begin = 0, end = 0;
    double start = profile_start(network);
    if (thread < workers) mlp_parallel_range(total, 64, thread, workers, &begin, &end);
    if (begin < end)
        network->kernels->sgd_update(model->parameters + begin, network->gradients + begin,
                                     (size_t)(end - begin), learning_rate);
    profile_stop(network, start, 0, MLP_PROFILE_UPDATE, 2.0 * total);
    mlp_team_barrier_wait(network->barrier);
}

void mlp_network_optimizer_update(mlp_network *network, mlp_model *model, mlp_optimizer_state *optimizer,
                              float learning_rate) {
    if (!optimizer || mlp_optimizer_is_plain_sgd(&optimizer->options)) {
        mlp_network_sgd_update(network, model, learning_rate);
        return;
    }
    mlp_optimizer_step step;
    mlp_optimizer_step_prepare(&optimizer->options, learning_rate, optimizer->step + 1, &step);
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    int total = (int)model->parameter_count;
    int workers = total >= 32768 ? threads : 1, begin = 0, end = 0;
    double start = profile_start(network);
    if (thread < workers) mlp_parallel_range(total, 64, thread, workers, &begin, &end);
    if (begin < end)
        network->kernels->optimizer_update(&step, model->parameters + begin, network->gradients + begin,
                                           optimizer->moment1 ? optimizer->moment1 + begin : NULL,
                                           optimizer->moment2 ? optimizer->moment2 + begin : NULL,
                                           (size_t)(end - begin));
    profile_stop(network, start, 0, MLP_PROFILE_UPDATE, 10.0 * total);
    mlp_team_barrier_wait(network->barrier);
}

/* ---- owner computes: the owners' blocks of W ---- */

/* Aligned memory left untouched (no memset): a block's pages cost nothing until a split that
 * needs them copies W there. */
static float *untouched_floats(size_t count) {
    const size_t page = 4096, bytes = ((count ? count : 1) * sizeof(float) + page - 1) / page * page;
    return aligned_alloc(page, bytes);
}

int mlp_network_use_owner_blocks(mlp_network *network, mlp_error *error) {
    const char *setting = getenv("MLP_OWNER_BLOCKS");
    if (network->owner_blocks || network->threads < 2 || (setting && strcmp(setting, "0") == 0))
        return 0;
    const mlp_model *model = network->model;
    const int threads = network->threads;
    network->owner_blocks = calloc((size_t)model->layer_count * threads * OWNER_BLOCK_KINDS, sizeof(float *));
    int failed = !network->owner_blocks;
    /* any split fits: in × out each (a short batch may leave one owner with every column); the
     * moments' blocks are touched only when the optimizer has moments */
    for (int l = 0; !failed && l < model->layer_count; l++)
        for (int b = 0; b < threads * OWNER_BLOCK_KINDS; b++) {
            float *block = untouched_floats((size_t)model->sizes[l] * model->sizes[l + 1]);
            network->owner_blocks[(size_t)l * threads * OWNER_BLOCK_KINDS + b] = block;
            failed |= !block;
        }
    if (failed) return mlp_error_set(error, "network: out of memory for the owners' blocks of W");
    network->owner_blocks_valid = 0;
    return 0;
}

/* Owner `owner`'s columns [begin, end) of layer l in a step of n rows, and its blocks of them
 * (OWNER_BLOCK_KINDS of them: W, m, v). */
static float **owner_block(const mlp_network *network, int l, int n, int owner, int *begin, int *end) {
    mlp_network_layer_columns(network->model, l, n, owner, omp_get_num_threads(),
                              network->min_flops_per_thread, begin, end);
    return network->owner_blocks + ((size_t)l * network->threads + owner) * OWNER_BLOCK_KINDS;
}

/* Copies W[:, begin:end) (ld out) to or from a block (ld end - begin). */
static void copy_columns(float *columns, int ld, float *block, int rows, int begin, int end,
                         int to_block) {
    const size_t width = (size_t)(end - begin) * sizeof(float);
    for (int i = 0; i < rows && begin < end; i++) {
        float *row = columns + (size_t)i * ld + begin, *block_row = block + (size_t)i * (end - begin);
        memcpy(to_block ? block_row : row, to_block ? row : block_row, width);
    }
}

/* Each owner copies its columns of every layer's W, and of the optimizer's moments of W when it
 * has them (network->owner_blocks_optimizer), between the model and its blocks. */
static void copy_owner_blocks(mlp_network *network, int n, int to_blocks) {
    const mlp_model *model = network->model;
    const mlp_optimizer_state *optimizer = network->owner_blocks_optimizer;
    float *moments[2] = {optimizer ? optimizer->moment1 : NULL, optimizer ? optimizer->moment2 : NULL};
    for (int l = 0; l < model->layer_count; l++) {
        int begin, end;
        float **blocks = owner_block(network, l, n, omp_get_thread_num(), &begin, &end);
        copy_columns(mlp_model_weights(model, l), model->sizes[l + 1], blocks[OWNER_BLOCK_W],
                     model->sizes[l], begin, end, to_blocks);
        for (int s = 0; s < 2; s++)
            if (moments[s])
                copy_columns(moments[s] + model->weight_offset[l], model->sizes[l + 1],
                             blocks[OWNER_BLOCK_M + s], model->sizes[l], begin, end, to_blocks);
    }
}

void mlp_network_owner_blocks_flush(mlp_network *network) {
    if (!network->owner_blocks || !network->owner_blocks_valid) return;
    copy_owner_blocks(network, network->owner_blocks_rows, 0);
    mlp_team_barrier_wait(network->barrier);
    if (omp_get_thread_num() == 0) network->owner_blocks_valid = 0;
    mlp_team_barrier_wait(network->barrier);
}

/* Collective, at the start of a fused step of n rows with `optimizer`: each owner's blocks hold
 * its columns of every W and of their moments for this step's split (copied from the model and
 * the optimizer when they do not: the first step, a last batch of another size, another
 * optimizer state; after writing the old ones back). */
static void owner_blocks_prepare(mlp_network *network, int n, mlp_optimizer_state *optimizer) {
    if (!network->owner_blocks || omp_get_num_threads() != network->threads) return;
    if (network->owner_blocks_valid && network->owner_blocks_rows == n &&
        network->owner_blocks_optimizer == optimizer)
        return;
    mlp_network_owner_blocks_flush(network);
    if (omp_get_thread_num() == 0) network->owner_blocks_optimizer = optimizer;
    mlp_team_barrier_wait(network->barrier);
    copy_owner_blocks(network, n, 1);
    mlp_team_barrier_wait(network->barrier);
    if (omp_get_thread_num() == 0) {
        network->owner_blocks_valid = 1;
        network->owner_blocks_rows = n;
    }
    mlp_team_barrier_wait(network->barrier);
}

/* Whether this fused step of n rows keeps W in the owners' blocks. */
static int owner_blocks_in_use(const mlp_network *network, int n) {
    return network->owner_blocks && network->owner_blocks_valid && network->owner_blocks_rows == n &&
           omp_get_num_threads() == network->threads;
}

/* This thread's blocks of layer l when the step of n rows uses them, else NULL (W in place). */
static float **own_blocks(const mlp_network *network, int l, int n) {
    int begin, end;
    return owner_blocks_in_use(network, n) ? owner_block(network, l, n, omp_get_thread_num(), &begin, &end)
                                           : NULL;
}

/* ---- owner computes: the fused step ---- */

/* A thread that owns nothing in a phase copies rows of the next batch (network->next_batch)
 * while the owners compute: about as many as an owner's share of `whole` takes to compute
 * (MLP_NEXT_BATCH_FLOPS_PER_ROW). */
static void gather_next_rows(const mlp_network *network, const mlp_gemm_problem *whole) {
    mlp_next_batch *next = network->next_batch;
    if (!next || next->prefetch_only) return;
    int owners = mlp_parallel_gemm_workers(whole, omp_get_num_threads(), network->min_flops_per_thread);
    double owner_flops = 2.0 * whole->m * whole->n * whole->k / owners;
    int rows = (int)(owner_flops / MLP_NEXT_BATCH_FLOPS_PER_ROW) + 1, first;
#pragma omp atomic capture
    {
        first = next->claimed_rows;
        next->claimed_rows += rows;
    }
    if (first >= next->n) return;
    if (rows > next->n - first) rows = next->n - first;
    mlp_dataset_gather(next->data, next->examples + first, rows,
                       next->pixels + (size_t)first * next->data->features, next->targets + first);
}

/* A team of one (next_batch->prefetch_only): requests the next rows_per_call rows of the next
 * batch into the caches, for the gather after the step. */
static void prefetch_next_rows(const mlp_network *network) {
    mlp_next_batch *next = network->next_batch;
    int first = next->claimed_rows, rows = next->rows_per_call;
    if (first >= next->n) return;
    if (rows > next->n - first) rows = next->n - first;
    next->claimed_rows += rows;
    const size_t row_bytes = (size_t)next->data->features;
    for (int r = first; r < first + rows; r++) {
        const char *row = (const char *)next->data->pixels + (size_t)next->examples[r] * row_bytes;
        for (size_t byte = 0; byte < row_bytes; byte += 64) __builtin_prefetch(row + byte, 0, 3);
        __builtin_prefetch(row + row_bytes - 1, 0, 3);
    }
}

/* This thread's gemm of a column block [begin, end) of `whole`; when empty, rows of the next
 * batch instead (gather_next_rows); in a team of one, the next rows prefetched first. With
 * `blocks` (this thread's of the layer, owner_blocks), they stand for W's columns (B of the
 * forward, C of the update, ld end - begin) and for their moments in the update. */
static void owner_gemm(const mlp_network *network, const mlp_gemm_problem *whole, int begin,
                       int end, float *const *blocks) {
    if (begin >= end) {
        gather_next_rows(network, whole);
        return;
    }
    if (network->next_batch && network->next_batch->prefetch_only) prefetch_next_rows(network);
    mlp_gemm_problem part = *whole;
    part.n = end - begin;
    part.c += begin;
    part.b += whole->b_transposed ? (size_t)begin * whole->ldb : (size_t)begin;
    if (part.bias) part.bias += begin;
    if (part.activation_output) part.activation_output += begin;
    for (int s = 0; s < 2; s++)
        if (part.update.state[s]) part.update.state[s] += begin;
    if (blocks && whole->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        part.c = blocks[OWNER_BLOCK_W];
        part.ldc = end - begin;
        for (int s = 0; s < 2; s++)
            if (part.update.state[s]) {
                part.update.state[s] = blocks[OWNER_BLOCK_M + s];
                part.update.ld_state[s] = end - begin;
            }
    } else if (blocks) {
        part.b = blocks[OWNER_BLOCK_W];
        part.ldb = end - begin;
    }
    part.workspace = network->gemm_workspace + network->workspace_stride * omp_get_thread_num();
    network_gemm(network, &part);
}

/* This thread's slab of input_floats: the batch's pixels × 1/255 (owner-computes step). */
static float *thread_input_floats(const mlp_network *network) {
    return network->input_floats + network->input_floats_stride * (size_t)omp_get_thread_num();
}

/* Layer l forward, this thread's columns of A_l: A_l[:, mine] = act(A_{l-1} · W_l[:, mine] +
 * b_l[mine]). Reads all of A_{l-1} (the activations cross cores), only its own W_l columns. The
 * first layer's owners each scale the whole uint8 batch into their own slab first (one pass,
 * what the GEMM's packing would do twice, and no shared float copy to pull from the other core:
 * 784,128,64,10 on 2 threads, first-layer forward 242 -> 276 GFLOP/s at batch 64, 290 -> 330 at
 * batch 256, against one shared copy converted by rows). */
static void owned_forward(mlp_network *network, int l, const uint8_t *input, int n) {
    const mlp_model *model = network->model;
    int begin, end;
    mlp_network_layer_columns(model, l, n, omp_get_thread_num(), omp_get_num_threads(),
                              network->min_flops_per_thread, &begin, &end);
    float *pixels = thread_input_floats(network);
    double start = profile_start(network);
    if (l == 0 && begin < end)
        network->kernels->scale_bytes(input, pixels, (size_t)n * model->sizes[0], 1.0f / 255.0f);
    mlp_gemm_problem forward = forward_problem(network, l, n, l == 0 ? pixels : network->activations[l], NULL);
    owner_gemm(network, &forward, begin, end, own_blocks(network, l, n));
    profile_stop(network, start, l, MLP_PROFILE_FORWARD_GEMM, 2.0 * forward.m * forward.n * forward.k);
}

/* The input gradient's columns [begin, end) for this thread with W_l in its owners' blocks: the
 * GEMM cut along k at the owners' column ranges of layer l, each part reading rows begin..end
 * of one owner's block, the parts in k order, each continuing the last one's sums (accumulate;
 * partial but for the last): the whole GEMM's bits. */
static void input_gradient_from_blocks(const mlp_network *network, const mlp_gemm_problem *whole,
                                       int l, int n, int begin, int end) {
    const int threads = omp_get_num_threads();
    int first = -1, last = -1;
    for (int q = 0; q < threads; q++) {
        int b, e;
        owner_block(network, l, n, q, &b, &e);
        if (b < e && first < 0) first = q;
        if (b < e) last = q;
    }
    for (int q = first; q >= 0 && q <= last; q++) {
        int b, e;
        const float *block = owner_block(network, l, n, q, &b, &e)[OWNER_BLOCK_W];
        if (b >= e) continue;
        mlp_gemm_problem part = *whole;
        part.n = end - begin;
        part.k = e - b;
        part.a = whole->a + b;                        /* dZ_l's columns b .. e */
        part.b = block + (size_t)begin * (e - b);     /* W_l's rows begin .. end, columns b .. e */
        part.ldb = e - b;
        part.c = whole->c + begin;
        if (part.activation_output) part.activation_output += begin;
        part.accumulate = q > first;
        part.partial = q < last;
        part.workspace = network->gemm_workspace + network->workspace_stride * omp_get_thread_num();
        network_gemm(network, &part);
    }
}

/* Layer l > 0, the input gradient for this thread's columns of layer l-1:
 * dZ_{l-1}[:, mine] = (dZ_l · W_l[mine, :]ᵀ) ⊙ act'(A_{l-1}[:, mine]). Reads all of dZ_l and
 * whole rows of W_l (the other owners' columns too: W_l must not change until every thread is
 * past this). */
static void owned_input_gradient(mlp_network *network, int l, int n) {
    const mlp_model *model = network->model;
    int begin, end;
    mlp_network_layer_columns(model, l - 1, n, omp_get_thread_num(), omp_get_num_threads(),
                              network->min_flops_per_thread, &begin, &end);
    mlp_gemm_problem input_gradient = input_gradient_problem(network, l, n);
    double start = profile_start(network);
    if (begin < end && owner_blocks_in_use(network, n))
        input_gradient_from_blocks(network, &input_gradient, l, n, begin, end);
    else
        owner_gemm(network, &input_gradient, begin, end, NULL);
    profile_stop(network, start, l, MLP_PROFILE_INPUT_GRADIENT,
                 2.0 * input_gradient.m * input_gradient.n * input_gradient.k);
}

/* Layer l, this thread's columns: the weight gradient and its update in one GEMM (the gradient
 * never leaves the registers), then the bias's. With `step` NULL plain SGD at learning_rate:
 * W_l[:, mine] -= lr · A_{l-1}ᵀ · dZ_l[:, mine] and b_l[mine] -= lr · Σ_rows dZ_l[:, mine]
 * (bias_gradient_update). Otherwise the optimizer's rule with its moments in `optimizer`: the
 * GEMM's GEMM_UPDATE_OPTIMIZER epilogue for W_l, and for b_l the bias gradient of these columns
 * into network->gradients (bias_gradient over a column range: the same sums) then
 * optimizer_update on them, bitwise the unfused backward + optimizer_update. */
static void owned_parameter_update(mlp_network *network, mlp_model *model, int l, int n,
                                   float learning_rate, const mlp_optimizer_step *step,
                                   mlp_optimizer_state *optimizer) {
    int in = model->sizes[l], out = model->sizes[l + 1], begin, end;
    mlp_network_layer_columns(model, l, n, omp_get_thread_num(), omp_get_num_threads(),
                              network->min_flops_per_thread, &begin, &end);
    const float *dz = network->deltas[l + 1];
    mlp_gemm_problem update = {
        .m = in, .n = out, .k = n,
        .a = l == 0 ? thread_input_floats(network) : network->activations[l],
        .lda = in, .a_transposed = 1,
        .b = dz, .ldb = out,
        .c = mlp_model_weights(model, l), .ldc = out,
        .epilogue = MLP_GEMM_EPILOGUE_PARAMETER_UPDATE,
        .update = {.rule = MLP_GEMM_UPDATE_SGD, .learning_rate = learning_rate},
    };
    float *moments[2] = {optimizer ? optimizer->moment1 : NULL, optimizer ? optimizer->moment2 : NULL};
    if (step) {
        update.update.rule = MLP_GEMM_UPDATE_OPTIMIZER;
        update.update.step = *step;
        for (int s = 0; s < 2; s++) {
            update.update.state[s] = moments[s] ? moments[s] + model->weight_offset[l] : NULL;
            update.update.ld_state[s] = out;
        }
    }
    double start = profile_start(network);
    owner_gemm(network, &update, begin, end, own_blocks(network, l, n));
    profile_stop(network, start, l, MLP_PROFILE_WEIGHT_GRADIENT_UPDATE,
                 2.0 * update.m * update.n * update.k);
    start = profile_start(network);
    float *bias = mlp_model_biases(model, l) + begin;
    if (begin < end && !step) {
        network->kernels->bias_gradient_update(dz + begin, n, end - begin, out, bias, learning_rate);
    } else if (begin < end) {
        size_t offset = model->bias_offset[l] + (size_t)begin;
        float *gradient = network->gradients + offset;
        network->kernels->bias_gradient(dz + begin, n, end - begin, out, gradient);
        network->kernels->optimizer_update(step, bias, gradient, moments[0] ? moments[0] + offset : NULL,
                                           moments[1] ? moments[1] + offset : NULL, (size_t)(end - begin));
    }
    profile_stop(network, start, l, MLP_PROFILE_BIAS_GRADIENT_UPDATE, 2.0 * n * out);
}

void mlp_network_backward_update(mlp_network *network, mlp_model *model, int n, float learning_rate,
                                 mlp_optimizer_state *optimizer) {
    /* plain SGD keeps its own rule (sgd_update's bits); any other optimizer its step t */
    mlp_optimizer_step prepared, *step = NULL;
    if (optimizer && !mlp_optimizer_is_plain_sgd(&optimizer->options)) {
        mlp_optimizer_step_prepare(&optimizer->options, learning_rate, optimizer->step + 1, &prepared);
        step = &prepared;
    }
    for (int l = model->layer_count - 1; l >= 0; l--) {
        int masked = l > 0 && mlp_network_dropout_on(network, l - 1);
        if (l > 0) {
            owned_input_gradient(network, l, n);
            /* every thread's reads of W_l done (and dZ_{l-1} complete) before W_l changes */
            mlp_team_barrier_wait(network->barrier);
            /* dZ_{l-1} ⊙ the layer's dropout mask, by rows (the unfused pass's own function) */
            if (masked) mlp_network_dropout_backward(network, l - 1, n);
        }
        owned_parameter_update(network, model, l, n, learning_rate, step, optimizer);
        /* the masked dZ_{l-1} complete before layer l-1 reads its columns and rows */
        if (masked) {
            mlp_team_barrier_wait(network->barrier);
        }
    }
    /* the next step's forward and gather overwrite what the updates read */
    mlp_team_barrier_wait(network->barrier);
}

void mlp_network_forward_owned(mlp_network *network, const uint8_t *input, int n) {
    for (int l = 0; l < network->model->layer_count; l++) {
        owned_forward(network, l, input, n);
        mlp_team_barrier_wait(network->barrier);
        /* the dropout mask by rows (ends with a barrier), as network_forward applies it */
        if (mlp_network_dropout_on(network, l)) mlp_network_dropout_forward(network, l, n);
    }
}

double mlp_network_step(mlp_network *network, mlp_model *model, mlp_optimizer_state *optimizer,
                        const uint8_t *input, const uint8_t *targets, int n, float learning_rate) {
    if (!network->fused_update) {
        mlp_network_owner_blocks_flush(network); /* the unfused passes read W */
        mlp_network_forward(network, input, n);
        double cost = mlp_network_loss(network, targets, n, 1);
        mlp_network_backward(network, input, n);
        mlp_network_optimizer_update(network, model, optimizer, learning_rate);
        return cost;
    }
    owner_blocks_prepare(network, n, optimizer);
    mlp_network_forward_owned(network, input, n);
    double cost = mlp_network_loss(network, targets, n, 1);
    mlp_network_backward_update(network, model, n, learning_rate, optimizer);
    return cost;
}

double mlp_network_train_step(mlp_network *network, mlp_model *model, const uint8_t *input,
                          const uint8_t *targets, int n, float learning_rate) {
    double cost = 0.0;
#pragma omp parallel num_threads(mlp_network_useful_threads(network->model, n, network->threads, \
                                                            network->min_flops_per_thread))
    {
        double batch_cost = mlp_network_step(network, model, NULL, input, targets, n, learning_rate);
#pragma omp master
        cost = batch_cost;
    }
    return cost;
}
