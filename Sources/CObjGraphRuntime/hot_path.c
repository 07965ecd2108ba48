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

// ---- free -----------------------------------------------------------------------------------
static void account_free(void *p, uint8_t *b) {
    ogr_thread *t = ogr_self();
    if (!t) t = &ogr_shared_thread;
    ogr_enter(t);
    uint8_t state = ogr_map_load(b);
    if (state & OGR_LIVE) {
        ogr_map_store(b, 0);
        // A zombie was already subtracted when it was deinitialized.
        if (!(state & OGR_ZOMBIE)) {
            uint32_t type = ogr_type_cached(t, *(uintptr_t *)p, 0);
            if (type != UINT32_MAX) ogr_count(t, type, -1, -(int64_t)ogr_block_size(p));
            else atomic_fetch_add(&ogr_diag.unknown_metadata, 1);
        }
        ogr_bump(t, &t->freed);
    }
    ogr_leave(t);
}

void ogr_free(void *p);
__attribute__((visibility("default"), alias("ogr_free"))) void free(void *p);

/// Our `free` under its own, local name: `free` itself resolves to whichever definition won.
__attribute__((visibility("hidden"))) void ogr_free(void *p) {
    if (OGR_UNLIKELY(!p)) return;
    if (atomic_load_explicit(&ogr_installed_flag, memory_order_relaxed) && !((uintptr_t)p & 15)) {
        uint8_t *b = ogr_map_byte((uintptr_t)p, 0);
        if (b && (ogr_map_load(b) & OGR_LIVE)) account_free(p, b);
    }
    if (OGR_UNLIKELY(!ogr_real_free)) {
        if (ogr_resolving) { (ogr_sanitizer_free() ? ogr_sanitizer_free() : __libc_free)(p); return; }
        ogr_resolve_allocator();
    }
    ogr_real_free(p);
}

// ---- Allocation hook ------------------------------------------------------------------------
void *ogr_alloc_hook(const void *metadata, size_t size, size_t align_mask) {
    void *object = ogr_previous_alloc(metadata, size, align_mask);
    if (OGR_UNLIKELY(!atomic_load_explicit(&ogr_recording_flag, memory_order_relaxed))) return object;
    ogr_thread *t = ogr_self();
    if (OGR_UNLIKELY(!t)) t = &ogr_shared_thread;
    if (t->suppress) return object;
    ogr_enter(t);
    uintptr_t address = (uintptr_t)object;
    uint8_t *b = ogr_map_byte(address, 1);
    if (OGR_LIKELY(b)) {
        if (OGR_UNLIKELY(ogr_map_load(b) & OGR_LIVE)) {
            // The previous object here was freed without passing through our free: its count
            // cannot be corrected, but the miss is reported.
            atomic_fetch_add(&ogr_diag.missed_frees, 1);
        } else {
            uint32_t type = ogr_type_cached(t, (uintptr_t)metadata, 1);
            ogr_count(t, type, 1, (int64_t)ogr_block_size(object));
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
