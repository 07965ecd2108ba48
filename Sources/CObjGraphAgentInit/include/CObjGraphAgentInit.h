// The agent's C part: a load-time constructor and async-signal-safe signal handlers.
#ifndef COBJGRAPH_AGENT_INIT_H
#define COBJGRAPH_AGENT_INIT_H

#include <stdint.h>

/// Implemented in Swift (ObjGraphAgent, `@_cdecl`): starts tracking and the report machinery.
void objgraph_agent_start(void);

/// Make SIGUSR1 write one byte to `fd` (the agent thread prints a growth table when it reads
/// it). Leaves SIGUSR1 alone and returns -1 if the program already handles it.
int ogr_agent_watch_sigusr1(int fd);

/// On a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP), write the signal and
/// the raw per-type counters to `path` with async-signal-safe calls only, then let the previous
/// handler (or the default action) run. `path` is copied.
void ogr_agent_watch_crashes(const char *path);

/// Before the exit analysis: keep glibc malloc from returning freed memory to the kernel and
/// from giving large arrays their own mappings, so each phase reuses the pages the previous one
/// freed instead of faulting in fresh zeroed ones. The program is done with its heap by then.
void ogr_agent_keep_freed_memory(void);

/// Marks the calling thread as the agent's own (`OGR_CRASH_IN_AGENT_THREAD`) or the program's
/// (0), for the crash record.
void ogr_agent_set_role(int role);

/// Called first thing by the agent's exit handler: a fatal signal on this thread is now the
/// agent's, and one on another thread strikes while the final report is being made.
void ogr_agent_exit_handler_started(void);

/// Called from an exit handler: the stack address above `exit()`'s frame when a function of
/// the program called `exit()` (its frames hold live objects), or 0 when `main` returned and
/// the C library's startup code called it (or the frames cannot be walked).
uintptr_t ogr_agent_exit_caller_stack(void);

/// argv[0] of the program (glibc's program_invocation_name).
const char *ogr_agent_program_name(void);

#endif
