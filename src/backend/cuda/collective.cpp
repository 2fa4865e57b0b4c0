// collective: the plugin's ops between devices. Collectives over NCCL, loaded with dlopen at the first use
// (nccl.h gives the types; a machine without libnccl.so.2 gets the reason, not a plugin that fails to load),
// on the devices' streams, polled by the host so that a lost rank costs a timeout and an abort (ncclCommAbort),
// never a hang. Peer-to-peer: access on and off (cudaDeviceEnablePeerAccess), copies between devices, and the
// link between two devices from the driver (NVML's NVLink queries).
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/cuda-common.hpp"
#include "system/nvml.hpp"

#if VERSUS_HAVE_NCCL
#include <nccl.h>
#endif

namespace versus::cuda {
namespace {

#if VERSUS_HAVE_NCCL
static_assert(NCCL_UNIQUE_ID_BYTES == VERSUS_COLL_ID_BYTES, "the ABI's id size is NCCL's");

// The NCCL entry points versus calls, resolved from libnccl.so.2 at run time.
struct Nccl {
    void* handle = nullptr;
    std::string why;  // why it is not there
    decltype(&ncclGetUniqueId) get_unique_id = nullptr;
    decltype(&ncclCommInitRank) comm_init_rank = nullptr;
    decltype(&ncclCommDestroy) comm_destroy = nullptr;
    decltype(&ncclCommAbort) comm_abort = nullptr;
    decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
    decltype(&ncclGroupStart) group_start = nullptr;
    decltype(&ncclGroupEnd) group_end = nullptr;
    decltype(&ncclAllReduce) all_reduce = nullptr;
    decltype(&ncclAllGather) all_gather = nullptr;
    decltype(&ncclReduceScatter) reduce_scatter = nullptr;
    decltype(&ncclBroadcast) broadcast = nullptr;
    decltype(&ncclSend) send = nullptr;
    decltype(&ncclRecv) recv = nullptr;
    decltype(&ncclGetErrorString) error_string = nullptr;
};

const Nccl& nccl() {
    static const Nccl n = [] {
        Nccl l;
        l.handle = ::dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
#ifdef VERSUS_NCCL_DIR
        if (!l.handle) l.handle = ::dlopen(VERSUS_NCCL_DIR "/libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
#endif
        if (!l.handle) {
            l.why = "libnccl.so.2 not found (install NCCL, or put its folder on LD_LIBRARY_PATH)";
            return l;
        }
        bool ok = true;
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(l.handle, name));
            ok = ok && fn != nullptr;
        };
        sym(l.get_unique_id, "ncclGetUniqueId");
        sym(l.comm_init_rank, "ncclCommInitRank");
        sym(l.comm_destroy, "ncclCommDestroy");
        sym(l.comm_abort, "ncclCommAbort");
        sym(l.comm_get_async_error, "ncclCommGetAsyncError");
        sym(l.group_start, "ncclGroupStart");
        sym(l.group_end, "ncclGroupEnd");
        sym(l.all_reduce, "ncclAllReduce");
        sym(l.all_gather, "ncclAllGather");
        sym(l.reduce_scatter, "ncclReduceScatter");
        sym(l.broadcast, "ncclBroadcast");
        sym(l.send, "ncclSend");
        sym(l.recv, "ncclRecv");
        sym(l.error_string, "ncclGetErrorString");
        if (!ok) l.why = "libnccl.so.2 lacks an entry point versus needs (NCCL 2.7 or later has them all)";
        return l;
    }();
    return n;
}

int nccl_fail(void* ctx, const char* what, ncclResult_t r) {
    return fail(ctx, std::string(what) + ": " + (nccl().error_string ? nccl().error_string(r) : "NCCL error"));
}

bool nccl_type(int32_t dtype, ncclDataType_t* out, size_t* elem) {
    switch (dtype) {
        case VERSUS_COLL_F32: *out = ncclFloat32, *elem = 4; return true;
        case VERSUS_COLL_F64: *out = ncclFloat64, *elem = 8; return true;
        case VERSUS_COLL_F16: *out = ncclFloat16, *elem = 2; return true;
        case VERSUS_COLL_BF16: *out = ncclBfloat16, *elem = 2; return true;
        default: return false;
    }
}

// A communicator over this process's devices of one job.
struct Comm {
    int n_ranks = 0, first_rank = 0;
    std::vector<int> devices;
    std::vector<ncclComm_t> comms;
    std::vector<cudaStream_t> streams;
};

int coll_id(void* ctx, uint8_t* id) {
    const Nccl& n = nccl();
    if (!n.handle || !n.why.empty()) return fail(ctx, n.why);
    ncclUniqueId u;
    if (const ncclResult_t r = n.get_unique_id(&u); r != ncclSuccess) return nccl_fail(ctx, "ncclGetUniqueId", r);
    std::memcpy(id, u.internal, VERSUS_COLL_ID_BYTES);
    return 0;
}

int coll_init(void* ctx, const uint8_t* id, int32_t n_ranks, int32_t first_rank, int32_t n_local, const int32_t* devices,
              void** out) {
    const Nccl& n = nccl();
    if (!n.handle || !n.why.empty()) return fail(ctx, n.why);
    ncclUniqueId u;
    std::memcpy(u.internal, id, VERSUS_COLL_ID_BYTES);
    auto* c = new Comm;
    c->n_ranks = n_ranks;
    c->first_rank = first_rank;
    c->comms.assign(static_cast<size_t>(n_local), nullptr);
    for (int i = 0; i < n_local; ++i) {
        Device* d = device(ctx, devices[i]);
        if (!d) {
            delete c;
            return 1;
        }
        c->devices.push_back(devices[i]);
        c->streams.push_back(d->stream);
    }
    // Every local rank joins inside one group, so that one process holding several devices does not deadlock.
    n.group_start();
    ncclResult_t r = ncclSuccess;
    for (int i = 0; i < n_local && r == ncclSuccess; ++i) {
        cudaSetDevice(devices[i]);
        r = n.comm_init_rank(&c->comms[static_cast<size_t>(i)], n_ranks, u, first_rank + i);
    }
    const ncclResult_t g = n.group_end();
    if (r != ncclSuccess || g != ncclSuccess) {
        for (ncclComm_t cm : c->comms)
            if (cm) n.comm_abort(cm);
        delete c;
        return nccl_fail(ctx, "ncclCommInitRank", r != ncclSuccess ? r : g);
    }
    *out = c;
    return 0;
}

ncclResult_t enqueue_one(const Nccl& n, const Comm& c, size_t i, const versus_coll_args& a) {
    ncclDataType_t t;
    size_t elem = 0;
    if (!nccl_type(a.dtype, &t, &elem)) return ncclInvalidArgument;
    const int rank = c.first_rank + static_cast<int>(i), size = c.n_ranks;
    ncclComm_t comm = c.comms[i];
    cudaStream_t st = c.streams[i];
    const auto* send = static_cast<const char*>(a.send);
    auto* recv = static_cast<char*>(a.recv);
    switch (a.kind) {
        case VERSUS_COLL_ALL_REDUCE: return n.all_reduce(send, recv, a.count, t, ncclSum, comm, st);
        case VERSUS_COLL_ALL_GATHER: return n.all_gather(send, recv, a.count, t, comm, st);
        case VERSUS_COLL_REDUCE_SCATTER: return n.reduce_scatter(send, recv, a.count, t, ncclSum, comm, st);
        case VERSUS_COLL_BROADCAST: return n.broadcast(send, recv, a.count, t, a.peer, comm, st);
        case VERSUS_COLL_ALL_TO_ALL: {
            const size_t block = a.count * elem;
            for (int r = 0; r < size; ++r) {
                if (const ncclResult_t e = n.send(send + r * block, a.count, t, r, comm, st); e != ncclSuccess) return e;
                if (const ncclResult_t e = n.recv(recv + r * block, a.count, t, r, comm, st); e != ncclSuccess) return e;
            }
            return ncclSuccess;
        }
        case VERSUS_COLL_SEND_RECV:
            if (const ncclResult_t e = n.send(send, a.count, t, (rank + 1) % size, comm, st); e != ncclSuccess) return e;
            return n.recv(recv, a.count, t, (rank - 1 + size) % size, comm, st);
        default: return ncclInvalidArgument;
    }
}

int coll_enqueue(void* ctx, void* comm, const versus_coll_args* args) {
    const Nccl& n = nccl();
    auto* c = static_cast<Comm*>(comm);
    n.group_start();
    ncclResult_t r = ncclSuccess;
    for (size_t i = 0; i < c->comms.size() && r == ncclSuccess; ++i) {
        cudaSetDevice(c->devices[i]);
        r = enqueue_one(n, *c, i, args[i]);
    }
    const ncclResult_t g = n.group_end();
    if (r == ncclInvalidArgument) return fail(ctx, "NCCL collective: unsupported dtype or kind");
    if (r != ncclSuccess || g != ncclSuccess) return nccl_fail(ctx, "NCCL collective", r != ncclSuccess ? r : g);
    return 0;
}

int coll_test(void* ctx, void* comm, int* done) {
    const Nccl& n = nccl();
    auto* c = static_cast<Comm*>(comm);
    *done = 1;
    for (size_t i = 0; i < c->comms.size(); ++i) {
        cudaSetDevice(c->devices[i]);
        const cudaError_t q = cudaStreamQuery(c->streams[i]);
        if (q == cudaErrorNotReady)
            *done = 0;
        else if (q != cudaSuccess)
            return fail(ctx, std::string("cudaStreamQuery: ") + cudaGetErrorString(q));
        ncclResult_t async = ncclSuccess;
        if (n.comm_get_async_error(c->comms[i], &async) == ncclSuccess && async != ncclSuccess && async != ncclInProgress)
            return nccl_fail(ctx, "NCCL communicator", async);
    }
    return 0;
}

int coll_free(void*, void* comm, int abort) {
    const Nccl& n = nccl();
    auto* c = static_cast<Comm*>(comm);
    for (size_t i = 0; i < c->comms.size(); ++i) {
        cudaSetDevice(c->devices[i]);
        if (c->comms[i]) (abort ? n.comm_abort : n.comm_destroy)(c->comms[i]);
    }
    delete c;
    return 0;
}
#endif  // VERSUS_HAVE_NCCL

// ---- peer to peer ------------------------------------------------------------------------------------------

int peer_access(void* ctx, int dev, int peer, int enable, int* possible) {
    if (!device(ctx, peer) || !device(ctx, dev)) return 1;  // device() leaves `dev` current
    int can = 0;
    VCUDA_CHECK(ctx, cudaDeviceCanAccessPeer(&can, dev, peer));
    *possible = can;
    if (enable < 0 || !can) return 0;
    const cudaError_t e = enable ? cudaDeviceEnablePeerAccess(peer, 0) : cudaDeviceDisablePeerAccess(peer);
    if (e == cudaErrorPeerAccessAlreadyEnabled || e == cudaErrorPeerAccessNotEnabled) {
        cudaGetLastError();  // the state asked for is the state it is in
        return 0;
    }
    VCUDA_CHECK(ctx, e);
    return 0;
}

int peer_copy(void* ctx, int dst_device, void* dst, int src_device, const void* src, uint64_t bytes) {
    Device* d = device(ctx, dst_device);
    if (!d) return 1;
    VCUDA_CHECK(ctx, cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, d->stream));
    return 0;
}

// NVLink bandwidth of one link per direction by architecture (compute capability major): Pascal's NVLink 1 at
// 20 GB/s, Volta to Hopper at 25 GB/s, Blackwell at 50 GB/s. NVML's version number is not used for this: some
// drivers report Hopper's links as a later version.
double nvlink_link_gbps(int cc_major) { return cc_major <= 6 ? 20 : cc_major >= 10 ? 50 : 25; }

// "00000000:65:00.0" and "0000:65:00.0" name the same device: compare the part after the domain, case-blind.
bool same_bus(const char* a, const char* b) {
    auto tail = [](const char* s) {
        std::string t = s;
        const size_t colon = t.find(':');
        t = colon == std::string::npos ? t : t.substr(colon + 1);
        for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return t;
    };
    return tail(a) == tail(b);
}

int peer_link(void* ctx, int dev, int peer, char* out, size_t out_len, double* gbps) {
    Device* d = device(ctx, dev);
    if (!d || !device(ctx, peer)) return 1;
    char bus_dev[32] = {0}, bus_peer[32] = {0};
    VCUDA_CHECK(ctx, cudaDeviceGetPCIBusId(bus_dev, sizeof bus_dev, dev));
    VCUDA_CHECK(ctx, cudaDeviceGetPCIBusId(bus_peer, sizeof bus_peer, peer));
    int links = 0;
    unsigned version = 0;
    std::string why;
    const system::NvmlSession nvml(&why);
    if (const system::NvmlLib* lib = nvml.lib();
        lib && lib->device_get_nvlink_state && lib->device_get_nvlink_remote_pci_info_v2) {
        if (system::NvmlLib::Device h = nvml.device(bus_dev, static_cast<unsigned>(dev), &why)) {
            for (unsigned l = 0; l < system::NvmlLib::NVLINK_MAX_LINKS; ++l) {
                int active = 0;
                system::NvmlLib::PciInfo remote{};
                if (lib->device_get_nvlink_state(h, l, &active) != 0 || active != 1) continue;
                if (lib->device_get_nvlink_remote_pci_info_v2(h, l, &remote) != 0) continue;
                if (!same_bus(remote.bus_id, bus_peer)) continue;
                ++links;
                if (lib->device_get_nvlink_version) lib->device_get_nvlink_version(h, l, &version);
            }
        }
    }
    int can = 0;
    cudaDeviceCanAccessPeer(&can, dev, peer);
    if (links > 0) {
        // nvmlNvlinkVersion_t: 1 = 1.0, 2 = 2.0, 3 = 2.2, 4 = 3.0, 5 = 3.1, 6 = 4.0, 7 = 5.0, 8 = 6.0.
        static const char* const names[] = {"?", "1.0", "2.0", "2.2", "3.0", "3.1", "4.0", "5.0", "6.0"};
        std::snprintf(out, out_len, "NVLink %s x%d", version < 9 ? names[version] : "?", links);
        *gbps = links * nvlink_link_gbps(d->prop.major);
    } else {
        // Without NVLink between them: PCIe, direct when peer access is possible, else through host memory.
        std::snprintf(out, out_len, "PCIe (%s)", can ? "peer to peer" : "through the host");
        *gbps = 0;
    }
    return 0;
}

}  // namespace

void fill_multi_device_ops(versus_backend_i* t) {
#if VERSUS_HAVE_NCCL
    t->coll_id = coll_id;
    t->coll_init = coll_init;
    t->coll_enqueue = coll_enqueue;
    t->coll_test = coll_test;
    t->coll_free = coll_free;
#endif
    t->peer_access = peer_access;
    t->peer_copy = peer_copy;
    t->peer_link = peer_link;
}

}  // namespace versus::cuda
