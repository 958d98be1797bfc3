/* The training team's barrier (src/core/team_barrier.h): every write before it is seen after it
 * by every thread, for teams of 1 to 4 threads (more than this machine's 2 cores: the waiting
 * threads must yield rather than spin forever), round after round, with the arrival order
 * varied; and a NULL barrier (the OpenMP one) behaves the same. Run under TSan too
 * (scripts/test_sanitizers.sh), which checks the happens-before the barrier promises. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/team_barrier.h"
#include "test_util.h"

enum { MAX_TEAM = 4, ROUNDS = 2000 };

/* Each round every thread writes its slot, waits, reads every other slot (which must hold this
 * round's value), and waits again before the slots are written anew. Returns the stale reads. */
static long run_rounds(mlp_team_barrier *barrier, int team) {
    long slots[MAX_TEAM] = {0}, stale = 0;
#pragma omp parallel num_threads(team) reduction(+ : stale)
    {
        const int thread = omp_get_thread_num(), threads = omp_get_num_threads();
        for (int round = 1; round <= ROUNDS; round++) {
            /* a varying arrival order: thread (round mod threads) works a little longer */
            if (thread == round % threads)
                for (volatile int spin = 0; spin < 200; spin++) {
                }
            slots[thread] = (long)round * MAX_TEAM + thread;
            mlp_team_barrier_wait(barrier);
            for (int other = 0; other < threads; other++)
                stale += slots[other] != (long)round * MAX_TEAM + other;
            mlp_team_barrier_wait(barrier);
        }
    }
    return stale;
}

int main(void) {
    mlp_team_barrier *barrier = mlp_team_barrier_create();
    CHECK(barrier != NULL, "the barrier could not be made (MLP_OPENMP_BARRIER set?)");
    for (int team = 1; team <= MAX_TEAM; team++) {
        double start = omp_get_wtime();
        long stale = run_rounds(barrier, team);
        CHECK(stale == 0, "team of %d: %ld stale reads after the barrier", team, stale);
        printf("team of %d: %d rounds of 2 barriers in %.1f ms\n", team, ROUNDS,
               (omp_get_wtime() - start) * 1e3);
        fflush(stdout);
        /* the same barrier object serves teams of another size afterwards */
        CHECK(run_rounds(barrier, 2) == 0, "team of 2 after a team of %d", team);
    }
    CHECK(run_rounds(NULL, 3) == 0, "the OpenMP barrier (NULL)");
    mlp_team_barrier_free(barrier);
    return test_exit_code();
}
