/* ISA-independent GEMM driver: BLIS-style blocking loops and operand packing around a SIMD
 * micro-kernel. Header of static inline functions, included by each ISA's gemm file so the
 * packing loops compile with that ISA's flags.
 *
 * Interface (for kernels/<isa>/gemm_<isa>.c):
 *   - Write micro-kernels `void micro(const gemm_tile *tile)`. A micro-kernel computes an
 *     MR × (vectors·W) block of C, W = floats per SIMD register, MR and W fixed per ISA and
 *     one micro-kernel per vector count 1..max_vectors (so narrow N does not pay for a full
 *     tile). It must:
 *       * start each sum at 0 (continue_sums = 0) or at the value in C (continue_sums = 1),
 *       * add A(r,p)·B(p,c) with one fused multiply-add per p, p = 0, 1, ..., k-1 in order,
 *         for every (r, c) alike (this gives partition independence: the driver's blocking and
 *         the tile position never change the FMA sequence of an element),
 *       * read row r of A as row min(r, rows - 1) (rows past the edge of C may not exist:
 *         the tile computes a copy of the last row there and does not store it), read B
 *         either as full vectors (the driver then hands ragged panels zero-padded) or, when
 *         gemm_driver.masked_b_loads, under the column mask, and store only rows
 *         < tile->rows, columns < tile->cols (masked stores),
 *       * when tile->finish, apply the epilogue (bias + activation, or ⊙ activation'(Y)) to
 *         the sums before storing; otherwise store the plain partial sums. The parameter
 *         update epilogue (GEMM_EPILOGUE_PARAMETER_UPDATE) stores nothing to tile->c on the
 *         last slice: it reads the parameters W at tile->w, applies tile->update's rule to
 *         W and the sums (the gradient) with exactly the unfused kernel's operations, and
 *         writes W back there (every ISA's helper: update_parameters_<isa>).
 *   - Optionally: tall (2·MR-row) tiles for narrow panels, a narrow path for N <= a few
 *     columns (tiles vectorised along M instead of N), and faster packing routines; see the
 *     fields of gemm_driver. All follow the rules above, so any mix gives the same bits.
 *   - Fill a gemm_driver (tile sizes, blocking, micro-kernels, their named list) and call
 *     gemm_driver_run(), which runs the plan gemm_plan_choose() makes for the problem.
 *     Workspace: GEMM_DRIVER_WORKSPACE_FLOATS of the blocking (the table's
 *     gemm_workspace_floats), from problem->workspace.
 *     A new ISA (NEON: W = 4) can start with micro_kernels only and leave the rest NULL.
 *
 * Why the blocking never changes results: a slice's sums are stored to C as floats and
 * reloaded exactly by the next slice, so every element is the same chain of FMAs from 0 in
 * k order however K, M and N are split. With the parameter update epilogue C holds the
 * parameters, so a K deeper than one slice keeps its partial sums in the workspace instead
 * (an MC × NC block, the slices innermost: gemm_slices_innermost); the chain is the same.
 *
 * Blocking: for each NC-wide column block and each k slice (K split evenly into slices of at
 * most KC, see gemm_slice_depth), for each MC-tall row block: pack A into MR-tall panels (or
 * read A in place), then run the micro-kernel over the block's tiles, column panel outer, row
 * panel inner, so one B panel (KC × NR) stays close (L1/L2) while A panels (MC × KC, in L2)
 * stream past it. B's panels (when packed) are packed by the first row block just before
 * their first use, while that block's tiles prefetch the next panel's source (1024 -> 1024
 * forward at batch 64: 85 -> 95 GFLOP/s avx2, 87 -> 100 avx512, against packing the whole
 * slice first), into their places in the KC × NC block when later row blocks read them, else
 * each into the first panel's place (gemm_b_panels).
 * KC, MC and NC are the driver's constants (kc, mc, nc), or less where the problem asks for a
 * blocking (mlp_gemm_problem.blocking, from the plan of include/mlp/plan.h: the B panel in L1,
 * the A block in L2, the B block in L3); the constants size the workspace and bound any plan.
 *
 * Packing is skipped where reading the operand in place is as good: plain float A is read in
 * place, with strides, by the micro-kernel (its MR rows are reused from L1/L2 across the
 * column panels), transposed float A too unless N is wide (pack_transposed_a_min_columns),
 * and plain B when M is small (a B panel then serves few row tiles). Operands whose rows are
 * 4 KiB apart (gemm_rows_alias), uint8 A (scaled while packing; the column tiles excepted)
 * and transposed B are always packed. A ragged last B panel read in place is copied
 * zero-padded into a small edge panel unless the micro-kernel masks its B loads.
 */
#ifndef MLP_GEMM_DRIVER_H
#define MLP_GEMM_DRIVER_H

#include <stddef.h>

#include "mlp/kernels.h"

/* One micro-kernel call: an MR × (vectors·W) tile of C over one KC slice. */
typedef struct gemm_tile {
    int k;                     /* depth of this slice (0 when K = 0)                       */
    const float *a;            /* op(A)(r, p) at a[r * a_row_stride + p * a_k_stride]      */
    ptrdiff_t a_row_stride, a_k_stride;
    const float *b;            /* op(B)(p, c) at b[p * b_k_stride + c * b_column_stride]   */
    ptrdiff_t b_k_stride;
    ptrdiff_t b_column_stride; /* 1, except in narrow tiles (B read in place, any form)   */
    float *c;                  /* C(r, c) at c[r * ldc + c]                                */
    ptrdiff_t ldc;
    int rows, cols;            /* the part of the tile inside C                            */
    int continue_sums;         /* 1: sums start from C (not the first slice)               */
    int finish;                /* 1: last slice, apply the epilogue                        */
    mlp_gemm_epilogue epilogue;
    mlp_activation activation;
    const float *bias;         /* bias of the tile's column 0, or NULL                     */
    const float *y;            /* Y(r, c) at y[r * ldy + c] (activation-derivative epilogue) */
    ptrdiff_t ldy;
    /* GEMM_EPILOGUE_PARAMETER_UPDATE: the rule, and the tile's parameters W(r, c) at
     * w[r * ldw + c], read and written on the last slice (tile->c then holds only the partial
     * sums of earlier slices). row0, col0: the tile's origin in the problem's C, where the
     * rule's state arrays (update->state) are indexed. */
    const mlp_gemm_update *update;
    float *w;
    ptrdiff_t ldw;
    int row0, col0;
    ptrdiff_t a_group_stride;  /* column tiles: from one W-row group of A to the next       */
    const uint8_t *a_u8;       /* column tiles: uint8 A read in place (then a is NULL), each */
    float a_scale;             /* byte times a_scale, as the packing would have scaled it    */
} gemm_tile;

typedef void (*gemm_micro_kernel)(const gemm_tile *tile);

/* The update rule's state s (0: m, 1: v) of the tile's element (r, c), or NULL where the rule
 * has none: the arrays are indexed from the problem's C origin (tile->row0, tile->col0). */
static inline float *gemm_tile_state(const gemm_tile *t, int s, int r, int c) {
    float *state = t->update->state[s];
    return state ? state + (ptrdiff_t)(t->row0 + r) * t->update->ld_state[s] + t->col0 + c : NULL;
}

/* An optimizer rule's update also reads and writes its state (m, v) after the last FMA: the
 * tile's rows of it are fetched during the k loop like W's (without this, Adam's fused step on
 * 784,600,400,10 was slower than the unfused one: the moments came from memory, one tile at a
 * time, where the unfused kernel streams them). Every 64-byte line of each row. */
static inline void gemm_tile_prefetch_state(const gemm_tile *t) {
    for (int s = 0; s < 2; s++) {
        if (!t->update->state[s]) continue;
        for (int r = 0; r < t->rows; r++) {
            const float *row = gemm_tile_state(t, s, r, 0);
            for (int c = 0; c < t->cols; c += 16) __builtin_prefetch(row + c, 1, 3);
            __builtin_prefetch(row + t->cols - 1, 1, 3);
        }
    }
}

/* A column tile's parameter update works on contiguous copies of W's strided column and of
 * its state: gather rows [r0, r0 + rows) of column 0 into lanes[0] (W), lanes[1] (m) and
 * lanes[2] (v), and point state[s] at lanes[s + 1], or at NULL where the rule has none. */
static inline void gemm_tile_column_gather(const gemm_tile *t, int r0, int rows, float lanes[3][16],
                                           float *state[2]) {
    for (int r = 0; r < rows; r++) lanes[0][r] = t->w[(r0 + r) * t->ldw];
    for (int s = 0; s < 2; s++) {
        float *source = gemm_tile_state(t, s, r0, 0);
        state[s] = source ? lanes[s + 1] : NULL;
        for (int r = 0; source && r < rows; r++) lanes[s + 1][r] = source[(ptrdiff_t)r * t->update->ld_state[s]];
    }
}

/* Writes gemm_tile_column_gather's copies back. */
static inline void gemm_tile_column_scatter(const gemm_tile *t, int r0, int rows, float lanes[3][16]) {
    for (int r = 0; r < rows; r++) t->w[(r0 + r) * t->ldw] = lanes[0][r];
    for (int s = 0; s < 2; s++) {
        float *destination = gemm_tile_state(t, s, r0, 0);
        for (int r = 0; destination && r < rows; r++)
            destination[(ptrdiff_t)r * t->update->ld_state[s]] = lanes[s + 1][r];
    }
}

enum { GEMM_DRIVER_MAX_VECTORS = 4 };

/* The ways the driver computes a GEMM. */
typedef enum gemm_path {
    GEMM_PATH_EMPTY = 0, /* M or N is 0: nothing to write                                   */
    GEMM_PATH_LOGITS,    /* the ISA's whole-GEMM logits kernel (gemm_driver.logits_kernel)   */
    GEMM_PATH_COLUMN,    /* N = 1: column_tile_rows × 1 tiles (column_micro_kernel)          */
    GEMM_PATH_NARROW,    /* N <= narrow_max_columns: W × N tiles along M                     */
    GEMM_PATH_TILES,     /* MR × NR register tiles in MC × NC blocks over KC slices           */
} gemm_path;

/* Which path runs a problem and how: gemm_plan_choose() picks it, gemm_plan_make() builds one
 * for a given path and packing (the tests force every path that way), gemm_driver's run_plan
 * executes it. Every plan gemm_plan_valid() accepts gives the same bits. */
typedef struct gemm_plan {
    gemm_path path;
    /* TILES: A packed into MR-row panels; 0: read in place, with the tall (2·MR-row) tiles
     * where the driver has them. NARROW, COLUMN: A packed into W-row panels; 0: read in place
     * (A transposed: its rows are contiguous in M). */
    int pack_a;
    /* TILES: B packed into the KC × NC block; 0: read in place (a ragged last panel copied
     * zero-padded into the edge panel unless the micro-kernels mask their B loads). */
    int pack_b;
    int balance; /* TILES: no last panel of one vector (gemm_panel_columns)               */
    int kc;      /* depth of the k slices (gemm_slice_depth); slices of them: `slices`      */
    int slices;
    int mc, nc;  /* TILES: row and column block sizes                                      */
} gemm_plan;

/* One micro-kernel by name, for the tests and bench to call directly. */
typedef enum gemm_micro_kind {
    GEMM_MICRO_TILE,   /* rows × (up to cols) row tile, rows = MR or 2·MR (tall)            */
    GEMM_MICRO_NARROW, /* W rows × up to cols columns, A rows along the vector (narrow path) */
    GEMM_MICRO_COLUMN, /* rows × 1, A groups of W rows (column path)                        */
    GEMM_MICRO_LOGITS, /* a whole GEMM of `cols` or cols - 1 columns, rows-row tiles         */
} gemm_micro_kind;

typedef struct gemm_micro_kernel_info {
    const char *name; /* its symbol, e.g. "gemm_avx512_micro_8x48"                          */
    gemm_micro_kind kind;
    int rows, cols;   /* the tile: rows × at most cols columns of C                         */
    gemm_micro_kernel run;                 /* TILE, NARROW, COLUMN                          */
    void (*run_gemm)(const mlp_gemm_problem *); /* LOGITS                                       */
} gemm_micro_kernel_info;

#define GEMM_MICRO_KERNEL(function, kind, rows, cols) {#function, kind, rows, cols, function, NULL}
#define GEMM_MICRO_KERNEL_GEMM(function, rows, cols) \
    {#function, GEMM_MICRO_LOGITS, rows, cols, NULL, function}

/* The named list of a driver with every kind of tile, named the way avx2's and avx512's are:
 * gemm_<isa>_micro_<MR>x<W | 2W | 3W> row tiles, the <2MR>x<W> tall tile, the <W>x8, 10 and
 * 12 narrow tiles, the 64x1 column tile and the gemm_<isa>_logits_8x10 kernel. */
#define GEMM_MICRO_KERNELS_EVERY_KIND(isa, mr, w, w2, w3, mr2)                                   \
    {                                                                                            \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##mr##x##w, GEMM_MICRO_TILE, mr, w),                \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##mr##x##w2, GEMM_MICRO_TILE, mr, w2),              \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##mr##x##w3, GEMM_MICRO_TILE, mr, w3),              \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##mr2##x##w, GEMM_MICRO_TILE, mr2, w),              \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##w##x8_narrow, GEMM_MICRO_NARROW, w, 8),           \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##w##x10_narrow, GEMM_MICRO_NARROW, w, 10),         \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_##w##x12_narrow, GEMM_MICRO_NARROW, w, 12),         \
        GEMM_MICRO_KERNEL(gemm_##isa##_micro_64x1_column, GEMM_MICRO_COLUMN, 64, 1),             \
        GEMM_MICRO_KERNEL_GEMM(gemm_##isa##_logits_8x10, 8, 10),                                 \
    }

typedef struct gemm_driver {
    int mr;          /* rows of a tile                                                    */
    int width;       /* W, floats per vector register                                     */
    int max_vectors; /* NR = max_vectors · W                                              */
    /* slice depth; row and column block sizes (multiples of MR and NR): the default blocking
     * and its upper bound (they size the workspace); a problem's blocking (a measured plan)
     * may ask for less, gemm_blocking_for */
    int kc, mc, nc;
    /* micro_kernels[v - 1] computes MR × (v·W) tiles, v = 1 .. max_vectors */
    gemm_micro_kernel micro_kernels[GEMM_DRIVER_MAX_VECTORS];
    /* Optional (NULL: none): tall_micro_kernels[v - 1] computes (2·MR) × (v·W) tiles, used
     * when A is read in place. Narrow tiles have few accumulators; a taller tile gives them
     * enough independent FMA chains to hide the FMA latency. MC must be a multiple of 2·MR. */
    gemm_micro_kernel tall_micro_kernels[GEMM_DRIVER_MAX_VECTORS];
    /* Optional (NULL: none): the narrow path for N <= narrow_max_columns (the 10 logits), where
     * row tiles would leave most vector lanes empty. narrow_micro_kernel computes a
     * W × cols tile (cols = N <= narrow_max_columns) the other way round: one vector of W
     * rows of op(A) (a_row_stride = 1: A transposed in place, or a W-row packed panel) times
     * broadcasts of B(p, c) read in place (b_k_stride, b_column_stride), the same FMA per
     * element in the same k order as the row tiles. It loads A rows >= tile->rows masked. */
    gemm_micro_kernel narrow_micro_kernel;
    int narrow_max_columns;
    /* Optional (NULL: none): the column path for N = 1 (one-output models: the study's binary
     * classifiers), where a narrow tile's single accumulator would wait on the FMA latency.
     * column_micro_kernel computes column_tile_rows (a multiple of W) × 1 tiles, one
     * accumulator per W rows: group q's rows of op(A) at a + q * a_group_stride, p at
     * a + p * a_k_stride (a_row_stride = 1, as in the narrow tiles), or the same offsets of
     * a_u8 when A is transposed uint8 (read in place, scaled by a_scale: no packing pass over
     * the images). Rows >= tile->rows, and whole groups past them, are loaded masked and not
     * stored. */
    gemm_micro_kernel column_micro_kernel;
    int column_tile_rows;
    /* transposed float A is packed when N has at least this many columns (0: never packed,
     * read in place with strides): the packed panels are contiguous, which pays for the copy
     * once enough column panels reuse them */
    int pack_transposed_a_min_columns;
    /* plain B is packed when M has at least this many rows, or when its rows alias in the
     * caches (gemm_rows_alias); otherwise the tiles read it in place */
    int pack_b_min_rows;
    /* 1: the micro-kernels load B under the column mask (no zero-padded edge panel needed) */
    int masked_b_loads;
    /* Optional (NULL: the generic loops): pack a B or an A panel, with the same result as
     * gemm_pack_b_panel and gemm_pack_a_panel; an ISA can copy with vector loads and stores
     * and transpose blocks in registers instead. */
    void (*pack_b_panel)(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols, int width,
                         float *panel);
    void (*pack_a_panel)(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb, int mr,
                         float *panel);
    /* Optional (NULL: none): the logits path, a whole-GEMM kernel for N in
     * [logits_min_columns, logits_max_columns] with plain float A and plain B */
    void (*logits_kernel)(const mlp_gemm_problem *g);
    int logits_min_columns, logits_max_columns;
    /* Runs a plan with this driver (gemm_driver_execute compiled with the ISA's flags). */
    void (*run_plan)(const mlp_gemm_problem *g, const gemm_plan *plan);
    /* Every micro-kernel above (and the logits kernel) by name. */
    const gemm_micro_kernel_info *micro_kernel_list;
    int micro_kernel_count;
} gemm_driver;

/* Floats of workspace the driver needs with blocking KC, MC, NC and NR = max_vectors · W:
 * the A block (MC × KC), the B block (KC × NC) and one edge B panel (KC × NR). The one
 * formula: a macro so the const tables can use it (gemm_workspace_floats). */
/* A block (MC × KC), B block (KC × NC), B edge panel (KC × NR), and the partial sums of an
 * MC × NC block of a parameter-update GEMM deeper than one slice. */
#define GEMM_DRIVER_WORKSPACE_FLOATS(kc, mc, nc, nr) \
    ((size_t)(kc) * ((size_t)(mc) + (size_t)(nc) + (size_t)(nr)) + (size_t)(mc) * (size_t)(nc) + 64)

static inline size_t gemm_driver_workspace_floats(const gemm_driver *d) {
    return GEMM_DRIVER_WORKSPACE_FLOATS(d->kc, d->mc, d->nc, d->max_vectors * d->width);
}

static inline int gemm_min_int(int a, int b) { return a < b ? a : b; }

/* Packs rows [i0, i0 + rows) of op(A), depths [p0, p0 + kb), into one MR-tall panel:
 * panel[p * mr + r] = op(A)(i0 + r, p0 + p), rows >= `rows` zero. uint8 A is scaled here. */
static inline void gemm_pack_a_panel(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb,
                                     int mr, float *panel) {
    const size_t lda = (size_t)g->lda;
    if (rows < mr)
        for (int p = 0; p < kb; p++)
            for (int r = rows; r < mr; r++) panel[(size_t)p * mr + r] = 0.0f;
    if (g->a_transposed) {
        /* op(A)(i, p) = a[p * lda + i]: each depth p is a contiguous run of `rows` floats */
        for (int p = 0; p < kb; p++) {
            size_t source = (size_t)(p0 + p) * lda + (size_t)i0;
            float *destination = panel + (size_t)p * mr;
            if (g->a_u8)
                for (int r = 0; r < rows; r++)
                    destination[r] = (float)g->a_u8[source + r] * g->a_scale;
            else
                for (int r = 0; r < rows; r++) destination[r] = g->a[source + r];
        }
    } else {
        /* op(A)(i, p) = a[i * lda + p]: each row is contiguous in p; write it with stride mr */
        for (int r = 0; r < rows; r++) {
            size_t source = (size_t)(i0 + r) * lda + (size_t)p0;
            if (g->a_u8)
                for (int p = 0; p < kb; p++)
                    panel[(size_t)p * mr + r] = (float)g->a_u8[source + p] * g->a_scale;
            else
                for (int p = 0; p < kb; p++) panel[(size_t)p * mr + r] = g->a[source + p];
        }
    }
}

/* Plain B is packed one panel row at a time from rows ldb apart (4 KiB for a 1,024-wide W):
 * every row sits on its own page, where the hardware prefetchers stop, so the copy would wait
 * on each row in turn. It fetches row p + GEMM_PACK_B_ROWS_AHEAD itself while copying row p
 * (1,024 -> 1,024 forward at batch 256: +9% on Zen 5, 16 and 48 rows ahead alike; the same
 * for the transposed pack, whose rows are runs the prefetchers follow, gained 1%: not done). */
enum { GEMM_PACK_B_ROWS_AHEAD = 16 };
static inline void gemm_prefetch_b_row_ahead(const mlp_gemm_problem *g, int p0, int p, int kb,
                                             int j0, int cols) {
    if (p + GEMM_PACK_B_ROWS_AHEAD >= kb) return;
    const char *ahead =
        (const char *)(g->b + (size_t)(p0 + p + GEMM_PACK_B_ROWS_AHEAD) * g->ldb + (size_t)j0);
    const size_t bytes = (size_t)cols * sizeof(float);
    for (size_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch(ahead + byte, 0, 3);
    __builtin_prefetch(ahead + bytes - 1, 0, 3);
}

/* Packs columns [j0, j0 + cols) of op(B), depths [p0, p0 + kb), into one panel `width` floats
 * wide: panel[p * width + c] = op(B)(p0 + p, j0 + c), columns >= `cols` zero. */
static inline void gemm_pack_b_panel(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols,
                                     int width, float *panel) {
    const size_t ldb = (size_t)g->ldb;
    if (g->b_transposed) {
        /* op(B)(p, j) = b[j * ldb + p]: each column is contiguous in p */
        for (int c = 0; c < cols; c++) {
            const float *source = g->b + (size_t)(j0 + c) * ldb + (size_t)p0;
            for (int p = 0; p < kb; p++) panel[(size_t)p * width + c] = source[p];
        }
        for (int p = 0; p < kb; p++)
            for (int c = cols; c < width; c++) panel[(size_t)p * width + c] = 0.0f;
    } else {
        for (int p = 0; p < kb; p++) {
            const float *source = g->b + (size_t)(p0 + p) * ldb + (size_t)j0;
            float *destination = panel + (size_t)p * width;
            gemm_prefetch_b_row_ahead(g, p0, p, kb, j0, cols);
            for (int c = 0; c < cols; c++) destination[c] = source[c];
            for (int c = cols; c < width; c++) destination[c] = 0.0f;
        }
    }
}

/* Depth of the k slices of a K-deep problem: K split into the fewest slices of at most KC,
 * all of equal depth (rounded up to a multiple of 8, the last one shorter): with KC = 512,
 * K = 784 is 2 × 392 rather than 512 + 272, and with KC = 256 it would be 4 × 196 rather than
 * 3 × 256 + 16 (a short tail slice pays a whole reload and store of C for little work). Any
 * split gives the same bits (see "Why the blocking never changes results"). */
static inline int gemm_slice_depth(int kc, int k) {
    const int slices = k > kc ? (k + kc - 1) / kc : 1;
    const int depth = (k + slices - 1) / slices;
    return gemm_min_int(kc, (depth + 7) / 8 * 8);
}

/* The blocking problem g runs with: g->blocking (a plan's, include/mlp/plan.h), each field 0 or
 * above the driver's constant taken as that constant (the workspace, GEMM_DRIVER_WORKSPACE_FLOATS
 * of the constants, bounds every blocking this returns), MC rounded down to whole row tiles
 * (2·MR where the tall tiles exist) and NC to whole vectors, each at least one tile, and KC
 * to a multiple of 8 (at least 8), so that slices never cut a BF16 k-pair (gemm_slice_depth
 * splits K into slices of at most KC). */
static inline mlp_gemm_blocking gemm_blocking_for(const mlp_gemm_problem *g, const gemm_driver *d) {
    const int nr = d->max_vectors * d->width;
    const int tile_rows = d->tall_micro_kernels[0] ? 2 * d->mr : d->mr;
    const mlp_gemm_blocking asked = g->blocking;
    mlp_gemm_blocking b = {d->kc, d->mc, d->nc};
    if (asked.kc > 0 && asked.kc < d->kc) b.kc = asked.kc < 8 ? 8 : asked.kc / 8 * 8;
    if (asked.mc > 0 && asked.mc < d->mc)
        b.mc = asked.mc < tile_rows ? tile_rows : asked.mc / tile_rows * tile_rows;
    if (asked.nc > 0 && asked.nc < d->nc)
        b.nc = asked.nc < nr ? nr : asked.nc / d->width * d->width;
    return b;
}

/* 1 when rows `ld` floats apart start on the same 4 KiB page offset: such rows map onto the
 * same few L1 and L2 sets, so a panel read in place evicts itself (1024 -> 1024 forward at
 * batch 64: 68 GFLOP/s with B in place, 84 packed). Such a B is always packed, and such a
 * float A too. */
static inline int gemm_rows_alias(int ld) { return (size_t)ld * sizeof(float) % 4096 == 0; }

/* Columns of the panel that starts at column jr of an nb-wide block: NR, except that with
 * `balance` a last panel of one vector or less is avoided where the tile has three vectors or
 * more (NR + 8 = 32 columns go as 16 + 16, not 24 + 8): a one-vector MR-row tile has too few
 * accumulators to hide the FMA latency (the 4 × 8 tile took 7% of a uint8 784 -> 128 GEMM
 * for 1/16 of its columns). The driver balances when the tall one-vector tile cannot stand in
 * (A packed, or no tall tile). The partition never changes the bits. */
static inline int gemm_panel_columns(const gemm_driver *d, int nb, int jr, int balance) {
    const int nr = d->max_vectors * d->width, left = nb - jr;
    if (left <= nr) return left;
    if (balance && d->max_vectors >= 3 && left - nr <= d->width) return nr - d->width;
    return nr;
}

/* Vector registers needed for `cols` columns. */
static inline int gemm_vectors_for(const gemm_driver *d, int cols) {
    return (cols + d->width - 1) / d->width;
}

/* Prefetches part `part` of `parts` of the source of the B panel at depths [p0, p0 + kb),
 * columns [j0, j0 + cols) into L2: plain B, a run of cols floats from each of a share of the kb
 * rows; transposed B, a share of the cols source rows, kb floats each. */
static inline void gemm_prefetch_b_panel_part(const mlp_gemm_problem *g, int p0, int kb, int j0,
                                              int cols, int part, int parts) {
    const int floats_per_run = g->b_transposed ? kb : cols; /* a contiguous run of floats */
    const int runs = g->b_transposed ? cols : kb;
    const int first = (int)((long)runs * part / parts);
    const int end = (int)((long)runs * (part + 1) / parts);
    for (int run = first; run < end; run++) {
        const char *source =
            (const char *)(g->b_transposed ? g->b + (size_t)(j0 + run) * g->ldb + (size_t)p0
                                           : g->b + (size_t)(p0 + run) * g->ldb + (size_t)j0);
        const size_t bytes = (size_t)floats_per_run * sizeof(float);
        for (size_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch(source + byte, 0, 2);
        __builtin_prefetch(source + bytes - 1, 0, 2);
    }
}

/* ---- the plan: which path, which packing, which blocking (pure: reads only its arguments) */

/* 1 when the logits kernel can compute g (plain float A, plain B, N in its range). */
static inline int gemm_logits_fits(const mlp_gemm_problem *g, const gemm_driver *d) {
    return d->logits_kernel != NULL && g->epilogue != MLP_GEMM_EPILOGUE_PARAMETER_UPDATE &&
           !g->accumulate && !g->partial &&
           g->m > 0 && g->n >= d->logits_min_columns && g->n <= d->logits_max_columns &&
           !g->a_transposed && g->a_u8 == NULL && !g->b_transposed;
}

/* The plan for `path` with the given packing, the rest derived as the driver needs it: the
 * slice depth and count, the blocks, the panel balancing. Check it with gemm_plan_valid. */
static inline gemm_plan gemm_plan_make(const mlp_gemm_problem *g, const gemm_driver *d,
                                       gemm_path path, int pack_a, int pack_b) {
    gemm_plan plan;
    plan.path = path;
    plan.pack_a = pack_a;
    plan.pack_b = path == GEMM_PATH_TILES ? pack_b : 0;
    plan.balance = pack_a || d->tall_micro_kernels[0] == NULL; /* gemm_panel_columns */
    const mlp_gemm_blocking blocking = gemm_blocking_for(g, d);
    plan.kc = gemm_slice_depth(blocking.kc, g->k);
    plan.slices = g->k > plan.kc ? (g->k + plan.kc - 1) / plan.kc : 1;
    plan.mc = blocking.mc;
    plan.nc = blocking.nc;
    return plan;
}

/* The plan gemm_driver_run follows: the paths and thresholds described at the top of this
 * file, as a function of the problem's shape, layout, A type and blocking and the driver alone. */
static inline gemm_plan gemm_plan_choose(const mlp_gemm_problem *g, const gemm_driver *d) {
    const int m = g->m, n = g->n;
    if (m <= 0 || n <= 0) return gemm_plan_make(g, d, GEMM_PATH_EMPTY, 0, 0);
    if (gemm_logits_fits(g, d)) return gemm_plan_make(g, d, GEMM_PATH_LOGITS, 0, 0);
    if (d->narrow_micro_kernel && n <= d->narrow_max_columns) {
        const int column_path = n == 1 && d->column_micro_kernel != NULL;
        const int a_in_place = g->a_transposed && (g->a_u8 == NULL || column_path);
        return gemm_plan_make(g, d, column_path ? GEMM_PATH_COLUMN : GEMM_PATH_NARROW,
                              !a_in_place, 0);
    }
    const int pack_a = g->a_u8 != NULL || gemm_rows_alias(g->lda) ||
                       (g->a_transposed && d->pack_transposed_a_min_columns > 0 &&
                        n >= d->pack_transposed_a_min_columns);
    const int pack_b = g->b_transposed || m >= d->pack_b_min_rows || gemm_rows_alias(g->ldb);
    return gemm_plan_make(g, d, GEMM_PATH_TILES, pack_a, pack_b);
}

/* 1 when the driver can execute `plan` on g (whatever its speed): the path's kernel exists
 * and takes the shape; A and B are read in place only in a form the tiles can read; the
 * blocking fits the workspace. */
static inline int gemm_plan_valid(const mlp_gemm_problem *g, const gemm_driver *d,
                                  const gemm_plan *plan) {
    const int w = d->width, nr = d->max_vectors * w;
    if (plan->kc < 1 || plan->kc > d->kc) return 0;
    switch (plan->path) {
    case GEMM_PATH_EMPTY: return g->m <= 0 || g->n <= 0;
    case GEMM_PATH_LOGITS: return gemm_logits_fits(g, d);
    case GEMM_PATH_COLUMN:
        return g->m > 0 && g->n == 1 && d->column_micro_kernel != NULL &&
               (plan->pack_a || g->a_transposed);
    case GEMM_PATH_NARROW:
        return g->m > 0 && g->n > 0 && d->narrow_micro_kernel != NULL &&
               g->n <= d->narrow_max_columns && (plan->pack_a || (g->a_transposed && !g->a_u8));
    case GEMM_PATH_TILES: {
        const int tile_rows = d->tall_micro_kernels[0] ? 2 * d->mr : d->mr;
        return g->m > 0 && g->n > 0 && (plan->pack_a || g->a_u8 == NULL) &&
               (plan->pack_b || !g->b_transposed) && plan->mc >= tile_rows &&
               plan->mc <= d->mc && plan->mc % tile_rows == 0 && plan->nc >= nr &&
               plan->nc <= d->nc && plan->nc % w == 0;
    }
    }
    return 0;
}

/* ---- executing a plan */

/* 1 when the k slices run innermost (each block of C finished before the next is started):
 * a parameter update deeper than one slice, whose C holds the parameters, so its partial sums
 * go to the workspace (an MC × NC block, GEMM_DRIVER_WORKSPACE_FLOATS) rather than to C. */
static inline int gemm_slices_innermost(const mlp_gemm_problem *g, const gemm_plan *plan) {
    return g->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE && plan->slices > 1;
}

/* The partial-sum block of gemm_slices_innermost, after the packing buffers. */
static inline float *gemm_partial_sums(const mlp_gemm_problem *g, const gemm_driver *d) {
    return g->workspace + (size_t)d->kc * ((size_t)d->mc + (size_t)d->nc +
                                           (size_t)d->max_vectors * d->width);
}

/* The tile's epilogue fields that do not change from tile to tile. */
static inline void gemm_tile_epilogue(gemm_tile *tile, const mlp_gemm_problem *g) {
    tile->epilogue = g->epilogue;
    tile->activation = g->activation;
    tile->ldy = g->ld_activation_output;
    tile->update = &g->update;
    tile->ldw = g->ldc;
}

/* Points the tile at C(i, j): where its results go (or, for a parameter update, the
 * parameters W(i, j)), and where partial sums go: C itself, or with the slices innermost the
 * block `sums` (ld_sums floats a row) at (sum_row, sum_col). */
static inline void gemm_tile_place(gemm_tile *tile, const mlp_gemm_problem *g, int i, int j,
                                   float *sums, ptrdiff_t ld_sums, int sum_row, int sum_col) {
    float *c = g->c + (size_t)i * g->ldc + (size_t)j;
    tile->w = c;
    tile->row0 = i;
    tile->col0 = j;
    if (sums) {
        tile->c = sums + (size_t)sum_row * ld_sums + (size_t)sum_col;
        tile->ldc = ld_sums;
    } else {
        tile->c = c;
        tile->ldc = g->ldc;
    }
    tile->y = g->activation_output
                  ? g->activation_output + (size_t)i * g->ld_activation_output + j
                  : NULL;
}

/* The narrow and column paths: W-row (narrow) or column_tile_rows-row (column) tiles over KC
 * slices, A read in place (transposed) or packed into W-row panels. Slices outermost, or
 * innermost (gemm_slices_innermost: one row tile's partial sums in the workspace). */
static inline void gemm_driver_run_narrow(const mlp_gemm_problem *g, const gemm_driver *d,
                                          const gemm_plan *plan,
                                          void (*pack_a_panel)(const mlp_gemm_problem *, int, int,
                                                               int, int, int, float *)) {
    const int m = g->m, n = g->n, k = g->k, w = d->width;
    float *a_panel = g->workspace; /* W × KC, or column_tile_rows × KC */
    const int column_path = plan->path == GEMM_PATH_COLUMN;
    const int a_in_place = !plan->pack_a;
    const int tile_rows = column_path ? d->column_tile_rows : w;
    const int innermost = gemm_slices_innermost(g, plan);
    float *sums = innermost ? gemm_partial_sums(g, d) : NULL; /* tile_rows × n */
    gemm_tile tile;
    tile.cols = n;
    gemm_tile_epilogue(&tile, g);
    tile.bias = g->bias;
    tile.a_row_stride = 1;
    tile.a_u8 = NULL;
    tile.a_scale = g->a_scale;
    tile.b_k_stride = g->b_transposed ? 1 : g->ldb;
    tile.b_column_stride = g->b_transposed ? g->ldb : 1;
    const int kc = plan->kc;
    const int outer_end = innermost ? m : 1;    /* innermost: row tiles outside, slices inside */
    for (int outer = 0; outer < outer_end; outer += tile_rows) {
        int pc = 0;
        do {
            const int kb = gemm_min_int(kc, k - pc);
            tile.k = kb;
            tile.continue_sums = pc > 0 || g->accumulate;
            tile.finish = pc + kb >= k && !g->partial;
            tile.b = g->b + (g->b_transposed ? (size_t)pc : (size_t)pc * g->ldb);
            const int i_begin = innermost ? outer : 0;
            const int i_end = innermost ? gemm_min_int(m, outer + tile_rows) : m;
            for (int i = i_begin; i < i_end; i += tile_rows) {
                tile.rows = gemm_min_int(tile_rows, m - i);
                if (a_in_place) {
                    const size_t offset = (size_t)pc * g->lda + (size_t)i;
                    tile.a = g->a_u8 ? NULL : g->a + offset;
                    tile.a_u8 = g->a_u8 ? g->a_u8 + offset : NULL;
                    tile.a_k_stride = g->lda;
                    tile.a_group_stride = w;
                } else { /* W-row panels, one after another (one for a narrow tile) */
                    for (int group = 0; group * w < tile.rows; group++)
                        pack_a_panel(g, i + group * w, gemm_min_int(w, tile.rows - group * w),
                                     pc, kb, w, a_panel + (size_t)group * w * kb);
                    tile.a = a_panel;
                    tile.a_k_stride = w;
                    tile.a_group_stride = (ptrdiff_t)w * kb;
                }
                gemm_tile_place(&tile, g, i, 0, sums, n, 0, 0);
                if (column_path)
                    d->column_micro_kernel(&tile);
                else
                    d->narrow_micro_kernel(&tile);
            }
            pc += kb;
        } while (pc < k);
    }
}

/* How a block of the tiles path gets its packed B panels. */
typedef enum gemm_b_panels {
    GEMM_B_PANELS_READY,     /* read in place, or packed by an earlier row block              */
    GEMM_B_PANELS_PACK_KEEP, /* packed into their places in the KC × NC block, which the later
                              * row blocks of the slice read                                  */
    GEMM_B_PANELS_PACK_ONE,  /* no later row block reads them: each is packed into the block's
                              * first panel just before its tiles, so the copy writes lines that
                              * are still in L1/L2 (the KC × NC block, 2 MiB at 1,024 columns,
                              * has left L2 by the next GEMM). With the rows fetched ahead
                              * (gemm_prefetch_b_row_ahead), bench on Zen 5, paired rounds:
                              * 1,024 -> 1,024 forward +14% at batch 64, +5% at 256, its weight
                              * gradient +6%; the smaller layers unchanged                     */
} gemm_b_panels;

/* One MC × NC block of the tiles path over one k slice: A packed (or read in place), B's
 * panels packed as b_panels says, the micro-kernels over the block's tiles, column panel
 * outer, row panel inner. sums: NULL, or the partial-sum block (ld nb) of
 * gemm_slices_innermost. */
static inline void gemm_driver_tiles_block(const mlp_gemm_problem *g, const gemm_driver *d,
                                           const gemm_plan *plan,
                                           void (*pack_a_panel)(const mlp_gemm_problem *, int, int,
                                                                int, int, int, float *),
                                           int jc, int nb, int pc, int kb, int ic, int mb,
                                           gemm_b_panels b_panels, float *sums) {
    const int k = g->k, mr = d->mr;
    float *a_block = g->workspace;                    /* MC × KC */
    float *b_block = a_block + (size_t)d->mc * d->kc; /* KC × NC */
    float *b_edge = b_block + (size_t)d->nc * d->kc;  /* KC × NR */
    const int pack_a = plan->pack_a, pack_b = plan->pack_b, balance = plan->balance;
    void (*pack_b_panel)(const mlp_gemm_problem *, int, int, int, int, int, float *) =
        d->pack_b_panel ? d->pack_b_panel : gemm_pack_b_panel;
    const int first = pc == 0, last = pc + kb >= k;
    const int pack_panels = b_panels != GEMM_B_PANELS_READY;
    if (pack_a)
        for (int ir = 0; ir < mb; ir += mr)
            pack_a_panel(g, ic + ir, gemm_min_int(mr, mb - ir), pc, kb, mr,
                         a_block + (size_t)ir * kb);

    for (int jr = 0, cols; jr < nb; jr += cols) {
        cols = gemm_panel_columns(d, nb, jr, balance);
        const int vectors = gemm_vectors_for(d, cols);
        /* B panels are packed by the first row block, just before their first use (still in
         * L1/L2 for its tiles), while its tiles prefetch the next panel's source rows, so the
         * copy reads from cache rather than waiting on memory */
        float *packed_panel = b_block + (b_panels == GEMM_B_PANELS_PACK_ONE ? 0 : (size_t)jr * kb);
        if (pack_panels)
            pack_b_panel(g, pc, kb, jc + jr, cols, vectors * d->width, packed_panel);
        const int next_jr = jr + cols;
        const int next_cols = next_jr < nb ? gemm_panel_columns(d, nb, next_jr, balance) : 0;
        gemm_tile tile;
        tile.a_group_stride = 0; /* column tiles only */
        tile.a_u8 = NULL;
        tile.k = kb;
        tile.cols = cols;
        tile.continue_sums = !first || g->accumulate;
        tile.finish = last && !g->partial;
        gemm_tile_epilogue(&tile, g);
        tile.bias = g->bias ? g->bias + jc + jr : NULL;
        tile.b_column_stride = 1;
        if (pack_b) {
            tile.b = packed_panel;
            tile.b_k_stride = (ptrdiff_t)vectors * d->width;
        } else if (cols % d->width != 0 && !d->masked_b_loads) {
            pack_b_panel(g, pc, kb, jc + jr, cols, vectors * d->width, b_edge);
            tile.b = b_edge;
            tile.b_k_stride = (ptrdiff_t)vectors * d->width;
        } else {
            tile.b = g->b + (size_t)pc * g->ldb + (size_t)(jc + jr);
            tile.b_k_stride = g->ldb;
        }
        gemm_micro_kernel micro_kernel = d->micro_kernels[vectors - 1];
        int tile_rows = mr;
        if (!pack_a && d->tall_micro_kernels[vectors - 1]) {
            micro_kernel = d->tall_micro_kernels[vectors - 1];
            tile_rows = 2 * mr;
        }
        const int tiles = (mb + tile_rows - 1) / tile_rows;
        for (int ir = 0; ir < mb; ir += tile_rows) {
            const int i = ic + ir, j = jc + jr;
            if (pack_panels && next_cols > 0)
                gemm_prefetch_b_panel_part(g, pc, kb, jc + next_jr, next_cols, ir / tile_rows,
                                           tiles);
            tile.rows = gemm_min_int(tile_rows, mb - ir);
            if (pack_a) {
                tile.a = a_block + (size_t)ir * kb;
                tile.a_row_stride = 1;
                tile.a_k_stride = mr;
            } else if (g->a_transposed) {
                tile.a = g->a + (size_t)pc * g->lda + (size_t)i;
                tile.a_row_stride = 1;
                tile.a_k_stride = g->lda;
            } else {
                tile.a = g->a + (size_t)i * g->lda + (size_t)pc;
                tile.a_row_stride = g->lda;
                tile.a_k_stride = 1;
            }
            gemm_tile_place(&tile, g, i, j, sums, nb, ir, jr);
            micro_kernel(&tile);
        }
    }
}

/* The tiles path: for each NC-wide column block and each k slice, for each MC-tall row block,
 * gemm_driver_tiles_block (B's panels packed by the first row block); with the slices
 * innermost (gemm_slices_innermost), for each column block and row block, every slice (B's
 * panels packed by every row block). */
static inline void gemm_driver_run_tiles(const mlp_gemm_problem *g, const gemm_driver *d,
                                         const gemm_plan *plan,
                                         void (*pack_a_panel)(const mlp_gemm_problem *, int, int,
                                                              int, int, int, float *)) {
    const int m = g->m, n = g->n, k = g->k, mc = plan->mc, nc = plan->nc, kc = plan->kc;
    const int innermost = gemm_slices_innermost(g, plan);
    float *sums = innermost ? gemm_partial_sums(g, d) : NULL; /* MC × NC */
    for (int jc = 0; jc < n; jc += nc) {
        const int nb = gemm_min_int(nc, n - jc);
        if (innermost) {
            for (int ic = 0; ic < m; ic += mc)
                for (int pc = 0; pc < k; pc += kc)
                    gemm_driver_tiles_block(g, d, plan, pack_a_panel, jc, nb, pc,
                                            gemm_min_int(kc, k - pc), ic,
                                            gemm_min_int(mc, m - ic),
                                            plan->pack_b ? GEMM_B_PANELS_PACK_ONE
                                                         : GEMM_B_PANELS_READY,
                                            sums);
            continue;
        }
        /* the first row block packs B's panels: kept for the later ones, if any */
        const gemm_b_panels first_block_panels =
            !plan->pack_b ? GEMM_B_PANELS_READY
                          : m > mc ? GEMM_B_PANELS_PACK_KEEP : GEMM_B_PANELS_PACK_ONE;
        int pc = 0;
        do { /* at least one slice, so K = 0 still writes C = epilogue(0) */
            const int kb = gemm_min_int(kc, k - pc);
            for (int ic = 0; ic < m; ic += mc)
                gemm_driver_tiles_block(g, d, plan, pack_a_panel, jc, nb, pc, kb, ic,
                                        gemm_min_int(mc, m - ic),
                                        ic == 0 ? first_block_panels : GEMM_B_PANELS_READY,
                                        NULL);
            pc += kb;
        } while (pc < k);
    }
}

/* Executes a plan gemm_plan_valid accepts. */
static inline void gemm_driver_execute(const mlp_gemm_problem *g, const gemm_driver *d,
                                       const gemm_plan *plan) {
    void (*pack_a_panel)(const mlp_gemm_problem *, int, int, int, int, int, float *) =
        d->pack_a_panel ? d->pack_a_panel : gemm_pack_a_panel;
    switch (plan->path) {
    case GEMM_PATH_EMPTY: return;
    case GEMM_PATH_LOGITS: d->logits_kernel(g); return;
    case GEMM_PATH_COLUMN:
    case GEMM_PATH_NARROW: gemm_driver_run_narrow(g, d, plan, pack_a_panel); return;
    case GEMM_PATH_TILES: gemm_driver_run_tiles(g, d, plan, pack_a_panel); return;
    }
}

/* C = epilogue(op(A) · op(B)) for the whole problem, single threaded: the chosen plan. */
static inline void gemm_driver_run(const mlp_gemm_problem *g, const gemm_driver *d) {
    const gemm_plan plan = gemm_plan_choose(g, d);
    gemm_driver_execute(g, d, &plan);
}

/* C = epilogue(op(A) · op(B)) on the tiles path with both operands packed: the only plan of
 * the BF16 drivers, whose packing converts to BF16 pairs. */
static inline void gemm_driver_run_packed(const mlp_gemm_problem *g, const gemm_driver *d) {
    const int empty = g->m <= 0 || g->n <= 0;
    const gemm_plan plan = gemm_plan_make(g, d, empty ? GEMM_PATH_EMPTY : GEMM_PATH_TILES, 1, 1);
    gemm_driver_execute(g, d, &plan);
}

/* A variant's entry points around its driver `gemm_<isa>_driver` (declared in its header),
 * compiled with the ISA's flags: gemm_<isa>, the table's gemm (the chosen plan), and
 * gemm_<isa>_run_plan (a given plan). GEMM_DRIVER_NAMED(isa) then fills the driver's
 * run_plan and its named list, gemm_<isa>_micro_kernels. */
#define GEMM_DRIVER_ENTRY_POINTS(isa)                                                           \
    void gemm_##isa(const mlp_gemm_problem *problem) {                                              \
        gemm_driver_run(problem, &gemm_##isa##_driver);                                         \
    }                                                                                           \
    static void gemm_##isa##_run_plan(const mlp_gemm_problem *problem, const gemm_plan *plan) {     \
        gemm_driver_execute(problem, &gemm_##isa##_driver, plan);                               \
    }
#define GEMM_DRIVER_NAMED(isa)                                                                  \
    .run_plan = gemm_##isa##_run_plan, .micro_kernel_list = gemm_##isa##_micro_kernels,         \
    .micro_kernel_count = sizeof gemm_##isa##_micro_kernels / sizeof gemm_##isa##_micro_kernels[0]

#endif
