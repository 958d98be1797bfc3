/* The NEON BF16 kernel variant (AArch64 with FEAT_BF16, compiled with -march=armv8.2-a+bf16):
 * its FP32 entries are neon's functions, its own code is the BF16 GEMM (gemm_neon_bf16.c). */
#ifndef MLP_NEON_BF16_KERNELS_H
#define MLP_NEON_BF16_KERNELS_H

#include "neon/neon_kernels.h"

/* BF16 GEMM blocking, in elements of k, rows and columns (the driver's units; a packed k-pair
 * takes the room of one float, so the packed blocks fill half of what these sizes reserve).
 * KC is a multiple of 8 and gemm_slice_depth rounds slices to multiples of 8, so a k-pair
 * never straddles two slices. In bytes the panels are those of neon's FP32 blocking at twice
 * the depth: KC = 512 (K = 784 in two slices of 392, 1024 in two of 512) makes an 8-row A
 * panel 8 KiB and a 12-column B panel 12 KiB (L1), a 240-column B block 240 KiB (L2); MC and
 * NC are what neon's workspace (the table's gemm_workspace_floats, checked in
 * neon_bf16_table.c) leaves. Not measured: no AArch64 CPU with BF16 was at hand, and qemu's
 * timings say nothing about one. */
#define GEMM_NEON_BF16_KC 512
#define GEMM_NEON_BF16_MC 64
#define GEMM_NEON_BF16_NC 240

void gemm_neon_bf16(const mlp_gemm_problem *problem);

#endif
