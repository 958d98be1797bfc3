/* xoshiro256** 1.0 and splitmix64, from the public-domain reference by Blackman and Vigna. */
#include "mlp/rng.h"

#include <math.h>

static uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64 spreads one 64-bit seed over the 256-bit state (never all zero). */
void mlp_rng_seed(mlp_rng_state *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        rng->s[i] = z ^ (z >> 31);
    }
}

uint64_t mlp_rng_next(mlp_rng_state *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double mlp_rng_uniform(mlp_rng_state *rng) { return (double)(mlp_rng_next(rng) >> 11) * 0x1.0p-53; }

/* Lemire's rejection: unbiased and cheap. */
uint64_t mlp_rng_below(mlp_rng_state *rng, uint64_t bound) {
    if (bound <= 1) return 0;
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = mlp_rng_next(rng);
        if (r >= threshold) return r % bound;
    }
}

/* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1]. */
double mlp_rng_normal(mlp_rng_state *rng) {
    double u1 = 1.0 - mlp_rng_uniform(rng);
    double u2 = mlp_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void mlp_rng_shuffle(mlp_rng_state *rng, int *values, int count) {
    for (int i = count - 1; i > 0; i--) {
        int j = (int)mlp_rng_below(rng, (uint64_t)i + 1);
        int t = values[i];
        values[i] = values[j];
        values[j] = t;
    }
}
