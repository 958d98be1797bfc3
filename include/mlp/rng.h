/* The project's one pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018), seeded
 * through splitmix64. Documented and portable, so a seed means the same numbers on any machine
 * and compiler: He initialisation, the train/validation split and every epoch's shuffle use it. */
#ifndef MLP_RNG_H
#define MLP_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rng_state {
    uint64_t s[4];
} rng_state;

void rng_seed(rng_state *rng, uint64_t seed);
uint64_t rng_next(rng_state *rng);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng_state *rng);
/* Uniform integer in [0, bound), without modulo bias. */
uint64_t rng_below(rng_state *rng, uint64_t bound);
/* Standard normal N(0, 1) by the Box-Muller transform (one value per two uniforms). */
double rng_normal(rng_state *rng);
/* Fisher-Yates shuffle of an int array. */
void rng_shuffle(rng_state *rng, int *values, int count);

#ifdef __cplusplus
}
#endif
#endif
