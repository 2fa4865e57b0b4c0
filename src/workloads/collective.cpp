// collective: nccl-tests' collectives — all-reduce, all-gather, reduce-scatter, broadcast (root 0), all-to-all
// and send/recv (to the next rank, from the previous) — over a size sweep. On the host device the ranks of an
// MPI job exchange host memory through the comm table (libversus-mpi.so); on a GPU backend NCCL moves device
// memory, one GPU per rank under a launcher or every GPU of a lone process. Each row reports the algorithm and
// bus bandwidth of docs/metrics.md ("Collectives") from the rank's own median time, and is checked on every run:
// the receive buffer is poisoned, the op run once more, and every element compared with its exact expected value
// (collective-data.hpp).
//
// Every rank runs the same rows in the same order and each op as many times (Instance::lockstep): a row starts
// with a barrier under the group's timeout (ranks reach it at different times), each op after it has its own.
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "base/text.hpp"
#include "core/params.hpp"
#include "workloads/collective-data.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

// One op may take this long once every rank has reached the row; 256 MiB over the slowest transport is far less.
constexpr double OP_TIMEOUT_S = 60;
constexpr int BROADCAST_ROOT = 0;

struct OpSpec {
    versus_coll_kind kind = VERSUS_COLL_ALL_REDUCE;
    versus_dtype dtype = VERSUS_DTYPE_F32;
    uint64_t size = 0;
    size_t elem = 4;
};

OpSpec spec_of(const Params& p) {
    OpSpec s;
    comm::coll_kind_from_name(p.str("op"), &s.kind);
    backend::dtype_from_name(p.str("dtype"), &s.dtype);
    s.size = static_cast<uint64_t>(p.integer("size_bytes"));
    s.elem = backend::dtype_size(s.dtype);
    return s;
}

Metrics bandwidths(const coll::Layout& l, versus_coll_kind kind, int n_ranks, double median_s) {
    const double alg = base::coll_algbw(l.bytes, median_s);
    return {{"algbw_gbps", alg / 1e9},
            {"busbw_gbps", base::coll_busbw(alg, kind, n_ranks) / 1e9},
            {"ranks", static_cast<double>(n_ranks)}};
}

Check verdict_check(const coll::Verdict& v, int n_ranks, uint64_t elems) {
    if (!v.ok()) return {false, "", v.message()};
    return {true, fmt::format("{} elements exact on {} ranks", elems, n_ranks), ""};
}

// ---- MPI ranks, host memory ----------------------------------------------------------------------------------

class HostCollective : public Instance {
public:
    HostCollective(const Target& t, comm::Comm& c, const OpSpec& s, const coll::Layout& l)
        : comm_(c), s_(s), l_(l), m_(coll::pattern_modulus(s.dtype, c.size())) {
        send_ = t.backend.alloc(t.device, std::max<uint64_t>(1, l.send_elems) * s.elem);
        recv_ = t.backend.alloc(t.device, std::max<uint64_t>(1, l.recv_elems) * s.elem);
        coll::fill_send(s.dtype, c.rank(), l, m_, send_.get());
        coll::poison(s.dtype, l, recv_.get());
    }
    void run() override {
        const versus_coll_args a{s_.kind, coll::coll_dtype(s_.dtype), BROADCAST_ROOT, 0, l_.count, send_.get(), recv_.get()};
        comm_.collective(a, OP_TIMEOUT_S);
    }
    Check check() override {
        coll::poison(s_.dtype, l_, recv_.get());
        run();
        return verdict_check(coll::verify(s_.kind, s_.dtype, comm_.rank(), comm_.size(), l_, BROADCAST_ROOT, m_, recv_.get()),
                             comm_.size(), l_.recv_elems);
    }
    Metrics metrics(double median_s) override { return bandwidths(l_, s_.kind, comm_.size(), median_s); }
    bool lockstep() const override { return true; }
    double agreed_seconds(double local_s) override { return comm_.max(local_s, OP_TIMEOUT_S); }

private:
    comm::Comm& comm_;
    OpSpec s_;
    coll::Layout l_;
    int m_;
    backend::DeviceBuffer send_, recv_;
};

// ---- NCCL between GPUs -------------------------------------------------------------------------------------------

class DeviceCollective : public Instance {
public:
    // Ranks first_rank .. first_rank + devices.size() - 1 of n_ranks live here, one per device.
    DeviceCollective(const Target& t, comm::Comm* world, const OpSpec& s, int n_ranks, int first_rank,
                     std::vector<int32_t> devices)
        : b_(t.backend), world_(world), s_(s), n_(n_ranks), first_(first_rank), devices_(std::move(devices)),
          l_(coll::layout(s.kind, s.size, s.elem, n_ranks)), m_(coll::pattern_modulus(s.dtype, n_ranks)) {
        std::vector<uint8_t> id(VERSUS_COLL_ID_BYTES);
        if (!world_ || world_->rank() == 0) id = b_.coll_id();
        if (world_) {  // rank 0's id to every rank, as 16 doubles of raw bytes (a broadcast moves bytes unchanged)
            std::vector<double> words(VERSUS_COLL_ID_BYTES / 8);
            std::memcpy(words.data(), id.data(), id.size());
            const versus_coll_args a{VERSUS_COLL_BROADCAST, VERSUS_COLL_F64, 0, 0, words.size(), words.data(),
                                     words.data()};
            world_->collective(a);
            std::memcpy(id.data(), words.data(), id.size());
        }
        comm_ = b_.coll_init(id, n_, first_, devices_);
        std::vector<uint8_t> host(std::max(l_.send_elems, l_.recv_elems) * s.elem + 1);
        for (size_t i = 0; i < devices_.size(); ++i) {
            send_.push_back(b_.alloc(devices_[i], std::max<uint64_t>(1, l_.send_elems) * s.elem));
            recv_.push_back(b_.alloc(devices_[i], std::max<uint64_t>(1, l_.recv_elems) * s.elem));
            coll::fill_send(s.dtype, first_ + static_cast<int>(i), l_, m_, host.data());
            b_.copy_h2d(devices_[i], send_[i].get(), host.data(), l_.send_elems * s.elem);
            b_.synchronize(devices_[i]);
        }
    }
    ~DeviceCollective() override { b_.coll_free(comm_, aborted_); }

    void run() override {
        std::vector<versus_coll_args> args;
        for (size_t i = 0; i < devices_.size(); ++i)
            args.push_back({s_.kind, coll::coll_dtype(s_.dtype), BROADCAST_ROOT, 0, l_.count, send_[i].get(), recv_[i].get()});
        b_.coll_enqueue(comm_, args);
        wait();
    }
    Check check() override {
        std::vector<uint8_t> host(std::max<uint64_t>(1, l_.recv_elems) * s_.elem);
        coll::poison(s_.dtype, l_, host.data());
        for (size_t i = 0; i < devices_.size(); ++i) b_.copy_h2d(devices_[i], recv_[i].get(), host.data(), host.size());
        for (int32_t d : devices_) b_.synchronize(d);
        run();
        for (size_t i = 0; i < devices_.size(); ++i) {
            b_.copy_d2h(devices_[i], host.data(), recv_[i].get(), host.size());
            b_.synchronize(devices_[i]);
            const coll::Verdict v =
                coll::verify(s_.kind, s_.dtype, first_ + static_cast<int>(i), n_, l_, BROADCAST_ROOT, m_, host.data());
            if (!v.ok()) return {false, "", fmt::format("rank {}: {}", first_ + static_cast<int>(i), v.message())};
        }
        return verdict_check({}, n_, l_.recv_elems);
    }
    Metrics metrics(double median_s) override { return bandwidths(l_, s_.kind, n_, median_s); }
    bool lockstep() const override { return world_ != nullptr; }
    double agreed_seconds(double local_s) override { return world_ ? world_->max(local_s, OP_TIMEOUT_S) : local_s; }

private:
    // Polls the devices' streams; a rank lost or silent past the deadline aborts the communicator.
    void wait() {
        const auto t0 = std::chrono::steady_clock::now();
        while (!b_.coll_test(comm_)) {
            const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::string why;
            if (world_ && world_->broken()) why = world_->broken_reason();
            else if (waited > OP_TIMEOUT_S) why = fmt::format("no answer from the other GPUs within {:.0f} s", OP_TIMEOUT_S);
            if (!why.empty()) {
                aborted_ = true;
                throw comm::PeerLost("NCCL " + std::string(comm::coll_kind_name(s_.kind)) + " abandoned: " + why);
            }
            std::this_thread::yield();
        }
    }

    Backend& b_;
    comm::Comm* world_;
    OpSpec s_;
    int n_, first_;
    std::vector<int32_t> devices_;
    coll::Layout l_;
    int m_;
    void* comm_ = nullptr;
    bool aborted_ = false;
    std::vector<backend::DeviceBuffer> send_, recv_;
};

class Collective : public Workload {
public:
    std::string_view key() const override { return "collective"; }
    std::string_view description() const override {
        return "collectives between ranks (MPI, host memory) or GPUs (NCCL): algbw and busbw as nccl-tests";
    }
    std::vector<ParamSpec> params() const override {
        return {{"op", "op", core::ParamKind::CHOICE, "collective",
                 {"all_reduce", "all_gather", "reduce_scatter", "broadcast", "all_to_all", "send_recv"},
                 "all_reduce,all_gather,reduce_scatter,broadcast,all_to_all,send_recv",
                 "all_reduce,all_gather,reduce_scatter,broadcast,all_to_all,send_recv"},
                {"dtype", "dtype", core::ParamKind::CHOICE, "element type (f16, bf16 over NCCL only)",
                 {"f32", "f64", "f16", "bf16"}, "f32", "f32"},
                {"size", "size_bytes", core::ParamKind::SIZE, "per-rank buffer, nccl-tests' size", {}, "8,64K,16M,256M",
                 "8-256M*2", 1, int64_t{1} << 34}};
    }
    // `versus run` measures collectives in a job of several ranks; alone, `bench collective` says why it skips.
    bool in_suite(int n_ranks) const override { return n_ranks > 1; }
    bool lockstep(const Params&) const override { return true; }
    double memory_bytes(const Params& p) const override { return 2.0 * static_cast<double>(p.integer("size_bytes")) + 64; }
    std::string memory_breakdown(const Params& p) const override {
        return fmt::format("send and receive buffers of {} each", base::human_bytes(static_cast<double>(p.integer("size_bytes"))));
    }

    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const OpSpec s = spec_of(p);
        if (t.info.memory_kind == VERSUS_MEMORY_HOST) return prepare_host(t, s);
        return prepare_device(t, s);
    }

private:
    static void require_size(const OpSpec& s, int n_ranks) {
        if (coll::layout(s.kind, s.size, s.elem, n_ranks).bytes <= 0)
            throw Skip(fmt::format("{} holds less than one {} element per rank on {} ranks", core::format_size(int64_t(s.size)),
                                   backend::dtype_name(s.dtype), n_ranks));
        if (coll::pattern_modulus(s.dtype, n_ranks) < 3)
            throw Skip(fmt::format("{} ranks: sums of {} stop being exact", n_ranks, backend::dtype_name(s.dtype)));
    }

    static std::unique_ptr<Instance> prepare_host(const Target& t, const OpSpec& s) {
        if (!t.comm || t.comm->size() < 2)
            throw Skip("one process: collectives need ranks (mpirun -np 2 versus bench collective)");
        if (s.dtype != VERSUS_DTYPE_F32 && s.dtype != VERSUS_DTYPE_F64)
            throw Skip(fmt::format("MPI reduces f32 and f64, not {} (f16 and bf16 run over NCCL on GPUs)",
                                   backend::dtype_name(s.dtype)));
        require_size(s, t.comm->size());
        // Ranks reach a row at different times: wait for all of them under the group's own timeout.
        t.comm->barrier();
        return std::make_unique<HostCollective>(t, *t.comm, s, coll::layout(s.kind, s.size, s.elem, t.comm->size()));
    }

    static std::unique_ptr<Instance> prepare_device(const Target& t, const OpSpec& s) {
        if (!t.backend.has_collectives()) {
            std::string why = fmt::format("the {} backend has no collectives", t.backend.name());
            throw Skip(why);
        }
        const int count = t.backend.device_count();
        if (t.comm && t.comm->size() > 1) {
            // One GPU per rank: the device is the one this rank owns among its host's GPUs (core/ranks.hpp), so
            // every rank reaches this row with its own GPU and the rows line up across ranks.
            require_size(s, t.comm->size());
            t.comm->barrier();
            return std::make_unique<DeviceCollective>(t, t.comm, s, t.comm->size(), t.comm->rank(),
                                                      std::vector<int32_t>{t.device});
        }
        if (count < 2)
            throw Skip(fmt::format("{} GPU: a collective needs two or more (one process with several GPUs, or "
                                   "mpirun -np N with one GPU per rank)",
                                   count));
        if (t.device != 0) throw Skip("one communicator spans every GPU of the process: its row is on device 0");
        require_size(s, count);
        std::vector<int32_t> devices;
        for (int d = 0; d < count; ++d) devices.push_back(d);
        return std::make_unique<DeviceCollective>(t, nullptr, s, count, 0, std::move(devices));
    }
};

}  // namespace

std::unique_ptr<Workload> make_collective() { return std::make_unique<Collective>(); }

}  // namespace versus::workloads
