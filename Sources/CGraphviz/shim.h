// The one header the CGraphviz module map imports. <graphviz/gvc.h> brings in
// <graphviz/cgraph.h> (agopen, agnode, agedge, agsafeset, agseterrf, ...) and the
// gvLayout / gvRenderData entry points.
#ifndef OBJGRAPH_CGRAPHVIZ_SHIM_H
#define OBJGRAPH_CGRAPHVIZ_SHIM_H
#include <graphviz/gvc.h>

// `Agdirected` is a mutable C global, which Swift 6 refuses to read outside an actor.
// Graphviz never changes it; this returns a copy for agopen.
static inline Agdesc_t objgraph_agdirected(void) { return Agdirected; }
#endif
