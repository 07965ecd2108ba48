import CObjGraphRuntime

extension TypeDescription {
    /// Placeholder for registry slots past ``OGR_MAX_TYPES``.
    static let overflow = TypeDescription(kind: .other, name: "(other types)", shortName: "(other types)")
}

extension ScanPlan {
    /// How the heap walk should read objects of a type: only the words that can hold
    /// references (array elements up to `count`, occupied dictionary buckets, a class's
    /// instance size), so stale words in spare capacity are never mistaken for references.
    init(_ description: TypeDescription, metadata: UInt) {
        switch description.layout.body {
        case let .elements(start, stride, _) where start == 32 && stride > 0:
            self.init(mode: OGR_SCAN_ARRAY, a: UInt32(stride))
        case let .hashed(_, keys, values):
            if let values {
                self.init(mode: OGR_SCAN_DICTIONARY, a: UInt32(keys.stride), b: UInt32(values.stride))
            } else {
                self.init(mode: OGR_SCAN_SET, a: UInt32(keys.stride))
            }
        default:
            if description.name == "String storage" {
                self.init(mode: OGR_SCAN_NONE)   // UTF-8 bytes, no references
            } else if description.kind == .classInstance, metadata != 0 {
                // Class metadata word 3: instance size (low 32 bits), alignment mask, reserved.
                let instanceSize = UInt32(truncatingIfNeeded: MetadataReader.word(metadata, 3))
                self.init(mode: instanceSize >= 16 ? OGR_SCAN_FIXED : OGR_SCAN_BLOCK, a: instanceSize)
            } else {
                self.init(mode: OGR_SCAN_BLOCK)
            }
        }
    }
}
