// Graphviz loaded at run time: one table of function pointers, filled by objgraph_gv_load.
#define _GNU_SOURCE
#include "CGraphviz.h"

#include <dlfcn.h>
#include <stdio.h>

// X(name, return type, parameter list, argument list)
#define GV_FUNCTIONS(X) \
    X(agopen, Agraph_t *, (char *name, Agdesc_t desc, Agdisc_t *disc), (name, desc, disc)) \
    X(agclose, int, (Agraph_t *g), (g)) \
    X(agattr, Agsym_t *, (Agraph_t *g, int kind, char *name, char *value), (g, kind, name, value)) \
    X(agnode, Agnode_t *, (Agraph_t *g, char *name, int createflag), (g, name, createflag)) \
    X(agsubnode, Agnode_t *, (Agraph_t *g, Agnode_t *n, int createflag), (g, n, createflag)) \
    X(agedge, Agedge_t *, (Agraph_t *g, Agnode_t *t, Agnode_t *h, char *name, int createflag), (g, t, h, name, createflag)) \
    X(agsubg, Agraph_t *, (Agraph_t *g, char *name, int cflag), (g, name, cflag)) \
    X(agsafeset, int, (void *obj, char *name, char *value, char *def), (obj, name, value, def)) \
    X(agstrdup_html, char *, (Agraph_t *g, char *s), (g, s)) \
    X(agstrfree, int, (Agraph_t *g, char *s), (g, s)) \
    X(agnameof, char *, (void *obj), (obj)) \
    X(agmemread, Agraph_t *, (const char *cp), (cp)) \
    X(agseterrf, agusererrf, (agusererrf f), (f)) \
    X(agreseterrors, int, (void), ()) \
    X(gvContext, GVC_t *, (void), ()) \
    X(gvFreeContext, int, (GVC_t *gvc), (gvc)) \
    X(gvLayout, int, (GVC_t *gvc, graph_t *g, const char *engine), (gvc, g, engine)) \
    X(gvFreeLayout, int, (GVC_t *gvc, graph_t *g), (gvc, g)) \
    X(gvRenderData, int, (GVC_t *gvc, graph_t *g, const char *format, char **result, unsigned int *length), \
      (gvc, g, format, result, length)) \
    X(gvcVersion, char *, (GVC_t *gvc), (gvc))
#define GV_VOID_FUNCTIONS(X) \
    X(gvFreeRenderData, void, (char *data), (data))

#define DECLARE_POINTER(name, ret, params, args) static ret (*p_##name) params;
GV_FUNCTIONS(DECLARE_POINTER)
GV_VOID_FUNCTIONS(DECLARE_POINTER)
static const Agdesc_t *p_Agdirected;
static int loaded;

int objgraph_gv_load(char *error, size_t error_length) {
    if (loaded) return 0;
    // Global, as when linked: Graphviz's plugins (loaded by gvContext) expect its symbols.
    void *gvc = dlopen("libgvc.so.6", RTLD_NOW | RTLD_GLOBAL);
    if (!gvc) gvc = dlopen("libgvc.so", RTLD_NOW | RTLD_GLOBAL);
    if (!gvc) {
        snprintf(error, error_length, "cannot load Graphviz (libgvc.so.6; apt-get install libgraphviz-dev): %s", dlerror());
        return -1;
    }
    // dlsym on libgvc's handle also searches what it depends on (libcgraph).
#define RESOLVE(name, ret, params, args)                                                      \
    if (!(p_##name = (ret (*) params)dlsym(gvc, #name))) {                                   \
        snprintf(error, error_length, "Graphviz's libgvc has no %s", #name);                 \
        return -1;                                                                           \
    }
    GV_FUNCTIONS(RESOLVE)
    GV_VOID_FUNCTIONS(RESOLVE)
    if (!(p_Agdirected = dlsym(gvc, "Agdirected"))) {
        snprintf(error, error_length, "Graphviz's libcgraph has no Agdirected");
        return -1;
    }
    loaded = 1;
    return 0;
}

Agdesc_t objgraph_agdirected(void) { return *p_Agdirected; }

#define DEFINE_WRAPPER(name, ret, params, args) ret objgraph_##name params { return p_##name args; }
#define DEFINE_VOID_WRAPPER(name, ret, params, args) void objgraph_##name params { p_##name args; }
GV_FUNCTIONS(DEFINE_WRAPPER)
GV_VOID_FUNCTIONS(DEFINE_VOID_WRAPPER)
