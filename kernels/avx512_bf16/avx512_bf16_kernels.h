/* The AVX-512 BF16 kernel variant (avx512's flags plus -mavx512bf16): its FP32 entries are
 * avx512's functions, its own code is the BF16 GEMM (gemm_avx512_bf16.c). */
#ifndef MLP_AVX512_BF16_KERNELS_H
#define MLP_AVX512_BF16_KERNELS_H

#include "avx512/avx512_kernels.h"

/* BF16 GEMM blocking, in elements of k, rows and columns (the driver's units; a packed k-pair
 * takes the room of one float, so the packed blocks fill half of what these sizes reserve).
 * KC is a multiple of 8 and gemm_slice_depth rounds slices to multiples of 8, so a k-pair
 * never straddles two slices. KC = 1024 keeps every K of the MLPs (784, 1024) in one slice:
 * no partial sums through C; a 1024-deep B panel of 48 columns is 96 KiB of pairs (L2), an
 * 8-row A panel 16 KiB. MC and NC are then as large as the workspace allows: the table's
 * gemm_workspace_floats is avx512's (checked in avx512_bf16_table.c), and NC = 656 holds the
 * 600 columns of 784 -> 600 in one block. Measured on Zen 5 (2026-12-02, load 9-10 on 2
 * cores, GFLOP/s medians of 3, forward / weight gradient / input gradient 784 -> 600 batch
 * 256): KC 512 MC 256 NC 1024: 292 / 329 / 321; KC 1024 MC 128 NC 656: 335 / 348 / 314 and
 * 328 / 338 / 338; KC 1024 MC 64 NC 752: 317 / 344 / 336; KC 256: 285 / 320 / 303. */
#define GEMM_AVX512_BF16_KC 1024
#define GEMM_AVX512_BF16_MC 128
#define GEMM_AVX512_BF16_NC 656

void gemm_avx512_bf16(const mlp_gemm_problem *problem);

#endif
