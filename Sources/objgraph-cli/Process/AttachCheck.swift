import ObjGraphCore
#if canImport(Glibc)
import Glibc
#endif

/// Refuses, before anything runs, the programs the agent cannot be loaded into or cannot see
/// inside: a run that would observe nothing must say so, not print an empty report.
enum AttachCheck {
    static func refuseUnobservable(path: String, program: String) throws {
        guard let file = try? ExecutableFile(path: path), file.kind == .elf else { return }
        func refuse(_ why: String) -> CommandError {
            CommandError("cannot observe \(program): \(why)", exitCode: CommandError.notObservedStatus)
        }
        guard file.hasDynamicLoader else {
            throw refuse(
                "it is statically linked (no dynamic loader), so the agent cannot be preloaded into it; build it with a dynamic loader (swift build --static-swift-stdlib keeps one; the static Linux SDK does not)"
            )
        }
        if file.isSetID && getuid() != 0 {
            throw refuse(
                "it is set-user-ID or set-group-ID, and the dynamic loader ignores LD_PRELOAD for such programs")
        }
        if file.carriesSwiftRuntime && !file.hasSymbolTable {
            throw refuse(
                "it carries its own Swift runtime (--static-swift-stdlib) and was stripped of its symbol table, where the runtime's allocation hook is found; run an unstripped build (no strip, no -Xlinker -s)"
            )
        }
    }
}
