/* The AVX-512 BF16 kernel variant (avx512's flags plus -mavx512bf16): its FP32 entries are
 * avx512's functions, its own code is the BF16 GEMM (gemm_avx512_bf16.c). */
#ifndef MLP_AVX512_BF16_KERNELS_H
#define MLP_AVX512_BF16_KERNELS_H

#include "avx512/avx512_kernels.h"

/* BF16 GEMM blocking, in elements of k, rows and columns (the driver's units; a packed k-pair
 * takes the room of one float, so the packed blocks fill half of what these sizes reserve).
 * KC is a multiple of 8 and gemm_slice_depth rounds slices to multiples of 8, so a k-pair
 * never straddles two slices. The workspace these need must fit in avx512's (the table's
 * gemm_workspace_floats; checked in avx512_bf16_table.c). */
#define GEMM_AVX512_BF16_KC 512
#define GEMM_AVX512_BF16_MC 256
#define GEMM_AVX512_BF16_NC 1024

void gemm_avx512_bf16(const mlp_gemm_problem *problem);

#endif
