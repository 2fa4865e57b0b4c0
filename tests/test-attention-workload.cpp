// The attention workload through the runner on the CPU backend (rows ok, self-checked, flops as
// documented, naive's scratch above fused's, refusals before allocating), and the attention op of the
// backend table (Backend::attention against the kernel, a backend without the slot, a bad impl).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/attention.hpp"
#include "core/context.hpp"
#include "core/runner.hpp"
#include "system/sysinfo.hpp"
#include "workloads/fill.hpp"
#include "workloads/workload.hpp"

using namespace versus;

namespace {

std::vector<backend::BackendSlot>& slots() {
    static auto s = backend::load_backends();
    return s;
}

backend::Backend& cpu_backend() {
    for (auto& s : slots())
        if (s.name == "cpu") return *s.backend;
    throw std::runtime_error("no cpu backend");
}

std::vector<core::Record> run_attention(const std::vector<std::pair<std::string, std::string>>& values,
                                        const std::string& threads) {
    static const system::SystemInfo sys = system::probe_system();
    static const core::Context ctx = core::build_context(sys, slots());
    const auto* w = workloads::find_workload("attention");
    EXPECT_NE(w, nullptr);
    auto jobs = core::plan_jobs(*w, cpu_backend(), 0, values, threads);
    std::vector<core::Record> out;
    core::RunOptions opt;
    opt.reps = 2;
    core::Runner runner(ctx, opt, [&](const core::Record& r) { out.push_back(r); });
    runner.run(jobs);
    return out;
}

}  // namespace

TEST(AttentionWorkload, RowsOkAndNaiveNeedsMoreScratch) {
    const int seq = 150, heads = 8, kv_heads = 2, head_dim = 64;
    auto rows = run_attention({{"impl", "naive,fused"},
                               {"phase", "prefill,decode"},
                               {"seq", std::to_string(seq)},
                               {"heads", std::to_string(heads)},
                               {"kv_heads", std::to_string(kv_heads)},
                               {"head_dim", std::to_string(head_dim)}},
                              "2");
    ASSERT_EQ(rows.size(), 4u);
    double scratch[2][2] = {};  // [impl][phase]
    for (const auto& r : rows) {
        ASSERT_EQ(r.str("status"), "ok") << r.str("key") << ": " << r.str("reason");
        EXPECT_GT(r.num("gflops"), 0) << r.str("key");
        EXPECT_FALSE(r.str("checksum").empty());
        const bool decode = r.str("phase") == "decode", fused = r.str("impl") == "fused";
        const double pairs = decode ? seq : seq * (seq + 1) / 2.0;
        EXPECT_DOUBLE_EQ(r.num("flops"), 4.0 * pairs * head_dim * heads) << r.str("key");
        scratch[fused][decode] = r.num("peak_scratch_bytes");
    }
    // Naive holds the score matrix of every head; fused only tiles and running state.
    EXPECT_DOUBLE_EQ(scratch[0][0], 4.0 * heads * seq * seq);
    EXPECT_DOUBLE_EQ(scratch[0][1], 4.0 * heads * seq);
    EXPECT_GT(scratch[0][0], scratch[1][0]);
    EXPECT_GT(scratch[1][0], 0);
    EXPECT_GT(scratch[1][1], 0);
}

TEST(AttentionWorkload, HeadsNotAMultipleOfKvHeadsIsSkipped) {
    auto rows = run_attention({{"impl", "fused"}, {"phase", "decode"}, {"seq", "64"}, {"heads", "8"},
                               {"kv_heads", "3"}, {"head_dim", "64"}},
                              "1");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].str("status"), "skipped");
    EXPECT_NE(rows[0].str("reason").find("kv_heads"), std::string::npos) << rows[0].str("reason");
}

// The naive score matrix at a long sequence does not fit: refused before anything is allocated, while
// the fused row of the same size needs only its inputs.
TEST(AttentionWorkload, NaiveScoreMatrixCountsAgainstTheBudget) {
    const auto* w = workloads::find_workload("attention");
    ASSERT_NE(w, nullptr);
    auto jobs = core::plan_jobs(*w, cpu_backend(), 0,
                                {{"impl", "naive,fused"}, {"phase", "prefill"}, {"seq", "65536"}, {"heads", "32"},
                                 {"kv_heads", "8"}, {"head_dim", "128"}},
                                "1");
    ASSERT_EQ(jobs.size(), 2u);
    for (auto& j : jobs) j.info.mem_budget_bytes = uint64_t(16) << 30;
    const auto over = core::jobs_over_budget(jobs);
    ASSERT_EQ(over.size(), 1u);
    EXPECT_NE(over[0].find("impl=naive"), std::string::npos) << over[0];
    EXPECT_GT(w->memory_bytes(jobs[0].params), 4.0 * 32 * 65536.0 * 65536.0);
    EXPECT_LT(w->memory_bytes(jobs[1].params), 8.0 * (1 << 30));
}

TEST(AttentionOp, BackendMatchesKernelAndChecksItsArguments) {
    auto& b = cpu_backend();
    EXPECT_TRUE(b.supports(0, VERSUS_OP_ATTENTION, VERSUS_DTYPE_F16));
    std::string why;
    EXPECT_FALSE(b.supports(0, VERSUS_OP_ATTENTION, VERSUS_DTYPE_F32, &why));
    EXPECT_FALSE(why.empty());

    versus_attention_shape s{};
    s.n_head = 4, s.n_head_kv = 2, s.head_dim = 64, s.n_q = 3, s.n_kv = 20, s.q_pos0 = 17, s.scale = 0.125f;
    s.k_row_stride = s.v_row_stride = 2 * 64 + 8;  // a padded cache row
    workloads::Rng rng(5);
    std::vector<float> q(size_t(s.n_q) * s.n_head * s.head_dim);
    std::vector<uint16_t> kv(size_t(s.n_kv) * s.k_row_stride);
    for (float& x : q) x = float(rng.uniform());
    for (auto& x : kv) x = cpu::f32_to_f16(float(rng.uniform()));
    std::vector<float> want(q.size()), got(q.size());
    cpu::ThreadPool pool(1);
    const cpu::AttentionShape cs{s.n_head, s.n_head_kv, s.head_dim, s.n_q, s.n_kv, s.q_pos0, s.scale};
    cpu::attention_fused(cs, q.data(), kv.data(), s.k_row_stride, kv.data(), s.v_row_stride, want.data(), pool);
    std::vector<float> scratch(cpu::attention_naive_scratch_bytes(cs) / 4);
    for (int impl : {0, 1}) {
        std::fill(got.begin(), got.end(), -1.0f);
        b.attention(0, impl, s, q.data(), kv.data(), kv.data(), got.data(), impl == 0 ? scratch.data() : nullptr);
        for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << "impl " << impl << " at " << i;
    }
    EXPECT_THROW(b.attention(0, 2, s, q.data(), kv.data(), kv.data(), got.data(), nullptr), backend::BackendError);
    EXPECT_THROW(b.attention(0, 0, s, q.data(), kv.data(), kv.data(), got.data(), nullptr), backend::BackendError);
    s.n_head_kv = 3;  // not a divisor of n_head: the kernel's message comes back through last_error
    try {
        b.attention(0, 1, s, q.data(), kv.data(), kv.data(), got.data(), nullptr);
        ADD_FAILURE() << "no error for n_head_kv 3";
    } catch (const backend::BackendError& e) {
        EXPECT_NE(std::string(e.what()).find("[attention]"), std::string::npos) << e.what();
    }
}

TEST(AttentionOp, BackendWithoutTheSlotSaysSo) {
    versus_backend_i t{};
    t.abi_version = VERSUS_BACKEND_ABI;
    t.name = "fake";
    t.last_error = [](void*) { return ""; };
    backend::Backend fake(t, nullptr);
    versus_attention_shape s{};
    try {
        fake.attention(0, 1, s, nullptr, nullptr, nullptr, nullptr, nullptr);
        ADD_FAILURE() << "no error from a backend without attention";
    } catch (const backend::BackendError& e) {
        EXPECT_NE(std::string(e.what()).find("no attention op"), std::string::npos) << e.what();
    }
}
