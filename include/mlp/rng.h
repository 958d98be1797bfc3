/* The project's one pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018), seeded
 * through splitmix64. Documented and portable, so a seed means the same numbers on any machine
 * and compiler: He initialisation, the train/validation split and every epoch's shuffle use it. */
#ifndef MLP_RNG_H
#define MLP_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlp_rng_state {
    uint64_t s[4];
} mlp_rng_state;

void mlp_rng_seed(mlp_rng_state *rng, uint64_t seed);
uint64_t mlp_rng_next(mlp_rng_state *rng);
/* Uniform in [0, 1) with 53 random bits. */
double mlp_rng_uniform(mlp_rng_state *rng);
/* Uniform integer in [0, bound), without modulo bias. */
uint64_t mlp_rng_below(mlp_rng_state *rng, uint64_t bound);
/* Standard normal N(0, 1) by the Box-Muller transform (one value per two uniforms). */
double mlp_rng_normal(mlp_rng_state *rng);
/* Fisher-Yates shuffle of an int array. */
void mlp_rng_shuffle(mlp_rng_state *rng, int *values, int count);

/* ---- counter-based draws: a pure function of a key, no state ----
 * Dropout masks and augmentations must not depend on which thread or MPI rank draws them, nor on
 * what was drawn before (a resumed run starts mid-way), so they hash their coordinates instead of
 * advancing a generator: a key is built coordinate by coordinate, k' = mlp_rng_key(k, value), and the
 * i-th number under key k is mlp_rng_counter(k, i) = mix64(k + (i + 1)·γ), which is exactly
 * splitmix64's i-th output when seeded with k (γ = 0x9e3779b97f4a7c15, splitmix64's increment). */
static inline uint64_t mlp_rng_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline uint64_t mlp_rng_counter(uint64_t key, uint64_t i) {
    return mlp_rng_mix64(key + (i + 1) * 0x9e3779b97f4a7c15ULL);
}
/* The key extended by one more coordinate (a hash of both; the mix makes neighbouring values'
 * keys unrelated, so their counter streams do not overlap). */
static inline uint64_t mlp_rng_key(uint64_t key, uint64_t value) {
    return mlp_rng_mix64(mlp_rng_counter(key, value) ^ 0xd1b54a32d192ed03ULL);
}
/* A float uniform in [0, 1) from the top 24 bits (exact in a float). */
static inline float mlp_rng_unit_float(uint64_t bits) { return (float)(bits >> 40) * 0x1.0p-24f; }

#ifdef __cplusplus
}
#endif
#endif
