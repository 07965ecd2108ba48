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
