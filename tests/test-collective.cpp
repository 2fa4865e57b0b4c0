// Collectives without a launcher: the `collective` workload's buffers and checks simulated for n ranks in one
// process (every op's result computed the naive way must pass, a misplaced or missing element must not), the
// nccl-tests bandwidth formulas, and the comm wrapper's deadlines over a fake table whose operations never end.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "comm/comm.hpp"
#include "base/metrics.hpp"
#include "workloads/collective-data.hpp"

using namespace versus;
namespace coll = versus::workloads::coll;

namespace {

const versus_coll_kind KINDS[] = {VERSUS_COLL_ALL_REDUCE, VERSUS_COLL_ALL_GATHER, VERSUS_COLL_REDUCE_SCATTER,
                                  VERSUS_COLL_BROADCAST,  VERSUS_COLL_ALL_TO_ALL, VERSUS_COLL_SEND_RECV};

// What each rank receives, computed naively from every rank's send buffer (f64).
std::vector<std::vector<double>> simulate(versus_coll_kind k, const std::vector<std::vector<double>>& send,
                                          const coll::Layout& l, int root) {
    const int n = static_cast<int>(send.size());
    const uint64_t c = l.count;
    std::vector<std::vector<double>> recv(static_cast<size_t>(n), std::vector<double>(l.recv_elems, 0));
    for (int r = 0; r < n; ++r) {
        auto& out = recv[static_cast<size_t>(r)];
        for (uint64_t i = 0; i < l.recv_elems; ++i) {
            switch (k) {
                case VERSUS_COLL_ALL_REDUCE:
                    for (int s = 0; s < n; ++s) out[i] += send[s][i];
                    break;
                case VERSUS_COLL_ALL_GATHER: out[i] = send[i / c][i % c]; break;
                case VERSUS_COLL_REDUCE_SCATTER:
                    for (int s = 0; s < n; ++s) out[i] += send[s][r * c + i];
                    break;
                case VERSUS_COLL_BROADCAST: out[i] = send[root][i]; break;
                case VERSUS_COLL_ALL_TO_ALL: out[i] = send[i / c][r * c + i % c]; break;
                case VERSUS_COLL_SEND_RECV: out[i] = send[(r - 1 + n) % n][i]; break;
                default: break;
            }
        }
    }
    return recv;
}

}  // namespace

TEST(CollectiveData, LayoutsFollowNcclTests) {
    // 1 KiB of f32 on 4 ranks: all-reduce 256 elements; all-gather 64 per rank into 256; the S of algbw is 1 KiB.
    auto ar = coll::layout(VERSUS_COLL_ALL_REDUCE, 1024, 4, 4);
    EXPECT_EQ(ar.count, 256u);
    EXPECT_EQ(ar.recv_elems, 256u);
    EXPECT_DOUBLE_EQ(ar.bytes, 1024);
    auto ag = coll::layout(VERSUS_COLL_ALL_GATHER, 1024, 4, 4);
    EXPECT_EQ(ag.count, 64u);
    EXPECT_EQ(ag.send_elems, 64u);
    EXPECT_EQ(ag.recv_elems, 256u);
    EXPECT_DOUBLE_EQ(ag.bytes, 1024);
    auto rs = coll::layout(VERSUS_COLL_REDUCE_SCATTER, 1024, 4, 4);
    EXPECT_EQ(rs.send_elems, 256u);
    EXPECT_EQ(rs.recv_elems, 64u);
    auto a2a = coll::layout(VERSUS_COLL_ALL_TO_ALL, 1000, 4, 3);  // 250 elements: 83 per peer, 249 used
    EXPECT_EQ(a2a.count, 83u);
    EXPECT_DOUBLE_EQ(a2a.bytes, 996);
    // 8 bytes on 4 ranks: less than one f32 per rank for the split ops.
    EXPECT_DOUBLE_EQ(coll::layout(VERSUS_COLL_ALL_GATHER, 8, 4, 4).bytes, 0);
    EXPECT_DOUBLE_EQ(coll::layout(VERSUS_COLL_ALL_REDUCE, 8, 4, 4).bytes, 8);
}

TEST(CollectiveData, PatternSumsStayExact) {
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_F32, 4), 61);
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_F16, 64), 61);   // 30 x 64 = 1920 <= 2048
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_F16, 128), 17);  // 8 x 128 = 1024
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_BF16, 8), 61);   // 30 x 8 = 240 <= 256
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_BF16, 16), 17);  // 8 x 16 = 128
    EXPECT_EQ(coll::pattern_modulus(VERSUS_DTYPE_BF16, 64), 5);
    for (int r = 0; r < 3; ++r)
        for (uint64_t i = 0; i < 200; ++i) {
            const double v = coll::pattern_value(r, i, 61);
            EXPECT_EQ(v, std::floor(v));
            EXPECT_LE(std::fabs(v), 30);
        }
    EXPECT_NE(coll::pattern_value(0, 5, 61), coll::pattern_value(1, 5, 61));  // ranks differ
}

// For each op, dtype and rank count: the naive result passes the check on every rank; a value moved to the next
// element (a misplaced block shows the same way) and an element never written each fail it.
TEST(CollectiveData, EveryOpCheckedOnEveryRank) {
    for (int n : {2, 3, 4}) {
        for (versus_coll_kind k : KINDS) {
            for (versus_dtype dt : {VERSUS_DTYPE_F32, VERSUS_DTYPE_F64, VERSUS_DTYPE_F16, VERSUS_DTYPE_BF16}) {
                const size_t elem = dt == VERSUS_DTYPE_F64 ? 8 : dt == VERSUS_DTYPE_F32 ? 4 : 2;
                const coll::Layout l = coll::layout(k, 120 * elem * static_cast<size_t>(n), elem, n);
                const int m = coll::pattern_modulus(dt, n), root = n - 1;
                std::vector<std::vector<double>> send(static_cast<size_t>(n));
                for (int r = 0; r < n; ++r) {
                    std::vector<uint8_t> buf(l.send_elems * elem);
                    coll::fill_send(dt, r, l, m, buf.data());
                    for (uint64_t i = 0; i < l.send_elems; ++i) {
                        send[r].push_back(coll::load_value(dt, buf.data(), i));
                        ASSERT_EQ(send[r].back(), coll::pattern_value(r, i, m));  // exact in the dtype
                    }
                }
                const auto recv = simulate(k, send, l, root);
                for (int r = 0; r < n; ++r) {
                    const std::string what = std::string(comm::coll_kind_name(k)) + " n=" + std::to_string(n) +
                                             " dtype " + std::to_string(dt) + " rank " + std::to_string(r);
                    std::vector<uint8_t> got(l.recv_elems * elem);
                    coll::poison(dt, l, got.data());
                    EXPECT_FALSE(coll::verify(k, dt, r, n, l, root, m, got.data()).ok()) << what << ": poison passed";
                    for (uint64_t i = 0; i < l.recv_elems; ++i) coll::store_value(dt, got.data(), i, recv[r][i]);
                    const coll::Verdict ok = coll::verify(k, dt, r, n, l, root, m, got.data());
                    EXPECT_TRUE(ok.ok()) << what << ": " << ok.message();
                    for (uint64_t i = 0; i + 1 < l.recv_elems; ++i) {
                        if (recv[r][i] == recv[r][i + 1]) continue;
                        std::vector<uint8_t> moved = got;
                        std::memcpy(&moved[i * elem], &got[(i + 1) * elem], elem);
                        const coll::Verdict bad = coll::verify(k, dt, r, n, l, root, m, moved.data());
                        EXPECT_EQ(bad.wrong, 1u) << what;
                        EXPECT_EQ(bad.first, i) << what;
                        break;
                    }
                }
            }
        }
    }
}

TEST(CollectiveMetrics, BusBandwidthFactorsOfNcclTests) {
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_ALL_REDUCE, 4), 1.5);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_ALL_REDUCE, 2), 1.0);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_ALL_GATHER, 4), 0.75);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_REDUCE_SCATTER, 8), 0.875);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_ALL_TO_ALL, 2), 0.5);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_BROADCAST, 8), 1.0);
    EXPECT_DOUBLE_EQ(base::coll_busbw_factor(VERSUS_COLL_SEND_RECV, 8), 1.0);
    // 1 GiB all-reduced on 8 ranks in 10 ms: algbw 107.4 GB/s, busbw x 1.75.
    const double alg = base::coll_algbw(1073741824.0, 0.01);
    EXPECT_DOUBLE_EQ(alg, 107374182400.0);
    EXPECT_DOUBLE_EQ(base::coll_busbw(alg, VERSUS_COLL_ALL_REDUCE, 8), alg * 1.75);
}

// ---- the comm wrapper over a fake table ----------------------------------------------------------------

namespace {

// A world of `size` ranks where every started operation stays pending until `complete` is set.
struct FakeWorld {
    int size = 2;
    std::atomic<bool> complete{false};
    int abandoned = 0;
    bool destroyed_abandoning = false;
    std::string error = "fake failure";
};

versus_comm_i fake_table(FakeWorld* w) {
    versus_comm_i t{};
    t.abi_version = VERSUS_COMM_ABI;
    t.name = "fake";
    t.ctx = w;
    t.last_error = [](void* c) { return static_cast<FakeWorld*>(c)->error.c_str(); };
    t.destroy = [](void* c, int abandon) { static_cast<FakeWorld*>(c)->destroyed_abandoning = abandon != 0; };
    t.identity = [](void* c, versus_comm_identity* out) {
        *out = versus_comm_identity{};
        out->rank = 0;
        out->size = static_cast<FakeWorld*>(c)->size;
        out->local_size = 1;
        std::snprintf(out->host, sizeof out->host, "fakehost");
        return 0;
    };
    static int token;
    t.coll_start = [](void* c, const versus_coll_args* a, void** req) {
        // The peer exchange at start completes at once (a world of one live rank: pid 0 never checks).
        if (a->kind == VERSUS_COLL_ALL_GATHER && a->dtype == VERSUS_COLL_F64 && a->count == 2) {
            auto* out = static_cast<double*>(a->recv);
            const auto* in = static_cast<const double*>(a->send);
            for (int r = 0; r < static_cast<FakeWorld*>(c)->size; ++r) {
                out[2 * r] = r == 0 ? in[0] : 0;  // other ranks: pid 0, never checked
                out[2 * r + 1] = in[1] + 1;       // another host
            }
            *req = nullptr;
            return 0;
        }
        *req = &token;
        return 0;
    };
    t.send_start = [](void*, int, int, const void*, uint64_t, void** req) {
        *req = &token;
        return 0;
    };
    t.test = [](void* c, void* req, int* done) {
        *done = req == nullptr || static_cast<FakeWorld*>(c)->complete.load() ? 1 : 0;
        return 0;
    };
    t.abandon = [](void* c, void*) { ++static_cast<FakeWorld*>(c)->abandoned; };
    t.probe = [](void*, int, int, int* found, int*, uint64_t*) {
        *found = 0;
        return 0;
    };
    t.recv = [](void*, int, int, void*, uint64_t) { return 0; };
    return t;
}

}  // namespace

TEST(CommDeadline, SilentPeersCostATimeoutNotAHang) {
    FakeWorld w;
    auto c = std::make_unique<comm::Comm>(fake_table(&w), nullptr);
    EXPECT_EQ(c->size(), 2);
    EXPECT_FALSE(c->peers()[1].same_host);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        c->barrier(0.2);
        FAIL() << "a barrier nobody joins returned";
    } catch (const comm::PeerLost& e) {
        EXPECT_NE(std::string(e.what()).find("no answer from the other ranks within"), std::string::npos) << e.what();
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(waited, 0.2);
    EXPECT_LT(waited, 5.0);
    EXPECT_EQ(w.abandoned, 1);
    EXPECT_TRUE(c->broken());
    // Broken: the next operation fails at once, and the library is not finalised.
    EXPECT_THROW(c->sum(1.0, 10), comm::PeerLost);
    c.reset();
    EXPECT_TRUE(w.destroyed_abandoning);
}

TEST(CommDeadline, StopFlagEndsAWait) {
    FakeWorld w;
    comm::Comm c(fake_table(&w), nullptr);
    std::atomic<bool> stop{true};
    c.set_stop_flag(&stop);
    try {
        c.barrier(60);
        FAIL();
    } catch (const comm::PeerLost& e) {
        EXPECT_NE(std::string(e.what()).find("interrupted"), std::string::npos);
    }
}

TEST(CommDeadline, CompletedOperationsReturn) {
    FakeWorld w;
    w.complete = true;
    comm::Comm c(fake_table(&w), nullptr);
    EXPECT_NO_THROW(c.barrier(1));
    c.send(1, 7, "record");
    EXPECT_NO_THROW(c.wait_sends(1));
    EXPECT_FALSE(c.broken());
}

TEST(CommLauncher, MarkersOfTheLaunchers) {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"}) ::unsetenv(v);
    EXPECT_EQ(comm::launcher_marker(), "");
    ::setenv("PMI_SIZE", "4", 1);
    EXPECT_EQ(comm::launcher_marker(), "PMI_SIZE=4");
    ::unsetenv("PMI_SIZE");
    versus_coll_kind k;
    EXPECT_TRUE(comm::coll_kind_from_name("reduce_scatter", &k));
    EXPECT_EQ(k, VERSUS_COLL_REDUCE_SCATTER);
    EXPECT_FALSE(comm::coll_kind_from_name("allreduce", &k));
}
