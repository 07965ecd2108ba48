// CObjGraphRuntime: the only C in swift-objgraph. It does what Swift cannot do safely from
// inside the allocator: hook the Swift runtime's allocation entry point, interpose `free`,
// keep the live-object map and per-type counters, and walk the heap without ARC traffic.
//
// Everything here is async-signal-tolerant on its hot paths (no locks, no malloc while
// recording) and never calls back into Swift.
#ifndef COBJGRAPH_RUNTIME_H
#define COBJGRAPH_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Maximum number of distinct heap metadata pointers (types) the registry counts separately.
/// Types past this limit are counted in the last slot.
#define OGR_MAX_TYPES 32768

/// Install the allocation hook, the retain-adapter fix-up and the `free` interposer check.
/// Returns 0 on success (or when already installed). On failure returns -1, leaves the
/// process untouched and writes a one-line reason into `error`.
int ogr_install(char *error, size_t error_len);

/// 1 once `ogr_install` succeeded.
int ogr_is_installed(void);

/// 1 when the `free` every library calls is this library's (nothing defines one ahead of it).
int ogr_free_is_interposed(void);

/// 1 when Swift code of this library allocates through the runtime `ogr_install` hooked. 0 when
/// the program carries its own runtime (built with `--static-swift-stdlib`) and this library
/// was preloaded: its Swift code then runs on the shared libswiftCore, a second runtime.
int ogr_swift_code_uses_tracked_runtime(void);

/// 1 when the hooked runtime is linked into the main executable (`--static-swift-stdlib`).
int ogr_runtime_is_in_executable(void);

/// `swift_getTypeByMangledNameInContext(name, length, NULL, NULL)`: only for names
/// `ContextFreeMangling` accepted (the runtime aborts on some others).
const void *ogr_type_by_mangled_name(const void *name, size_t length);

/// `swift_demangle(mangled, length, NULL, NULL, 0)`: a malloc'd string, or NULL.
char *ogr_demangle(const char *mangled, size_t length);

/// 1 when the main program is Swift: it links libswiftCore.so or carries its own runtime.
int ogr_program_is_swift(void);

/// Where a fatal signal struck, as the agent's crash record says (`CrashCounters.Site`).
enum ogr_crash_site {
    OGR_CRASH_IN_PROGRAM = 0,
    OGR_CRASH_IN_AGENT_EXIT_HANDLER = 1,
    OGR_CRASH_IN_AGENT_THREAD = 2,
    OGR_CRASH_IN_PROGRAM_DURING_EXIT_HANDLER = 3,
};

/// Header of the agent's crash record (`crash.bin`), followed by `type_count` x (int64 count,
/// int64 bytes), `type_count` x uint64 metadata, then the text of /proc/self/maps. Written by
/// the agent's signal handler, read by `CrashCounters` in the command.
typedef struct {
    int32_t signal;
    int32_t type_count;
    int32_t site;        ///< enum ogr_crash_site
    int32_t reserved;
} ogr_crash_header;

/// Turn recording of new allocations on (1) or off (0). Frees of recorded objects are always
/// accounted for, so counts stay exact.
void ogr_set_recording(int on);
int ogr_is_recording(void);

/// Allocations made by the calling thread while suppressed (a nesting count) are not recorded:
/// the library's own objects never show up in the user's tables.
void ogr_suppress_begin(void);
void ogr_suppress_end(void);
/// Lift the calling thread's suppression, returning its depth for `ogr_suppress_restore`.
int ogr_suppress_save(void);
void ogr_suppress_restore(int depth);

/// The `type` of a captured C heap block (a node of the graph that is not a Swift object).
#define OGR_NATIVE_BLOCK_TYPE 0xFFFFFFFEu
/// The `type` of a Swift task's own block (its header, first context and first slab).
#define OGR_ASYNC_TASK_TYPE 0xFFFFFFFDu
/// The `type` of a suspended async function's frame (a node inside its task's memory).
#define OGR_ASYNC_FRAME_TYPE 0xFFFFFFFCu
/// The `type` of a task allocator slab malloc'd for frames that did not fit the task's block.
#define OGR_TASK_SLAB_TYPE 0xFFFFFFFBu
/// The `type` of a heap-copied block (`_NSConcreteMallocBlock`): what Dispatch keeps for a
/// closure until it runs.
#define OGR_BLOCK_LITERAL_TYPE 0xFFFFFFFAu

/// Live C heap blocks (malloc, calloc, realloc, the aligned allocators; not Swift objects) and
/// their bytes, summed over threads. O(threads).
void ogr_block_totals(int64_t *count, int64_t *bytes);

/// Free bytes glibc's allocator keeps (mallinfo2: fordblks + fsmblks), or -1 under another
/// allocator.
int64_t ogr_allocator_free_bytes(void);

/// Number of types registered so far (indices 0 ..< count are valid).
uint32_t ogr_type_count(void);
/// The registry index of `metadata`, or UINT32_MAX if no object of it was ever recorded.
uint32_t ogr_type_lookup_index(uintptr_t metadata);
/// Live count of type `index` (summed over threads).
int64_t ogr_live_count(uint32_t index);
/// The metadata pointer of type `index`.
uintptr_t ogr_type_metadata(uint32_t index);
/// Totals for every type at once: fills `counts[i]`, `bytes[i]` for i < `n`. O(types x threads).
void ogr_all_totals(int64_t *counts, int64_t *bytes, uint32_t n);

/// How the heap walk finds reference words inside objects of one type. Set from Swift, which
/// knows the types, before a capture; types without a plan are scanned conservatively.
enum ogr_scan_mode {
    OGR_SCAN_UNKNOWN = 0,   ///< no plan yet: scan the whole allocator block
    OGR_SCAN_FIXED = 1,     ///< scan bytes [16, a); if the block is much larger, the class is tail-allocated: scan the block
    OGR_SCAN_NONE = 2,      ///< holds no references (string bytes)
    OGR_SCAN_ARRAY = 3,     ///< `_ContiguousArrayStorage`: count at +16, elements of stride `a` from +32
    OGR_SCAN_DICTIONARY = 4,///< `_DictionaryStorage`: occupied buckets only; key stride `a`, value stride `b`
    OGR_SCAN_SET = 5,       ///< `_SetStorage`: occupied buckets only; element stride `a`
    OGR_SCAN_BLOCK = 6,     ///< scan the whole allocator block (closure contexts, boxes)
};
void ogr_set_scan_plan(uint32_t type_index, uint32_t mode, uint32_t a, uint32_t b);

/// Record of one captured object. The layout is that of the Swift `HeapSnapshot.Object`
/// (fields in declaration order, 32-byte stride), so a capture can write straight into the
/// snapshot's array; `SnapshotBuilder` checks that the two layouts agree before relying on it.
typedef struct {
    uint64_t address;
    uint32_t type;          ///< registry type index (the snapshot renumbers its types)
    uint32_t size;          ///< allocator block size (malloc_usable_size)
    uint32_t strong;        ///< strong retain count (0 once deinitialized)
    uint32_t unowned;       ///< unowned count, less the runtime's +1 for strong references
    uint32_t weak;          ///< weak references, less the side table's own +1
    uint8_t deinitialized;  ///< 1 when deinit has run (zombies kept by `unowned`, or deiniting now)
    uint8_t epoch;          ///< allocation epoch modulo 64 (every capture starts a new one)
    uint8_t reserved[2];
} ogr_object;

/// A reference from one captured object to another. The layout is that of the Swift
/// `HeapSnapshot.Edge`, whose label and kind the snapshot fills in (the capture leaves label 0
/// and kind 3, conservative).
typedef struct {
    uint32_t from;
    uint32_t to;
    uint32_t offset;        ///< byte offset of the reference word inside `from`
    int32_t label;
    uint8_t kind;
    uint8_t reserved[3];
} ogr_edge;

enum ogr_root_kind { OGR_ROOT_GLOBAL = 0, OGR_ROOT_STACK = 1, OGR_ROOT_REGISTER = 2, OGR_ROOT_OTHER = 3, OGR_ROOT_TLS = 4 };

/// A reference from outside the tracked heap.
typedef struct {
    uint64_t slot;          ///< address of the word (for registers: the register number)
    uint32_t to;
    uint32_t kind;          ///< ogr_root_kind
    int32_t thread;         ///< kernel thread id for stacks and registers; 0 for globals
    uint32_t reserved;
} ogr_root;

/// An async frame node (type `OGR_ASYNC_FRAME_TYPE`) and the function it resumes in.
typedef struct ogr_frame {
    uint32_t node;
    uint32_t reserved;
    uint64_t resume;
} ogr_frame;

/// Everything a capture found besides the objects. Arrays are malloc'd; release with
/// `ogr_capture_free`.
typedef struct {
    ogr_object *objects; size_t object_count;   ///< sorted by address (malloc'd by `ogr_capture` only)
    size_t edge_count;                          ///< edges written to the caller's buffer
    ogr_edge *overflow; size_t overflow_count;  ///< the edges after those, when the buffer was full
    ogr_root *roots; size_t root_count;
    int32_t threads_seen;                       ///< threads in the process
    int32_t threads_exact;                      ///< threads whose stack pointer was known exactly
    int32_t self_thread;                        ///< kernel thread id of the capturing thread
    int32_t reserved;
    struct ogr_frame *frames; size_t frame_count;  ///< the async frame nodes, in node order
} ogr_capture_result;

/// Capture every tracked object, every reference between them and every root, with
/// allocation recording and frees of tracked objects held off for the duration. Returns 0 on
/// success, -1 if tracking is not installed. Objects are malloc'd into `out->objects`, edges
/// into `out->overflow` (sorted by (from, offset)).
int ogr_capture(ogr_capture_result *out, uint32_t flags);

/// The same capture in three steps, so the caller provides the arrays and can read object
/// memory (a closure's function pointer beside its context, a dictionary's header words)
/// while nothing can be freed:
///  1. `ogr_capture_begin` holds off recording and frees of tracked objects, numbers the live
///     objects and returns how many there are (-1 if tracking is not installed);
///  2. `ogr_capture_scan` writes exactly that many records to `objects`, up to
///     `edge_capacity` edges to `edges` (sorted by (from, offset); the rest go to
///     `out->overflow`), and the roots;
///  3. `ogr_capture_end` lets the program go on.
/// Between begin and end the caller may allocate but must not free tracked objects.
int64_t ogr_capture_begin(uint32_t flags);
void ogr_capture_scan(ogr_object *objects, ogr_edge *edges, size_t edge_capacity, ogr_capture_result *out);
void ogr_capture_end(void);

/// Leave the calling thread's stack out of the roots. Its frames above the caller were set up
/// before the objects being examined existed, so any word there that matches such an object's
/// address is a stale value whose address malloc reused, not a reference.
#define OGR_CAPTURE_SKIP_OWN_STACK 1u
/// Scan the calling thread's stack only from `ogr_set_own_stack_floor`'s address up: the frames
/// of whoever called into the library (a program's frames above its `exit()` call) are roots,
/// the library's own below them are not.
#define OGR_CAPTURE_OWN_STACK_FROM_FLOOR 2u
void ogr_set_own_stack_floor(uintptr_t floor);
void ogr_capture_free(ogr_capture_result *result);

/// Bytes of dead stack below the caller that `ogr_scrub_stack` zeroes.
#define OGR_SCRUB_BYTES (32 * 1024)
/// Zero the dead stack below the calling frame, so stale pointers left there by returned
/// calls are not mistaken for live references. Call first thing in a public entry point.
void ogr_scrub_stack(void);

/// Addresses of live objects of type `index` (O(heap) walk of the live map, frees held off).
/// Returns the number found; writes at most `max` addresses.
size_t ogr_objects_of_type(uint32_t type_index, uint64_t *addresses, size_t max);

/// Retain each object in `addresses` that is still a live, tracked object that is not being
/// deinitialized, with frees held off so none can go away meanwhile. `retained[i]` is set to 1
/// for each object retained (+1, for the caller to balance). Returns how many were retained.
size_t ogr_retain_live(const uint64_t *addresses, size_t count, uint8_t *retained);

/// 1 if `address` is the start of a live tracked object.
int ogr_is_tracked(const void *address);

/// Counts for diagnostics and tests.
typedef struct {
    uint64_t recorded;          ///< allocations recorded since install
    uint64_t freed;             ///< recorded objects freed
    uint64_t missed_frees;      ///< an address was recorded twice without a free in between
    uint64_t unknown_metadata;  ///< a tracked free whose metadata was no longer registered
    uint64_t deinit_seen;       ///< deinitialized objects kept as unowned zombies
    uint32_t threads;           ///< thread blocks in use
    uint32_t membarrier;        ///< 1 when the pause protocol uses membarrier(2)
    uint32_t swizzled;          ///< 1 when retains and releases go through the runtime's swizzle adapters
} ogr_stats;
void ogr_get_stats(ogr_stats *stats);

/// `type` brought to the complete metadata state (blocking until another thread finishes
/// initializing it), or NULL if the runtime cannot complete it. Reflection can hand out field
/// types whose metadata is not complete yet: their value witness table is still unset.
const void *ogr_complete_metadata(const void *type);

/// 1 if `length` bytes at `address` are mapped (checked with mincore(2), no access made).
int ogr_readable(const void *address, size_t length);

/// Raw reference-count words, for `retainCount(of:)`.
void ogr_retain_counts(const void *object, uint32_t *strong, uint32_t *unowned, uint32_t *weak);
/// The same counts as the capture reads them: decoded from the inline refcount word, through the
/// runtime only when the object has a side table. `deinitializing` is `swift_isDeallocating`.
/// For the test that keeps the decoding honest.
void ogr_retain_counts_inline(const void *object, uint32_t *strong, uint32_t *unowned, uint32_t *weak,
                              int *deinitializing);

#ifdef __cplusplus
}
#endif
#endif
