/* The step timeline: per-thread event buffers, written as CSV at the end (timeline.h). */
#define _POSIX_C_SOURCE 200809L /* strdup, open_memstream */
#include "core/timeline.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"
#include "mlp/common.h"

/* Events each thread can record: about 45 a step for 784,128,64,10 on 2 threads, so some 7
 * epochs of it; later events are dropped (and counted). */
enum { EVENTS_PER_THREAD = 1 << 18 };

typedef struct timeline_entry {
    double seconds;
    short event, layer, kernel;
} timeline_entry;

/* One cache line per thread: recording must not make the threads it watches share lines. */
typedef struct thread_events {
    _Alignas(64) timeline_entry *entries;
    long count, dropped;
} thread_events;

int mlp_timeline_recording;
static const void *recording_owner;
static int recorded; /* one recording per process */
static thread_events *threads_events;
static int thread_count;
static double origin;
static char *path;

static void release(void) {
    for (int t = 0; threads_events && t < thread_count; t++) free(threads_events[t].entries);
    mlp_aligned_free(threads_events);
    free(path);
    threads_events = NULL;
    path = NULL;
    thread_count = 0;
    mlp_timeline_recording = 0;
}

void mlp_timeline_start(const void *owner, int threads) {
    const char *file = getenv("MLP_TIMELINE");
    if (!file || !*file || recorded || threads < 1) return;
    recorded = 1;
    recording_owner = owner;
    thread_count = threads;
    threads_events = mlp_aligned_calloc((size_t)threads, sizeof *threads_events);
    path = strdup(file);
    int failed = !threads_events || !path;
    for (int t = 0; !failed && t < threads; t++) {
        threads_events[t].entries = malloc(EVENTS_PER_THREAD * sizeof(timeline_entry));
        failed |= !threads_events[t].entries;
    }
    if (failed) {
        fprintf(stderr, "trainer: warning: MLP_TIMELINE=%s: out of memory, no timeline\n", file);
        release();
        return;
    }
    origin = mlp_wall_seconds();
    mlp_timeline_recording = 1;
}

void mlp_timeline_record(mlp_timeline_event event, int layer, mlp_profile_kernel kernel) {
    const int thread = omp_get_thread_num();
    if (thread >= thread_count) return;
    thread_events *mine = &threads_events[thread];
    if (mine->count >= EVENTS_PER_THREAD) {
        mine->dropped++;
        return;
    }
    mine->entries[mine->count++] =
        (timeline_entry){mlp_wall_seconds() - origin, (short)event, (short)layer, (short)kernel};
}

static const char *event_name(int event) {
    switch (event) {
    case MLP_TIMELINE_STEP: return "step";
    case MLP_TIMELINE_PHASE_START: return "start";
    case MLP_TIMELINE_PHASE_END: return "end";
    case MLP_TIMELINE_BARRIER_ARRIVE: return "barrier_arrive";
    case MLP_TIMELINE_BARRIER_LEAVE: return "barrier_leave";
    }
    return "?";
}

/* The CSV of every thread's events. */
static void write_events(FILE *out) {
    fprintf(out, "thread,seconds,event,layer,kernel\n");
    for (int t = 0; t < thread_count; t++) {
        const thread_events *events = &threads_events[t];
        for (long i = 0; i < events->count; i++) {
            const timeline_entry *e = &events->entries[i];
            const int phase_end = e->event == MLP_TIMELINE_PHASE_END;
            fprintf(out, "%d,%.9f,%s,%d,%s\n", t, e->seconds, event_name(e->event),
                    phase_end ? e->layer : -1,
                    phase_end ? mlp_profile_kernel_name((mlp_profile_kernel)e->kernel) : "");
        }
        if (events->dropped)
            fprintf(stderr, "trainer: warning: MLP_TIMELINE: thread %d's last %ld events dropped (%d kept)\n",
                    t, events->dropped, EVENTS_PER_THREAD);
    }
}

void mlp_timeline_finish(const void *owner) {
    if (!mlp_timeline_recording || owner != recording_owner) return;
    mlp_timeline_recording = 0;
    /* built in memory, then written as every output file is (temporary, fsync, rename) */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out) {
        write_events(out);
        fclose(out);
    }
    mlp_error error;
    if (!out || !text)
        fprintf(stderr, "trainer: warning: MLP_TIMELINE=%s: out of memory, no timeline\n", path);
    else if (mlp_file_write_atomic(path, text, size, &error) != 0)
        fprintf(stderr, "trainer: warning: MLP_TIMELINE: %s\n", error.message);
    free(text);
    release();
}
