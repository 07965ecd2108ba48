import CObjGraphRuntime

extension TypeDescription {
    /// Placeholder for registry slots past ``OGR_MAX_TYPES``.
    static let overflow = TypeDescription(kind: .other, name: "(other types)", shortName: "(other types)")

    var scanPlan: ScanPlan { ScanPlan(mode: OGR_SCAN_BLOCK) }
}
