#include "comm/comm.hpp"

#include <dlfcn.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>


namespace versus::comm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double POLL_CHECK_S = 0.02;     // liveness and deadline checks between polls
constexpr double BACKOFF_AFTER_S = 0.05;  // polls of a longer open-ended wait sleep 200 us each

std::string exe_dir() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return ".";
    buf[n] = 0;
    return std::filesystem::path(buf).parent_path().string();
}

// Same host, same boot, same PID namespace: then a peer's pid means the same process here.
std::string process_space() {
    std::string boot;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
    char ns[256] = {0};
    const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
    char host[256] = {0};
    ::gethostname(host, sizeof(host) - 1);
    return std::string(host) + "|" + boot + "|" + (n > 0 ? std::string(ns, static_cast<size_t>(n)) : "");
}

// A 52-bit hash, exact in a double (the exchange goes through an f64 all-gather).
double hash52(const std::string& s) {
    return static_cast<double>(std::hash<std::string>{}(s) & ((uint64_t{1} << 52) - 1));
}

bool process_gone(long pid) {
    if (pid <= 0) return false;
    if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
    // A killed child stays a zombie until its launcher reaps it.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    const size_t close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

std::string launcher_marker() {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
        if (const char* v = std::getenv(var); v && *v) return fmt::format("{}={}", var, v);
    return {};
}

std::unique_ptr<Comm> Comm::load(std::string* why) {
    std::vector<std::string> dirs;
    if (const char* d = std::getenv("VERSUS_PLUGIN_DIR")) dirs.emplace_back(d);
    const std::string here = exe_dir();
    dirs.push_back(here);
    dirs.push_back(here + "/../lib/versus");
    for (const auto& dir : dirs) {
        const std::string path = dir + "/libversus-mpi.so";
        if (!std::filesystem::exists(path)) continue;
        void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char* e = ::dlerror();
            *why = fmt::format("{} failed to load: {}", path, e ? e : "unknown error");
            return nullptr;
        }
        auto init = reinterpret_cast<versus_comm_init_fn>(::dlsym(h, VERSUS_COMM_INIT_SYMBOL));
        if (!init) {
            ::dlclose(h);
            *why = fmt::format("{} has no {} symbol", path, VERSUS_COMM_INIT_SYMBOL);
            return nullptr;
        }
        versus_comm_i table{};
        char err[512] = {0};
        if (init(VERSUS_COMM_ABI, &table, err, sizeof(err)) != 0) {
            // Not dlclosed: a half-initialised MPI library must not be unmapped under its own threads.
            *why = err[0] ? err : "MPI initialisation failed";
            return nullptr;
        }
        return std::make_unique<Comm>(table, h);
    }
    *why = "libversus-mpi.so not found (built without Open MPI's development files?)";
    return nullptr;
}

Comm::Comm(const versus_comm_i& table, void* dl_handle) : t_(table), dl_handle_(dl_handle) {
    versus_comm_identity raw{};
    if (t_.identity(t_.ctx, &raw) != 0) throw CommError(fmt::format("[{}] identity failed", t_.name));
    id_ = Identity{raw.rank, raw.size, raw.local_rank, raw.local_size, raw.host, raw.library};
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    oversubscribed_ = static_cast<unsigned>(std::max(1, id_.local_size)) > cores;
    exchange_peers();
}

Comm::~Comm() {
    // Sends still in flight to live ranks get a short chance; after a loss nothing waits.
    if (!broken_) {
        try {
            wait_sends(std::min(timeout_s_, 10.0));
        } catch (const CommError&) {
        }
    }
    for (auto& p : sends_) t_.abandon(t_.ctx, p.req);
    if (t_.destroy) t_.destroy(t_.ctx, broken_ ? 1 : 0);
    // The library stays mapped: MPI's own threads and atexit handlers may still run.
    (void)dl_handle_;
}

void Comm::exchange_peers() {
    peers_.assign(static_cast<size_t>(id_.size), Peer{});
    if (id_.size <= 1) {
        peers_[0].pid = ::getpid();
        peers_[0].same_host = true;
        return;
    }
    const double mine[2] = {static_cast<double>(::getpid()), hash52(process_space())};
    std::vector<double> all(2 * static_cast<size_t>(id_.size));
    versus_coll_args a{VERSUS_COLL_ALL_GATHER, VERSUS_COLL_F64, 0, 0, 2, mine, all.data()};
    collective(a);
    for (int r = 0; r < id_.size; ++r) {
        peers_[r].pid = static_cast<long>(all[2 * r]);
        peers_[r].same_host = all[2 * r + 1] == mine[1];
    }
}

void Comm::start_check() {
    if (broken_) throw PeerLost(broken_reason_);
}

void Comm::lose(const std::string& why) {
    broken_ = true;
    broken_reason_ = why;
    throw PeerLost(why);
}

int Comm::dead_peer(const std::vector<int>& ranks) const {
    for (int r : ranks)
        if (r >= 0 && r < static_cast<int>(peers_.size()) && r != id_.rank && peers_[r].same_host &&
            process_gone(peers_[r].pid))
            return r;
    return -1;
}

void Comm::wait(void* req, double timeout_s, const std::string& what, const std::vector<int>& watch) {
    const double limit = timeout_s > 0 ? timeout_s : timeout_s_;
    // An operation with its own deadline (a measured op, the ranks in step) polls without sleeping: MPI progresses
    // a transfer only inside a test call, so a sleep between polls would cap a large message at one fragment per
    // sleep. A wait under the group's timeout (ranks arriving from their own rows) backs off.
    const bool patient = timeout_s <= 0;
    const auto t0 = Clock::now();
    auto next_check = t0;
    for (;;) {
        int done = 0;
        if (t_.test(t_.ctx, req, &done) != 0) lose(fmt::format("{} failed: {}", what, t_.last_error(t_.ctx)));
        if (done) return;
        const auto now = Clock::now();
        if (now >= next_check) {
            next_check = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(POLL_CHECK_S));
            const double waited = std::chrono::duration<double>(now - t0).count();
            std::string why;
            if (stop_ && stop_->load())
                why = fmt::format("{} abandoned: interrupted", what);
            else if (const int dead = dead_peer(watch); dead >= 0)
                why = fmt::format("{} abandoned: rank {} (pid {}) has exited", what, dead, peers_[dead].pid);
            else if (waited > limit)
                why = fmt::format("{} abandoned: no answer from the other ranks within {:.0f} s", what, limit);
            if (!why.empty()) {
                t_.abandon(t_.ctx, req);
                lose(why);
            }
        }
        // Ranks that outnumber the cores let each other run while they poll; a long wait (another rank still
        // measuring its rows before this one) sleeps between polls so as not to take its core.
        if (patient && std::chrono::duration<double>(now - t0).count() > BACKOFF_AFTER_S)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        else if (oversubscribed_)
            ::sched_yield();
    }
}

void Comm::collective(const versus_coll_args& a, double timeout_s) {
    start_check();
    void* req = nullptr;
    if (t_.coll_start(t_.ctx, &a, &req) != 0)
        throw CommError(fmt::format("[{}] {}: {}", t_.name, coll_kind_name(static_cast<versus_coll_kind>(a.kind)),
                                    t_.last_error(t_.ctx)));
    std::vector<int> all(static_cast<size_t>(id_.size));
    for (int r = 0; r < id_.size; ++r) all[r] = r;
    wait(req, timeout_s, fmt::format("{} on {} ranks", coll_kind_name(static_cast<versus_coll_kind>(a.kind)), id_.size),
         all);
}

void Comm::barrier(double timeout_s) {
    versus_coll_args a{VERSUS_COLL_BARRIER, VERSUS_COLL_F64, 0, 0, 0, nullptr, nullptr};
    collective(a, timeout_s);
}

double Comm::sum(double v, double timeout_s) {
    double out = 0;
    versus_coll_args a{VERSUS_COLL_ALL_REDUCE, VERSUS_COLL_F64, 0, 0, 1, &v, &out};
    collective(a, timeout_s);
    return out;
}

double Comm::max(double v, double timeout_s) {
    // A maximum through an all-gather: the comm table reduces by sums only.
    std::vector<double> all(static_cast<size_t>(id_.size));
    versus_coll_args a{VERSUS_COLL_ALL_GATHER, VERSUS_COLL_F64, 0, 0, 1, &v, all.data()};
    collective(a, timeout_s);
    double m = all[0];
    for (double x : all) m = std::max(m, x);
    return m;
}

void Comm::send(int dest, int tag, std::string bytes) {
    auto buf = std::make_unique<std::string>(std::move(bytes));
    void* req = nullptr;
    if (t_.send_start(t_.ctx, dest, tag, buf->data(), buf->size(), &req) != 0)
        throw CommError(fmt::format("[{}] send to rank {}: {}", t_.name, dest, t_.last_error(t_.ctx)));
    sends_.push_back(Pending{dest, req, std::move(buf)});
    // Progress the earlier sends without waiting for them.
    for (size_t i = 0; i < sends_.size();) {
        int done = 0;
        if (t_.test(t_.ctx, sends_[i].req, &done) != 0) {
            const int to = sends_[i].dest;
            sends_.erase(sends_.begin() + static_cast<std::ptrdiff_t>(i));
            lose(fmt::format("send to rank {} failed: {}", to, t_.last_error(t_.ctx)));
        }
        if (done)
            sends_.erase(sends_.begin() + static_cast<std::ptrdiff_t>(i));
        else
            ++i;
    }
}

void Comm::wait_sends(double timeout_s) {
    while (!sends_.empty()) {
        Pending p = std::move(sends_.front());
        sends_.erase(sends_.begin());
        try {
            wait(p.req, timeout_s, fmt::format("sending results to rank {}", p.dest), {p.dest});
        } catch (const PeerLost&) {
            for (auto& rest : sends_) t_.abandon(t_.ctx, rest.req);
            sends_.clear();
            throw;
        }
    }
}

void Comm::mark_broken(const std::string& why) {
    if (!broken_) {
        broken_ = true;
        broken_reason_ = why;
    }
}

std::string Comm::recv_wait(int source, int tag, double timeout_s) {
    const double limit = timeout_s > 0 ? timeout_s : timeout_s_;
    const auto t0 = Clock::now();
    std::string bytes;
    int from = -1;
    while (!try_recv(source, tag, &from, &bytes)) {
        const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
        if (stop_ && stop_->load()) throw PeerLost(fmt::format("waiting for rank {}: interrupted", source));
        if (dead_peer({source}) >= 0)
            throw PeerLost(fmt::format("rank {} (pid {}) has exited", source, peers_[source].pid));
        if (waited > limit) throw PeerLost(fmt::format("no message from rank {} within {:.0f} s", source, limit));
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return bytes;
}

bool Comm::try_recv(int source, int tag, int* from, std::string* bytes) {
    int found = 0, src = -1;
    uint64_t n = 0;
    if (t_.probe(t_.ctx, source, tag, &found, &src, &n) != 0)
        lose(fmt::format("probing for messages failed: {}", t_.last_error(t_.ctx)));
    if (!found) return false;
    bytes->assign(n, '\0');
    if (t_.recv(t_.ctx, src, tag, bytes->data(), n) != 0)
        lose(fmt::format("receiving from rank {} failed: {}", src, t_.last_error(t_.ctx)));
    *from = src;
    return true;
}

const char* coll_kind_name(versus_coll_kind k) {
    switch (k) {
        case VERSUS_COLL_ALL_REDUCE: return "all_reduce";
        case VERSUS_COLL_ALL_GATHER: return "all_gather";
        case VERSUS_COLL_REDUCE_SCATTER: return "reduce_scatter";
        case VERSUS_COLL_BROADCAST: return "broadcast";
        case VERSUS_COLL_ALL_TO_ALL: return "all_to_all";
        case VERSUS_COLL_SEND_RECV: return "send_recv";
        case VERSUS_COLL_BARRIER: return "barrier";
    }
    return "unknown";
}

bool coll_kind_from_name(const std::string& name, versus_coll_kind* out) {
    for (int k = VERSUS_COLL_ALL_REDUCE; k <= VERSUS_COLL_BARRIER; ++k)
        if (name == coll_kind_name(static_cast<versus_coll_kind>(k))) {
            *out = static_cast<versus_coll_kind>(k);
            return true;
        }
    return false;
}

}  // namespace versus::comm
