import ArgumentParser
import ObjGraph

/// How type names are printed, shared by the commands that print them.
struct NameOptions: ParsableArguments {
    @Flag(help: "Fully qualified type names (Module.Type), not short ones.")
    var qualified = false

    @Flag(help: "Type names whole in tables (default: cut in the middle at \(TextTable.nameWidth) characters).")
    var wide = false

    var shortNames: Bool { !qualified }
    /// The widest a type name is printed in a table.
    var nameWidth: Int? { wide ? nil : TextTable.nameWidth }
}
