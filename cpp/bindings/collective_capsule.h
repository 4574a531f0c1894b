#pragma once
// The C interface between a transport module (eigennet._mpi) and eigennet._core: a PyCapsule
// named "eigennet.Collective" holding an EigennetCollective. Plain C, so that the two modules
// share no C++ types; the capsule's owner keeps ctx alive and frees it.
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EIGENNET_COLLECTIVE_CAPSULE "eigennet.Collective"
#define EIGENNET_COLLECTIVE_VERSION 1

typedef struct EigennetCollective {
  int version;    /* EIGENNET_COLLECTIVE_VERSION */
  long long rank; /* this process, 0 .. size - 1 */
  long long size; /* processes */
  void* ctx;
  /* all: size blocks of `bytes` bytes, block `rank` this process's; fills the others from
     every other process. Returns 0, or non-zero with a message in err (n_err bytes). */
  int (*allgather)(void* ctx, void* all, size_t bytes, char* err, size_t n_err);
  /* send, recv: size blocks of `bytes` bytes; block r of send goes to rank r, block r of recv
     comes from rank r. Returns as allgather. */
  int (*alltoall)(void* ctx, const void* send, void* recv, size_t bytes, char* err, size_t n_err);
} EigennetCollective;

#ifdef __cplusplus
}
#endif
