/* collectives: the collective operations versus measures, in plain C, shared by the two tables that carry them:
 * the comm table of a process group (comm/comm-abi.h, MPI on host memory) and the backend table (backend-abi.h,
 * NCCL on device memory). Their semantics are nccl-tests'; the bandwidth formulas are in base/metrics.hpp. A
 * change here is a change of both ABIs (bump VERSUS_COMM_ABI and VERSUS_BACKEND_ABI). */
#ifndef VERSUS_COLLECTIVES_H
#define VERSUS_COLLECTIVES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The collectives of the `collective` workload, with nccl-tests' semantics (docs/metrics.md). */
typedef enum versus_coll_kind {
    VERSUS_COLL_ALL_REDUCE = 0,     /* recv[i] = sum over ranks of send[i]; count elements */
    VERSUS_COLL_ALL_GATHER = 1,     /* recv[r*count + i] = send of rank r [i]; count per rank */
    VERSUS_COLL_REDUCE_SCATTER = 2, /* rank k: recv[i] = sum over ranks of send[k*count + i]; count per rank */
    VERSUS_COLL_BROADCAST = 3,      /* recv[i] = send of rank `peer` [i] (the root) */
    VERSUS_COLL_ALL_TO_ALL = 4,     /* rank k: recv[j*count + i] = send of rank j [k*count + i]; count per pair */
    VERSUS_COLL_SEND_RECV = 5,      /* send to rank (r+1) % n, receive from rank (r-1+n) % n; count elements */
    VERSUS_COLL_BARRIER = 6         /* no data */
} versus_coll_kind;

/* Element types of collectives (MPI moves F32 and F64; NCCL all four). */
typedef enum versus_coll_dtype {
    VERSUS_COLL_F32 = 0,
    VERSUS_COLL_F64 = 1,
    VERSUS_COLL_F16 = 2,
    VERSUS_COLL_BF16 = 3
} versus_coll_dtype;

/* One collective call; reductions are sums. Buffers are host memory for a comm table, device memory for a
 * backend's collective ops. */
typedef struct versus_coll_args {
    int32_t kind;  /* versus_coll_kind */
    int32_t dtype; /* versus_coll_dtype */
    int32_t peer;  /* broadcast: the root; otherwise unused */
    int32_t reserved0;
    uint64_t count; /* elements, as documented per kind */
    const void* send;
    void* recv;
} versus_coll_args;

#ifdef __cplusplus
}
#endif

#endif
