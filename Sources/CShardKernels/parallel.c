// A persistent helper thread for sharing one job between two threads. Decode steps run ~60 small matrix products per
// token; waking a pooled thread for each (Dispatch) costs a noticeable share of the step, so the helper spins briefly
// for the next job before it sleeps on a condition variable. The job is cut into chunks that either thread claims
// in turn, so that a thread slowed down (another process on its core) takes fewer of them.
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
    atomic_uint_fast64_t claim;       // (job generation << 32) | index of the next unclaimed chunk
    atomic_int_fast64_t completed;    // chunks of the current job finished, by either thread
    atomic_int started;
    // The job (written before `generation` is bumped; read by the helper only for a chunk it then claims).
    _Atomic(shard_chunk_fn) fn;
    _Atomic(void *) context;
    atomic_int_fast64_t count, grain, chunks;
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/// Claims and runs chunks of job `generation` until none is left (or the job is no longer current): a claim
/// succeeds only while the job has unclaimed chunks, so its caller is still waiting and its fields are its own.
static void run_chunks(uint_fast64_t generation, shard_chunk_fn fn, void *context, int64_t count, int64_t grain,
                       int64_t chunks) {
    const uint_fast64_t job = (generation & 0xFFFFFFFFu) << 32;
    uint_fast64_t seen = atomic_load_explicit(&pool.claim, memory_order_acquire);
    for (;;) {
        if ((seen & ~(uint_fast64_t)0xFFFFFFFFu) != job) return;
        const int64_t index = (int64_t)(seen & 0xFFFFFFFFu);
        if (index >= chunks) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &seen, seen + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        const int64_t begin = index * grain, end = begin + grain < count ? begin + grain : count;
        fn(context, begin, end);
        atomic_fetch_add_explicit(&pool.completed, 1, memory_order_acq_rel);
        seen = atomic_load_explicit(&pool.claim, memory_order_acquire);
    }
}

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
        run_chunks(generation, atomic_load_explicit(&pool.fn, memory_order_relaxed),
                   atomic_load_explicit(&pool.context, memory_order_relaxed),
                   atomic_load_explicit(&pool.count, memory_order_relaxed),
                   atomic_load_explicit(&pool.grain, memory_order_relaxed),
                   atomic_load_explicit(&pool.chunks, memory_order_relaxed));
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

int shard_parallel_chunks(shard_chunk_fn fn, void *context, int64_t count, int64_t grain) {
    if (grain < 1 || count < 1) return 0;
    pthread_once(&pool.once, start_helper);
    if (!atomic_load(&pool.started) || pthread_mutex_trylock(&pool.busy) != 0) return 0;
    const int64_t chunks = (count + grain - 1) / grain;
    const uint_fast64_t generation = atomic_load_explicit(&pool.generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.context, context, memory_order_relaxed);
    atomic_store_explicit(&pool.count, count, memory_order_relaxed);
    atomic_store_explicit(&pool.grain, grain, memory_order_relaxed);
    atomic_store_explicit(&pool.chunks, chunks, memory_order_relaxed);
    atomic_store_explicit(&pool.completed, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (generation & 0xFFFFFFFFu) << 32, memory_order_release);
    pthread_mutex_lock(&pool.lock);
    atomic_store_explicit(&pool.generation, generation, memory_order_release);
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_chunks(generation, fn, context, count, grain, chunks);
    // Every chunk claimed; wait for the helper to finish the ones it took (none, when it never woke up).
    while (atomic_load_explicit(&pool.completed, memory_order_acquire) < chunks) cpu_relax();
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
