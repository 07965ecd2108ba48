// The registry: live map, type table, per-thread counters and the pause protocol.
// Hot paths (ogr_type_index, ogr_count, ogr_enter) take no lock and call no malloc.
#define _GNU_SOURCE
#include "internal.h"

#include <malloc.h>

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic(ogr_leaf *) ogr_map[OGR_TOP_ENTRIES];
_Atomic uint64_t ogr_leaf_bits[OGR_TOP_ENTRIES / 64];
ogr_counters_t ogr_diag;

static void *map_zeroed(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

ogr_leaf *ogr_leaf_create(uintptr_t address) {
    size_t top = address >> OGR_CHUNK_SHIFT;
    ogr_leaf *fresh = map_zeroed(sizeof(ogr_leaf));
    uint8_t *bytes = map_zeroed(OGR_LEAF_BYTES);
    uint8_t *summary = map_zeroed(OGR_SUMMARY_BYTES);
    if (!fresh || !bytes || !summary) {
        if (fresh) munmap(fresh, sizeof(ogr_leaf));
        if (bytes) munmap(bytes, OGR_LEAF_BYTES);
        if (summary) munmap(summary, OGR_SUMMARY_BYTES);
        return NULL;
    }
    fresh->bytes = bytes;
    fresh->summary = summary;
    ogr_leaf *expected = NULL;
    if (atomic_compare_exchange_strong(&ogr_map[top], &expected, fresh)) {
        atomic_fetch_or(&ogr_leaf_bits[top / 64], 1ull << (top % 64));
        return fresh;
    }
    munmap(bytes, OGR_LEAF_BYTES);   // another thread won the race
    munmap(summary, OGR_SUMMARY_BYTES);
    munmap(fresh, sizeof(ogr_leaf));
    return expected;
}

// ---- Types: an insert-only open-addressing table from metadata pointer to a dense index ----
#define TYPE_SLOTS (OGR_MAX_TYPES * 2)
static _Atomic uintptr_t type_keys[TYPE_SLOTS];
static _Atomic uint32_t type_values[TYPE_SLOTS];   // index + 1; 0 while being published
static uintptr_t type_metadata[OGR_MAX_TYPES];
static _Atomic uint32_t type_count;
ogr_scan_plan ogr_plans[OGR_MAX_TYPES];
uint32_t ogr_largest_request[OGR_MAX_TYPES];

static inline size_t type_hash(uintptr_t metadata) {
    return (size_t)((metadata >> 3) * 0x9E3779B97F4A7C15ull >> 40) & (TYPE_SLOTS - 1);
}

static uint32_t wait_published(size_t slot) {
    uint32_t v;
    while ((v = atomic_load_explicit(&type_values[slot], memory_order_acquire)) == 0) sched_yield();
    return v - 1;
}

uint32_t ogr_type_lookup(uintptr_t metadata) {
    for (size_t i = type_hash(metadata), n = 0; n < TYPE_SLOTS; i = (i + 1) & (TYPE_SLOTS - 1), n++) {
        uintptr_t key = atomic_load_explicit(&type_keys[i], memory_order_acquire);
        if (key == metadata) return wait_published(i);
        if (key == 0) return UINT32_MAX;
    }
    return UINT32_MAX;
}

uint32_t ogr_type_index(uintptr_t metadata) {
    for (size_t i = type_hash(metadata), n = 0; n < TYPE_SLOTS; i = (i + 1) & (TYPE_SLOTS - 1), n++) {
        uintptr_t key = atomic_load_explicit(&type_keys[i], memory_order_acquire);
        if (key == metadata) return wait_published(i);
        if (key == 0) {
            uintptr_t expected = 0;
            if (atomic_compare_exchange_strong(&type_keys[i], &expected, metadata)) {
                uint32_t index = atomic_fetch_add(&type_count, 1);
                if (index >= OGR_MAX_TYPES - 1) {          // table full: share the last slot
                    atomic_store(&type_count, OGR_MAX_TYPES);
                    index = OGR_MAX_TYPES - 1;
                }
                if (index < OGR_MAX_TYPES - 1) __atomic_store_n(&type_metadata[index], metadata, __ATOMIC_RELEASE);
                atomic_store_explicit(&type_values[i], index + 1, memory_order_release);
                return index;
            }
            if (expected == metadata) return wait_published(i);
        }
    }
    return OGR_MAX_TYPES - 1;
}

uint32_t ogr_type_count(void) {
    uint32_t n = atomic_load_explicit(&type_count, memory_order_acquire);
    return n > OGR_MAX_TYPES ? OGR_MAX_TYPES : n;
}

uintptr_t ogr_type_metadata(uint32_t index) {
    return index < OGR_MAX_TYPES - 1 ? __atomic_load_n(&type_metadata[index], __ATOMIC_ACQUIRE) : 0;
}

void ogr_set_scan_plan(uint32_t index, uint32_t mode, uint32_t a, uint32_t b) {
    if (index >= OGR_MAX_TYPES) return;
    ogr_plans[index].a = a;
    ogr_plans[index].b = b;
    __atomic_store_n(&ogr_plans[index].mode, mode, __ATOMIC_RELEASE);
}


// ---- Threads ---------------------------------------------------------------------------------
#define COUNTER_BYTES (sizeof(int64_t) * 2 * OGR_MAX_TYPES)

_Atomic(ogr_thread *) ogr_threads;
static int64_t shared_counters[2 * OGR_MAX_TYPES];
ogr_thread ogr_shared_thread = { .counters = shared_counters };

__thread ogr_thread *ogr_tls_self __attribute__((tls_model("initial-exec")));
#define tls_self ogr_tls_self
static __thread int tls_exiting;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *block) {
    ogr_thread *t = block;
    tls_exiting = 1;
    tls_self = NULL;
    atomic_store(&t->in_use, 0);     // counters stay; the next new thread takes the block over
}

static void make_exit_key(void) { pthread_key_create(&exit_key, thread_exit); }

static ogr_thread *register_thread(void) {
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        int expected = 0;
        if (atomic_load_explicit(&t->in_use, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&t->in_use, &expected, 1)) {
            t->suppress = 0;
            t->pauser = 0;
            return t;
        }
    }
    ogr_thread *t = map_zeroed(sizeof(ogr_thread));
    int64_t *counters = map_zeroed(COUNTER_BYTES);
    if (!t || !counters) return NULL;
    t->counters = counters;
    atomic_store(&t->in_use, 1);
    ogr_thread *head = atomic_load(&ogr_threads);
    do { t->next = head; } while (!atomic_compare_exchange_weak(&ogr_threads, &head, t));
    return t;
}

ogr_thread *ogr_self_slow(void) {
    ogr_thread *t = tls_self;
    if (t) return t;
    if (tls_exiting) return NULL;
    t = register_thread();
    if (!t) return NULL;
    tls_self = t;
    // Remember which kernel thread owns the block and an address on its stack, so a capture can
    // scan the stack of a thread that is running (no stack pointer known) and nothing else: the
    // capture finds the mapping that holds the address. (Not pthread_getattr_np: it allocates,
    // and this may run inside an allocation made while pthread_getattr_np holds its lock.)
    t->stack_probe = (uintptr_t)__builtin_frame_address(0);
    atomic_store(&t->tid, (int)syscall(SYS_gettid));
    pthread_once(&exit_key_once, make_exit_key);
    pthread_setspecific(exit_key, t);
    return t;
}


void ogr_type_totals(uint32_t index, int64_t *count, int64_t *bytes) {
    int64_t c = 0, b = 0;
    if (index < OGR_MAX_TYPES) {
        c = __atomic_load_n(&shared_counters[2 * index], __ATOMIC_RELAXED);
        b = __atomic_load_n(&shared_counters[2 * index + 1], __ATOMIC_RELAXED);
        for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
            c += __atomic_load_n(&t->counters[2 * index], __ATOMIC_RELAXED);
            b += __atomic_load_n(&t->counters[2 * index + 1], __ATOMIC_RELAXED);
        }
    }
    *count = c;
    *bytes = b;
}

void ogr_block_totals(int64_t *count, int64_t *bytes) {
    int64_t c = __atomic_load_n(&ogr_shared_thread.blocks, __ATOMIC_RELAXED);
    int64_t b = __atomic_load_n(&ogr_shared_thread.block_bytes, __ATOMIC_RELAXED);
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        c += __atomic_load_n(&t->blocks, __ATOMIC_RELAXED);
        b += __atomic_load_n(&t->block_bytes, __ATOMIC_RELAXED);
    }
    *count = c;
    *bytes = b;
}

void ogr_all_totals(int64_t *counts, int64_t *bytes, uint32_t n) {
    if (n > OGR_MAX_TYPES) n = OGR_MAX_TYPES;
    for (uint32_t i = 0; i < n; i++) {
        counts[i] = __atomic_load_n(&shared_counters[2 * i], __ATOMIC_RELAXED);
        bytes[i] = __atomic_load_n(&shared_counters[2 * i + 1], __ATOMIC_RELAXED);
    }
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        const int64_t *c = t->counters;
        for (uint32_t i = 0; i < n; i++) {
            counts[i] += __atomic_load_n(&c[2 * i], __ATOMIC_RELAXED);
            bytes[i] += __atomic_load_n(&c[2 * i + 1], __ATOMIC_RELAXED);
        }
    }
}

void ogr_suppress_begin(void) {
    ogr_thread *t = ogr_self();
    if (t) t->suppress++;
}

int ogr_suppress_save(void) {
    ogr_thread *t = ogr_self();
    if (!t) return 0;
    int depth = t->suppress;
    t->suppress = 0;
    return depth;
}

void ogr_suppress_restore(int depth) {
    ogr_thread *t = ogr_self();
    if (t) t->suppress = depth;
}

void ogr_suppress_end(void) {
    ogr_thread *t = ogr_self();
    if (t && t->suppress > 0) t->suppress--;
}

// ---- Pause protocol --------------------------------------------------------------------------
// A writer announces itself in its own `in_op`, then checks `ogr_paused`; the capturing thread
// sets `ogr_paused`, then waits for every `in_op` to drain. Each side must see the other's
// store (Dekker). With membarrier(2) the writer needs only a compiler barrier and the rare
// capturing thread pays for a process-wide barrier; without it the writer uses a full fence.
_Atomic uint32_t ogr_paused;
int ogr_use_membarrier;
static pthread_mutex_t pause_mutex = PTHREAD_MUTEX_INITIALIZER;

void ogr_pause_init(void) {
    long query = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (query > 0 && (query & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
        ogr_use_membarrier = 1;
    }
}

static void wait_while_paused(void) {
    uint32_t v;
    while ((v = atomic_load(&ogr_paused)) != 0) {
        syscall(SYS_futex, &ogr_paused, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
    }
}

void ogr_enter_slow(ogr_thread *t) {
    for (;;) {
        if (OGR_UNLIKELY(t == &ogr_shared_thread)) {
            atomic_fetch_add_explicit(&t->in_op, 1, memory_order_relaxed);
        } else {
            atomic_store_explicit(&t->in_op, atomic_load_explicit(&t->in_op, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        }
        if (ogr_use_membarrier) atomic_signal_fence(memory_order_seq_cst);
        else atomic_thread_fence(memory_order_seq_cst);
        if (OGR_LIKELY(atomic_load_explicit(&ogr_paused, memory_order_relaxed) == 0) || t->pauser) return;
        // A nested enter (a signal handler that allocates while this thread is already inside)
        // must not wait: the capture is waiting for this very thread to leave.
        if (t != &ogr_shared_thread && atomic_load_explicit(&t->in_op, memory_order_relaxed) > 1) return;
        ogr_leave(t);
        wait_while_paused();
    }
}

void ogr_pause_world(void) {
    pthread_mutex_lock(&pause_mutex);
    ogr_thread *self = ogr_self();
    if (self) self->pauser = 1;
    atomic_store(&ogr_paused, 1);
    if (ogr_use_membarrier) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    else atomic_thread_fence(memory_order_seq_cst);
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        if (t == self) continue;
        while (atomic_load_explicit(&t->in_op, memory_order_acquire) != 0) sched_yield();
    }
    while (atomic_load_explicit(&ogr_shared_thread.in_op, memory_order_acquire) != 0) sched_yield();
}

void ogr_resume_world(void) {
    ogr_thread *self = ogr_self();
    // What this thread freed while the world stood still is freed now (see
    // defer_if_capturing in hot_path.c); 2: its own enters pass, frees happen at once.
    if (self) self->pauser = 2;
    uint32_t deferred = atomic_exchange(&ogr_deferred_count, 0);
    for (uint32_t i = 0; i < deferred && i < OGR_DEFERRED_FREES; i++) free(ogr_deferred_frees[i]);
    if (self) self->pauser = 0;
    atomic_store(&ogr_paused, 0);
    syscall(SYS_futex, &ogr_paused, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
    pthread_mutex_unlock(&pause_mutex);
}

// fork(2): the child has only the forking thread. Blocks of threads that no longer exist keep
// their counts (the objects were copied into the child) but must not look busy or owned.
static void atfork_prepare(void) { pthread_mutex_lock(&pause_mutex); }
static void atfork_parent(void) { pthread_mutex_unlock(&pause_mutex); }
static void atfork_child(void) {
    ogr_thread *self = tls_self;
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        if (t == self) continue;
        atomic_store(&t->in_op, 0);
        atomic_store(&t->in_use, 0);
    }
    atomic_store(&ogr_shared_thread.in_op, 0);
    atomic_store(&ogr_paused, 0);
    pthread_mutex_init(&pause_mutex, NULL);
}

void ogr_registry_atfork(void);
void ogr_registry_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

uint32_t ogr_type_lookup_index(uintptr_t metadata) { return ogr_type_lookup(metadata); }

int64_t ogr_live_count(uint32_t index) {
    int64_t count, bytes;
    ogr_type_totals(index, &count, &bytes);
    return count;
}

int64_t ogr_allocator_free_bytes(void) {
    if (!ogr_glibc_malloc) return -1;
    struct mallinfo2 info = mallinfo2();
    return (int64_t)(info.fordblks + info.fsmblks);
}
