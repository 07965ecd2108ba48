import CObjGraphRuntime

/// Labels edges, interning label strings and caching per (type, offset) wherever the label
/// cannot depend on the neighbouring words.
///
/// Per edge this touches only plain values: a per-type plan (no `TypeDescription` copy, so no
/// reference counting) and a direct-mapped cache indexed by a multiplicative hash of (type,
/// offset). The descriptions are consulted once per distinct label.
struct EdgeLabeller {
    private(set) var descriptions: [TypeDescription]
    private(set) var labels: [String] = []
    private var interned: [String: Int32] = [:]

    /// How a type's edges are labelled.
    private struct Plan {
        /// Byte offset of element 0 for arrays of class references, -1 otherwise.
        var arrayStart: Int32 = -1
        var arrayKind: HeapSnapshot.EdgeKind = .conservative
        /// The label depends on the object's header words (dictionary and set storage).
        var wantsHeader = false
        /// The label depends on the word before the reference (a stored closure's function).
        var usesPreviousWord = false
    }
    private var plans: [Plan?]

    /// Direct-mapped cache of (type, offset, previous word) -> (label, kind); a miss or a
    /// collision asks the description, so it is never wrong, only sometimes slower.
    private struct Slot {
        var type: Int32 = -1; var offset: Int32 = 0; var context: UInt64 = 0; var label: Int32 = 0;
        var kind: HeapSnapshot.EdgeKind = .strong
    }
    private var slots = [Slot](repeating: Slot(), count: 4096)
    /// The last answer that depends on (type, offset) only: consecutive objects are often of
    /// one type (100,000 leaked pairs: one label for all their edges), so most edges stop here.
    private var last = Slot()

    init(descriptions: [TypeDescription]) {
        self.descriptions = descriptions
        plans = [Plan?](repeating: nil, count: descriptions.count)
    }

    /// True when labels of registry type `type` name closures from the word before a
    /// reference (they ask the symbolizer).
    mutating func usesPreviousWord(type: Int) -> Bool { plan(type).usesPreviousWord }

    /// True when labels of registry type `type` depend on its header words.
    mutating func wantsHeader(type: Int) -> Bool { plan(type).wantsHeader }

    /// The label of a word no layout explains: `+40`, conservative.
    mutating func unexplained(offset: Int) -> (Int32, HeapSnapshot.EdgeKind) {
        // Computed, not interned: a C buffer of a million pointers has a million offsets.
        offset % 8 == 0 ? (HeapSnapshot.offsetLabel(offset), .conservative) : (intern("+\(offset)"), .conservative)
    }

    /// The words of runtime structures whose meaning is known (a task's resume context, a
    /// frame's link to its caller's frame); other words of non-Swift nodes are `+offset`.
    mutating func nonSwift(type registryType: Int, offset: Int) -> (Int32, HeapSnapshot.EdgeKind) {
        switch (registryType, offset) {
        case (Int(Int32(bitPattern: OGR_ASYNC_TASK_TYPE)), 64): return (intern("resume context"), .strong)
        case (Int(Int32(bitPattern: OGR_ASYNC_FRAME_TYPE)), 0): return (intern("caller"), .strong)
        default: return unexplained(offset: offset)
        }
    }

    /// Takes a longer list of descriptions (types registered since), keeping what it learnt.
    /// Types described since (undescribed placeholders replaced) are planned afresh.
    mutating func add(_ longer: [TypeDescription]) {
        var replaced = false
        for i in 0..<min(descriptions.count, longer.count)
        where descriptions[i].isUndescribed && !longer[i].isUndescribed {
            plans[i] = nil
            replaced = true
        }
        if replaced {
            slots = [Slot](repeating: Slot(), count: slots.count)
            last = Slot()
        }
        guard longer.count >= descriptions.count else { return }
        plans += [Plan?](repeating: nil, count: longer.count - descriptions.count)
        descriptions = longer
    }

    private mutating func plan(_ type: Int) -> Plan {
        if let known = plans[type] { return known }
        let description = descriptions[type]
        var plan = Plan()
        if let elements = description.arrayElements, elements.stride == 8 {
            plan.arrayStart = Int32(elements.start)
            plan.arrayKind = description.label(offset: elements.start).kind
        }
        plan.wantsHeader = description.wantsHeaderWords
        plan.usesPreviousWord = description.labelsUsePreviousWord
        plans[type] = plan
        return plan
    }

    /// The label of a reference at `offset` in `object` (registry type `type`), reading the
    /// object's header words when its type needs them (dictionary and set storage: words
    /// 2..<8). Only while the capture still holds frees off.
    mutating func label(type: Int, offset: Int, previousWord: UInt64, object: HeapSnapshot.Object) -> (
        Int32, HeapSnapshot.EdgeKind
    ) {
        if last.type == Int32(truncatingIfNeeded: type) && last.offset == Int32(truncatingIfNeeded: offset) {
            return (last.label, last.kind)
        }
        guard wantsHeader(type: type), object.size >= 64 else {
            return label(type: type, offset: offset, previousWord: previousWord)
        }
        return label(
            type: type, offset: offset, previousWord: previousWord, header: SnapshotBuilder.headerWords(of: object))
    }

    /// The label of a reference at `offset`, given the object's header words (dictionary and
    /// set storage: words 2..<8; empty for other types or a block too small to have them).
    mutating func label(type: Int, offset: Int, previousWord: UInt64, header: [UInt64]) -> (
        Int32, HeapSnapshot.EdgeKind
    ) {
        guard wantsHeader(type: type), header.count == 6 else {
            return label(type: type, offset: offset, previousWord: previousWord)
        }
        let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord, header: header)
        return (intern(text), kind)
    }

    /// The label of a reference at `offset` in an object of registry type `type`.
    mutating func label(type: Int, offset: Int, previousWord: UInt64) -> (Int32, HeapSnapshot.EdgeKind) {
        if last.type == Int32(truncatingIfNeeded: type) && last.offset == Int32(truncatingIfNeeded: offset) {
            return (last.label, last.kind)
        }
        let plan = plan(type)
        // Plain reference arrays: `[i]` is computed on demand from a negative label.
        if plan.arrayStart >= 0 && offset >= Int(plan.arrayStart) {
            return (-Int32((offset - Int(plan.arrayStart)) / 8) - 1, plan.arrayKind)
        }
        if plan.wantsHeader {
            // Without the header words the layout can only give the generic label.
            let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord, header: [])
            return (intern(text), kind)
        }
        let context = plan.usesPreviousWord ? previousWord : 0
        let hash = (UInt64(type) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(offset) &* 0xC2B2_AE3D_27D4_EB4F) ^ context
        let index = Int((hash ^ (hash >> 29)) & UInt64(slots.count - 1))
        let slot = slots[index]
        if slot.type == Int32(type) && slot.offset == Int32(offset) && slot.context == context {
            if !plan.usesPreviousWord { last = slot }
            return (slot.label, slot.kind)
        }
        let (text, kind) = descriptions[type].label(offset: offset, previousWord: previousWord)
        let label = intern(text)
        slots[index] = Slot(type: Int32(type), offset: Int32(offset), context: context, label: label, kind: kind)
        if !plan.usesPreviousWord { last = slots[index] }
        return (label, kind)
    }

    private mutating func intern(_ text: String) -> Int32 {
        if let index = interned[text] { return index }
        let index = Int32(labels.count)
        labels.append(text)
        interned[text] = index
        return index
    }
}
