/* Maximum errors of the vectorised activations (kernels/avx2, kernels/avx512), against the exact
 * function evaluated in double precision, over all finite float inputs. The kernel tests include
 * this header and check each variant against these bounds; the scalar reference (libm expf and
 * tanhf) is well inside them.
 *
 * Each bound is the measured maximum (in parentheses) rounded up with a margin, measured over a
 * dense sweep of [-100, 100], of [-1, 1] and 500,000 random finite floats:
 *   sigmoid  absolute error everywhere (8.9e-8); relative error for x > -87 (1.9e-7); below -87
 *            the true value is under 2^-126 and the kernels return about 1e-38 instead
 *   tanh     absolute error everywhere (7.9e-8); relative error (1.4e-7) for |x| >= 1e-30
 *   softmax  probabilities: absolute error (1.8e-7); per-row loss: error / (1 + |loss|) (6.2e-8),
 *            for logits spread within ±30 and up to 40 classes
 * The internal vector exp has a relative error of about 2 ulp inside its clamp range.
 */
#ifndef MLP_ACTIVATION_ERROR_BOUNDS_H
#define MLP_ACTIVATION_ERROR_BOUNDS_H

#define MLP_SIGMOID_MAX_ABS_ERROR 2e-7f
#define MLP_SIGMOID_MAX_REL_ERROR 4e-7f
#define MLP_TANH_MAX_ABS_ERROR 2e-7f
#define MLP_TANH_MAX_REL_ERROR 4e-7f
#define MLP_SOFTMAX_MAX_ABS_ERROR 4e-7f
#define MLP_CROSS_ENTROPY_MAX_REL_ERROR 3e-7f /* |error| <= this · (1 + |loss|) */

#endif
