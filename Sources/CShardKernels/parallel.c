// A persistent helper thread for splitting one job in two. Decode steps run ~60 small matrix products per token;
// waking a pooled thread for each (Dispatch) costs a noticeable share of the step, so the helper spins briefly
// for the next job before it sleeps on a condition variable.
#define _GNU_SOURCE
#include "shard_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>

#if defined(__x86_64__)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#else
static inline void cpu_relax(void) {}
#endif

/// Spins before sleeping: about 50 microseconds on current x86 cores, longer than the gap between two matrix
/// products of one step, far shorter than the gap between steps.
#define SHARD_SPIN_ROUNDS 2000

static struct {
    pthread_once_t once;
    pthread_mutex_t busy;   // held by the caller for the whole job: one job in the helper at a time
    pthread_mutex_t lock;   // guards sleeping on `wake`
    pthread_cond_t wake;
    atomic_uint_fast64_t generation;  // bumped once per job, after the job fields are written
    atomic_int done;                  // set by the helper when its half is finished
    atomic_int started;
    shard_chunk_fn fn;
    void *context;
    int64_t begin, end;
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *helper_main(void *unused) {
    (void)unused;
    uint_fast64_t seen = 0;
    for (;;) {
        uint_fast64_t generation;
        int rounds = 0;
        while ((generation = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++rounds < SHARD_SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool.lock);
            while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
                pthread_cond_wait(&pool.wake, &pool.lock);
            }
            pthread_mutex_unlock(&pool.lock);
        }
        seen = generation;
        pool.fn(pool.context, pool.begin, pool.end);
        atomic_store_explicit(&pool.done, 1, memory_order_release);
    }
    return 0;
}

static void start_helper(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attributes, helper_main, 0) == 0) atomic_store(&pool.started, 1);
    pthread_attr_destroy(&attributes);
}

int shard_parallel_split(shard_chunk_fn fn, void *context, int64_t split, int64_t count) {
    pthread_once(&pool.once, start_helper);
    if (!atomic_load(&pool.started) || pthread_mutex_trylock(&pool.busy) != 0) return 0;
    pool.fn = fn;
    pool.context = context;
    pool.begin = split;
    pool.end = count;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    fn(context, 0, split);
    while (!atomic_load_explicit(&pool.done, memory_order_acquire)) cpu_relax();
    pthread_mutex_unlock(&pool.busy);
    return 1;
}

int shard_available_cores(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) return count;
    }
#endif
    return 0;
}
