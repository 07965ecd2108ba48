import CObjGraphRuntime

extension SnapshotBuilder {
    /// Reads, while nothing can be freed, the two words that name a heap-copied block: its
    /// invoke function (+16) and, for a block made from a Swift closure, the closure's function
    /// (+32; its context follows at +40).
    func readBlockLiterals(_ work: inout Work) {
        var found: [(object: Int, invoke: UInt64, function: UInt64)] = []
        work.objects.withUnsafeBufferPointer { objects in
            for i in objects.indices
            where Int(objects[i].typeIndex) == SnapshotBuilder.blockLiteralType && objects[i].size >= 48 {
                let base = UnsafeRawPointer(bitPattern: UInt(objects[i].address))!
                found.append(
                    (i, base.load(fromByteOffset: 16, as: UInt64.self), base.load(fromByteOffset: 32, as: UInt64.self)))
            }
        }
        work.blockLiterals = found
    }

    /// Names the nodes that are not Swift objects after the code they belong to, once the
    /// capture is over (the symbolizer's lock may be held by a thread the capture held up):
    /// an async frame after the function it resumes in, `async frame of handle(_:)`; a block
    /// made from a Swift closure (what Dispatch keeps until it runs the closure) after the
    /// closure, `Dispatch block of closure #1 in main()`.
    func nameNonSwiftNodes(_ work: inout Work) {
        var renamed = TypeRenamer()
        var names: [UInt64: String?] = [:]
        func functionName(_ address: UInt64) -> String? {
            if let known = names[address] { return known }
            let name = registry.symbolizer.functionName(containing: UInt(address))
            names[address] = name
            return name
        }
        func type(_ prefix: String, _ name: String) -> HeapSnapshot.TypeInfo {
            let name = DemangledText.labelled(TypeNames.clean(name))
            return HeapSnapshot.TypeInfo(
                name: "\(prefix) \(name)", shortName: "\(prefix) \(TypeCatalog.shortName(name))", kind: .nativeBlock)
        }
        let frames = UnsafeBufferPointer(start: work.capture.frames, count: work.capture.frame_count)
        registry.symbolizer.prefetch(
            frames.map { UInt($0.resume) } + work.blockLiterals.flatMap { [UInt($0.invoke), UInt($0.function)] })
        for frame in frames where Int(frame.node) < work.objects.count {
            guard let name = functionName(frame.resume) else {
                // A reabstraction thunk's frame (between a task's closure and the closure).
                if registry.symbolizer.symbol(containing: UInt(frame.resume))?.demangled.contains("thunk") == true {
                    work.objects[Int(frame.node)].typeIndex = renamed.index(
                        of: HeapSnapshot.TypeInfo(
                            name: "async frame of a thunk", shortName: "async frame of a thunk", kind: .nativeBlock),
                        in: &work.types)
                }
                continue
            }
            work.objects[Int(frame.node)].typeIndex = renamed.index(of: type("async frame of", name), in: &work.types)
        }
        for block in work.blockLiterals {
            // A Swift closure converted to a block is invoked through a reabstraction thunk "to
            // @convention(block)"; on Linux such blocks are what Dispatch queues hold.
            guard let invoke = registry.symbolizer.symbol(containing: UInt(block.invoke))?.demangled,
                invoke.contains("@convention(block)")
            else { continue }
            let name = functionName(block.function)
            work.objects[block.object].typeIndex = renamed.index(
                of: name.map { type("Dispatch block of", $0) }
                    ?? HeapSnapshot.TypeInfo(name: "Dispatch block", shortName: "Dispatch block", kind: .nativeBlock),
                in: &work.types)
        }
    }
}
