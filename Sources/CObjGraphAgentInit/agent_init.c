// The agent library's C part. It exists because Swift has no load-time constructors and
// because signal handlers must stay async-signal-safe (no allocation, no locks, no Swift).
#define _GNU_SOURCE
#include "include/CObjGraphAgentInit.h"
#include "CObjGraphRuntime.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

// Runs when the dynamic loader maps the agent (LD_PRELOAD), before the program's main.
__attribute__((constructor(200))) static void agent_constructor(void) { objgraph_agent_start(); }

static int usr1_fd = -1;

static void on_usr1(int sig) {
    (void)sig;
    int saved = errno;
    if (usr1_fd >= 0) { char byte = 1; (void)!write(usr1_fd, &byte, 1); }
    errno = saved;
}

int ogr_agent_watch_sigusr1(int fd) {
    struct sigaction old;
    if (sigaction(SIGUSR1, NULL, &old) != 0) return -1;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) return -1;
    usr1_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGUSR1, &sa, NULL);
}

#define CRASH_SIGNALS 6
static const int crash_signals[CRASH_SIGNALS] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
static struct sigaction previous[CRASH_SIGNALS];
static char crash_path[4096];
static int64_t crash_counts[OGR_MAX_TYPES], crash_bytes[OGR_MAX_TYPES];
static volatile sig_atomic_t crashing;
static char crash_buffer[16384];

// Which code the thread is running, for the crash record: a fault in the agent must be
// reported as the agent's, never blamed on the program. Initial-exec TLS: the agent is
// preloaded, so its TLS is static and reading it in a signal handler allocates nothing.
static __thread __attribute__((tls_model("initial-exec"))) int agent_role;
static volatile sig_atomic_t exit_handler_started;

void ogr_agent_set_role(int role) { agent_role = role; }
void ogr_agent_exit_handler_started(void) { exit_handler_started = 1; agent_role = OGR_CRASH_IN_AGENT_EXIT_HANDLER; }

static void on_crash(int sig, siginfo_t *info, void *context) {
    int index = 0;
    while (index < CRASH_SIGNALS && crash_signals[index] != sig) index++;
    if (!crashing) {
        crashing = 1;
        // Counters are plain words read without locks: safe here.
        uint32_t n = ogr_type_count();
        ogr_all_totals(crash_counts, crash_bytes, n);
        int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            // Layout: ogr_crash_header, n x (int64 count, int64 bytes), n x uint64 metadata,
            // then /proc/self/maps, so types the agent never named can be named afterwards from
            // the symbols of the mapped files ("type metadata for Module.Type").
            ogr_crash_header header = { sig, (int32_t)n, agent_role, 0 };
            if (!agent_role && exit_handler_started) header.site = OGR_CRASH_IN_PROGRAM_DURING_EXIT_HANDLER;
            (void)!write(fd, &header, sizeof header);
            for (uint32_t i = 0; i < n; i++) {
                int64_t row[2] = { crash_counts[i], crash_bytes[i] };
                (void)!write(fd, row, sizeof row);
            }
            for (uint32_t i = 0; i < n; i++) {
                uint64_t metadata = ogr_type_metadata(i);
                (void)!write(fd, &metadata, sizeof metadata);
            }
            int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
            if (maps >= 0) {
                ssize_t got;
                while ((got = read(maps, crash_buffer, sizeof crash_buffer)) > 0) (void)!write(fd, crash_buffer, (size_t)got);
                close(maps);
            }
            close(fd);
        }
    }
    // Hand over to whoever handled this signal before us (the Swift backtracer, say), or to
    // the default action: the program still dies the way it would have.
    if (index < CRASH_SIGNALS) {
        struct sigaction *old = &previous[index];
        if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) { old->sa_sigaction(sig, info, context); return; }
        if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) { old->sa_handler(sig); return; }
        sigaction(sig, old, NULL);
    }
    raise(sig);
}

void ogr_agent_watch_crashes(const char *path) {
    strncpy(crash_path, path, sizeof crash_path - 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < CRASH_SIGNALS; i++) sigaction(crash_signals[i], &sa, &previous[i]);
}

void ogr_agent_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);   // glibc's largest allowed value
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// argv[0] without Swift's `CommandLine.arguments`, which the program builds lazily and owns.
const char *ogr_agent_program_name(void) { return program_invocation_name; }

// ---- Where the program's frames start on the exiting thread ---------------------------------
// The exit handler runs on the thread that called exit(). Above exit's frame sit the frames of
// whoever called it: when a program calls exit() from a function (ArgumentParser's --help,
// XCTMain), those frames hold live objects and must be roots; when main returned, exit() was
// called by the C library's startup code and what lies above is only that code's frames and
// stale words of the returned main. An unwinder cannot be used here: the handler is reached
// through ld.so's _dl_fini, whose frames it cannot step over. So the stack is read from the
// handler's frame up: the first word that is a return address into exit() marks exit's frame
// (exit called the code that runs the handlers); above it, the return address into exit's
// caller is the first word just after a call instruction whose target is exit (directly, or
// through a PLT stub or GOT slot). Saved registers holding other code addresses do not pass.
#include <dlfcn.h>
#include <link.h>

typedef struct { uintptr_t address; int executable; } code_query;

static int find_code(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    code_query *q = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && q->address >= start && q->address < start + ph->p_memsz) {
            q->executable = 1;
            return 1;
        }
    }
    return 0;
}

static int is_code(uintptr_t address) {
    code_query q = { address, 0 };
    dl_iterate_phdr(find_code, &q);
    return q.executable;
}

/// The address a `jmp *slot(%rip)` PLT stub at `stub` jumps to (endbr64 and bnd prefixes
/// allowed), or 0.
static uintptr_t plt_target(uintptr_t stub) {
    const uint8_t *p = (const uint8_t *)stub;
    if (!ogr_readable(p, 16)) return 0;
    if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) p += 4;   // endbr64
    if (p[0] == 0xf2) p++;                                                       // bnd
    if (p[0] != 0xff || p[1] != 0x25) return 0;
    int32_t disp;
    memcpy(&disp, p + 2, 4);
    const uintptr_t *slot = (const uintptr_t *)(p + 6 + disp);
    return ogr_readable(slot, 8) ? *slot : 0;
}

/// 1 when `ret` is the return address of a call to `target` (x86-64: `call rel32`, through a
/// PLT stub or not, or `call *slot(%rip)`).
static int returns_from_call_to(uintptr_t ret, uintptr_t target) {
    if (!is_code(ret) || !ogr_readable((const void *)(ret - 6), 6)) return 0;
    const uint8_t *p = (const uint8_t *)ret;
    int32_t disp;
    if (p[-5] == 0xe8) {
        memcpy(&disp, p - 4, 4);
        uintptr_t callee = ret + (intptr_t)disp;
        if (callee == target || plt_target(callee) == target) return 1;
    }
    if (p[-6] == 0xff && p[-5] == 0x15) {
        memcpy(&disp, p - 4, 4);
        const uintptr_t *slot = (const uintptr_t *)(ret + (intptr_t)disp);
        if (ogr_readable(slot, 8) && *slot == target) return 1;
    }
    return 0;
}

__attribute__((noinline)) uintptr_t ogr_agent_exit_caller_stack(void) {
    void *exit_function = dlsym(RTLD_DEFAULT, "exit");
    Dl_info exit_info;
    if (!exit_function || !dladdr(exit_function, &exit_info)) return 0;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    // This thread's stack ends at its mapping's end; 1 MiB above the handler is far more than
    // ld.so's and the C library's exit frames take.
    const uintptr_t *word = (const uintptr_t *)(here & ~(uintptr_t)7);
    const uintptr_t *limit = word + (1 << 17);
    for (; word < limit; word++) {
        if (!ogr_readable(word, 8)) return 0;
        Dl_info info;
        uintptr_t value = *word;
        if (!is_code(value) || !dladdr((void *)(value - 1), &info) || info.dli_saddr != exit_function) continue;
        // Above exit's own frame: the return address into exit's caller.
        for (const uintptr_t *up = word + 1; up < word + 256; up++) {
            if (!ogr_readable(up, 8)) return 0;
            if (!returns_from_call_to(*up, (uintptr_t)exit_function)) continue;
            Dl_info caller;
            if (!dladdr((void *)(*up - 1), &caller)) return 0;
            return caller.dli_fbase == exit_info.dli_fbase ? 0 : (uintptr_t)(up + 1);
        }
        return 0;
    }
    return 0;
}
