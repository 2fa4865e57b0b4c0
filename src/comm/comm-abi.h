/* comm-abi: the function table of a process group (the ranks of one `mpirun`), in plain C so that the MPI
 * library lives only in a dlopen()ed plugin (libversus-mpi.so) and the versus binary needs no MPI library to
 * start. The host wraps it in versus::comm::Comm (comm.hpp), which polls every call under a deadline.
 *
 * Every operation that involves another rank is non-blocking: *_start returns a request that `test` polls,
 * so that a rank that died or stopped answering costs a timeout, never a hang. The collectives themselves are
 * base/collectives.h, shared with the device backends (backend-abi.h: NCCL in the CUDA plugin). Bump
 * VERSUS_COMM_ABI on any change to this file or to that one. */
#ifndef VERSUS_COMM_ABI_H
#define VERSUS_COMM_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "base/collectives.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VERSUS_COMM_ABI 2

/* Sizes a rank gathers about itself at start (versus_comm_i.identity). */
typedef struct versus_comm_identity {
    int32_t rank, size;             /* in the world */
    int32_t local_rank, local_size; /* among the ranks on this host (shared memory) */
    char host[256];                 /* the library's processor name */
    char library[256];              /* "Open MPI v4.1.4, ..." */
} versus_comm_identity;

typedef struct versus_comm_i {
    uint32_t abi_version;
    const char* name; /* "mpi" */
    void* ctx;

    /* Message of the last failed call on this ctx (never NULL). */
    const char* (*last_error)(void* ctx);
    /* Ends the library (MPI_Finalize) and frees ctx. abandon=1 after a rank was lost: a finalising handshake
     * could wait for it forever, so the library is left as it is (the process is about to exit). */
    void (*destroy)(void* ctx, int abandon);
    int (*identity)(void* ctx, versus_comm_identity* out);

    /* Starts a collective on host memory; *req is polled with test(). An all-reduce whose send and recv are the
     * same buffer reduces in place (MPI_IN_PLACE): a gradient buffer needs no second copy. */
    int (*coll_start)(void* ctx, const versus_coll_args* a, void** req);
    /* Starts sending `bytes` to rank `dest` with `tag` (the buffer stays untouched until the request is done). */
    int (*send_start)(void* ctx, int dest, int tag, const void* buf, uint64_t bytes, void** req);
    /* *done = 1 when the request completed (it is then freed); 0 while it runs. Non-zero: it failed (freed). */
    int (*test)(void* ctx, void* req, int* done);
    /* Gives up on a request that will not complete (a lost peer): cancelled where the library can, else left. */
    void (*abandon)(void* ctx, void* req);

    /* A waiting message from `source` (-1: any) with `tag`: *found = 1 with its source and size, without
     * receiving it. Never blocks. */
    int (*probe)(void* ctx, int source, int tag, int* found, int* from, uint64_t* bytes);
    /* Receives the message probe() found (it has arrived, so this completes at once). */
    int (*recv)(void* ctx, int source, int tag, void* buf, uint64_t bytes);
} versus_comm_i;

/* A plugin exports this symbol. Initialises the library from the launcher's environment; returns 0 and fills *out,
 * or non-zero with a reason in err. */
typedef int (*versus_comm_init_fn)(uint32_t abi_version, versus_comm_i* out, char* err, size_t err_len);
#define VERSUS_COMM_INIT_SYMBOL "versus_comm_init"

#ifdef __cplusplus
}
#endif

#endif
