/* The compute kernels and their dispatch table.
 *
 * Every numeric inner loop of training lives behind `mlp_kernel_table`: the network code in src/
 * never does arithmetic on whole tensors itself, it calls these functions. One table exists per
 * instruction set (scalar reference, avx2, avx512, neon); `mlp_kernels_select` picks one at run time.
 *
 * Contract shared by every variant (the tests check it):
 *  - No allocation, no I/O, no OpenMP inside a kernel. Scratch memory comes from the caller
 *    (`mlp_gemm_problem.workspace`, `gemm_workspace_floats` floats, 64-byte aligned).
 *  - Partition independence: the value written to C[i][j] depends only on row i of op(A),
 *    column j of op(B) and K, never on M, N, or where (i, j) sits inside a tile. The caller may
 *    split a GEMM into row or column blocks (one per thread) and get bitwise the same result.
 *  - Reductions over K run in increasing k (per accumulator lane), so a fixed variant is bitwise
 *    reproducible run to run.
 */
#ifndef MLP_KERNELS_H
#define MLP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlp_activation {
    MLP_ACTIVATION_NONE = 0, /* identity (used for the output logits) */
    MLP_ACTIVATION_RELU,     /* max(0, z)          derivative: y > 0        */
    MLP_ACTIVATION_SIGMOID,  /* 1 / (1 + exp(-z))  derivative: y (1 - y)    */
    MLP_ACTIVATION_TANH,     /* tanh(z)            derivative: 1 - y^2      */
} mlp_activation;

typedef enum mlp_gemm_epilogue {
    MLP_GEMM_EPILOGUE_NONE = 0,              /* C = op(A)·op(B)                                 */
    MLP_GEMM_EPILOGUE_BIAS_ACTIVATION,       /* C = act(op(A)·op(B) + bias)       forward layer */
    MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE, /* C = (op(A)·op(B)) ⊙ act'(Y)       backward layer:
                                            Y = activation outputs, C has Y's shape          */
    MLP_GEMM_EPILOGUE_PARAMETER_UPDATE,      /* C holds parameters W: W = rule(W, op(A)·op(B))
                                            weight gradient + optimizer step (gemm_update)   */
} mlp_gemm_epilogue;

/* One optimizer step for kernel_table.optimizer_update: PyTorch's update rules
 * (torch.optim.SGD with momentum / nesterov, Adam, AdamW; dampening 0, amsgrad off). The rule
 * and its constants; the step-dependent ones (bias corrections, AdamW's decay) are precomputed
 * by the caller in double (optimizer_step_prepare in include/mlp/optimizer.h). Per element, with
 * w = params[i], g = gradients[i], m = moment1[i], v = moment2[i], each operation rounded to
 * float in this order (every variant computes exactly these roundings, no FMA):
 *   SGD       g = g + λ·w;  w = w - lr·g
 *   MOMENTUM  g = g + λ·w;  m = μ·m + g;  w = w - lr·m
 *   NESTEROV  g = g + λ·w;  m = μ·m + g;  w = w - lr·(g + μ·m)
 *   ADAM      g = g + λ·w;  m = β1·m + (1-β1)·g;  v = β2·v + ((1-β2)·g)·g;
 *             w = w·decay - step_size·(m / (sqrt(v) / bias_correction2_sqrt + eps))
 *   ADAMW     the same with λ = 0 in g and decay = 1 - lr·λ (decoupled weight decay)
 * Moments start at 0 (PyTorch's first momentum step sets m = g: μ·0 + g is the same).
 * Plain SGD without weight decay is sgd_update, which a run keeps using (its exact bits). */
typedef enum mlp_optimizer_rule {
    MLP_OPTIMIZER_RULE_SGD = 0, /* same values as mlp_optimizer (include/mlp/recipe.h) */
    MLP_OPTIMIZER_RULE_MOMENTUM,
    MLP_OPTIMIZER_RULE_NESTEROV,
    MLP_OPTIMIZER_RULE_ADAM,
    MLP_OPTIMIZER_RULE_ADAMW,
} mlp_optimizer_rule;

typedef struct mlp_optimizer_step {
    mlp_optimizer_rule rule;
    float learning_rate;         /* lr of this step (after the schedule)                     */
    float weight_decay;          /* λ added to the gradient (0 for ADAMW, which uses decay)  */
    float momentum;              /* μ: MOMENTUM, NESTEROV                                     */
    float beta1, beta2, eps;     /* ADAM, ADAMW                                               */
    float one_minus_beta1;       /* 1 - β1, 1 - β2 (rounded once, from double)                */
    float one_minus_beta2;
    float step_size;             /* lr / (1 - β1^t) at step t (1-based)                       */
    float bias_correction2_sqrt; /* sqrt(1 - β2^t)                                            */
    float decay;                 /* ADAM: 1; ADAMW: 1 - lr·λ                                  */
} mlp_optimizer_step;

/* The optimizer rule of GEMM_EPILOGUE_PARAMETER_UPDATE. With P = op(A)·op(B) the gradient
 * block (every P(i,j) the same float the unfused GEMM would have stored), each rule writes
 * exactly what its unfused kernel writes from a stored gradient, operation by operation (no
 * FMA contraction: the multiply and the subtraction round separately):
 *   GEMM_UPDATE_SGD        W(i,j) = W(i,j) - (learning_rate · P(i,j))    (table->sgd_update)
 *   GEMM_UPDATE_OPTIMIZER  W(i,j), m(i,j), v(i,j) = what table->optimizer_update(&step, ...)
 *                          writes for parameter W(i,j), gradient P(i,j) and moments m(i,j),
 *                          v(i,j): any rule of optimizer_step (SGD with weight decay,
 *                          momentum, Nesterov, Adam, AdamW) with its constants and bias
 *                          corrections, prepared once per step (optimizer_step_prepare).
 * Each variant computes both from one inline function per ISA shared with its unfused kernel
 * (kernels/<isa>/optimizer_<isa>.h; scalar calls optimizer_update_scalar per element), so the
 * fused and unfused steps cannot drift apart. An unknown rule leaves W untouched. */
typedef enum mlp_gemm_update_rule {
    MLP_GEMM_UPDATE_SGD = 0,
    MLP_GEMM_UPDATE_OPTIMIZER,
    MLP_GEMM_UPDATE_RULE_COUNT
} mlp_gemm_update_rule;

typedef struct mlp_gemm_update {
    mlp_gemm_update_rule rule;
    float learning_rate;     /* GEMM_UPDATE_SGD                                              */
    mlp_optimizer_step step; /* GEMM_UPDATE_OPTIMIZER: the rule and its constants            */
    /* Per-parameter state, m×n like C: element (i,j) at state[s][i*ld_state[s] + j]; state[0]
     * the first moment (velocity) m for every rule but SGD, state[1] the second moment v for
     * Adam and AdamW, NULL where the rule has none. A caller that cuts the GEMM into blocks
     * offsets these with C (parallel_gemm_part does). */
    float *state[2];
    int ld_state[2];
} mlp_gemm_update;

/* The cache blocking of a GEMM (kernels/gemm_driver.h): kc, the depth of the k slices; mc and
 * nc, the row and column block sizes. A measured plan (include/mlp/plan.h) derives it from the
 * cache sizes; 0 in a field means the variant's own constant. Never changes the results. */
typedef struct mlp_gemm_blocking {
    int kc, mc, nc;
} mlp_gemm_blocking;

/* One GEMM: C[m×n] = op(A)[m×k] · op(B)[k×n], followed by an epilogue. Row-major storage.
 * The three forms training needs:
 *   forward          Z  = X · W        A = X  [batch×in],               B = W  [in×out]
 *   weight gradient  dW = Xᵀ · dZ      A = X  stored [batch×in], a_transposed, B = dZ [batch×out]
 *   input gradient   dX = dZ · Wᵀ      A = dZ [batch×out],              B = W stored [in×out], b_transposed
 *   fused update     W -= lr·Xᵀ·dZ     the weight gradient's A and B, C = W, GEMM_EPILOGUE_PARAMETER_UPDATE
 */
typedef struct mlp_gemm_problem {
    int m, n, k;

    /* A, logical m×k. Not transposed: element (i,p) at a[i*lda + p]; transposed: a[p*lda + i].
     * When a_u8 is non-NULL it is read instead of a, each byte multiplied by a_scale (the first
     * layer reads uint8 pixels and scales them by 1/255 while packing). */
    const float *a;
    const uint8_t *a_u8;
    float a_scale;
    int lda;
    int a_transposed;

    /* B, logical k×n. Not transposed: element (p,j) at b[p*ldb + j]; transposed: b[j*ldb + p]. */
    const float *b;
    int ldb;
    int b_transposed;

    /* C, m×n, element (i,j) at c[i*ldc + j]. Overwritten (never accumulated into, except by a
     * part of a GEMM cut along k: accumulate below). */
    float *c;
    int ldc;

    mlp_gemm_epilogue epilogue;
    mlp_activation activation;   /* for both epilogues                                   */
    const float *bias;           /* n floats, GEMM_EPILOGUE_BIAS_ACTIVATION              */
    const float *activation_output; /* Y, m×n, GEMM_EPILOGUE_ACTIVATION_DERIVATIVE        */
    int ld_activation_output;
    /* GEMM_EPILOGUE_PARAMETER_UPDATE: the rule. C is then read and written once, on the last
     * k slice (the partial sums of earlier slices go to the workspace, never to C), so the
     * gradient never reaches memory. */
    mlp_gemm_update update;

    float *workspace; /* at least table->gemm_workspace_floats floats, 64-byte aligned */

    /* A GEMM cut along k into parts run one after another (the owner-computes input gradient
     * reads W in its owners' blocks, include/mlp/network.h): accumulate = 1, C holds the float
     * sums of the k before this part and the sums continue from them; partial = 1, more k
     * follows, C gets the plain sums and no epilogue. Each element's chain of operations is then
     * the one of the whole GEMM (a float stored and reloaded is exact), so the parts give its
     * bits, as the driver's own k slices do; a BF16 GEMM's parts must start at even k (its pairs
     * of k). Not with GEMM_EPILOGUE_PARAMETER_UPDATE. Both 0: the whole GEMM. */
    int accumulate, partial;

    /* The blocking to run with ({0, 0, 0}: the variant's constants). Each field is clamped to
     * the variant's constant, which sizes gemm_workspace_floats, and rounded to what the tiles
     * need (gemm_blocking_for in kernels/gemm_driver.h), so any value is safe. */
    mlp_gemm_blocking blocking;
} mlp_gemm_problem;


/* The arithmetic of a BF16 dot-product step (mlp_kernel_table.bf16_dot). */
typedef enum mlp_bf16_dot {
    MLP_BF16_DOT_VDPBF16PS = 0, /* x86 AVX512_BF16 VDPBF16PS: fused, round to nearest even    */
    MLP_BF16_DOT_BFDOT,         /* Arm BFDOT (FPCR.EBF = 0): unfused, round to odd           */
} mlp_bf16_dot;

typedef struct mlp_kernel_table {
    const char *name; /* as in kernels/variants.def: "scalar", "avx2", "avx512", "neon", ... */

    /* Floats of scratch space one gemm() call needs (packing buffers), whatever the shape. */
    size_t gemm_workspace_floats;

    void (*gemm)(const mlp_gemm_problem *problem);
    /* The same GEMM in BF16 (--precision bf16): op(A) and op(B) rounded to BF16 while packed
     * (mlp_bf16_round), their products summed in float in pairs of k (p even, an odd K's last
     * pair padded with +0 · +0), the pairs in increasing k, each pair's step the one of
     * bf16_dot below: VDPBF16PS's (x86) or BFDOT's (Arm), which are different arithmetics, so
     * a BF16 GEMM's bits depend on the instruction set (FP32 gemm's do not). The epilogue runs
     * in float, exactly as gemm's. Workspace: at most gemm_workspace_floats floats. Partition
     * independence as gemm. NULL where the variant has no BF16 GEMM. scalar's
     * (gemm_bf16_scalar, VDPBF16PS's steps) and gemm_bf16_scalar_bfdot (BFDOT's, in
     * kernels/scalar/gemm_scalar.c) are the references the SIMD ones are tested against, bit
     * for bit; the scalar one is never chosen for training automatically
     * (mlp_kernels_best_for). */
    void (*gemm_bf16)(const mlp_gemm_problem *problem);
    /* The step gemm_bf16 takes per pair (s: the float sum; a, b: the pair's BF16 operands):
     *   MLP_BF16_DOT_VDPBF16PS (x86 AVX512_BF16; scalar, avx512_bf16):
     *     s = (s + A(i,p+1)·B(p+1,j)) + A(i,p)·B(p,j), odd element first, each step a fused
     *     multiply-add (the exact product added with one rounding to nearest even), denormal
     *     inputs and each step's denormal result flushed to signed zero (a denormal product is
     *     not flushed before it is added).
     *   MLP_BF16_DOT_BFDOT (Arm FEAT_BF16 BFDOT with FPCR.EBF = 0, Linux's setting; neon_bf16):
     *     s = s + (A(i,p)·B(p,j) + A(i,p+1)·B(p+1,j)): both products, their sum and the
     *     accumulation each rounded to odd (the exact result truncated toward zero, its last
     *     bit set when inexact; beyond FLT_MAX's range: infinity), results below FLT_MIN in
     *     magnitude (denormal products included) flushed to signed zero, NaN results the
     *     default NaN. FPCR's rounding mode and flush bits are ignored. */
    mlp_bf16_dot bf16_dot;

    /* c[i][j] += bias[j] for an m×n block. */
    void (*bias_add)(float *c, int m, int n, int ldc, const float *bias);
    /* bias_gradient[j] = sum over i (in increasing i) of dz[i][j]. */
    void (*bias_gradient)(const float *dz, int m, int n, int ld, float *bias_gradient);

    /* y = f(x) elementwise; x and y may alias. */
    void (*relu_forward)(const float *x, float *y, size_t count);
    void (*sigmoid_forward)(const float *x, float *y, size_t count);
    void (*tanh_forward)(const float *x, float *y, size_t count);
    /* dx = dy ⊙ f'(from y, the forward output); dx may alias dy. */
    void (*relu_backward)(const float *y, const float *dy, float *dx, size_t count);
    void (*sigmoid_backward)(const float *y, const float *dy, float *dx, size_t count);
    void (*tanh_backward)(const float *y, const float *dy, float *dx, size_t count);

    /* Fused, numerically stable softmax + categorical cross-entropy over `rows` rows of
     * `classes` logits: p = exp(z - max) / sum, row_loss[i] = log(sum exp(z - max)) - (z[y] - max).
     * probabilities (may be NULL, may alias logits) receive p. When logit_gradient is non-NULL
     * it receives (p - onehot(label)) * gradient_scale (the gradient of the mean cost when
     * gradient_scale = 1/batch). row_loss may be NULL. */
    void (*softmax_cross_entropy)(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities, int ld_probabilities,
                                  float *row_loss, float *logit_gradient, int ld_gradient,
                                  float gradient_scale);

    /* params[i] -= learning_rate * gradients[i] */
    void (*sgd_update)(float *params, const float *gradients, size_t count, float learning_rate);
    /* y[i] = (float)x[i] · scale: one rounded multiply, so bitwise what the GEMM's uint8 A
     * path computes while packing (the first layer's pixels, converted once per step). */
    void (*scale_bytes)(const uint8_t *x, float *y, size_t count, float scale);

    /* The bias gradient and its SGD step in one pass (the fused update's bias half):
     * bias[j] = bias[j] - (learning_rate · Σ_i dz[i][j]), the sum exactly bias_gradient's, so
     * bitwise bias_gradient followed by sgd_update. */
    void (*bias_gradient_update)(const float *dz, int m, int n, int ld, float *bias,
                                 float learning_rate);

    /* One step of the optimizer `step` over count elements (see optimizer_step): params and
     * gradients always; moment1 (m) for MOMENTUM, NESTEROV, ADAM, ADAMW; moment2 (v) for ADAM
     * and ADAMW (NULL where unused). Elementwise: any split of the range gives the same bits. */
    void (*optimizer_update)(const mlp_optimizer_step *step, float *params, const float *gradients,
                             float *moment1, float *moment2, size_t count);

    /* The GEMM's parts, for the kernel tests and bench (kernels/gemm_driver.h defines it): the
     * blocking driver, i.e. the tile set and thresholds gemm_plan_choose reads, a way to run a
     * given plan, and every micro-kernel by name. NULL where gemm is not built on the driver
     * (scalar). */
    const struct gemm_driver *gemm_driver;

    /* The variant's FMA-peak loop (kernels/<name>/fma_peak_<name>.c): `rounds` rounds of
     * independent multiply-add chains, enough of them to be bound by the FMA throughput rather
     * than its latency; returns the floating-point operations done (2 per lane per multiply-add).
     * The plan (include/mlp/plan.h) and bench time it for the per-core peak. fma_peak_loop
     * describes it ("zmm_fma_12chains"). avx512_bf16's is its VDPBF16PS loop and neon_bf16's
     * its BFDOT loop (4 flops per lane; VDPBF16PS about 1.8x the zmm FMA peak): a plan made for
     * them sees that peak. */
    double (*fma_peak)(long rounds);
    const char *fma_peak_loop;
} mlp_kernel_table;

/* ---- dispatch (kernels/dispatch.c) ---- */

/* CPU features as bits of cpu_features.mask. A variant's required features are such a mask
 * (kernels/variants.def); it runs where (required & mask) == required. OS_YMM / OS_ZMM: the OS
 * saves that register state (XGETBV), which the instructions need besides CPUID's bits. */
enum {
    MLP_CPU_SSE2 = 1u << 0,
    MLP_CPU_AVX = 1u << 1,
    MLP_CPU_AVX2 = 1u << 2,
    MLP_CPU_FMA = 1u << 3,
    MLP_CPU_AVX512F = 1u << 4,
    MLP_CPU_AVX512BW = 1u << 5,
    MLP_CPU_AVX512VL = 1u << 6,
    MLP_CPU_AVX512DQ = 1u << 7,
    MLP_CPU_OS_YMM = 1u << 8,
    MLP_CPU_OS_ZMM = 1u << 9,
    MLP_CPU_NEON = 1u << 10,
    MLP_CPU_AVX512_BF16 = 1u << 11, /* VDPBF16PS, VCVTNE2PS2BF16: CPUID 7.1 EAX bit 5         */
    MLP_CPU_NEON_BF16 = 1u << 12,   /* BFDOT, BFCVT (FEAT_BF16): AT_HWCAP2 HWCAP2_BF16         */
};

typedef struct mlp_cpu_features {
    int sse2, avx, avx2, fma, avx512f, avx512bw, avx512vl, avx512dq, os_saves_ymm, os_saves_zmm;
    int neon;
    int avx512_bf16, neon_bf16;
    unsigned mask;  /* the same, as MLP_CPU_* bits */
    char model[64]; /* CPU brand string, or "" */
} mlp_cpu_features;

/* One entry of kernels/variants.def. */
typedef struct mlp_kernel_variant {
    const char *name;
    unsigned required_cpu_features; /* MLP_CPU_* bits */
    const mlp_kernel_table *table;      /* NULL: not built into this binary (another arch) */
} mlp_kernel_variant;

const mlp_cpu_features *mlp_kernels_cpu_features(void);

/* Every variant of the registry (kernels/variants.def), compiled in or not, in its order. */
const mlp_kernel_variant *mlp_kernels_variants(int *count);
/* "auto|scalar|avx2|...": the --kernel / MLP_KERNEL choices, every variant of the registry. */
const char *mlp_kernels_variant_choices(void);
/* Whether this CPU has every feature in `required` (MLP_CPU_* bits); when not, *reason (if
 * non-NULL) names the missing ones (valid until this thread's next call). */
int mlp_kernels_cpu_supports(unsigned required, const char **reason);
/* All variants compiled into this binary, best last; *count receives how many. */
const mlp_kernel_table *const *mlp_kernels_compiled(int *count);
/* Whether this CPU can run the variant (its required features, kernels_cpu_supports); when
 * not, *reason (if non-NULL) says why. */
int mlp_kernels_supported(const mlp_kernel_table *table, const char **reason);
/* The best supported variant. */
const mlp_kernel_table *mlp_kernels_best(void);

/* The arithmetic of the GEMMs of training (--precision). BF16: operands rounded to BF16,
 * products summed in float (table->gemm_bf16); everything else stays float. */
typedef enum mlp_precision {
    MLP_PRECISION_FP32 = 0,
    MLP_PRECISION_BF16,
} mlp_precision;

/* The best supported variant for `precision`: FP32, mlp_kernels_best(); BF16, the last
 * supported variant with a gemm_bf16 of its own instructions (the scalar reference does not
 * count: there is no emulated BF16 training). NULL when there is none; *reason (if non-NULL)
 * then says why. */
const mlp_kernel_table *mlp_kernels_best_for(mlp_precision precision, const char **reason);

/* x rounded to the nearest BF16 (ties to even), as the float it stands for: the upper 16 bits
 * of a float. Denormals become signed zero, NaN stays NaN (quieted): VCVTNE2PS2BF16's rule
 * (checked bit for bit against it on Zen 5). */
static inline float mlp_bf16_round(float x) {
    union { float f; uint32_t u; } v = {x};
    if ((v.u & 0x7f800000u) == 0) v.u &= 0x80000000u;             /* denormal, zero */
    else if ((v.u & 0x7f800000u) == 0x7f800000u) { if (v.u & 0x7fffffu) v.u |= 0x400000u; } /* NaN, inf */
    else v.u += 0x7fffu + ((v.u >> 16) & 1u);                    /* round to nearest even */
    v.u &= 0xffff0000u;
    return v.f;
}
/* By name (kernels_variants); NULL and an explanation in error when unknown
 * or unsupported here. name NULL or "" or "auto": MLP_KERNEL from the environment if set, else
 * the best. */
const mlp_kernel_table *mlp_kernels_select(const char *name, char *error, size_t error_size);
/* By name without checking support (tests use it to report skips). NULL when not compiled in. */
const mlp_kernel_table *mlp_kernels_find(const char *name);

/* Applies an activation (forward) through the table's per-activation functions. */
void mlp_kernels_activation_forward(const mlp_kernel_table *table, mlp_activation activation,
                                const float *x, float *y, size_t count);
void mlp_kernels_activation_backward(const mlp_kernel_table *table, mlp_activation activation,
                                 const float *y, const float *dy, float *dx, size_t count);

#ifdef __cplusplus
}
#endif
#endif
