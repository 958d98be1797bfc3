/* Process-level safeguards of a training run: stopping cleanly on SIGINT/SIGTERM, trapping
 * floating-point exceptions (--trap-fp), refusing networks that cannot fit in memory. */
#define _GNU_SOURCE /* feenableexcept, sigaction */
#include "train_safeguards.h"

#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp/distributed.h"

#include "mlp/model.h"

/* Set by SIGINT/SIGTERM (to the signal's number); the trainer stops after the current batch. */
volatile sig_atomic_t train_stop_signal;

static void request_stop(int signal_number) { train_stop_signal = signal_number; }

/* One-shot handlers: a second Ctrl-C kills the process the usual way. */
void install_stop_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

void exit_interrupted(const char *folder, const mlp_error *where) {
    if (mlp_distributed_rank() == 0)
        fprintf(stderr, "trainer: interrupted by %s %s (continue with: trainer --resume %s)\n",
                train_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", where->message, folder);
    mlp_distributed_stop(); /* every rank stopped after the same batch */
    exit(128 + train_stop_signal);
}

/* --trap-fp: says which exception trapped, then lets the faulting instruction run again under
 * the default action, so the process dies by SIGFPE where a debugger or a core dump shows it. */
static void report_fp_exception(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    static const char prefix[] = "trainer: error: floating-point exception (--trap-fp): ";
    const char *what = info->si_code == FPE_FLTINV   ? "invalid operation (0/0, inf-inf, sqrt(-1))\n"
                       : info->si_code == FPE_FLTDIV ? "division by zero\n"
                       : info->si_code == FPE_FLTOVF ? "overflow\n"
                                                     : "arithmetic exception\n";
    char line[160]; /* one write: two threads trapping at once do not interleave their lines */
    size_t length = strlen(what);
    memcpy(line, prefix, sizeof prefix - 1);
    memcpy(line + sizeof prefix - 1, what, length);
    if (write(STDERR_FILENO, line, sizeof prefix - 1 + length) < 0) {}
    signal(signal_number, SIG_DFL);
}

/* Unmasks invalid, divide-by-zero and overflow in the calling thread and in every thread of the
 * OpenMP team (the floating-point environment is per thread). */
void enable_fp_traps(int threads) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report_fp_exception;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGFPE, &action, NULL);
    feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW);
#pragma omp parallel num_threads(threads)
    feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW);
}

/* Whether the option was on the command line (as "--name VALUE" or "--name=VALUE"). */
int option_given(int argc, char **argv, int first, const char *name) {
    size_t length = strlen(name);
    for (int i = first; i < argc; i++)
        if (strncmp(argv[i], name, length) == 0 && (argv[i][length] == '\0' || argv[i][length] == '='))
            return 1;
    return 0;
}

/* Parameters + gradients (+ the best model for --patience) and the activation buffers of a
 * batch, checked against the machine's memory before anything is allocated. */
int check_training_fits_memory(const char *layers, const int *sizes, int count, int batch,
                                      int keep_best, mlp_error *error) {
    size_t parameters = 0, units = 0;
    for (int l = 0; l + 1 < count; l++) {
        size_t weights = (size_t)sizes[l] * (size_t)sizes[l + 1]; /* each size <= 2^20 */
        parameters += ((weights + 15) & ~(size_t)15) + (((size_t)sizes[l + 1] + 15) & ~(size_t)15);
        units += (size_t)sizes[l + 1];
    }
    if (parameters > MLP_MAX_PARAMETERS)
        return mlp_error_set(error, "--layers %s: %zu parameters, more than the limit of %zu (%zu GiB of floats)",
                         layers, parameters, MLP_MAX_PARAMETERS, MLP_MAX_PARAMETERS * 4 >> 30);
    double needed = 4.0 * (double)parameters * (keep_best ? 3 : 2) +
                    4.0 * 2 * (double)units * (batch > 256 ? batch : 256);
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    double available = pages > 0 && page_size > 0 ? (double)pages * (double)page_size : 0.0;
    if (available > 0 && needed > available)
        return mlp_error_set(error, "--layers %s: training needs about %.1f GiB (parameters, gradients, "
                         "activations) but this machine has %.1f GiB", layers, needed / (1 << 30),
                         available / (1 << 30));
    return 0;
}
