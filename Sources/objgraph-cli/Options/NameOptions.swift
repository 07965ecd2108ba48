import ArgumentParser

/// How type names are printed, shared by the commands that print them.
struct NameOptions: ParsableArguments {
    @Flag(help: "Fully qualified type names (Module.Type), not short ones.")
    var qualified = false

    var shortNames: Bool { !qualified }
}
