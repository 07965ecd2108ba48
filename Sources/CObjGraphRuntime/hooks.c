// Hooks into the Swift runtime and the C allocator.
//
//  * `_swift_allocObject` (a writable function pointer exported by libswiftCore) is replaced so
//    every Swift heap object allocated afterwards is recorded.
//  * Replacing it makes the runtime route every retain through `_swift_retain_adapter`, whose
//    Swift 6.3 implementation masks tagged values before its sign check and crashes on small
//    strings (Runtime facts, section 2: Sources/ObjGraph/ObjGraph.docc/RuntimeFacts.md). We replace that private pointer with a correct
//    adapter, found through libswiftCore's ELF .symtab at run time, never by fixed offsets.
//    Retains and releases are then put back on the runtime's fast path (`unswizzle_refcounting`).
//  * `swift_deallocClassInstance` is interposed to notice an object deinitialized while
//    `unowned` references still hold it: from then on it is a zombie, not a live object.
//  * `free` is defined here, so it interposes the allocator's: a freed tracked object leaves
//    the live map and its type's counters.
#define _GNU_SOURCE
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef void *(*retain_fn)(void *object);


_Atomic int ogr_installed_flag;
_Atomic int ogr_recording_flag;

alloc_fn ogr_previous_alloc;
static retain_fn *retain_pointer;        // &_swift_retain in libswiftCore

// ---- The allocator underneath ---------------------------------------------------------------
void (*ogr_real_free)(void *);
size_t (*ogr_real_usable_size)(void *);
void *(*ogr_real_malloc)(size_t);
void *(*ogr_real_calloc)(size_t, size_t);
void *(*ogr_real_realloc)(void *, size_t);
int (*ogr_real_posix_memalign)(void **, size_t, size_t);
void *(*ogr_real_aligned_alloc)(size_t, size_t);
void *(*ogr_real_memalign)(size_t, size_t);
void *(*ogr_real_valloc)(size_t);
void *(*ogr_real_pvalloc)(size_t);
void *ogr_bootstrap_blocks[OGR_BOOTSTRAP_BLOCKS];
_Atomic uint32_t ogr_bootstrap_count;
int ogr_glibc_malloc;
__thread int ogr_resolving __attribute__((tls_model("initial-exec")));

// glibc's own aligned allocations, for when dlsym finds nothing better.
static int libc_posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) || (alignment & (alignment - 1))) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
static void *libc_aligned_alloc(size_t alignment, size_t size) { return __libc_memalign(alignment, size); }

// Sanitizer runtimes (clang links them into the executable) define `free` as a weak alias of
// their interceptor, so a program built with -sanitize=address that links ObjGraph gets this
// library's `free`, and `dlsym(RTLD_NEXT, "free")` then finds glibc's, which must never see
// ASan's memory ("free(): invalid pointer"). The interceptors keep their own names: weak
// references find them when present.
extern size_t __sanitizer_get_allocated_size(const void *) __attribute__((weak));
extern void __asan_init(void) __attribute__((weak));
extern void __tsan_init(void) __attribute__((weak));
extern void __msan_init(void) __attribute__((weak));
extern void __hwasan_init(void) __attribute__((weak));
// Every allocation function has such an interceptor (three underscores in compiler-rt 21, two
// in older ones).
#define SANITIZER_INTERCEPTOR(ret, name, params)                                   \
    extern ret ___interceptor_##name params __attribute__((weak));                  \
    extern ret __interceptor_##name params __attribute__((weak));
SANITIZER_INTERCEPTOR(void *, malloc, (size_t))
SANITIZER_INTERCEPTOR(void *, calloc, (size_t, size_t))
SANITIZER_INTERCEPTOR(void *, realloc, (void *, size_t))
SANITIZER_INTERCEPTOR(int, posix_memalign, (void **, size_t, size_t))
SANITIZER_INTERCEPTOR(void *, aligned_alloc, (size_t, size_t))
SANITIZER_INTERCEPTOR(void *, memalign, (size_t, size_t))
SANITIZER_INTERCEPTOR(void *, valloc, (size_t))
SANITIZER_INTERCEPTOR(void *, pvalloc, (size_t))
#define INTERCEPTOR(name) (___interceptor_##name ? ___interceptor_##name : __interceptor_##name)

const char *ogr_sanitizer = NULL;

// Not instrumented: it can run inside a sanitizer's initialisation, before its shadow memory
// exists (an instrumented access would fault).
/// True when `function` is code of the C library (libc.so.6).
static int in_libc(void *function) {
    Dl_info info;
    if (!dladdr(function, &info) || !info.dli_fname) return 0;
    const char *base = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
    return strncmp(base, "libc.so", 7) == 0;
}

OGR_NO_SANITIZE void ogr_resolve_allocator(void) {
    if (__atomic_load_n(&ogr_real_malloc, __ATOMIC_ACQUIRE) && ogr_real_free) return;
    if (__asan_init) ogr_sanitizer = "AddressSanitizer";
    else if (__tsan_init) ogr_sanitizer = "ThreadSanitizer";
    else if (__msan_init) ogr_sanitizer = "MemorySanitizer";
    else if (__hwasan_init) ogr_sanitizer = "HWAddressSanitizer";
    if (ogr_sanitizer && ogr_sanitizer_free() && INTERCEPTOR(malloc)) {
        // No dlsym: this can run inside the sanitizer's own initialisation.
        ogr_real_usable_size = __sanitizer_get_allocated_size ? (size_t (*)(void *))__sanitizer_get_allocated_size
                                                              : malloc_usable_size;
        ogr_glibc_malloc = 0;
        ogr_real_calloc = INTERCEPTOR(calloc);
        ogr_real_realloc = INTERCEPTOR(realloc);
        ogr_real_posix_memalign = INTERCEPTOR(posix_memalign);
        ogr_real_aligned_alloc = INTERCEPTOR(aligned_alloc);
        ogr_real_memalign = INTERCEPTOR(memalign);
        ogr_real_valloc = INTERCEPTOR(valloc);
        ogr_real_pvalloc = INTERCEPTOR(pvalloc);
        ogr_real_free = ogr_sanitizer_free();
        __atomic_store_n(&ogr_real_malloc, INTERCEPTOR(malloc), __ATOMIC_RELEASE);
        return;
    }
    ogr_resolving = 1;   // dlsym allocates and frees: meanwhile glibc serves this thread directly
#define NEXT(name, fallback) ({ void *f_ = dlsym(RTLD_NEXT, #name); f_ ? (__typeof__(&fallback))f_ : &fallback; })
    ogr_real_usable_size = NEXT(malloc_usable_size, malloc_usable_size);
    ogr_real_calloc = NEXT(calloc, __libc_calloc);
    ogr_real_realloc = NEXT(realloc, __libc_realloc);
    ogr_real_posix_memalign = NEXT(posix_memalign, libc_posix_memalign);
    ogr_real_aligned_alloc = NEXT(aligned_alloc, libc_aligned_alloc);
    ogr_real_memalign = NEXT(memalign, __libc_memalign);
    ogr_real_valloc = NEXT(valloc, __libc_valloc);
    ogr_real_pvalloc = NEXT(pvalloc, __libc_pvalloc);
    ogr_real_free = NEXT(free, __libc_free);
    __atomic_store_n(&ogr_real_malloc, NEXT(malloc, __libc_malloc), __ATOMIC_RELEASE);
#undef NEXT
    // glibc's when libc.so.6 defines the free and malloc_usable_size found. (Not a comparison
    // with __libc_free: tcmalloc defines those names too.) Another allocator's block sizes
    // come from its own malloc_usable_size.
    ogr_glibc_malloc = in_libc((void *)ogr_real_free) && in_libc((void *)ogr_real_usable_size);
    ogr_resolving = 0;
}

uintptr_t ogr_main_thread_pointer;
size_t ogr_static_tls_size;

// Load-time constructors run on the main thread: its thread pointer locates its static TLS
// (glibc puts the main thread's below its thread control block, in memory no allocator
// handed out, so no other root covers it; other threads' sit at the top of their stacks).
__attribute__((constructor(101))) static void resolve_early(void) {
    ogr_resolve_allocator();
    ogr_main_thread_pointer = (uintptr_t)pthread_self();
    void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    size_t align = 0;
    if (info) info(&ogr_static_tls_size, &align);
}

// ---- free, the allocation hook and zombies: hot_path.c -------------------------------------

typedef void (*dealloc_fn)(void *object, size_t size, size_t align_mask);
static dealloc_fn real_dealloc_class_instance;

/// The runtime's `swift_deallocClassInstance` behind ours; NULL when there is none to find
/// (the runtime is linked statically and its own definition won: ours is then never called).
static dealloc_fn resolve_dealloc(void) {
    dealloc_fn f = __atomic_load_n(&real_dealloc_class_instance, __ATOMIC_ACQUIRE);
    if (OGR_LIKELY(f)) return f;
    f = (dealloc_fn)dlsym(RTLD_NEXT, "swift_deallocClassInstance");
    if (f) __atomic_store_n(&real_dealloc_class_instance, f, __ATOMIC_RELEASE);
    return f;
}

__attribute__((constructor(102))) static void resolve_dealloc_early(void) { (void)resolve_dealloc(); }

/// Every class instance's deallocating deinit ends in `swift_deallocClassInstance`, called
/// through the PLT, so this definition interposes the runtime's (from the executable that links
/// ObjGraph, or from the preloaded agent for every library). By then the strong count is zero
/// and deinit has run; the runtime frees the memory at once unless `unowned` references remain
/// (swift_deallocObject: canBeFreedNow). Only class instances can be unowned-referenced, so
/// closure contexts and boxes (swift_deallocObject) need no such check. This replaces a hook on
/// every release: deallocation is far rarer than release, and retains and releases keep the
/// runtime's unswizzled fast path (see `unswizzle_refcounting`).
///
/// Weak: a program that links the runtime statically (`--static-swift-stdlib`) and this library
/// gets the runtime's own definition (a second strong one would not link); there, deallocation
/// is not seen and zombies are counted live until freed.
__attribute__((visibility("default"), weak)) void swift_deallocClassInstance(void *object, size_t size, size_t align_mask) {
    if (atomic_load_explicit(&ogr_installed_flag, memory_order_relaxed) && (intptr_t)object > 0) {
        uint64_t bits = __atomic_load_n((uint64_t *)((char *)object + 8), __ATOMIC_RELAXED);
        size_t unowned = RC_SIDE_TABLE(bits) ? swift_unownedRetainCount(object) : RC_UNOWNED(bits);
        if (OGR_UNLIKELY(unowned > 1)) ogr_note_zombie(object);
    }
    dealloc_fn real = resolve_dealloc();
    if (OGR_UNLIKELY(!real)) abort();   // called with no runtime behind it: nothing sensible can be done
    real(object, size, align_mask);
}

// ---- The retain adapter fix-up --------------------------------------------------------------
static void *fixed_retain_adapter(void *raw) {
    // Tagged payloads (small strings, tagged pointers) have the sign bit set: not objects.
    if ((intptr_t)raw <= 0) return raw;
    (*retain_pointer)((void *)((uintptr_t)raw & 0x00FFFFFFFFFFFFF8ull));
    return raw;
}

/// Look up symbols in the ELF file at `path`: local ones only, unless `all`. Fills `values`
/// (st_value, 0 if absent).
static int elf_symbols(const char *path, const char *const *names, uintptr_t *values, int count, int all) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) { close(fd); return -1; }
    const unsigned char *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (file == MAP_FAILED) return -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    int result = -1;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) <= (size_t)st.st_size) {
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
        for (int i = 0; i < count; i++) values[i] = 0;
        for (unsigned s = 0; s < eh->e_shnum; s++) {
            if (sh[s].sh_type != SHT_SYMTAB || sh[s].sh_link >= eh->e_shnum) continue;
            const Elf64_Shdr *strtab = &sh[sh[s].sh_link];
            if (sh[s].sh_offset + sh[s].sh_size > (size_t)st.st_size ||
                strtab->sh_offset + strtab->sh_size > (size_t)st.st_size) break;
            const Elf64_Sym *syms = (const Elf64_Sym *)(file + sh[s].sh_offset);
            const char *strs = (const char *)(file + strtab->sh_offset);
            size_t n = sh[s].sh_size / sizeof(Elf64_Sym);
            // Local symbols come first (sh_info is the first non-local one): the rest of the
            // table need not be read.
            if (!all && sh[s].sh_info > 0 && sh[s].sh_info < n) n = sh[s].sh_info;
            for (size_t k = 0; k < n; k++) {
                if (syms[k].st_name >= strtab->sh_size) continue;
                const char *name = strs + syms[k].st_name;
                // Nearly all of libswiftCore's ~50k symbols are Swift-mangled ("$s..."); every
                // name asked for here is a C or C++ one starting with '_'. Comparing first
                // characters before strcmp takes this loop from ~2 ms to a fraction of that.
                for (int i = 0; i < count; i++) {
                    if (name[0] == names[i][0] && name[1] == names[i][1] && strcmp(name, names[i]) == 0) {
                        values[i] = syms[k].st_value;
                    }
                }
            }
            result = 0;
        }
    }
    munmap((void *)file, (size_t)st.st_size);
    return result;
}

typedef struct { uintptr_t address; int writable; } segment_query;

static int find_segment(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    segment_query *q = data;
    uintptr_t relro_start = 0, relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            relro_start = info->dlpi_addr + ph->p_vaddr;
            relro_end = relro_start + ph->p_memsz;
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && q->address >= start && q->address + 8 <= start + ph->p_memsz) {
            q->writable = (ph->p_flags & PF_W) && !(q->address >= relro_start && q->address < relro_end);
            return 1;
        }
    }
    return 0;
}

static int fail(char *error, size_t len, const char *message, const char *detail) {
    if (error && len) snprintf(error, len, "%s%s%s", message, detail ? ": " : "", detail ? detail : "");
    return -1;
}

static pthread_mutex_t install_mutex = PTHREAD_MUTEX_INITIALIZER;
extern void ogr_registry_atfork(void);

static _Atomic uint8_t *swizzle_flag;   // the runtime's std::atomic<bool> swizzling flag
int ogr_runtime_in_executable;          // the program carries its own runtime (--static-swift-stdlib)
/// `_swift_retain`, `_swift_release`, `_swift_retain_n`, `_swift_release_n`, `_swift_tryRetain`
/// of the runtime in use (found by `locate_runtime`).
static uintptr_t refcount_pointers[5];

/// Lets the runtime call our allocation hook without routing every retain and release through
/// its swizzle adapters.
///
/// libswiftCore reads `_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly`
/// in two ways (Swift 6.3.1, checked by RuntimeFactsTests): the allocation entry points
/// (swift_allocObject, swift_bufferAllocate, swift_allocBox) call the hook whenever the flag is
/// non-zero and store 1 when it is zero, while swift_retain, swift_release, their _n forms and
/// swift_tryRetain take the swizzled path only when it equals exactly 1. Storing 2 before the
/// hook goes in therefore hooks allocation and keeps reference counting on its fast path (a
/// 30M-retain loop: 1.5x slower swizzled, 1.0x with the flag at 2).
///
/// Done only when nobody else swizzles: the flag still 0 and every refcounting pointer at the
/// runtime's default. If a later runtime reads the flag differently, the worst outcome is the
/// swizzled path (slower, correct: the adapter fix-up is in place either way).
static void unswizzle_refcounting(const uintptr_t defaults[5]) {
    if (!swizzle_flag || getenv("OBJGRAPH_TEST_KEEP_SWIZZLING") || getenv("OBJGRAPH_TEST_SKIP_RETAIN_FIXUP")) return;
    for (int i = 0; i < 5; i++) {
        void **p = (void **)refcount_pointers[i];
        if (!p || !defaults[i] || __atomic_load_n(p, __ATOMIC_ACQUIRE) != (void *)defaults[i]) return;
    }
    uint8_t expected = 0;
    atomic_compare_exchange_strong(swizzle_flag, &expected, 2);
}

static int ogr_refcounting_swizzled(void) {
    return swizzle_flag && atomic_load(swizzle_flag) == 1;
}

/// Where the Swift runtime the program allocates with lives. Usually libswiftCore.so, whose
/// hook pointers are exported. A program built with `--static-swift-stdlib` carries its own
/// copy of the runtime: its `_swift_allocObject` is a local symbol of the executable, and the
/// libswiftCore.so that a preloaded agent (itself Swift) brings along is a second runtime the
/// program never allocates with. Hooking that one would count nothing (RuntimeFacts section 9).
typedef struct {
    char path[4096];
    uintptr_t base;          ///< load bias of the image holding the runtime
    int in_executable;       ///< the runtime is linked into the main executable
} runtime_image;

static int main_program_bias(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    *(uintptr_t *)data = info->dlpi_addr;
    return 1;   // the first entry is the main program
}

/// 1 when the main program's dynamic section lists libswiftCore.so as needed (read in memory:
/// cheaper than the executable's symbol table, which for swift-build has ~400k entries).
static int main_program_links_libswiftcore(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    int *found = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
        const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        const char *strtab = NULL;
        for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
            if (d->d_tag == DT_STRTAB) strtab = (const char *)d->d_un.d_ptr;   // relocated by ld.so
        }
        for (const ElfW(Dyn) *d = dyn; strtab && d->d_tag != DT_NULL; d++) {
            if (d->d_tag == DT_NEEDED && strncmp(strtab + d->d_un.d_val, "libswiftCore.so", 15) == 0) *found = 1;
        }
    }
    return 1;
}

// Exported by libswiftCore.so first (up to SYM_FLAG), then local ones (.symtab only).
enum { SYM_ALLOC, SYM_RETAIN, SYM_RELEASE, SYM_RETAIN_N, SYM_RELEASE_N, SYM_TRY_RETAIN, SYM_FLAG,
       SYM_ADAPTER, SYM_ADAPTER_IMPL, SYM_RETAIN_, SYM_RELEASE_, SYM_RETAIN_N_, SYM_RELEASE_N_, SYM_TRY_RETAIN_,
       SYM_COUNT };
static const char *const runtime_symbols[SYM_COUNT] = {
    "_swift_allocObject", "_swift_retain", "_swift_release", "_swift_retain_n", "_swift_release_n", "_swift_tryRetain",
    "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly",
    "_ZL21_swift_retain_adapter", "_ZL25_swift_retain_adapterImplPN5swift10HeapObjectE",
    "__swift_retain_", "__swift_release_", "__swift_retain_n_", "__swift_release_n_", "__swift_tryRetain_",
};

/// Finds the runtime image and the addresses of `runtime_symbols` in it (0 when absent).
static int locate_runtime(runtime_image *image, uintptr_t addresses[SYM_COUNT], char *error, size_t error_len) {
    uintptr_t values[SYM_COUNT];
    int linked = 0;
    dl_iterate_phdr(main_program_links_libswiftcore, &linked);
    ssize_t n = linked ? -1 : readlink("/proc/self/exe", image->path, sizeof image->path - 1);
    if (n > 0) {
        image->path[n] = 0;
        // The executable's local symbols: a static runtime shows up as a local `_swift_allocObject`.
        if (elf_symbols(image->path, runtime_symbols, values, SYM_COUNT, 0) == 0 && values[SYM_ALLOC]) {
            image->in_executable = 1;
            image->base = 0;
            dl_iterate_phdr(main_program_bias, &image->base);
            for (int i = 0; i < SYM_COUNT; i++) addresses[i] = values[i] ? image->base + values[i] : 0;
            return 0;
        }
    }
    image->in_executable = 0;
    void *alloc = dlsym(RTLD_DEFAULT, runtime_symbols[SYM_ALLOC]);
    Dl_info info;
    if (!alloc || !dlsym(RTLD_DEFAULT, runtime_symbols[SYM_RETAIN])) {
        return fail(error, error_len, "libswiftCore does not export the allocation hooks", "_swift_allocObject/_swift_retain");
    }
    if (!dladdr(alloc, &info) || !info.dli_fname) return fail(error, error_len, "cannot locate libswiftCore", NULL);
    snprintf(image->path, sizeof image->path, "%s", info.dli_fname);
    image->base = (uintptr_t)info.dli_fbase;
    // Local (static) symbols from the file's .symtab; the exported ones from dlsym.
    if (elf_symbols(image->path, runtime_symbols, values, SYM_COUNT, 0) != 0) {
        for (int i = 0; i < SYM_COUNT; i++) values[i] = 0;
    }
    for (int i = 0; i < SYM_COUNT; i++) {
        void *exported = i <= SYM_FLAG ? dlsym(RTLD_DEFAULT, runtime_symbols[i]) : NULL;
        addresses[i] = exported ? (uintptr_t)exported : (values[i] ? image->base + values[i] : 0);
    }
    return 0;
}

int ogr_install(char *error, size_t error_len) {
    pthread_mutex_lock(&install_mutex);
    if (atomic_load(&ogr_installed_flag)) { pthread_mutex_unlock(&install_mutex); return 0; }
    int rc = -1;
    ogr_resolve_allocator();
    (void)resolve_dealloc();

    // Under ASan the allocator is the sanitizer's, reached through its interceptors (see
    // ogr_resolve_allocator): tracking works. Other sanitizers are not supported: step aside.
    if (ogr_sanitizer && strcmp(ogr_sanitizer, "AddressSanitizer") != 0) {
        fail(error, error_len, "not supported under", ogr_sanitizer);
        goto out;
    }
    // Another allocator preloaded behind the agent serves the program through our hooks. Only
    // the ones tried are accepted: jemalloc works; tcmalloc's sizes of blocks it did not hand
    // out are garbage (a capture would read far past a block), so it, and any other, is
    // refused rather than risked.
    if (!ogr_sanitizer && !ogr_glibc_malloc) {
        Dl_info allocator;
        const char *name = dladdr((void *)ogr_real_malloc, &allocator) && allocator.dli_fname ? allocator.dli_fname : "?";
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        if (strncmp(base, "libjemalloc.so", 14) != 0) {
            fail(error, error_len, "the program's allocator is not supported (glibc's malloc and jemalloc are)", base);
            goto out;
        }
    }
    runtime_image image;
    uintptr_t at[SYM_COUNT];
    if (locate_runtime(&image, at, error, error_len) != 0) goto out;
    alloc_fn *alloc_pointer = (alloc_fn *)at[SYM_ALLOC];
    retain_fn *retain_ptr = (retain_fn *)at[SYM_RETAIN];
    swizzle_flag = (_Atomic uint8_t *)at[SYM_FLAG];
    ogr_runtime_in_executable = image.in_executable;
    for (int i = 0; i < 5; i++) refcount_pointers[i] = at[SYM_RETAIN + i];
    if (!alloc_pointer || !retain_ptr) {
        fail(error, error_len, "the Swift runtime's allocation hooks were not found in", image.path);
        goto out;
    }
    if (!at[SYM_ADAPTER] || !at[SYM_ADAPTER_IMPL]) {
        fail(error, error_len, "cannot apply the Swift 6.3 retain-adapter fix-up: symbol _swift_retain_adapter not found in", image.path);
        goto out;
    }
    // (A symbol table that does not match the loaded image fails the checks below: the
    // adapter pointer must be writable data holding one of the three known adapters.)
    retain_fn *adapter_pointer = (retain_fn *)at[SYM_ADAPTER];
    retain_fn adapter_impl = (retain_fn)at[SYM_ADAPTER_IMPL];
    segment_query q = { (uintptr_t)adapter_pointer, 0 };
    dl_iterate_phdr(find_segment, &q);
    if (!q.writable) {
        fail(error, error_len, "the retain adapter pointer is not in writable data", NULL);
        goto out;
    }
    retain_fn current = __atomic_load_n(adapter_pointer, __ATOMIC_ACQUIRE);
    retain_fn real_retain = (retain_fn)at[SYM_RETAIN_];
    if (current != adapter_impl && current != (retain_fn)fixed_retain_adapter && current != real_retain) {
        fail(error, error_len, "the retain adapter was already replaced by another tool (or libswiftCore on disk is not the loaded one)", NULL);
        goto out;
    }

    retain_pointer = retain_ptr;
    ogr_pause_init();
    ogr_registry_atfork();

    // Order matters: the adapter must be fixed before anything turns swizzling on. The
    // environment switch exists only so a test can show, in a child process, that the runtime
    // crashes without the fix-up (RuntimeFacts.md section 2).
    if (!getenv("OBJGRAPH_TEST_SKIP_RETAIN_FIXUP")) {
        // The runtime's own retain, `_swift_retain_`, checks the sign before masking: it is the
        // correct adapter, and calling it directly saves a call on every retain. If another tool
        // has replaced `_swift_retain`, our adapter forwards to whatever it points at.
        retain_fn adapter = (real_retain && __atomic_load_n(retain_ptr, __ATOMIC_ACQUIRE) == real_retain)
                                ? real_retain : (retain_fn)fixed_retain_adapter;
        __atomic_store_n(adapter_pointer, adapter, __ATOMIC_RELEASE);
    }
    // Before the hook goes in, so no allocation ever sees the flag at 0 and sets it to 1.
    unswizzle_refcounting(&at[SYM_RETAIN_]);
    ogr_previous_alloc = __atomic_load_n(alloc_pointer, __ATOMIC_ACQUIRE);
    ogr_note_heap_at_start();
    atomic_store(&ogr_installed_flag, 1);
    atomic_store(&ogr_recording_flag, 1);
    __atomic_store_n(alloc_pointer, ogr_alloc_hook, __ATOMIC_RELEASE);

    rc = 0;
out:
    pthread_mutex_unlock(&install_mutex);
    return rc;
}

// ---- Markers of the Concurrency and Blocks runtimes -------------------------------------------
// Words that identify runtime-made C heap blocks, published by the runtimes for debuggers:
// the first word of a task allocator slab, the metadata of a task (with the layout version the
// capture's offsets are for), and the isa of a heap-copied block.
uintptr_t ogr_task_slab_marker, ogr_task_metadata, ogr_malloc_block_isa;
static int executable_searched;

/// The layout of tasks and async contexts the capture reads (RemoteInspection's
/// RuntimeInternals.h); another version leaves tasks plain blocks.
#define TASK_LAYOUT_VERSION 1u

void ogr_find_runtime_markers(void) {
    enum { SLAB, TASK, LAYOUT, BLOCK, COUNT };
    static const char *const names[COUNT] = {
        "_swift_concurrency_debug_asyncTaskSlabMetadata", "_swift_concurrency_debug_asyncTaskMetadata",
        "_swift_concurrency_debug_internal_layout_version", "_NSConcreteMallocBlock",
    };
    if (__atomic_load_n(&ogr_task_slab_marker, __ATOMIC_RELAXED) && __atomic_load_n(&ogr_malloc_block_isa, __ATOMIC_RELAXED)) return;
    uintptr_t at[COUNT];
    for (int i = 0; i < COUNT; i++) at[i] = (uintptr_t)dlsym(RTLD_DEFAULT, names[i]);
    if ((!at[SLAB] || !at[BLOCK]) && ogr_runtime_in_executable && !executable_searched) {
        // A --static-swift-stdlib program does not export them: its symbol table has them.
        executable_searched = 1;
        char path[4096];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        uintptr_t values[COUNT], base = 0;
        if (n > 0) {
            path[n] = 0;
            if (elf_symbols(path, names, values, COUNT, 1) == 0) {
                dl_iterate_phdr(main_program_bias, &base);
                for (int i = 0; i < COUNT; i++) if (!at[i] && values[i]) at[i] = base + values[i];
            }
        }
    }
    if (at[SLAB]) __atomic_store_n(&ogr_task_slab_marker, *(const uintptr_t *)at[SLAB], __ATOMIC_RELAXED);
    if (at[TASK] && at[LAYOUT] && *(const uint32_t *)at[LAYOUT] == TASK_LAYOUT_VERSION) {
        __atomic_store_n(&ogr_task_metadata, *(const uintptr_t *)at[TASK], __ATOMIC_RELAXED);
    }
    if (at[BLOCK]) __atomic_store_n(&ogr_malloc_block_isa, at[BLOCK], __ATOMIC_RELAXED);
}

_Atomic uint32_t ogr_epoch;

uint32_t ogr_advance_epoch(void) { return atomic_fetch_add(&ogr_epoch, 1) + 1; }

int ogr_is_installed(void) { return atomic_load(&ogr_installed_flag); }

int ogr_runtime_is_in_executable(void) { return ogr_runtime_in_executable; }

int ogr_program_is_swift(void) {
    int linked = 0;
    dl_iterate_phdr(main_program_links_libswiftcore, &linked);
    return linked || ogr_runtime_in_executable;
}

int ogr_free_is_interposed(void) {
    return dlsym(RTLD_DEFAULT, "free") == (void *)ogr_free;
}

int ogr_swift_code_uses_tracked_runtime(void) {
    if (!ogr_runtime_in_executable) return 1;
    Dl_info info;
    uintptr_t main_base = 0;
    dl_iterate_phdr(main_program_bias, &main_base);
    return dladdr((void *)ogr_install, &info) && (uintptr_t)info.dli_fbase == main_base;
}
void ogr_set_recording(int on) { atomic_store(&ogr_recording_flag, on ? 1 : 0); }
int ogr_is_recording(void) { return atomic_load(&ogr_recording_flag); }

int ogr_is_tracked(const void *address) {
    if ((uintptr_t)address & 15) return 0;
    uint8_t *b = ogr_map_byte((uintptr_t)address, 0);
    return b && (ogr_map_load(b) & OGR_LIVE) ? 1 : 0;
}

void ogr_get_stats(ogr_stats *s) {
    s->recorded = __atomic_load_n(&ogr_shared_thread.recorded, __ATOMIC_RELAXED);
    s->freed = __atomic_load_n(&ogr_shared_thread.freed, __ATOMIC_RELAXED);
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) {
        s->recorded += __atomic_load_n(&t->recorded, __ATOMIC_RELAXED);
        s->freed += __atomic_load_n(&t->freed, __ATOMIC_RELAXED);
    }
    s->missed_frees = atomic_load(&ogr_diag.missed_frees);
    s->unknown_metadata = atomic_load(&ogr_diag.unknown_metadata);
    s->deinit_seen = atomic_load(&ogr_diag.deinit_seen);
    uint32_t n = 0;
    for (ogr_thread *t = atomic_load(&ogr_threads); t; t = t->next) n += atomic_load(&t->in_use) ? 1 : 0;
    s->threads = n;
    s->membarrier = (uint32_t)ogr_use_membarrier;
    s->swizzled = (uint32_t)ogr_refcounting_swizzled();
}

void ogr_retain_counts(const void *object, uint32_t *strong, uint32_t *unowned, uint32_t *weak) {
    void *o = (void *)object;
    *strong = (uint32_t)swift_retainCount(o);
    *unowned = (uint32_t)swift_unownedRetainCount(o);
    *weak = (uint32_t)swift_weakRetainCount(o);
}

void ogr_retain_counts_inline(const void *object, uint32_t *strong, uint32_t *unowned, uint32_t *weak,
                              int *deinitializing) {
    ogr_counts c = ogr_read_counts((void *)object);
    *strong = c.strong;
    *unowned = c.unowned;
    *weak = c.weak;
    *deinitializing = c.deinitializing;
}

// swift_checkMetadataState(MetadataRequest, const Metadata *) -> MetadataResponse is a swiftcc
// runtime entry point; its two-word result comes back in registers.
typedef struct { const void *type; size_t state; } metadata_response;
extern __attribute__((swiftcall)) metadata_response swift_checkMetadataState(size_t request, const void *type);

const void *ogr_complete_metadata(const void *type) {
    if (!type) return NULL;
    metadata_response r = swift_checkMetadataState(0 /* complete, blocking */, type);
    return r.state == 0 ? r.type : NULL;
}

int ogr_readable(const void *address, size_t length) {
    uintptr_t start = (uintptr_t)address;
    if (start < 4096 || (start >> OGR_ADDRESS_BITS) || length == 0) return 0;
    uintptr_t page = start & ~(uintptr_t)4095;
    size_t span = (start + length - page + 4095) & ~(size_t)4095;
    unsigned char residency[8];
    if (span / 4096 > sizeof residency) return 0;
    return mincore((void *)page, span, residency) == 0;
}

// ---- Runtime entry points called from Swift --------------------------------------------------
// Declared here rather than looked up with dlsym: a program built with --static-swift-stdlib
// does not export them, and a direct reference binds to whichever runtime this code is linked
// with (the program's own when it links ObjGraph statically).

extern __attribute__((swiftcall)) const void *swift_getTypeByMangledNameInContext(
    const char *name, size_t length, const void *context, const void *const *generic_args);

const void *ogr_type_by_mangled_name(const void *name, size_t length) {
    return swift_getTypeByMangledNameInContext((const char *)name, length, NULL, NULL);
}

extern char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_length, uint32_t flags);

char *ogr_demangle(const char *mangled, size_t length) { return swift_demangle(mangled, length, NULL, NULL, 0); }
