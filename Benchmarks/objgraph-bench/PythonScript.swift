// The same heap shape and the same questions for Python's objgraph, for comparison.
// `python3 objgraph_compare.py N` prints `@ key seconds` lines.
let pythonScript = #"""
    import gc, io, sys, time
    import objgraph

    class HeapNode(object):
        __slots__ = ('next', 'leaf', 'back', 'id')

    class HeapLeaf(object):
        __slots__ = ('value',)

    class Pair(object):
        __slots__ = ('partner', 'tag')

    world_roots = []
    extra_leaves = []
    CHAIN = 10

    def leaf(v):
        l = HeapLeaf(); l.value = v; return l

    def node(i):
        n = HeapNode(); n.id = i; n.next = None; n.back = None; n.leaf = leaf(i); return n

    def build(n):
        pairs = n // 100
        chains = max(1, (n - 2 * pairs) // (2 * CHAIN))
        for c in range(chains):
            head = node(c * CHAIN); tail = head
            for k in range(1, CHAIN):
                nxt = node(c * CHAIN + k); tail.next = nxt; tail = nxt
            if c % 10 == 0:
                tail.back = head
            world_roots.append(head)
        # Python's cycle collector frees unreachable pairs, so keep them alive through a list that
        # only the pairs' module global reaches: the object count matches the Swift heap.
        global kept_pairs
        kept_pairs = []
        for i in range(pairs):
            a = Pair(); b = Pair(); a.tag = b.tag = i; a.partner = b; b.partner = a
            kept_pairs.append(a)
        return chains

    def median(xs):
        xs = sorted(xs); m = len(xs) // 2
        return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2

    def main():
        n = int(sys.argv[1])
        chains = build(n)
        print('@ gc_objects %d' % len(gc.get_objects()))
        t = time.perf_counter(); objgraph.show_growth(limit=10, file=io.StringIO()); first = time.perf_counter() - t
        print('@ show_growth_first %f' % first)
        times = []
        for _ in range(5):
            extra_leaves.extend(leaf(i) for i in range(5))
            t = time.perf_counter(); objgraph.show_growth(limit=10, file=io.StringIO()); times.append(time.perf_counter() - t)
        print('@ show_growth %f' % median(times))
        times = []
        for _ in range(3):
            t = time.perf_counter(); objgraph.typestats(); times.append(time.perf_counter() - t)
        print('@ typestats %f' % median(times))
        target = world_roots[chains // 2]
        while target.next is not None:
            target = target.next
        target = target.leaf
        me = sys._getframe()
        times = []
        chain = []
        for _ in range(1 if n >= 1000000 else 3):
            t = time.perf_counter()
            chain = objgraph.find_backref_chain(target, objgraph.is_proper_module, max_depth=20,
                                                extra_ignore=(id(me),))
            times.append(time.perf_counter() - t)
        print('@ find_backref_chain %f' % median(times))
        print('@ chain_length %d' % (len(chain) - 1))

    main()
    """#
