// TEMPORARY: replaced by helper's TypeCatalog.swift
public final class Symbolizer: @unchecked Sendable { public init() {} 
  public func symbol(containing address: UInt) -> (name: String, demangled: String, start: UInt, size: UInt)? { nil } }
public final class TypeCatalog: @unchecked Sendable {
  public init(symbolizer: Symbolizer) {}
  public func describe(metadata: UInt) -> TypeDescription {
    let kindWord = UnsafePointer<UInt>(bitPattern: metadata)!.pointee
    let kind: HeapSnapshot.ObjectKind = kindWord == 0 || kindWord > 0x7ff ? .classInstance : kindWord == 0x400 ? .closureContext : kindWord == 0x500 ? .box : .other
    if kind == .classInstance {
      let t = unsafeBitCast(metadata, to: Any.Type.self)
      return TypeDescription(kind: kind, name: _typeName(t, qualified: true), shortName: _typeName(t, qualified: false))
    }
    return TypeDescription(kind: kind, name: "\(kind)", shortName: "\(kind)")
  }
}
public struct TypeDescription: Sendable {
  public var kind: HeapSnapshot.ObjectKind; public var name: String; public var shortName: String
  public func label(offset: Int, previousWord: UInt64, header: [UInt64]) -> (label: String, kind: HeapSnapshot.EdgeKind) { ("+\(offset)", .conservative) }
  public var wantsHeaderWords: Bool { false }
}
