// mpi-plugin: libversus-mpi.so, the comm table (comm-abi.h) over MPI. The one file of versus that includes
// mpi.h; versus loads it only when a launcher says the process is a rank (comm.cpp), so that the binary
// itself starts without an MPI library. Every call that involves another rank is non-blocking: the host
// polls it under a deadline, and a communicator error is returned, never fatal (MPI_ERRORS_RETURN).
#include <dlfcn.h>
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "comm/comm-abi.h"

namespace {

struct Ctx {
    MPI_Comm world = MPI_COMM_NULL;
    versus_comm_identity id{};
    std::string error;
};

// Up to two MPI requests (a send/recv pair) behind one handle.
struct Request {
    MPI_Request r[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int n = 0;
    bool collective = false;  // MPI_Cancel on a collective request is erroneous
};

int fail(Ctx* c, const std::string& what, int rc) {
    char text[MPI_MAX_ERROR_STRING] = {0};
    int len = 0;
    if (rc != MPI_SUCCESS && MPI_Error_string(rc, text, &len) != MPI_SUCCESS) std::snprintf(text, sizeof text, "code %d", rc);
    c->error = rc == MPI_SUCCESS ? what : what + ": " + text;
    return 1;
}

bool mpi_type(int dtype, MPI_Datatype* out) {
    switch (dtype) {
        case VERSUS_COLL_F32: *out = MPI_FLOAT; return true;
        case VERSUS_COLL_F64: *out = MPI_DOUBLE; return true;
        default: return false;
    }
}

const char* last_error(void* ctx) { return static_cast<Ctx*>(ctx)->error.c_str(); }

void destroy(void* ctx, int abandon) {
    auto* c = static_cast<Ctx*>(ctx);
    if (!abandon) {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }
    delete c;
}

int identity(void* ctx, versus_comm_identity* out) {
    *out = static_cast<Ctx*>(ctx)->id;
    return 0;
}

int coll_start(void* ctx, const versus_coll_args* a, void** out) {
    auto* c = static_cast<Ctx*>(ctx);
    MPI_Datatype t = MPI_DATATYPE_NULL;
    if (a->kind != VERSUS_COLL_BARRIER && !mpi_type(a->dtype, &t))
        return fail(c, "MPI has no reduction type for this dtype (f32 and f64 only)", MPI_SUCCESS);
    if (a->count > static_cast<uint64_t>(INT32_MAX))
        return fail(c, "count " + std::to_string(a->count) + " exceeds MPI's int counts", MPI_SUCCESS);
    const int n = static_cast<int>(a->count);
    const int size = c->id.size, rank = c->id.rank;
    auto* r = new (std::nothrow) Request;
    if (!r) return fail(c, "out of memory", MPI_SUCCESS);
    int rc = MPI_SUCCESS;
    r->n = 1;
    r->collective = true;
    switch (a->kind) {
        case VERSUS_COLL_ALL_REDUCE: {
            const void* send = a->send == a->recv ? MPI_IN_PLACE : a->send;
            rc = MPI_Iallreduce(send, a->recv, n, t, MPI_SUM, c->world, &r->r[0]);
            break;
        }
        case VERSUS_COLL_ALL_GATHER: rc = MPI_Iallgather(a->send, n, t, a->recv, n, t, c->world, &r->r[0]); break;
        case VERSUS_COLL_REDUCE_SCATTER:
            rc = MPI_Ireduce_scatter_block(a->send, a->recv, n, t, MPI_SUM, c->world, &r->r[0]);
            break;
        case VERSUS_COLL_BROADCAST: {
            // MPI broadcasts in place: the root's data is its send buffer copied into recv first.
            const size_t elem = t == MPI_FLOAT ? 4 : 8;
            if (rank == a->peer && a->send != a->recv) std::memcpy(a->recv, a->send, a->count * elem);
            rc = MPI_Ibcast(a->recv, n, t, a->peer, c->world, &r->r[0]);
            break;
        }
        case VERSUS_COLL_ALL_TO_ALL: rc = MPI_Ialltoall(a->send, n, t, a->recv, n, t, c->world, &r->r[0]); break;
        case VERSUS_COLL_SEND_RECV:
            r->n = 2;
            r->collective = false;
            rc = MPI_Irecv(a->recv, n, t, (rank - 1 + size) % size, 0, c->world, &r->r[0]);
            if (rc == MPI_SUCCESS) rc = MPI_Isend(a->send, n, t, (rank + 1) % size, 0, c->world, &r->r[1]);
            break;
        case VERSUS_COLL_BARRIER: rc = MPI_Ibarrier(c->world, &r->r[0]); break;
        default: delete r; return fail(c, "unknown collective " + std::to_string(a->kind), MPI_SUCCESS);
    }
    if (rc != MPI_SUCCESS) {
        delete r;
        return fail(c, "starting the collective", rc);
    }
    *out = r;
    return 0;
}

int send_start(void* ctx, int dest, int tag, const void* buf, uint64_t bytes, void** out) {
    auto* c = static_cast<Ctx*>(ctx);
    if (bytes > static_cast<uint64_t>(INT32_MAX)) return fail(c, "message over 2 GiB", MPI_SUCCESS);
    auto* r = new (std::nothrow) Request;
    if (!r) return fail(c, "out of memory", MPI_SUCCESS);
    r->n = 1;
    const int rc = MPI_Isend(buf, static_cast<int>(bytes), MPI_BYTE, dest, tag, c->world, &r->r[0]);
    if (rc != MPI_SUCCESS) {
        delete r;
        return fail(c, "sending to rank " + std::to_string(dest), rc);
    }
    *out = r;
    return 0;
}

int test(void* ctx, void* req, int* done) {
    auto* c = static_cast<Ctx*>(ctx);
    auto* r = static_cast<Request*>(req);
    int flag = 0;
    const int rc = MPI_Testall(r->n, r->r, &flag, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
        delete r;
        return fail(c, "waiting for the operation", rc);
    }
    *done = flag;
    if (flag) delete r;
    return 0;
}

void abandon(void*, void* req) {
    auto* r = static_cast<Request*>(req);
    // Point-to-point requests can be cancelled; a started collective cannot (nor freed), and is left to the library.
    for (int i = 0; i < r->n && !r->collective; ++i)
        if (r->r[i] != MPI_REQUEST_NULL) MPI_Cancel(&r->r[i]);
    delete r;
}

int probe(void* ctx, int source, int tag, int* found, int* from, uint64_t* bytes) {
    auto* c = static_cast<Ctx*>(ctx);
    MPI_Status st;
    int flag = 0;
    const int rc = MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, tag, c->world, &flag, &st);
    if (rc != MPI_SUCCESS) return fail(c, "probing for messages", rc);
    *found = flag;
    if (flag) {
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        *from = st.MPI_SOURCE;
        *bytes = static_cast<uint64_t>(n);
    }
    return 0;
}

int recv(void* ctx, int source, int tag, void* buf, uint64_t bytes) {
    auto* c = static_cast<Ctx*>(ctx);
    const int rc = MPI_Recv(buf, static_cast<int>(bytes), MPI_BYTE, source, tag, c->world, MPI_STATUS_IGNORE);
    return rc == MPI_SUCCESS ? 0 : fail(c, "receiving from rank " + std::to_string(source), rc);
}

int refuse(char* err, size_t err_len, const std::string& why) {
    std::snprintf(err, err_len, "%s", why.c_str());
    return 1;
}

// Open MPI opens its own components with dlopen and resolves them against libmpi's symbols, which a library
// loaded RTLD_LOCAL (as this plugin and its dependencies are) does not export: make libmpi global first.
void promote_mpi_library() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) && info.dli_fname)
        ::dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int versus_comm_init(uint32_t abi_version, versus_comm_i* out,
                                                                       char* err, size_t err_len) {
    if (abi_version != VERSUS_COMM_ABI)
        return refuse(err, err_len, "comm ABI " + std::to_string(abi_version) + " requested, plugin has " +
                                        std::to_string(VERSUS_COMM_ABI));
    promote_mpi_library();
    int initialized = 0;
    MPI_Initialized(&initialized);
    int provided = 0;
    // Only the main thread calls MPI; the CPU backend's workers never do.
    if (!initialized && MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return refuse(err, err_len, "MPI_Init_thread failed");
    auto* c = new Ctx;
    // Errors on requests (a cancel, a lost peer) may be raised on the world communicator too: never fatal.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_dup(MPI_COMM_WORLD, &c->world);
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->id.rank);
    MPI_Comm_size(c->world, &c->id.size);
    MPI_Comm local;
    if (MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->id.rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_rank(local, &c->id.local_rank);
        MPI_Comm_size(local, &c->id.local_size);
        MPI_Comm_free(&local);
    } else {
        c->id.local_rank = 0;
        c->id.local_size = 1;
    }
    int len = 0;
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    MPI_Get_processor_name(name, &len);
    std::snprintf(c->id.host, sizeof c->id.host, "%s", name);
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
    MPI_Get_library_version(lib, &len);
    std::string first_line = lib;
    first_line = first_line.substr(0, first_line.find_first_of("\r\n"));
    std::snprintf(c->id.library, sizeof c->id.library, "%s", first_line.c_str());

    *out = versus_comm_i{
        /* .abi_version = */ VERSUS_COMM_ABI,
        /* .name        = */ "mpi",
        /* .ctx         = */ c,
        /* .last_error  = */ last_error,
        /* .destroy     = */ destroy,
        /* .identity    = */ identity,
        /* .coll_start  = */ coll_start,
        /* .send_start  = */ send_start,
        /* .test        = */ test,
        /* .abandon     = */ abandon,
        /* .probe       = */ probe,
        /* .recv        = */ recv,
    };
    return 0;
}
