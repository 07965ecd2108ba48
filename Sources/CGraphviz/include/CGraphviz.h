// Graphviz's C API (libgvc for layout and rendering, libcgraph for the graph itself), loaded
// with dlopen the first time something is drawn: a program or test that links ObjGraph but
// never draws does not load Graphviz's seven libraries at start-up, and the `objgraph`
// command's other subcommands work where Graphviz is not installed.
//
// <graphviz/gvc.h> is included for its types only. Its functions are called through the
// `objgraph_gv_*` wrappers below; calling one of its own declarations from Swift would need
// Graphviz at link time, which the package does not link.
#ifndef OBJGRAPH_CGRAPHVIZ_H
#define OBJGRAPH_CGRAPHVIZ_H
#include <graphviz/gvc.h>
#include <stddef.h>

/// Loads libgvc (and with it libcgraph) and resolves every function below. Returns 0 when
/// they are usable (at once after the first success), -1 with a one-line reason in `error`.
/// Not thread-safe: callers hold the renderer's Graphviz lock.
int objgraph_gv_load(char *error, size_t error_length);

/// A copy of libcgraph's `Agdirected` descriptor (a data symbol, for agopen).
Agdesc_t objgraph_agdirected(void);

Agraph_t *objgraph_agopen(char *name, Agdesc_t desc, Agdisc_t *disc);
int objgraph_agclose(Agraph_t *g);
Agsym_t *objgraph_agattr(Agraph_t *g, int kind, char *name, char *value);
Agnode_t *objgraph_agnode(Agraph_t *g, char *name, int createflag);
Agnode_t *objgraph_agsubnode(Agraph_t *g, Agnode_t *n, int createflag);
Agedge_t *objgraph_agedge(Agraph_t *g, Agnode_t *t, Agnode_t *h, char *name, int createflag);
Agraph_t *objgraph_agsubg(Agraph_t *g, char *name, int cflag);
int objgraph_agsafeset(void *obj, char *name, char *value, char *def);
char *objgraph_agstrdup_html(Agraph_t *g, char *s);
int objgraph_agstrfree(Agraph_t *g, char *s);
char *objgraph_agnameof(void *obj);
Agraph_t *objgraph_agmemread(const char *cp);
agusererrf objgraph_agseterrf(agusererrf f);
int objgraph_agreseterrors(void);
GVC_t *objgraph_gvContext(void);
int objgraph_gvFreeContext(GVC_t *gvc);
int objgraph_gvLayout(GVC_t *gvc, graph_t *g, const char *engine);
int objgraph_gvFreeLayout(GVC_t *gvc, graph_t *g);
int objgraph_gvRenderData(GVC_t *gvc, graph_t *g, const char *format, char **result, unsigned int *length);
void objgraph_gvFreeRenderData(char *data);
char *objgraph_gvcVersion(GVC_t *gvc);

#endif
