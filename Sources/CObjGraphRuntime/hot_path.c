// The hot path: the `free` interposer, the allocation hook and zombie notes, run on every
// allocation and every free of the observed program.
//
// Why this file is special: SwiftPM compiles C at -O0 in debug builds (where `swift test`
// runs), and a package depended on by version may not pass -O2 (unsafe flags are refused). At
// -O0 these few functions cost 1.7-2x on allocation-heavy code instead of 1.1-1.3x. So on
// x86_64 they are assembled from hot_path_x86_64.S, which `scripts/generate-hot-path` makes
// from this file with the toolchain's clang at -O2 (scripts/test checks that the two agree);
// on other architectures this file is compiled as usual. Keep it small: only what runs per
// allocation belongs here. Not instrumented under sanitizers either way (glibc frees memory
// inside ASan's initialisation, before its shadow memory exists).
#if !defined(__x86_64__) || defined(OGR_GENERATING_HOT_PATH)
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <string.h>

void ogr_free(void *p);

// ---- Heap blocks ----------------------------------------------------------------------------
// Every block the C allocator hands out while recording is a node of the heap graph (a Swift
// object's block becomes OGR_LIVE once the allocation hook sees it), so references held in C
// memory count: malloc'd buffers, Dispatch's queues and blocks, task allocator slabs.

/// Marks `p`, just returned by the allocator for `requested` bytes, as a live heap block.
///
/// A small block is zeroed whole (`fresh`: malloc and the aligned allocators), a larger one
/// past `requested`: until the program writes them, those bytes hold whatever the block's last
/// occupant left, and the capture scans C blocks word by word, so a stale pointer there would
/// keep some unrelated object "reachable" (a missed leak, a wrong chain). Most blocks are small
/// and written soon after; a large slack is fresh mmap'd memory, zero already.
#define ZEROED_BLOCK_BYTES 256

/// objgraph's own memory (a snapshot's arrays hold every object's address) is marked, so it is
/// never scanned as heap memory from before tracking.
static inline void mark_seen(void *p) {
    uint8_t *b = ogr_map_byte((uintptr_t)p, 1);
    if (b && !(ogr_map_load(b) & OGR_STATE_BITS)) ogr_map_store(b, OGR_SEEN);
}
static inline void record_block(void *p, size_t requested, int fresh) {
    if (OGR_UNLIKELY(!p) || ((uintptr_t)p & 15)) return;   // 8-byte-aligned tiny blocks of other allocators
    if (OGR_UNLIKELY(!atomic_load_explicit(&ogr_recording_flag, memory_order_relaxed))) {
        // Not recording (stopped for the exit report): objgraph's own memory is still marked.
        if (atomic_load_explicit(&ogr_installed_flag, memory_order_relaxed) && ogr_tls_self && ogr_tls_self->suppress)
            mark_seen(p);
        return;
    }
    ogr_thread *t = ogr_self();
    if (OGR_UNLIKELY(!t)) t = &ogr_shared_thread;
    if (t->suppress) {
        mark_seen(p);
        return;
    }
    // A Swift object's block: the allocation hook records it (it is no C block, and its
    // fields are initialised by its type, so there are no stale words to clear).
    if (t->swift_alloc) return;
    ogr_enter(t);
    uint8_t *b = ogr_map_byte((uintptr_t)p, 1);
    if (OGR_LIKELY(b)) {
        uint8_t old = ogr_map_load(b);
        if (OGR_UNLIKELY(old & OGR_STATE_BITS)) atomic_fetch_add(&ogr_diag.missed_frees, 1);
        uint32_t epoch = atomic_load_explicit(&ogr_epoch, memory_order_relaxed);
        ogr_map_store(b, (uint8_t)(OGR_BLOCK | ((epoch & 63u) << OGR_EPOCH_SHIFT)));
        ogr_map_touch((uintptr_t)p);
        size_t usable = ogr_block_size(p);
        if (fresh && usable <= ZEROED_BLOCK_BYTES) memset(p, 0, usable);
        else if (usable > requested && usable - requested <= ZEROED_BLOCK_BYTES) memset((char *)p + requested, 0, usable - requested);
        ogr_count_block(t, 1, (int64_t)usable);
    }
    ogr_leave(t);
}

/// The thread running a capture frees something tracked (the Swift runtime releasing an
/// object, a library freeing a buffer): the map must not change under the capture's two passes
/// (object indices are ranks in it), and the capture may still read that memory. So the free
/// itself, accounting and all, waits for `ogr_capture_end`. Returns 1 when deferred.
static int defer_if_capturing(ogr_thread *t, void *p) {
    if (OGR_LIKELY(t->pauser != 1)) return 0;
    uint32_t i = atomic_load_explicit(&ogr_deferred_count, memory_order_relaxed);
    if (i >= OGR_DEFERRED_FREES) return 0;   // full: freed now (the capture may then see a stale node)
    ogr_deferred_frees[i] = p;
    atomic_store_explicit(&ogr_deferred_count, i + 1, memory_order_relaxed);
    return 1;
}

/// A block marked by `record_block` is freed. Returns 1 when the free is deferred.
static int account_block_free(void *p, uint8_t *b) {
    ogr_thread *t = ogr_self();
    if (!t) t = &ogr_shared_thread;
    if (defer_if_capturing(t, p)) return 1;
    ogr_enter(t);
    if ((ogr_map_load(b) & OGR_STATE_BITS) == OGR_BLOCK) {
        ogr_map_store(b, OGR_SEEN);
        ogr_count_block(t, -1, -(int64_t)ogr_block_size(p));
    }
    ogr_leave(t);
    return 0;
}

/// Blocks handed out while the allocator was being resolved (dlsym allocates) come from glibc
/// even when another allocator is in use: they go back to glibc.
static inline int is_bootstrap_block(void *p) {
    uint32_t n = atomic_load_explicit(&ogr_bootstrap_count, memory_order_acquire);
    for (uint32_t i = 0; i < n && i < OGR_BOOTSTRAP_BLOCKS; i++) {
        if (ogr_bootstrap_blocks[i] == p) return 1;
    }
    return 0;
}

static inline void *bootstrap_block(void *p) {
    uint32_t i = atomic_fetch_add(&ogr_bootstrap_count, 1);
    if (i < OGR_BOOTSTRAP_BLOCKS) ogr_bootstrap_blocks[i] = p;
    return p;
}

/// The allocator underneath, resolving it on first use.
#define REAL(name) (OGR_LIKELY(ogr_real_##name != NULL) ? ogr_real_##name : (ogr_resolve_allocator(), ogr_real_##name))

__attribute__((visibility("default"))) void *malloc(size_t size) {
    if (OGR_UNLIKELY(!ogr_real_malloc) && ogr_resolving) return bootstrap_block(__libc_malloc(size));
    void *p = REAL(malloc)(size);
    record_block(p, size, 1);
    return p;
}

__attribute__((visibility("default"))) void *calloc(size_t count, size_t size) {
    if (OGR_UNLIKELY(!ogr_real_calloc) && ogr_resolving) return bootstrap_block(__libc_calloc(count, size));
    void *p = REAL(calloc)(count, size);
    record_block(p, count * size, 0);
    return p;
}

/// The block at `p` is about to be resized or freed by the allocator: it leaves the map.
static inline void forget_block(void *p) {
    if (!atomic_load_explicit(&ogr_installed_flag, memory_order_relaxed) || ((uintptr_t)p & 15)) return;
    uint8_t *b = ogr_map_byte((uintptr_t)p, 0);
    if (b && (ogr_map_load(b) & OGR_STATE_BITS) == OGR_BLOCK) (void)account_block_free(p, b);
}

/// 1 when `p` is a tracked block and this thread runs a capture: it may not be freed or moved
/// until the capture ends.
static inline int pinned_by_capture(void *p) {
    ogr_thread *t = ogr_tls_self;
    if (OGR_LIKELY(!t || t->pauser != 1) || ((uintptr_t)p & 15)) return 0;
    uint8_t *b = ogr_map_byte((uintptr_t)p, 0);
    return b && (ogr_map_load(b) & OGR_STATE_BITS);
}

__attribute__((visibility("default"))) void *realloc(void *old, size_t size) {
    if (OGR_UNLIKELY(!ogr_real_realloc) && ogr_resolving) return bootstrap_block(__libc_realloc(old, size));
    if (OGR_UNLIKELY(old && ogr_bootstrap_count) && is_bootstrap_block(old)) return __libc_realloc(old, size);
    if (old && !size) {   // glibc's realloc(p, 0) frees p
        ogr_free(old);
        return NULL;
    }
    if (OGR_UNLIKELY(old) && pinned_by_capture(old)) {
        // Moved by hand: the old block is freed when the capture ends.
        void *p = REAL(malloc)(size);
        if (!p) return NULL;
        size_t have = ogr_real_usable_size(old);
        memcpy(p, old, have < size ? have : size);
        ogr_free(old);
        return p;
    }
    if (old) forget_block(old);
    void *p = REAL(realloc)(old, size);
    // Failed (the old block stays) or freed (size 0): whatever is still allocated is a block.
    if (p) record_block(p, size, old == NULL);
    else if (size) record_block(old, ogr_real_usable_size(old), 0);   // failed: the old block stays as it was
    return p;
}

__attribute__((visibility("default"))) void *reallocarray(void *old, size_t count, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, bytes);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t alignment, size_t size) {
    int rc = REAL(posix_memalign)(out, alignment, size);
    if (rc == 0) record_block(*out, size, 1);
    return rc;
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t alignment, size_t size) {
    void *p = REAL(aligned_alloc)(alignment, size);
    record_block(p, size, 1);
    return p;
}

__attribute__((visibility("default"))) void *memalign(size_t alignment, size_t size) {
    void *p = REAL(memalign)(alignment, size);
    record_block(p, size, 1);
    return p;
}

__attribute__((visibility("default"))) void *valloc(size_t size) {
    void *p = REAL(valloc)(size);
    record_block(p, size, 1);
    return p;
}

__attribute__((visibility("default"))) void *pvalloc(size_t size) {
    void *p = REAL(pvalloc)(size);
    record_block(p, size, 1);
    return p;
}

// ---- free -----------------------------------------------------------------------------------
static int account_free(void *p, uint8_t *b) {
    ogr_thread *t = ogr_self();
    if (!t) t = &ogr_shared_thread;
    if (defer_if_capturing(t, p)) return 1;
    ogr_enter(t);
    uint8_t state = ogr_map_load(b);
    if (state & OGR_LIVE) {
        ogr_map_store(b, OGR_SEEN);
        // A zombie was already subtracted when it was deinitialized.
        if (!(state & OGR_ZOMBIE)) {
            uint32_t type = ogr_type_cached(t, *(uintptr_t *)p, 0);
            if (type != UINT32_MAX) ogr_count(t, type, -1, -(int64_t)ogr_block_size(p));
            else atomic_fetch_add(&ogr_diag.unknown_metadata, 1);
        }
        ogr_bump(t, &t->freed);
    }
    ogr_leave(t);
    return 0;
}

void ogr_free(void *p);
int ogr_account_free(void *p);
__attribute__((visibility("default"), alias("ogr_free"))) void free(void *p);

/// Our `free` under its own, local name: `free` itself resolves to whichever definition won.
__attribute__((visibility("hidden"))) void ogr_free(void *p) {
    if (OGR_UNLIKELY(!p)) return;
    if (OGR_UNLIKELY(ogr_account_free(p))) return;   // deferred until the capture ends
    if (OGR_UNLIKELY(ogr_bootstrap_count) && is_bootstrap_block(p)) {
        __libc_free(p);
        return;
    }
    if (OGR_UNLIKELY(!ogr_real_free)) {
        if (ogr_resolving) {
            (ogr_sanitizer_free() ? ogr_sanitizer_free() : __libc_free)(p);
            return;
        }
        ogr_resolve_allocator();
    }
    ogr_real_free(p);
}

/// The map and counters forget `p`, a Swift object or a C block about to be freed. Returns 1
/// when the free must wait for the end of the capture this thread runs.
int ogr_account_free(void *p) {
    if (atomic_load_explicit(&ogr_installed_flag, memory_order_relaxed) && !((uintptr_t)p & 15)) {
        uint8_t *b = ogr_map_byte((uintptr_t)p, 0);
        if (b) {
            uint8_t state = ogr_map_load(b);
            if (state & OGR_LIVE) return account_free(p, b);
            if (state & OGR_BLOCK) return account_block_free(p, b);
        }
    }
    return 0;
}

// ---- Allocation hook ------------------------------------------------------------------------
/// The largest size ever asked for an object of `type`: more than its instance size means
/// tail-allocated storage (ManagedBuffer, CheckedContinuation's canary), scanned whole.
static inline void note_request_size(uint32_t type, size_t size) {
    if (OGR_UNLIKELY(type >= OGR_MAX_TYPES)) return;
    uint32_t seen = __atomic_load_n(&ogr_largest_request[type], __ATOMIC_RELAXED);
    if (OGR_LIKELY(size <= seen)) return;
    uint32_t want = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    while (want > seen &&
           !__atomic_compare_exchange_n(&ogr_largest_request[type], &seen, want, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

void *ogr_alloc_hook(const void *metadata, size_t size, size_t align_mask) {
    ogr_thread *self = ogr_tls_self;
    if (OGR_LIKELY(self)) self->swift_alloc = 1;
    void *object = ogr_previous_alloc(metadata, size, align_mask);
    if (OGR_LIKELY(self)) self->swift_alloc = 0;
    if (OGR_UNLIKELY(!atomic_load_explicit(&ogr_recording_flag, memory_order_relaxed))) return object;
    ogr_thread *t = ogr_self();
    if (OGR_UNLIKELY(!t)) t = &ogr_shared_thread;
    if (t->suppress) return object;
    ogr_enter(t);
    uintptr_t address = (uintptr_t)object;
    uint8_t *b = ogr_map_byte(address, 1);
    if (OGR_LIKELY(b)) {
        uint8_t old = ogr_map_load(b);
        if (OGR_UNLIKELY(old & OGR_LIVE)) {
            // The previous object here was freed without passing through our free: its count
            // cannot be corrected, but the miss is reported.
            atomic_fetch_add(&ogr_diag.missed_frees, 1);
        } else {
            // The block malloc just returned for it is this object now, not a C block.
            if (OGR_LIKELY(old & OGR_BLOCK)) ogr_count_block(t, -1, -(int64_t)ogr_block_size(object));
            uint32_t type = ogr_type_cached(t, (uintptr_t)metadata, 1);
            ogr_count(t, type, 1, (int64_t)ogr_block_size(object));
            note_request_size(type, size);
        }
        uint32_t epoch = atomic_load_explicit(&ogr_epoch, memory_order_relaxed);
        ogr_map_store(b, (uint8_t)(OGR_LIVE | ((epoch & 63u) << OGR_EPOCH_SHIFT)));
        ogr_map_touch(address);
        ogr_bump(t, &t->recorded);
    }
    ogr_leave(t);
    return object;
}

// ---- Deallocation of class instances: notice objects that unowned references keep -----------

/// The deinitialized object stays allocated while `unowned` references remain: from now on it
/// is a zombie, not a live object (its memory is freed, through our `free`, when the last
/// unowned reference goes).
void ogr_note_zombie(void *object) {
    uint8_t *b = ogr_map_byte((uintptr_t)object, 0);
    if (!b || (ogr_map_load(b) & OGR_STATE_BITS) != OGR_LIVE) return;
    ogr_thread *t = ogr_self();
    if (!t) t = &ogr_shared_thread;
    ogr_enter(t);
    uint8_t state = ogr_map_load(b);
    if ((state & OGR_STATE_BITS) == OGR_LIVE) {
        ogr_map_store(b, state | OGR_ZOMBIE);
        uint32_t type = ogr_type_cached(t, *(uintptr_t *)object, 0);
        if (type != UINT32_MAX) ogr_count(t, type, -1, -(int64_t)ogr_block_size(object));
        atomic_fetch_add(&ogr_diag.deinit_seen, 1);
    }
    ogr_leave(t);
}

#endif
