// p2p: copies between the GPUs of one machine, as nvbandwidth measures them: a row per (source device, peer)
// with peer access on (the direct NVLink or PCIe path) and off (staged through host memory by the driver), by
// size — large copies give the bandwidth, a 4-byte copy the latency. Each row names the link between the two
// devices from the driver (NVLink and its link count from NVML, else PCIe). Device-timed where the backend has
// a timer; the copy lands on the peer's stream. Printed as nvbandwidth's matrix (rows: source, columns: peer).
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

class PeerCopy : public Instance {
public:
    PeerCopy(const Target& t, int peer, bool access, uint64_t bytes)
        : t_(t), peer_(peer), access_(access), bytes_(bytes) {
        t.backend.peer_access(t.device, peer, access ? 1 : 0);
        t.backend.peer_access(peer, t.device, access ? 1 : 0);
        src_ = t.backend.alloc(t.device, bytes);
        dst_ = t.backend.alloc(peer, bytes);
        std::vector<uint8_t> h(bytes);
        for (uint64_t i = 0; i < bytes; ++i) h[i] = static_cast<uint8_t>(i * 131 + 7);
        t.backend.copy_h2d(t.device, src_.get(), h.data(), bytes);
        t.backend.synchronize(t.device);
        link_ = t.backend.peer_link(t.device, peer, &link_gbps_);
    }
    void run() override {
        enqueue();
        t_.backend.synchronize(peer_);
    }
    bool device_timed() const override { return bytes_ > 4 && t_.backend.has_timer(); }
    void enqueue() override { t_.backend.peer_copy(peer_, dst_.get(), t_.device, src_.get(), bytes_); }
    Check check() override {
        std::vector<uint8_t> back(bytes_);
        t_.backend.copy_d2h(peer_, back.data(), dst_.get(), bytes_);
        t_.backend.synchronize(peer_);
        for (uint64_t i = 0; i < bytes_; ++i)
            if (back[i] != static_cast<uint8_t>(i * 131 + 7))
                return {false, "", fmt::format("byte {} of the copy differs", i)};
        return {true, fmt::format("{} bytes copied", bytes_), ""};
    }
    std::vector<std::pair<std::string, std::string>> labels() const override {
        return {{"link", link_.empty() ? std::string("unknown") : link_}};
    }
    Metrics metrics(double median_s) override {
        Metrics m{{"latency_us", median_s * 1e6}};
        if (link_gbps_ > 0) m.emplace_back("link_gbps", link_gbps_);
        return m;
    }

private:
    Target t_;
    int peer_;
    bool access_;
    uint64_t bytes_;
    backend::DeviceBuffer src_, dst_;
    std::string link_;
    double link_gbps_ = 0;
};

class P2p : public Workload {
public:
    std::string_view key() const override { return "p2p"; }
    std::string_view description() const override {
        return "GPU to GPU copies with peer access on and off, bandwidth and latency matrix (nvbandwidth)";
    }
    // Only machines with several GPUs have rows: not in the quick suite (`versus run --full`, `bench p2p`).
    bool quick() const override { return false; }
    std::vector<ParamSpec> params() const override {
        return {{"peer", "peer", core::ParamKind::INT, "the device copied to", {}, "0-7", "0-7", 0, 1023},
                {"access", "peer_access", core::ParamKind::CHOICE, "peer access on or off", {"on", "off"}, "on,off",
                 "on,off"},
                {"size", "size_bytes", core::ParamKind::SIZE, "bytes per copy", {}, "4,256M", "4,64K,16M,256M", 1,
                 int64_t{1} << 36}};
    }
    // A host or unified device has no peers: one row says so.
    std::vector<std::pair<std::string, std::string>> suite(const versus_device_info& info, bool full) const override {
        if (info.memory_kind != VERSUS_MEMORY_DISCRETE) return {{"peer", "1"}, {"access", "on"}, {"size", "4"}};
        return Workload::suite(info, full);
    }
    double bytes(const Params& p) const override { return static_cast<double>(p.integer("size_bytes")); }
    double memory_bytes(const Params& p) const override { return static_cast<double>(p.integer("size_bytes")); }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        if (t.info.memory_kind != VERSUS_MEMORY_DISCRETE) throw Skip("peer-to-peer copies are between discrete GPUs");
        if (!t.backend.has_peer()) throw Skip(fmt::format("the {} backend has no peer-to-peer copies", t.backend.name()));
        const int peer = static_cast<int>(p.integer("peer")), count = t.backend.device_count();
        if (count < 2) throw Skip(fmt::format("{} GPU: peer-to-peer needs two or more", count));
        if (peer >= count) throw Skip(fmt::format("no device {} ({} GPUs)", peer, count));
        if (peer == t.device) throw Skip("a device and itself");
        const bool on = p.str("peer_access") == "on";
        if (on && !t.backend.peer_access(t.device, peer, -1))
            throw Skip(fmt::format("device {} cannot reach device {} directly (no peer access over this link)", t.device,
                                   peer));
        return std::make_unique<PeerCopy>(t, peer, on, static_cast<uint64_t>(p.integer("size_bytes")));
    }
};

}  // namespace

std::unique_ptr<Workload> make_p2p() { return std::make_unique<P2p>(); }

}  // namespace versus::workloads
