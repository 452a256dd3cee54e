#ifndef SHARD_CLIBWEBSOCKETS_SHIM_H
#define SHARD_CLIBWEBSOCKETS_SHIM_H
#include <libwebsockets.h>

/// `LWS_PRE`: bytes libwebsockets needs in front of every buffer passed to `lws_write`.
static inline int shard_lws_pre(void) { return LWS_PRE; }
#endif
