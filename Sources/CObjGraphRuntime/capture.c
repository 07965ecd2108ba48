// Heap capture: with recording and tracked frees held off, walk the live map in address order,
// read each object's header, scan its reference words according to its type's scan plan, and
// scan the roots: writable data of every loaded image and the stack of every thread.
//
// No Swift code runs here and no object is retained: memory is read as plain words.
#define _GNU_SOURCE
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>


// Conservative stack scanning sees every word above the stack pointer. The frames a capture
// runs in sit where the caller's earlier, returned calls left their locals; those stale
// pointers would make leaked objects look reachable. Zeroing the dead stack below the public
// entry point before the library descends into it removes them.
__attribute__((noinline)) void ogr_scrub_stack(void) {
    unsigned char *dead = __builtin_alloca(OGR_SCRUB_BYTES);
    explicit_bzero(dead, OGR_SCRUB_BYTES);
    __asm__ volatile("" : : "r"(dead) : "memory");
}

// Pointers may carry spare bits (enum tags, string discriminators) in the top byte and the low
// three bits; objects start on 16-byte boundaries.
#define POINTER_MASK 0x00FFFFFFFFFFFFF8ull

// ---- Growable arrays (plain malloc: this thread is the only one allowed to run hooks) ------
typedef struct { void *data; size_t count, capacity, elem; } vec;

static int vec_push(vec *v, const void *item) {
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 1024;
        void *grown = realloc(v->data, cap * v->elem);
        if (!grown) return -1;
        v->data = grown;
        v->capacity = cap;
    }
    memcpy((char *)v->data + v->count * v->elem, item, v->elem);
    v->count++;
    return 0;
}

// ---- Rank: address -> object index in O(1) ---------------------------------------------------
// For every leaf, one uint32 per 8 map bytes (8 granules, 128 bytes of heap) holds the number
// of objects before them, so index(address) = rank[group] + live bytes before it in the group.
static uint32_t *ranks[OGR_TOP_ENTRIES];
#define RANK_GROUPS (OGR_LEAF_BYTES / 8)
#define LIVE_BITS 0x0101010101010101ull   /* bit 0 of each byte of a group */

/// Bit 0 of each byte set where the map byte marks a node: a Swift object (OGR_LIVE, zombie or
/// not) or a C heap block (OGR_BLOCK).
static inline uint64_t node_bits(uint64_t group) { return (group | (group >> 1)) & LIVE_BITS; }

static int64_t map_rank(uintptr_t address) {
    if ((address & 15) || (address >> OGR_ADDRESS_BITS)) return -1;
    size_t top = address >> OGR_CHUNK_SHIFT;
    // The leaf bitmap first: random words point all over the address space, and reading
    // the top table's entry for each would fault in pages of it that nothing else uses.
    if (!(atomic_load_explicit(&ogr_leaf_bits[top / 64], memory_order_relaxed) & (1ull << (top % 64)))) return -1;
    ogr_leaf *leaf = atomic_load_explicit(&ogr_map[top], memory_order_relaxed);
    if (!leaf || !ranks[top]) return -1;
    size_t offset = (address & ((1ul << OGR_CHUNK_SHIFT) - 1)) >> 4;
    if (!(leaf->bytes[offset] & OGR_STATE_BITS)) return -1;
    uint64_t group = node_bits(((const uint64_t *)leaf->bytes)[offset >> 3]);
    uint64_t below = group & ((1ull << ((offset & 7) * 8)) - 1);
    return (int64_t)ranks[top][offset >> 3] + __builtin_popcountll(below);
}

/// Calls `body` with each top-table index that has a leaf, in address order.
#define FOR_EACH_LEAF(top, body)                                                          \
    for (size_t word_ = 0; word_ < OGR_TOP_ENTRIES / 64; word_++) {                      \
        uint64_t bits_ = atomic_load_explicit(&ogr_leaf_bits[word_], memory_order_acquire); \
        while (bits_) {                                                                   \
            size_t top = word_ * 64 + (size_t)__builtin_ctzll(bits_);                     \
            bits_ &= bits_ - 1;                                                           \
            body                                                                          \
        }                                                                                 \
    }

static void release_ranks(void) {
    FOR_EACH_LEAF(top, {
        if (ranks[top]) {
            munmap(ranks[top], RANK_GROUPS * sizeof(uint32_t));
            ranks[top] = NULL;
        }
    })
}

// ---- Walking the live map --------------------------------------------------------------------
typedef void (*object_visitor)(uintptr_t address, uint8_t state, void *context);

/// Visits live objects in address order, reading only the map pages the summary marks.
static size_t walk_live(object_visitor visit, void *context, int build_ranks) {
    size_t n = 0;
    const size_t groups_per_summary = ((size_t)1 << (OGR_SUMMARY_SHIFT - 4)) / 8;
    FOR_EACH_LEAF(top, {
        ogr_leaf *leaf = atomic_load_explicit(&ogr_map[top], memory_order_acquire);
        if (!leaf) continue;
        uint32_t *rank = NULL;
        if (build_ranks) {
            rank = mmap(NULL, RANK_GROUPS * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (rank == MAP_FAILED) rank = NULL;
            ranks[top] = rank;
        }
        uintptr_t chunk = (uintptr_t)top << OGR_CHUNK_SHIFT;
        const uint64_t *groups = (const uint64_t *)leaf->bytes;
        for (size_t s = 0; s < OGR_SUMMARY_BYTES; s++) {
            if (!__atomic_load_n(&leaf->summary[s], __ATOMIC_RELAXED)) continue;
            size_t first = s * groups_per_summary;
            for (size_t g = first; g < first + groups_per_summary; g++) {
                uint64_t word = __atomic_load_n(&groups[g], __ATOMIC_RELAXED);
                uint64_t live = node_bits(word);
                if (rank) rank[g] = (uint32_t)n;
                while (live) {
                    int bit = __builtin_ctzll(live);
                    live &= live - 1;
                    size_t offset = g * 8 + (size_t)(bit >> 3);
                    if (visit) visit(chunk + (offset << 4), (uint8_t)(word >> (bit & ~7)), context);
                    n++;
                }
            }
        }
    })
    return n;
}

// ---- Async frames: nodes inside C heap blocks --------------------------------------------------
// A suspended async function's frame (its AsyncContext) lives in its task's allocator: in a
// slab (a malloc'd block, or the first slab inside the task's own block), or, for the task's
// first function, right after the task header. Each frame found from a task's resume context
// along the contexts' parent links becomes a node of its own, numbered right after the block
// holding it, so chains read `async task --> async frame of handle(_:) --> Session`. The layout
// (swift's RemoteInspection/RuntimeInternals.h, internal layout version 1, 64-bit): a task has
// its resume function at +56 and resume context at +64 and is 208 bytes before its first
// context; a context starts { parent, resume function of the parent }; a slab allocation has a
// 16-byte header { previous, slab } before the memory it hands out.
#define TASK_RESUME_FUNCTION 56
#define TASK_RESUME_CONTEXT 64
#define TASK_HEADER_BYTES 208
#define SLAB_HEADER_BYTES 32
#define ALLOCATION_HEADER_BYTES 16
#define MAX_FRAMES_PER_TASK 4096

typedef struct {
    uintptr_t start, end;     // the context, and where the next allocation (or the slab's used part) begins
    uintptr_t block;          // the C heap block holding it
    uintptr_t resume;         // the function the frame resumes in (names the frame)
    uint32_t node;
    uint32_t in_slab;         // a slab allocation, with its header just before `start`
} async_frame;

static vec frame_list = { .elem = sizeof(async_frame) };
#define FRAMES ((async_frame *)frame_list.data)

/// Number of frames starting below `address`.
static inline size_t frames_below(uintptr_t address) {
    size_t lo = 0, hi = frame_list.count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (FRAMES[mid].start < address) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/// Node index of the object or block that starts at `address` (ranks, shifted by the frame
/// nodes numbered before it), or -1.
static inline int64_t object_index(uintptr_t address) {
    int64_t rank = map_rank(address);
    if (rank < 0 || !frame_list.count) return rank;
    return rank + (int64_t)frames_below(address);
}

// ---- Scanning one object ---------------------------------------------------------------------
typedef struct {
    ogr_object *objects;       // the caller's array, room for `capacity` records
    size_t object_count, capacity;
    // Edges go to the caller's array while it has room, then (from the start of the object
    // that did not fit) to `overflow`, so each object's edges stay contiguous in one of them.
    ogr_edge *edges;
    size_t edge_count, edge_capacity;
    int overflowing;
    vec overflow;
    size_t object_first_edge;  // where the current object's edges start (in the active array)
    uint32_t current;
    uintptr_t base, end;
    uintptr_t last_metadata;   // neighbours in the heap are often of one type
    uint32_t last_type;
    vec frames;                // ogr_frame for each async frame node
} capture_state;

static void push_edge(capture_state *s, const ogr_edge *e) {
    if (OGR_LIKELY(!s->overflowing)) {
        if (OGR_LIKELY(s->edge_count < s->edge_capacity)) {
            s->edges[s->edge_count++] = *e;
            return;
        }
        // Full: move the current object's edges so far to the overflow array and go on there.
        s->overflowing = 1;
        for (size_t i = s->object_first_edge; i < s->edge_count; i++) vec_push(&s->overflow, &s->edges[i]);
        s->edge_count = s->object_first_edge;
        s->object_first_edge = 0;
    }
    vec_push(&s->overflow, e);
}

/// How far back from an interior pointer a block's start is looked for, in 16-byte granules
/// (one map word each 8). Interior pointers into larger blocks are not followed.
#define INTERIOR_GRANULES 512

/// The start of the C heap block (never a Swift object) whose bytes hold `address`, or 0: C code keeps
/// pointers into the middle of blocks (a queue's item inside a slab, a buffer's cursor), and
/// LeakSanitizer counts those as references too. The start is looked for backwards in the map,
/// at most INTERIOR_GRANULES granules (8 KiB), and the block must extend over `address`.
/// Only 8-byte-aligned interior pointers count: a word whose low byte is an enum tag and whose
/// other bytes are stale padding is not a reference (a char pointer into a buffer that is the
/// buffer's only reference is the rare case this misses).
OGR_NO_SANITIZE static uintptr_t block_start(uintptr_t address) {
    if ((address & 7) || (address >> OGR_ADDRESS_BITS)) return 0;
    size_t top = address >> OGR_CHUNK_SHIFT;
    if (!(atomic_load_explicit(&ogr_leaf_bits[top / 64], memory_order_relaxed) & (1ull << (top % 64)))) return 0;
    ogr_leaf *leaf = atomic_load_explicit(&ogr_map[top], memory_order_relaxed);
    if (!leaf || !ranks[top]) return 0;
    size_t offset = (address & ((1ul << OGR_CHUNK_SHIFT) - 1)) >> 4;
    size_t lowest = offset > INTERIOR_GRANULES ? offset - INTERIOR_GRANULES : 0;
    // Words into memory with no tracked block near (heap from before tracking, big untracked
    // regions) are common in data segments: skip 64 KiB with no block by its summary byte,
    // and empty map bytes eight at a time.
    size_t shift = OGR_SUMMARY_SHIFT - 4;
    if (!__atomic_load_n(&leaf->summary[offset >> shift], __ATOMIC_RELAXED)
        && (lowest >> shift == offset >> shift
            || !__atomic_load_n(&leaf->summary[lowest >> shift], __ATOMIC_RELAXED)))
        return 0;
    const uint64_t states = 0x0101010101010101ull * OGR_STATE_BITS;
    for (size_t o = offset + 1; o-- > lowest;) {
        if ((o & 7) == 7 && o >= lowest + 7) {
            uint64_t eight;
            memcpy(&eight, &leaf->bytes[o - 7], 8);
            if (!(eight & states)) { o -= 7; continue; }
        }
        uint8_t state = leaf->bytes[o] & OGR_STATE_BITS;
        if (!state) continue;
        if (state != OGR_BLOCK) return 0;   // a Swift object comes first: only exact pointers count for those
        uintptr_t start = (address & ~((1ul << OGR_CHUNK_SHIFT) - 1)) + (o << 4);
        if (address >= start + ogr_block_size((void *)start)) return 0;
        return start;
    }
    return 0;
}

/// The node `address` points into: an async frame, else the C heap block holding it; -1.
///
/// glibc's bins point at chunk headers: the next chunk's header is the last word of the block
/// before it (where that chunk's `prev_size` lies), so a pointer to exactly that word is the
/// allocator's bookkeeping, not a reference.
OGR_NO_SANITIZE static int64_t containing_block(uintptr_t address) {
    if (frame_list.count && !(address & 7)) {
        size_t j = frames_below(address + 1);   // frames starting at or below `address`
        if (j > 0 && address < FRAMES[j - 1].end) {
            uintptr_t block = FRAMES[j - 1].block;
            if (ogr_glibc_malloc && address + 8 == block + ogr_block_size((void *)block)) return -1;
            return FRAMES[j - 1].node;
        }
    }
    uintptr_t start = block_start(address);
    if (!start || (ogr_glibc_malloc && address + 8 == start + ogr_block_size((void *)start))) return -1;
    return object_index(start);
}

/// The object a memory word refers to, or -1. Small values and tagged payloads are skipped
/// before the live map is consulted.
static inline int64_t referenced_object(uint64_t word) {
    if ((int64_t)word <= 4096 && (int64_t)word >= 0) return -1;
    int64_t exact = object_index((uintptr_t)(word & POINTER_MASK));
    return exact >= 0 ? exact : containing_block((uintptr_t)word);
}

OGR_NO_SANITIZE static void scan_range(capture_state *s, uintptr_t from, uintptr_t to) {
    if (from < s->base + 16) from = s->base + 16;
    if (to > s->end) to = s->end;
    from = (from + 7) & ~(uintptr_t)7;
    for (uintptr_t p = from; p + 8 <= to; p += 8) {
        int64_t target = referenced_object(*(const uint64_t *)p);
        if (target < 0) continue;
        ogr_edge e = { .from = s->current, .to = (uint32_t)target, .offset = (uint32_t)(p - s->base), .kind = 3 };
        push_edge(s, &e);
    }
}

/// The words [from, to) of a C heap block.
OGR_NO_SANITIZE static void scan_words(capture_state *s, uintptr_t from, uintptr_t to) {
    for (uintptr_t p = from; p + 8 <= to; p += 8) {
        int64_t target = referenced_object(*(const uint64_t *)p);
        if (target < 0 || target == s->current) continue;
        ogr_edge e = { .from = s->current, .to = (uint32_t)target, .offset = (uint32_t)(p - s->base), .kind = 3 };
        push_edge(s, &e);
    }
}

/// The words of [from, to) outside the frames `*next`.. (sorted, in this block), which are
/// nodes of their own; their allocation headers are the task allocator's, skipped too.
OGR_NO_SANITIZE static void scan_around_frames(capture_state *s, uintptr_t from, uintptr_t to, size_t *next, size_t end) {
    while (*next < end && FRAMES[*next].start < to) {
        const async_frame *f = &FRAMES[*next];
        uintptr_t skip = f->start - (f->in_slab ? ALLOCATION_HEADER_BYTES : 0);
        if (skip > from) scan_words(s, from, skip < to ? skip : to);
        if (f->end > from) from = f->end;
        (*next)++;
    }
    if (from < to) scan_words(s, from, to);
}

/// Calls `body` for each task allocator slab header `slab` in the block [from, to), with its
/// capacity and used bytes, setting `after` to where the slab ends. A slab is a bump allocator,
/// so everything past its used part is frames that already returned: stale words. The layout
/// (StackAllocator.h): { metadata = the slab marker, next, uint32 capacity, uint32
/// currentOffset }, allocations from 32 bytes on.
#define FOR_EACH_SLAB(from, to, slab, capacity, used, body)                                       \
    if (ogr_task_slab_marker) {                                                                   \
        for (uintptr_t slab = (from); slab + SLAB_HEADER_BYTES <= (to); slab += 16) {             \
            if (*(const uintptr_t *)slab != ogr_task_slab_marker) continue;                        \
            uint32_t capacity = *(const uint32_t *)(slab + 16), used = *(const uint32_t *)(slab + 20); \
            if (used > capacity || capacity > (to) - slab - SLAB_HEADER_BYTES) continue;            \
            body                                                                                  \
            slab = ((slab + SLAB_HEADER_BYTES + capacity + 15) & ~(uintptr_t)15) - 16;             \
        }                                                                                         \
    }

/// Every word of a C heap block, from its first byte, except the free part of any task
/// allocator slab in it and the async frames `frames`..`frames_end` in it (nodes of their own).
OGR_NO_SANITIZE static void scan_block(capture_state *s, uintptr_t from, uintptr_t to, size_t frames, size_t frames_end) {
    size_t next = frames;
    FOR_EACH_SLAB(from, to, slab, capacity, used, {
        scan_around_frames(s, from, slab + 16, &next, frames_end);   // what precedes it, and `next`
        scan_around_frames(s, slab + SLAB_HEADER_BYTES, slab + SLAB_HEADER_BYTES + used, &next, frames_end);
        from = slab + SLAB_HEADER_BYTES + capacity;
    })
    scan_around_frames(s, from, to, &next, frames_end);
}

// ---- Finding the frames (after pass 1: ranks are built, nothing is scanned yet) ---------------
/// The end of the region holding the context at `ctx` in block [block, block_end): the used
/// part of the slab it is in (`*in_slab` 1), or, in a task's own block, the stretch between the
/// task header and its first slab. 0 when `ctx` is in neither (a stale context).
OGR_NO_SANITIZE static uintptr_t frame_region(uintptr_t block, uintptr_t block_end, uintptr_t ctx, int is_task, uint32_t *in_slab) {
    uintptr_t first_slab = block_end;
    FOR_EACH_SLAB(block, block_end, slab, capacity, used, {
        if (slab < first_slab) first_slab = slab;
        if (ctx >= slab + SLAB_HEADER_BYTES + ALLOCATION_HEADER_BYTES && ctx < slab + SLAB_HEADER_BYTES + used) {
            *in_slab = 1;
            return slab + SLAB_HEADER_BYTES + used;
        }
    })
    *in_slab = 0;
    if (is_task && ctx >= block + TASK_HEADER_BYTES && ctx + 16 <= first_slab) return first_slab;
    return 0;
}

/// Reads the first word of every C block, including blocks smaller than a word under a
/// sanitizer's allocator (its redzone follows them): not instrumented, like every heap reader here.
OGR_NO_SANITIZE static void note_task(uintptr_t address, uint8_t state, void *context) {
    if ((state & OGR_STATE_BITS) != OGR_BLOCK || ogr_block_size((void *)address) < sizeof(uintptr_t)
        || *(const uintptr_t *)address != ogr_task_metadata)
        return;
    vec_push(context, &address);
}

static int by_start(const void *a, const void *b) {
    uintptr_t x = ((const async_frame *)a)->start, y = ((const async_frame *)b)->start;
    return x < y ? -1 : x > y;
}

/// Follows each task's contexts from its resume context and numbers the frames found.
OGR_NO_SANITIZE static void find_frames(const vec *tasks) {
    frame_list.count = 0;
    for (size_t i = 0; i < tasks->count; i++) {
        uintptr_t task = ((const uintptr_t *)tasks->data)[i];
        if (ogr_block_size((void *)task) < TASK_HEADER_BYTES) continue;
        uintptr_t ctx = *(const uintptr_t *)(task + TASK_RESUME_CONTEXT);
        uintptr_t resume = *(const uintptr_t *)(task + TASK_RESUME_FUNCTION);
        for (int depth = 0; depth < MAX_FRAMES_PER_TASK && ctx && !(ctx & 15); depth++) {
            // Nothing is read before the context is known to be inside a live block: the task's
            // own, or a slab (a block found in the map).
            uintptr_t block = task;
            if (ctx < task || ctx >= task + ogr_block_size((void *)task)) block = block_start(ctx);
            if (!block) break;
            uint32_t in_slab = 0;
            uintptr_t end = frame_region(block, block + ogr_block_size((void *)block), ctx, block == task, &in_slab);
            if (!end) break;
            async_frame f = { .start = ctx, .end = end, .block = block, .resume = resume, .in_slab = in_slab };
            if (vec_push(&frame_list, &f) != 0) break;
            resume = *(const uintptr_t *)(ctx + 8);
            ctx = *(const uintptr_t *)ctx;
        }
    }
    if (!frame_list.count) return;
    qsort(frame_list.data, frame_list.count, sizeof(async_frame), by_start);
    // One frame per context (a corrupt chain may meet one twice); each ends where the next
    // allocation of its slab begins.
    size_t kept = 0;
    for (size_t i = 0; i < frame_list.count; i++) {
        if (kept && FRAMES[kept - 1].start == FRAMES[i].start) continue;
        FRAMES[kept++] = FRAMES[i];
    }
    frame_list.count = kept;
    for (size_t j = 0; j < kept; j++) {
        async_frame *f = &FRAMES[j];
        if (j + 1 < kept && FRAMES[j + 1].block == f->block) {
            uintptr_t next = FRAMES[j + 1].start - (FRAMES[j + 1].in_slab ? ALLOCATION_HEADER_BYTES : 0);
            if (next < f->end) f->end = next > f->start ? next : f->start + 16;
        }
        f->node = (uint32_t)(map_rank(f->block) + 1 + (int64_t)j);
    }
}

/// Occupied buckets of a native dictionary or set: bit i of the words at `bitmap`.
OGR_NO_SANITIZE static void scan_hashed(capture_state *s, uintptr_t bitmap_at, uintptr_t keys, uint32_t key_stride,
                        uintptr_t values, uint32_t value_stride) {
    int8_t scale = *(const int8_t *)(s->base + 32);
    if (scale < 0 || scale > 40) return;
    uint64_t buckets = 1ull << scale;
    uint64_t words = (buckets + 63) / 64;
    if (bitmap_at + words * 8 > s->end) return;
    if (key_stride && (keys < s->base || keys + buckets * key_stride > s->end)) return;
    if (value_stride && (values < s->base || values + buckets * value_stride > s->end)) return;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t bits = ((const uint64_t *)bitmap_at)[w];
        while (bits) {
            uint64_t bucket = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (bucket >= buckets) break;
            if (key_stride) scan_range(s, keys + bucket * key_stride, keys + (bucket + 1) * key_stride);
            if (value_stride) scan_range(s, values + bucket * value_stride, values + (bucket + 1) * value_stride);
        }
    }
}

OGR_NO_SANITIZE static void scan_object(capture_state *s, uintptr_t address, uint32_t type, size_t block) {
    ogr_scan_plan plan = { __atomic_load_n(&ogr_plans[type].mode, __ATOMIC_ACQUIRE), ogr_plans[type].a, ogr_plans[type].b };
    s->base = address;
    s->end = address + block;
    switch (plan.mode) {
    case OGR_SCAN_NONE:
        return;
    case OGR_SCAN_FIXED: {
        // A tail-allocated class (some instance was asked bigger than the instance size) is
        // scanned to the end of its block; any other only to its instance size, since malloc
        // may round a block up and the rest holds stale words.
        uint32_t asked = __atomic_load_n(&ogr_largest_request[type], __ATOMIC_RELAXED);
        scan_range(s, address + 16, asked > plan.a ? address + block : address + plan.a);
        return;
    }
    case OGR_SCAN_ARRAY: {
        int64_t count = *(const int64_t *)(address + 16);
        if (count <= 0 || plan.a == 0) return;
        uint64_t bytes = (uint64_t)count * plan.a;
        if (bytes > block) bytes = block;
        scan_range(s, address + 32, address + 32 + bytes);
        return;
    }
    case OGR_SCAN_DICTIONARY:
        if (block < 64) return;
        scan_hashed(s, address + 64, *(const uintptr_t *)(address + 48), plan.a,
                    *(const uintptr_t *)(address + 56), plan.b);
        return;
    case OGR_SCAN_SET:
        if (block < 56) return;
        scan_hashed(s, address + 56, *(const uintptr_t *)(address + 48), plan.a, 0, 0);
        return;
    default:
        scan_range(s, address + 16, address + block);
        return;
    }
}

OGR_NO_SANITIZE static void visit_object(uintptr_t address, uint8_t state, void *context) {
    capture_state *s = context;
    // The world is paused, so pass 2 meets exactly the objects pass 1 counted; the bound only
    // guards against a caller that freed a tracked object in between.
    if (s->object_count == s->capacity) return;
    if ((state & OGR_STATE_BITS) == OGR_BLOCK) {
        // A C heap block: no header, no counts; every word of it is scanned, except what its
        // async frames hold (they follow it as nodes of their own).
        size_t block = ogr_block_size((void *)address);
        uintptr_t first = *(const uintptr_t *)address;
        uint32_t type = OGR_NATIVE_BLOCK_TYPE;
        if (first && first == ogr_task_metadata) type = OGR_ASYNC_TASK_TYPE;
        else if (first && first == ogr_task_slab_marker) type = OGR_TASK_SLAB_TYPE;
        else if (first && first == ogr_malloc_block_isa) type = OGR_BLOCK_LITERAL_TYPE;
        size_t frames = frame_list.count ? frames_below(address) : 0, frames_end = frames;
        size_t frame_bytes = 0;
        while (frames_end < frame_list.count && FRAMES[frames_end].block == address) {
            const async_frame *f = &FRAMES[frames_end++];
            frame_bytes += f->end - f->start + (f->in_slab ? ALLOCATION_HEADER_BYTES : 0);
        }
        ogr_object *o = &s->objects[s->object_count];
        memset(o, 0, sizeof *o);
        o->address = address;
        o->type = type;
        // The frames' bytes are theirs: sizes add up to the block's.
        size_t own = block - (frame_bytes < block ? frame_bytes : block);
        o->size = own > UINT32_MAX ? UINT32_MAX : (uint32_t)own;
        o->epoch = (uint8_t)(state >> OGR_EPOCH_SHIFT);
        s->current = (uint32_t)s->object_count++;
        s->object_first_edge = s->overflowing ? s->overflow.count : s->edge_count;
        s->base = address;
        s->end = address + block;
        scan_block(s, address, address + block, frames, frames_end);
        for (size_t j = frames; j < frames_end && s->object_count < s->capacity; j++) {
            const async_frame *f = &FRAMES[j];
            o = &s->objects[s->object_count];
            memset(o, 0, sizeof *o);
            o->address = f->start;
            o->type = OGR_ASYNC_FRAME_TYPE;
            o->size = (uint32_t)(f->end - f->start);
            o->epoch = (uint8_t)(state >> OGR_EPOCH_SHIFT);
            s->current = (uint32_t)s->object_count++;
            s->object_first_edge = s->overflowing ? s->overflow.count : s->edge_count;
            s->base = f->start;
            s->end = f->end;
            scan_words(s, f->start, f->end);
            ogr_frame info = { .node = s->current, .resume = f->resume };
            vec_push(&s->frames, &info);
        }
        return;
    }
    uintptr_t metadata = *(const uintptr_t *)address;
    uint32_t type = s->last_type;
    if (metadata != s->last_metadata) {
        type = ogr_type_lookup(metadata);
        if (type == UINT32_MAX) type = ogr_type_index(metadata);
        s->last_metadata = metadata;
        s->last_type = type;
    }
    size_t block = ogr_block_size((void *)address);
    ogr_counts counts = ogr_read_counts((void *)address);
    int deinitialized = (state & OGR_ZOMBIE) || counts.deinitializing;
    ogr_object *o = &s->objects[s->object_count];
    o->address = address;
    o->type = type;
    o->size = (uint32_t)block;
    o->strong = deinitialized ? 0 : counts.strong;
    o->unowned = counts.unowned > 0 ? counts.unowned - 1 : 0;
    o->weak = counts.weak > 0 ? counts.weak - 1 : 0;
    o->deinitialized = (uint8_t)deinitialized;
    o->epoch = (uint8_t)(state >> OGR_EPOCH_SHIFT);
    o->reserved[0] = o->reserved[1] = 0;
    s->current = (uint32_t)s->object_count++;
    s->object_first_edge = s->overflowing ? s->overflow.count : s->edge_count;
    scan_object(s, address, type, block);
    // Dictionary buckets are visited key then value: put this object's edges in offset order.
    ogr_edge *e = s->overflowing ? (ogr_edge *)s->overflow.data : s->edges;
    size_t before = s->object_first_edge, end = s->overflowing ? s->overflow.count : s->edge_count;
    for (size_t i = before + 1; i < end; i++) {
        ogr_edge x = e[i];
        size_t j = i;
        while (j > before && e[j - 1].offset > x.offset) { e[j] = e[j - 1]; j--; }
        e[j] = x;
    }
}

// ---- Roots -----------------------------------------------------------------------------------
OGR_NO_SANITIZE static void scan_root_range(vec *roots, uintptr_t from, uintptr_t to, uint32_t kind, int32_t thread) {
    from = (from + 7) & ~(uintptr_t)7;
    for (uintptr_t p = from; p + 8 <= to; p += 8) {
        int64_t target = referenced_object(*(const uint64_t *)p);
        if (target < 0) continue;
        ogr_root r = { .slot = p, .to = (uint32_t)target, .kind = kind, .thread = thread };
        vec_push(roots, &r);
    }
}

// Writable data of loaded images is mostly never touched (a library's .bss, data it never
// writes): reading those pages would fault each one in just to find zeros or the file's
// original bytes, neither of which can hold the address of a heap object. /proc/self/pagemap
// says which pages are in memory (bit 63) or swapped out (bit 62); only those are scanned.
// Without pagemap (no /proc), every page is scanned as before.
typedef struct { vec *roots; int pagemap; } image_scan;

#define PAGEMAP_IN_MEMORY (1ull << 63 | 1ull << 62)

OGR_NO_SANITIZE static void scan_resident(image_scan *scan, uintptr_t from, uintptr_t to) {
    const uintptr_t page = 4096;
    uint64_t entries[512];
    uintptr_t p = from & ~(page - 1);
    while (p < to) {
        size_t pages = (size_t)((to - p + page - 1) / page);
        if (pages > 512) pages = 512;
        ssize_t got = scan->pagemap >= 0
            ? pread(scan->pagemap, entries, pages * 8, (off_t)(p / page * 8)) : -1;
        if (got != (ssize_t)(pages * 8)) {
            // No page information: scan this stretch whole.
            uintptr_t end = p + pages * page;
            scan_root_range(scan->roots, p > from ? p : from, end < to ? end : to, OGR_ROOT_GLOBAL, 0);
            p = end;
            continue;
        }
        for (size_t i = 0; i < pages; i++, p += page) {
            if (!(entries[i] & PAGEMAP_IN_MEMORY)) continue;
            uintptr_t a = p > from ? p : from, b = p + page < to ? p + page : to;
            scan_root_range(scan->roots, a, b, OGR_ROOT_GLOBAL, 0);
        }
    }
}

OGR_NO_SANITIZE static int scan_image(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    image_scan *scan = data;
    // The RELRO part of the writable segment (.data.rel.ro, the GOT: Swift metadata and
    // conformance records in a big program) is made read-only right after relocation, before
    // any of the program's code runs: it cannot hold a pointer to a heap block. Skipped.
    uintptr_t relro_start = 0, relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_GNU_RELRO) continue;
        relro_start = info->dlpi_addr + ph->p_vaddr;
        relro_end = (relro_start + ph->p_memsz) & ~(uintptr_t)4095;   // mprotect covers whole pages only
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (relro_end > relro_start && relro_start < end && relro_end > start) {
            if (relro_start > start) scan_resident(scan, start, relro_start);
            if (relro_end < end) scan_resident(scan, relro_end, end);
        } else {
            scan_resident(scan, start, end);
        }
    }
    return 0;
}

typedef struct { uintptr_t start, end; int guard_below; int anonymous_rw; int scanned; int heap; } mapping;

static size_t read_maps(mapping **out) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) { cap *= 2; buf = realloc(buf, cap); }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    vec v = { .elem = sizeof(mapping) };
    uintptr_t prev_end = 0;
    int prev_guard = 0;
    for (char *line = buf; line && *line; ) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        unsigned long start, end;
        char perms[8] = {0};
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) >= 3) {
            const char *name = name_at ? line + name_at : "";
            mapping m = { start, end, prev_guard && prev_end == start, 0, 0, strcmp(name, "[heap]") == 0 };
            m.anonymous_rw = perms[0] == 'r' && perms[1] == 'w' && (name[0] == 0 || strcmp(name, "[stack]") == 0);
            if (strcmp(name, "[stack]") == 0) m.guard_below = 1;
            vec_push(&v, &m);
            prev_guard = perms[0] == '-' && perms[1] == '-' && perms[2] == '-';
            prev_end = end;
        }
        line = next;
    }
    free(buf);
    *out = v.data;
    return v.count;
}

static mapping *mapping_containing(mapping *maps, size_t n, uintptr_t address) {
    for (size_t i = 0; i < n; i++) if (address >= maps[i].start && address < maps[i].end) return &maps[i];
    return NULL;
}

/// The stack pointer of a thread blocked in a system call, from /proc/self/task/TID/syscall
/// ("NR arg1 ... arg6 sp pc"); 0 when the thread is running or the file cannot be read.
static uintptr_t blocked_stack_pointer(int tid) {
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t r = read(fd, text, sizeof text - 1);
    close(fd);
    if (r <= 0) return 0;
    text[r] = 0;
    if (strncmp(text, "running", 7) == 0) return 0;
    char *fields[10];
    int n = 0;
    for (char *tok = strtok(text, " \n"); tok && n < 10; tok = strtok(NULL, " \n")) fields[n++] = tok;
    if (n < 9) return 0;
    return (uintptr_t)strtoull(fields[n - 2], NULL, 16);
}

/// The main thread's static TLS and thread control block (thread-local variables, the first
/// pthread_setspecific values, the pointer to its dynamic TLS blocks), page by page as far as
/// it is mapped.
OGR_NO_SANITIZE static void scan_main_thread_tls(vec *roots) {
    if (!ogr_main_thread_pointer) return;
    size_t below = ogr_static_tls_size ? ogr_static_tls_size : 4096;
    uintptr_t lo = ogr_main_thread_pointer - below, hi = ogr_main_thread_pointer + 2304;   // struct pthread
    for (uintptr_t page = lo & ~(uintptr_t)4095; page < hi; page += 4096) {
        if (!ogr_readable((const void *)page, 4096)) continue;
        uintptr_t a = page > lo ? page : lo, b = page + 4096 < hi ? page + 4096 : hi;
        scan_root_range(roots, a, b, OGR_ROOT_TLS, getpid());
    }
}

static uintptr_t own_stack_floor;
void ogr_set_own_stack_floor(uintptr_t floor) { own_stack_floor = floor; }

__attribute__((noinline)) static void scan_threads(vec *roots, ogr_capture_result *out, uint32_t flags) {
    mapping *maps = NULL;
    size_t nmaps = read_maps(&maps);
    int self = (int)syscall(SYS_gettid);
    out->self_thread = self;
    // Our own registers go into a jmp_buf on this frame, so the stack scan covers them.
    jmp_buf registers;
    setjmp(registers);
    uintptr_t here = (uintptr_t)&registers;
    mapping *own = mapping_containing(maps, nmaps, here);
    if (own) {
        if (flags & OGR_CAPTURE_OWN_STACK_FROM_FLOOR) {
            if (own_stack_floor > here && own_stack_floor < own->end)
                scan_root_range(roots, own_stack_floor, own->end, OGR_ROOT_STACK, self);
        } else if (!(flags & OGR_CAPTURE_SKIP_OWN_STACK)) {
            scan_root_range(roots, here, own->end, OGR_ROOT_STACK, self);
        }
        own->scanned = 1;
    }
    out->threads_seen = 1;
    out->threads_exact = own ? 1 : 0;
    int running = 0;
    DIR *dir = opendir("/proc/self/task");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            int tid = atoi(entry->d_name);
            if (tid <= 0 || tid == self) continue;
            out->threads_seen++;
            // A thread caught running usually blocks a moment later: look again briefly.
            uintptr_t sp = blocked_stack_pointer(tid);
            for (int tries = 0; !sp && tries < 5; tries++) {
                usleep(200);
                sp = blocked_stack_pointer(tid);
            }
            mapping *m = sp ? mapping_containing(maps, nmaps, sp) : NULL;
            if (!m) {
                // Still running: scan its whole stack if we know where it is, else fall back.
                ogr_thread *owner = NULL;
                for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
                    if (atomic_load(&t->in_use) && atomic_load(&t->tid) == tid && t->stack_probe) owner = t;
                }
                mapping *own_map = owner ? mapping_containing(maps, nmaps, owner->stack_probe) : NULL;
                if (own_map) {
                    scan_root_range(roots, own_map->start, own_map->end, OGR_ROOT_STACK, tid);
                    own_map->scanned = 1;
                } else {
                    running++;
                }
                continue;
            }
            // 128 bytes below the stack pointer: the x86-64 red zone.
            uintptr_t from = sp >= m->start + 128 ? sp - 128 : m->start;
            scan_root_range(roots, from, m->end, OGR_ROOT_STACK, tid);
            m->scanned = 1;
            out->threads_exact++;
        }
        closedir(dir);
    }
    // Running threads that never touched the registry have no known stack: scan every
    // stack-like mapping (anonymous, writable, directly above a guard page) not scanned yet,
    // from its bottom. This may include cached stacks of exited threads (stale words: missed
    // leaks, never false ones), so it is the last resort.
    if (running) {
        for (size_t i = 0; i < nmaps; i++) {
            if (maps[i].scanned || !maps[i].guard_below || !maps[i].anonymous_rw) continue;
            scan_root_range(roots, maps[i].start, maps[i].end, OGR_ROOT_STACK, -1);
        }
    }
    free(maps);
}

// ---- Heap memory allocated before tracking started ------------------------------------------------
// Blocks malloc handed out before tracking began are not nodes (the map never saw them), yet
// one may hold the only reference to a tracked object: a Dispatch queue made at start-up
// holding a block queued since, a continuation Dispatch took from its cache. With glibc, those
// blocks are found by walking the arenas' chunks, and each in-use chunk the map does not know
// is scanned as a root ("heap memory allocated before tracking"). The layout (glibc malloc.c):
// a chunk is { prev_size, size | flags } and then its bytes, the next chunk follows at
// chunk + size, and a chunk is in use when the next one's size has PREV_INUSE. tcache keeps
// the chunks it caches looking in use; it marks them with its key in their second word.
#define CHUNK_PREV_INUSE 1u
#define CHUNK_IS_MMAPPED 2u
#define ARENA_HEAP_BYTES (64ul << 20)   // HEAP_MAX_SIZE on 64-bit: each thread arena heap is aligned to it
#define HEAP_INFO_BYTES 32              // struct _heap_info, padded
#define MAX_ARENA_HEADER 4096           // struct malloc_state and padding before a first heap's chunks

static uintptr_t tcache_key;
static int tcache_key_learnt;

/// tcache's key, from a chunk freed into it (glibc 2.34 on); 0 when there is no tcache.
static void learn_tcache_key(void) {
    if (tcache_key_learnt || !ogr_glibc_malloc) return;
    tcache_key_learnt = 1;
    uintptr_t *p = ogr_real_malloc(40);
    if (!p) return;
    p[1] = 0;
    ogr_real_free(p);
    tcache_key = __atomic_load_n(&p[1], __ATOMIC_RELAXED);   // a freed chunk: read once, never written
}

/// Walks the chunks from `c` to the top chunk (or `end`). With `roots`, scans each in-use chunk
/// the map does not know; returns where the walk stopped (the top chunk's start).
OGR_NO_SANITIZE static uintptr_t walk_chunks(vec *roots, uintptr_t c, uintptr_t end) {
    while (c + 32 <= end) {
        size_t size = *(const size_t *)(c + 8) & ~(size_t)7;
        if (size < 32 || (size & 15) || size > end - c) return c;
        uintptr_t next = c + size;
        if (next + 16 > end) return c;   // the top chunk
        if (roots && (*(const size_t *)(next + 8) & CHUNK_PREV_INUSE)) {
            uintptr_t user = c + 16;
            uint8_t *b = ogr_map_byte(user, 0);
            int tracked = b && ogr_map_load(b);   // a node, or freed since tracking started
            int cached = tcache_key && *(const uintptr_t *)(user + 8) == tcache_key;
            if (!tracked && !cached) scan_root_range(roots, user, next + 8, OGR_ROOT_OTHER, 0);
        }
        c = next;
    }
    return c;
}

// Chunks made after tracking started are tracked, freed (marked) or glibc's own bookkeeping:
// only the heap that existed when tracking started can hold memory from before. Its extent is
// noted then: the main arena's break, and each thread arena heap's size in use. (With the agent,
// that is a few kilobytes; the library started in a test may find megabytes.)
#define MAX_HEAPS_AT_START 64
static uintptr_t main_heap_end_at_start;
static struct { uintptr_t start, used; } heaps_at_start[MAX_HEAPS_AT_START];
static size_t heap_count_at_start;

void ogr_note_heap_at_start(void) {
    if (!ogr_glibc_malloc) return;
    main_heap_end_at_start = (uintptr_t)sbrk(0);
    mapping *maps = NULL;
    size_t nmaps = read_maps(&maps);
    for (size_t i = 0; i < nmaps && heap_count_at_start < MAX_HEAPS_AT_START; i++) {
        const mapping *m = &maps[i];
        if (!m->anonymous_rw || m->guard_below || m->start % ARENA_HEAP_BYTES || m->end - m->start < 64) continue;
        const uintptr_t *words = (const uintptr_t *)m->start;
        if (words[2] > m->end - m->start || (words[0] % ARENA_HEAP_BYTES) != HEAP_INFO_BYTES) continue;
        heaps_at_start[heap_count_at_start].start = m->start;
        heaps_at_start[heap_count_at_start].used = words[2];
        heap_count_at_start++;
    }
    free(maps);
}

/// The heap memory glibc's arenas and mmap'd chunks hold that tracking never saw, as roots.
OGR_NO_SANITIZE static void scan_untracked_heap(vec *roots) {
    if (!ogr_glibc_malloc) return;
    mapping *maps = NULL;
    size_t nmaps = read_maps(&maps);
    for (size_t i = 0; i < nmaps; i++) {
        mapping *m = &maps[i];
        size_t length = m->end - m->start;
        if (m->heap) {
            // The main arena: chunks from the start of [heap], up to its break at start.
            uintptr_t end = main_heap_end_at_start > m->start && main_heap_end_at_start < m->end ? main_heap_end_at_start : m->end;
            walk_chunks(roots, m->start, end);
            continue;
        }
        if (!m->anonymous_rw || m->guard_below || length < 64) continue;
        const uintptr_t *words = (const uintptr_t *)m->start;
        if (words[0] == 0 && words[1] == (length | CHUNK_IS_MMAPPED)) {
            // A chunk of its own (a large malloc).
            uint8_t *b = ogr_map_byte(m->start + 16, 0);
            if (!(b && ogr_map_load(b))) scan_root_range(roots, m->start + 16, m->end, OGR_ROOT_OTHER, 0);
            continue;
        }
        if (m->start % ARENA_HEAP_BYTES) continue;
        // A thread arena's heap: { arena, previous heap, size in use, ... }, then (in the
        // arena's first heap) the arena itself, then chunks up to `size`. The first chunk's
        // offset is found by walking: the right one reaches the heap's top chunk exactly.
        uintptr_t arena = words[0], used = words[2];
        if (used > length || used < 64 || (arena % ARENA_HEAP_BYTES) != HEAP_INFO_BYTES) continue;
        size_t k = 0;
        while (k < heap_count_at_start && heaps_at_start[k].start != m->start) k++;
        if (k == heap_count_at_start) continue;   // made since tracking started
        uintptr_t limit = m->start + used, from = m->start + HEAP_INFO_BYTES, first = 0;
        uintptr_t old_end = m->start + heaps_at_start[k].used;
        uintptr_t to = arena == from ? m->start + MAX_ARENA_HEADER : from + 16;
        for (uintptr_t c = from; !first && c < to; c += 16) {
            uintptr_t top = walk_chunks(NULL, c, limit);
            if (top > c && top + (*(const size_t *)(top + 8) & ~(size_t)7) == limit) first = c;
        }
        if (first) walk_chunks(roots, first, old_end < limit ? old_end : limit);
    }
    free(maps);
}

// ---- Entry points ------------------------------------------------------------------------------
// One capture at a time: the pause mutex, held from ogr_capture_begin to ogr_capture_end,
// guards this state.
static struct { uint32_t flags; size_t count; } pending;

int64_t ogr_capture_begin(uint32_t flags) {
    if (!atomic_load(&ogr_installed_flag)) return -1;
    ogr_thread *self = ogr_self();
    if (self) self->suppress++;
    ogr_find_runtime_markers();
    learn_tcache_key();
    ogr_pause_world();
    // Pass 1 numbers the objects (ranks), counts them and finds the tasks; then the tasks'
    // frames are numbered among them.
    pending.flags = flags;
    vec tasks = { .elem = sizeof(uintptr_t) };
    pending.count = walk_live(ogr_task_metadata ? note_task : NULL, &tasks, 1);
    find_frames(&tasks);
    free(tasks.data);
    pending.count += frame_list.count;
    return (int64_t)pending.count;
}

void ogr_capture_scan(ogr_object *objects, ogr_edge *edges, size_t edge_capacity, ogr_capture_result *out) {
    memset(out, 0, sizeof *out);
    capture_state s = {
        .objects = objects, .capacity = objects ? pending.count : 0,
        .edges = edges, .edge_capacity = edges ? edge_capacity : 0,
        .overflow = { .elem = sizeof(ogr_edge) },
        .frames = { .elem = sizeof(ogr_frame) },
    };
    vec roots = { .elem = sizeof(ogr_root) };
    // Pass 2 records the objects and their references.
    walk_live(visit_object, &s, 0);
    image_scan images = { &roots, open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) };
    dl_iterate_phdr(scan_image, &images);
    if (images.pagemap >= 0) close(images.pagemap);
    scan_threads(&roots, out, pending.flags);
    scan_main_thread_tls(&roots);
    scan_untracked_heap(&roots);
    release_ranks();
    frame_list.count = 0;
    out->object_count = s.object_count;
    out->edge_count = s.edge_count;
    out->overflow = s.overflow.data; out->overflow_count = s.overflow.count;
    out->roots = roots.data; out->root_count = roots.count;
    out->frames = s.frames.data; out->frame_count = s.frames.count;
}

void *ogr_deferred_frees[OGR_DEFERRED_FREES];
_Atomic uint32_t ogr_deferred_count;

void ogr_capture_end(void) {
    // Objects allocated from here on carry a new epoch: a later capture can tell them from
    // an object this capture saw at the same address.
    (void)ogr_advance_epoch();
    ogr_resume_world();
    ogr_thread *self = ogr_self();
    if (self) self->suppress--;
}

int ogr_capture(ogr_capture_result *out, uint32_t flags) {
    memset(out, 0, sizeof *out);
    int64_t count = ogr_capture_begin(flags);
    if (count < 0) return -1;
    ogr_object *objects = malloc((size_t)(count > 0 ? count : 1) * sizeof(ogr_object));
    ogr_capture_scan(objects, NULL, 0, out);   // every edge goes to out->overflow
    ogr_capture_end();
    out->objects = objects;
    return 0;
}

void ogr_capture_free(ogr_capture_result *r) {
    free(r->objects);
    free(r->overflow);
    free(r->roots);
    free(r->frames);
    memset(r, 0, sizeof *r);
}

typedef struct { uint32_t type; uint64_t *out; size_t max, found; } type_query;

OGR_NO_SANITIZE static void collect_type(uintptr_t address, uint8_t state, void *context) {
    if (!(state & OGR_LIVE)) return;   // a C heap block
    type_query *q = context;
    if (ogr_type_lookup(*(const uintptr_t *)address) != q->type) return;
    if (q->found < q->max) q->out[q->found] = address;
    q->found++;
}

size_t ogr_objects_of_type(uint32_t type_index, uint64_t *addresses, size_t max) {
    if (!atomic_load(&ogr_installed_flag)) return 0;
    type_query q = { type_index, addresses, max, 0 };
    ogr_thread *self = ogr_self();
    if (self) self->suppress++;
    ogr_pause_world();
    walk_live(collect_type, &q, 0);
    ogr_resume_world();
    if (self) self->suppress--;
    return q.found;
}

extern void *swift_tryRetain(void *object);

size_t ogr_retain_live(const uint64_t *addresses, size_t count, uint8_t *retained) {
    size_t n = 0;
    if (!atomic_load(&ogr_installed_flag)) return 0;
    ogr_thread *self = ogr_self();
    if (self) self->suppress++;
    ogr_pause_world();
    for (size_t i = 0; i < count; i++) {
        void *object = (void *)(uintptr_t)addresses[i];
        retained[i] = 0;
        uint8_t *b = ((uintptr_t)object & 15) ? NULL : ogr_map_byte((uintptr_t)object, 0);
        if (!b || (ogr_map_load(b) & OGR_STATE_BITS) != OGR_LIVE) continue;   // freed, or a zombie
        if (swift_isDeallocating(object)) continue;
        if (swift_tryRetain(object)) { retained[i] = 1; n++; }
    }
    ogr_resume_world();
    if (self) self->suppress--;
    return n;
}
