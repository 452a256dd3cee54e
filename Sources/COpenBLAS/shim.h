#ifndef SHARD_COPENBLAS_SHIM_H
#define SHARD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
