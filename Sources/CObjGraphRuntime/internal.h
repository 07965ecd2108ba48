// Shared declarations between the C files of CObjGraphRuntime. Not part of the module's API.
#ifndef OGR_INTERNAL_H
#define OGR_INTERNAL_H

#include "include/CObjGraphRuntime.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define OGR_LIKELY(x) __builtin_expect(!!(x), 1)
/// Conservative scanning reads words no one declared: ASan's redzones around globals and stack
/// variables, other threads' stacks. A program built with -sanitize=address compiles this
/// target instrumented too; the scanning functions opt out, since such reads are the point.
#define OGR_NO_SANITIZE __attribute__((no_sanitize("address", "hwaddress", "thread", "memory")))

#define OGR_UNLIKELY(x) __builtin_expect(!!(x), 0)

// ---- Live map -------------------------------------------------------------------------------
// One byte per 16-byte granule of user address space says what starts there: a tracked object
// (OGR_LIVE), deinitialized but held by `unowned` references (OGR_ZOMBIE). Every object owns
// its byte, so allocation and free update it with plain stores: no locked instruction on the
// hot path. Two levels, so that frees of memory nowhere near a Swift object are rejected with
// one load: a top table of 1 GiB chunks (static, 1 MiB of zero pages) and, per chunk that ever
// held a tracked object, a 64 MiB leaf mapped with MAP_NORESERVE (only touched pages cost
// memory: 1/16 of the heap that holds Swift objects, 3 bytes for a 48-byte object). A summary
// byte per 64 KiB of address space marks the leaf pages ever written, so a capture walks only those.
#define OGR_ADDRESS_BITS 47
#define OGR_CHUNK_SHIFT 30
#define OGR_TOP_ENTRIES (1u << (OGR_ADDRESS_BITS - OGR_CHUNK_SHIFT))
#define OGR_LEAF_BYTES ((1ul << OGR_CHUNK_SHIFT) >> 4)        /* one byte per 16 bytes */
#define OGR_SUMMARY_SHIFT 16                                 /* one summary byte per 64 KiB */
#define OGR_SUMMARY_BYTES ((1ul << OGR_CHUNK_SHIFT) >> OGR_SUMMARY_SHIFT)

// State bits: 0 free, OGR_LIVE a Swift object, OGR_LIVE | OGR_ZOMBIE a Swift object deinitialized
// but kept by `unowned` references, OGR_BLOCK (the same bit without OGR_LIVE) a block of the C
// allocator that is not a Swift object.
#define OGR_LIVE 1u
#define OGR_ZOMBIE 2u
#define OGR_BLOCK 2u
#define OGR_STATE_BITS 3u
/// State 0 with a mark: a chunk tracking has seen (freed since, or allocated by objgraph itself
/// while suppressed), so a capture never takes it for memory from before tracking started.
#define OGR_SEEN 4u
// Bits 2-7: the allocation epoch (ogr_epoch modulo 64) the object was allocated in, so a check
// can tell an object made since it began from an older one at a reused address.
#define OGR_EPOCH_SHIFT 2
extern _Atomic uint32_t ogr_epoch;
/// Starts a new allocation epoch (every capture does, while allocation is paused) and returns it.
uint32_t ogr_advance_epoch(void);

typedef struct {
    uint8_t *bytes;          // OGR_LEAF_BYTES
    uint8_t *summary;        // OGR_SUMMARY_BYTES: 1 once any byte of that 4 KiB of map was set
} ogr_leaf;

extern _Atomic(ogr_leaf *) ogr_map[OGR_TOP_ENTRIES];
/// One bit per `ogr_map` entry that has a leaf: walks visit the few chunks in use without
/// reading the whole 1 MiB top table (every page of which would fault in on first read).
extern _Atomic uint64_t ogr_leaf_bits[OGR_TOP_ENTRIES / 64];

/// Maps the leaf for `address`'s chunk (first use of the chunk). NULL if it cannot.
ogr_leaf *ogr_leaf_create(uintptr_t address);

/// The map byte of `address`, or NULL when its chunk has no leaf (and `create` is 0).
/// Inline: it is on every allocation and every free.
static inline uint8_t *ogr_map_byte(uintptr_t address, int create) {
    if (OGR_UNLIKELY(address >> OGR_ADDRESS_BITS)) return NULL;
    ogr_leaf *leaf = atomic_load_explicit(&ogr_map[address >> OGR_CHUNK_SHIFT], memory_order_acquire);
    if (OGR_UNLIKELY(!leaf)) {
        if (!create) return NULL;
        leaf = ogr_leaf_create(address);
        if (!leaf) return NULL;
    }
    return &leaf->bytes[(address & ((1ul << OGR_CHUNK_SHIFT) - 1)) >> 4];
}

static inline uint8_t ogr_map_load(const uint8_t *b) { return __atomic_load_n(b, __ATOMIC_RELAXED); }
static inline void ogr_map_store(uint8_t *b, uint8_t v) { __atomic_store_n(b, v, __ATOMIC_RELAXED); }

/// Marks the summary byte covering `address` (a plain store, once per 64 KiB).
static inline void ogr_map_touch(uintptr_t address) {
    ogr_leaf *leaf = atomic_load_explicit(&ogr_map[address >> OGR_CHUNK_SHIFT], memory_order_relaxed);
    uint8_t *summary = &leaf->summary[(address & ((1ul << OGR_CHUNK_SHIFT) - 1)) >> OGR_SUMMARY_SHIFT];
    if (OGR_UNLIKELY(!__atomic_load_n(summary, __ATOMIC_RELAXED))) __atomic_store_n(summary, 1, __ATOMIC_RELAXED);
}

// ---- Types ----------------------------------------------------------------------------------
/// Index of `metadata`, registering it on first sight. Lock-free; never allocates with malloc.
uint32_t ogr_type_index(uintptr_t metadata);
/// Index of an already-registered `metadata`, or UINT32_MAX.
uint32_t ogr_type_lookup(uintptr_t metadata);

typedef struct { uint32_t mode, a, b; } ogr_scan_plan;
extern ogr_scan_plan ogr_plans[OGR_MAX_TYPES];
/// The largest allocation size the runtime asked for an object of each type (its instance
/// size, unless the class is tail-allocated).
extern uint32_t ogr_largest_request[OGR_MAX_TYPES];

extern _Atomic uint32_t ogr_paused;

/// The main thread's thread pointer (its `pthread_self()`), and glibc's static TLS size.
extern uintptr_t ogr_main_thread_pointer;
extern size_t ogr_static_tls_size;

/// Live object count and live bytes of type `index`, summed over all threads. O(threads).
void ogr_type_totals(uint32_t index, int64_t *count, int64_t *bytes);

// ---- Threads --------------------------------------------------------------------------------
/// Per-thread state. Blocks are never freed: a block whose thread exited is reused by the
/// next new thread, and its counters keep their values, so sums over all blocks stay exact.
typedef struct ogr_thread {
    struct ogr_thread *next;
    _Atomic int in_use;
    _Atomic uint32_t in_op;      // >0 while recording an allocation or a tracked free
    int suppress;                // >0: do not record this thread's allocations
    int pauser;                  // this thread is running a capture
    int swift_alloc;             // inside the allocation hook: the block malloc hands out is a Swift object
    int64_t *counters;           // [OGR_MAX_TYPES][2]: live count, live bytes; written by owner only
    uint64_t recorded, freed;    // diagnostics, written by owner only (atomically for the shared block)
    int64_t blocks, block_bytes; // live C heap blocks (not Swift objects) and their bytes, same rules
    _Atomic int tid;             // kernel thread id of the owner
    uintptr_t stack_probe;       // an address on the owner's stack, to find it while it runs
    // A small direct-mapped cache of metadata -> type index (owner only), so the hot path
    // rarely probes the shared type table.
    uintptr_t cache_metadata[64];
    uint32_t cache_index[64];
} ogr_thread;

extern ogr_thread ogr_shared_thread;
extern _Atomic(ogr_thread *) ogr_threads;
extern __thread ogr_thread *ogr_tls_self __attribute__((tls_model("initial-exec")));

/// Registers the calling thread (first use). NULL while the thread is exiting.
ogr_thread *ogr_self_slow(void);

/// The calling thread's block, registering the thread on first use. NULL while the thread is
/// exiting (its updates then go to a shared block with atomic adds).
static inline ogr_thread *ogr_self(void) {
    ogr_thread *t = ogr_tls_self;
    return OGR_LIKELY(t != NULL) ? t : ogr_self_slow();
}

/// Add `count`/`bytes` to a type's totals in the calling thread's counters.
static inline void ogr_count(ogr_thread *t, uint32_t type, int64_t count, int64_t bytes) {
    int64_t *c = &t->counters[2 * (size_t)type];
    if (OGR_UNLIKELY(t == &ogr_shared_thread)) {
        __atomic_fetch_add(&c[0], count, __ATOMIC_RELAXED);
        __atomic_fetch_add(&c[1], bytes, __ATOMIC_RELAXED);
        return;
    }
    // Only the owning thread writes its counters, so no locked instruction is needed; readers
    // see whole 64-bit values.
    __atomic_store_n(&c[0], __atomic_load_n(&c[0], __ATOMIC_RELAXED) + count, __ATOMIC_RELAXED);
    __atomic_store_n(&c[1], __atomic_load_n(&c[1], __ATOMIC_RELAXED) + bytes, __ATOMIC_RELAXED);
}

/// `ogr_type_index` / `ogr_type_lookup` through the thread's cache.
static inline uint32_t ogr_type_cached(ogr_thread *t, uintptr_t metadata, int insert) {
    if (OGR_UNLIKELY(t == &ogr_shared_thread)) return insert ? ogr_type_index(metadata) : ogr_type_lookup(metadata);
    size_t slot = (metadata >> 4) & 63;
    if (OGR_LIKELY(t->cache_metadata[slot] == metadata)) return t->cache_index[slot];
    uint32_t index = insert ? ogr_type_index(metadata) : ogr_type_lookup(metadata);
    if (index != UINT32_MAX) {
        t->cache_metadata[slot] = metadata;
        t->cache_index[slot] = index;
    }
    return index;
}

// ---- Pause protocol -------------------------------------------------------------------------
// Recording an allocation and accounting a tracked free happen inside enter/leave. A capture
// sets `ogr_paused`, then waits until no thread is inside; threads arriving meanwhile wait.
void ogr_enter_slow(ogr_thread *t);
extern int ogr_use_membarrier;
/// Announces an allocation record or a tracked free; waits while a capture is running.
static inline void ogr_enter(ogr_thread *t) {
    if (OGR_LIKELY(t != &ogr_shared_thread)) {
        atomic_store_explicit(&t->in_op, atomic_load_explicit(&t->in_op, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        if (OGR_LIKELY(ogr_use_membarrier)) atomic_signal_fence(memory_order_seq_cst);
        else atomic_thread_fence(memory_order_seq_cst);
        if (OGR_LIKELY(atomic_load_explicit(&ogr_paused, memory_order_relaxed) == 0)) return;
        // Paused: undo and take the slow path, which waits unless this thread is the capture.
        atomic_store_explicit(&t->in_op, atomic_load_explicit(&t->in_op, memory_order_relaxed) - 1,
                              memory_order_relaxed);
    }
    ogr_enter_slow(t);
}
static inline void ogr_leave(ogr_thread *t) {
    if (OGR_UNLIKELY(t == &ogr_shared_thread)) {
        atomic_fetch_sub_explicit(&t->in_op, 1, memory_order_release);
    } else {
        // Only the owner writes its in_op (a signal handler's nested enter/leave completes before
        // the interrupted code resumes), so no locked instruction is needed.
        atomic_store_explicit(&t->in_op, atomic_load_explicit(&t->in_op, memory_order_relaxed) - 1,
                              memory_order_release);
    }
}
/// Add `count`/`bytes` to the calling thread's C heap block totals.
static inline void ogr_count_block(ogr_thread *t, int64_t count, int64_t bytes) {
    if (OGR_UNLIKELY(t == &ogr_shared_thread)) {
        __atomic_fetch_add(&t->blocks, count, __ATOMIC_RELAXED);
        __atomic_fetch_add(&t->block_bytes, bytes, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&t->blocks, __atomic_load_n(&t->blocks, __ATOMIC_RELAXED) + count, __ATOMIC_RELAXED);
    __atomic_store_n(&t->block_bytes, __atomic_load_n(&t->block_bytes, __ATOMIC_RELAXED) + bytes, __ATOMIC_RELAXED);
}
/// Owner-only counter increment (atomic for the shared block).
static inline void ogr_bump(ogr_thread *t, uint64_t *counter) {
    if (OGR_UNLIKELY(t == &ogr_shared_thread)) __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    else __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}
void ogr_pause_world(void);
void ogr_resume_world(void);
void ogr_pause_init(void);

// ---- Allocator ------------------------------------------------------------------------------
typedef void *(*alloc_fn)(const void *metadata, size_t size, size_t align_mask);
/// The runtime's allocation function our hook forwards to.
extern alloc_fn ogr_previous_alloc;
/// The allocation hook, the `free` interposer and zombie notes (hot_path.c).
void *ogr_alloc_hook(const void *metadata, size_t size, size_t align_mask);
void ogr_free(void *p);
void ogr_note_zombie(void *object);
/// Set while dlsym resolves the allocator: frees meanwhile go straight underneath.
extern __thread int ogr_resolving __attribute__((tls_model("initial-exec")));
extern void __libc_free(void *);
// Sanitizer runtimes define `free` as a weak alias of an interceptor that keeps its own name.
extern void ___interceptor_free(void *) __attribute__((weak));
extern void __interceptor_free(void *) __attribute__((weak));
/// The sanitizer's free interceptor, when a sanitizer runtime is linked in.
static inline void (*ogr_sanitizer_free(void))(void *) {
    return ___interceptor_free ? ___interceptor_free : __interceptor_free;
}
extern void (*ogr_real_free)(void *);
// The allocator's own functions (glibc's, another preloaded allocator's, or a sanitizer's
// interceptors), resolved by ogr_resolve_allocator.
extern void *(*ogr_real_malloc)(size_t);
extern void *(*ogr_real_calloc)(size_t, size_t);
extern void *(*ogr_real_realloc)(void *, size_t);
extern int (*ogr_real_posix_memalign)(void **, size_t, size_t);
extern void *(*ogr_real_aligned_alloc)(size_t, size_t);
extern void *(*ogr_real_memalign)(size_t, size_t);
extern void *(*ogr_real_valloc)(size_t);
extern void *(*ogr_real_pvalloc)(size_t);
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
/// Frees of tracked memory by the thread running a capture, accounted at `ogr_capture_end`.
#define OGR_DEFERRED_FREES 65536
extern void *ogr_deferred_frees[OGR_DEFERRED_FREES];
extern _Atomic uint32_t ogr_deferred_count;
int ogr_account_free(void *p);
#define OGR_BOOTSTRAP_BLOCKS 64
extern void *ogr_bootstrap_blocks[OGR_BOOTSTRAP_BLOCKS];
extern _Atomic uint32_t ogr_bootstrap_count;
extern size_t (*ogr_real_usable_size)(void *);
void ogr_resolve_allocator(void);
/// 1 when the allocator underneath is glibc's (its chunk header can be read directly).
extern int ogr_glibc_malloc;
/// Words that mark runtime-made C heap blocks, 0 while the runtime is not found: the first word
/// of every Swift task allocator slab (what `_swift_concurrency_debug_asyncTaskSlabMetadata`
/// holds), a task's metadata (only for the task layout the capture knows), and the isa of a
/// heap-copied block (`_NSConcreteMallocBlock`).
extern uintptr_t ogr_task_slab_marker, ogr_task_metadata, ogr_malloc_block_isa;
/// Looks for the markers not known yet (the runtimes may be loaded after tracking starts).
/// Call outside a capture: it may read the executable's symbols.
void ogr_find_runtime_markers(void);
/// Notes the extent of glibc's heap when tracking starts (capture.c): only that part can hold
/// memory from before tracking.
void ogr_note_heap_at_start(void);

/// Bytes of the allocator block holding the live object `p`. With glibc, read from the chunk
/// header just before `p` (the object's own cache line); glibc's malloc_usable_size would also
/// read the next chunk's header to check the block is in use, which we know. Any other
/// allocator is asked.
static inline size_t ogr_block_size(void *p) {
    if (OGR_LIKELY(ogr_glibc_malloc)) {
        size_t header = ((const size_t *)p)[-1];
        size_t size = header & ~(size_t)7;
        return (header & 2) ? size - 2 * sizeof(size_t) : size - sizeof(size_t);   // 2: mmapped chunk
    }
    return ogr_real_usable_size(p);
}

// ---- Reference counts ---------------------------------------------------------------------------
// 64-bit inline refcount word (swift/RefCount.h): bit 0 pure-Swift dealloc, bits 1-31 unowned
// count (+1 while the object is not freed), bit 32 deiniting, bits 33-62 strong extra count,
// bit 63 "uses slow RC" (a side table, or an immortal object). RuntimeFactsTests checks the
// decoding against the runtime's own functions.
#define RC_UNOWNED(bits) (((bits) >> 1) & 0x7fffffffu)
#define RC_SIDE_TABLE(bits) ((bits) >> 63)
#define RC_DEINITING(bits) (((bits) >> 32) & 1u)
#define RC_STRONG_EXTRA(bits) (((bits) >> 33) & 0x3fffffffu)

size_t swift_retainCount(void *object);
size_t swift_unownedRetainCount(void *object);
size_t swift_weakRetainCount(void *object);
_Bool swift_isDeallocating(void *object);

typedef struct { uint32_t strong, unowned, weak, deinitializing; } ogr_counts;

/// The counts `swift_retainCount`, `swift_unownedRetainCount`, `swift_weakRetainCount` and
/// `swift_isDeallocating` would return, read from the inline word when there is no side table
/// (four calls saved per object in a capture). Without a side table there are no weak
/// references, and the runtime reports the weak count's implicit +1: 1.
static inline ogr_counts ogr_read_counts(void *object) {
    uint64_t bits = __atomic_load_n((const uint64_t *)((const char *)object + 8), __ATOMIC_RELAXED);
    ogr_counts c;
    if (OGR_LIKELY(!RC_SIDE_TABLE(bits))) {
        c.strong = RC_STRONG_EXTRA(bits) + 1;
        c.unowned = RC_UNOWNED(bits);
        c.weak = 1;
        c.deinitializing = RC_DEINITING(bits);
        return c;
    }
    c.strong = (uint32_t)swift_retainCount(object);
    c.unowned = (uint32_t)swift_unownedRetainCount(object);
    c.weak = (uint32_t)swift_weakRetainCount(object);
    c.deinitializing = swift_isDeallocating(object) ? 1 : 0;
    return c;
}

extern _Atomic int ogr_installed_flag;
extern _Atomic int ogr_recording_flag;

typedef struct {
    _Atomic uint64_t missed_frees, unknown_metadata, deinit_seen;   // rare events only
} ogr_counters_t;
extern ogr_counters_t ogr_diag;

#endif
