// test-power: meter detection on this machine explains every absence, the RAPL reader parses a
// fake powercap tree, sums only package domains and unwraps its counters, and the GPU meter turns
// made-up NVML samples into energy, power and throttling (no NVML needed).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "power/power.hpp"

namespace fs = std::filesystem;
using namespace versus::power;

namespace {

struct TempRoot {
    fs::path dir;
    TempRoot() {
        std::string tmpl = (fs::temp_directory_path() / "versus-power-XXXXXX").string();
        dir = ::mkdtemp(tmpl.data());
    }
    ~TempRoot() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write(const std::string& rel, const std::string& text) const {
        const fs::path p = dir / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
};

const MeterInfo* find(const std::vector<MeterInfo>& ms, const std::string& name) {
    for (const auto& m : ms)
        if (m.name == name) return &m;
    return nullptr;
}

constexpr uint64_t RANGE_UJ = 262143328850;  // a typical max_energy_range_uj

// Two sockets, each with a core sub-domain, plus psys and the MMIO duplicate.
void fake_rapl(const TempRoot& r, uint64_t pkg0_uj, uint64_t pkg1_uj) {
    const std::string pc = "sys/class/powercap/";
    fs::create_directories(r.dir / pc / "intel-rapl");  // the control type, not a zone
    r.write(pc + "intel-rapl:0/name", "package-0\n");
    r.write(pc + "intel-rapl:0/energy_uj", std::to_string(pkg0_uj) + "\n");
    r.write(pc + "intel-rapl:0/max_energy_range_uj", std::to_string(RANGE_UJ) + "\n");
    r.write(pc + "intel-rapl:0:0/name", "core\n");
    r.write(pc + "intel-rapl:0:0/energy_uj", "777\n");
    r.write(pc + "intel-rapl:1/name", "package-1\n");
    r.write(pc + "intel-rapl:1/energy_uj", std::to_string(pkg1_uj) + "\n");
    r.write(pc + "intel-rapl:1/max_energy_range_uj", std::to_string(RANGE_UJ) + "\n");
    r.write(pc + "intel-rapl:2/name", "psys\n");
    r.write(pc + "intel-rapl:2/energy_uj", "999999999\n");
    r.write(pc + "intel-rapl-mmio:0/name", "package-0\n");
    r.write(pc + "intel-rapl-mmio:0/energy_uj", "123\n");
}

}  // namespace

TEST(Power, DetectOnThisMachineExplainsEveryAbsence) {
    const auto ms = detect_meters();
    ASSERT_FALSE(ms.empty());
    for (const auto& m : ms) {
        EXPECT_FALSE(m.name.empty());
        EXPECT_FALSE(m.domain.empty()) << m.name;
        if (!m.available) {
            EXPECT_FALSE(m.reason.empty()) << m.name;
        }
    }
    const MeterInfo* nvml = find(ms, "nvml");
    ASSERT_NE(nvml, nullptr);
    const MeterInfo* io = find(ms, "ioreport");
    ASSERT_NE(io, nullptr);
#if !defined(__APPLE__)
    EXPECT_FALSE(io->available);
    EXPECT_EQ(io->reason, "macOS only");
    if (!fs::exists("/sys/class/powercap")) {
        const MeterInfo* rapl = find(ms, "rapl");
        ASSERT_NE(rapl, nullptr);
        EXPECT_FALSE(rapl->available);
        EXPECT_NE(rapl->reason.find("/sys/class/powercap"), std::string::npos) << rapl->reason;
    }
    if (!fs::exists("/sys/class/hwmon")) {
        EXPECT_NE(find(ms, "hwmon"), nullptr);
    }
#endif
}

TEST(Power, HostMeterOnThisMachine) {
    std::string why;
    auto m = open_host_energy_meter(&why);
    if (!m) {
        EXPECT_FALSE(why.empty());
        GTEST_SKIP() << "no host energy meter: " << why;
    }
    const double a = m->read_joules();
    const double b = m->read_joules();
    EXPECT_GE(a, 0.0);
    EXPECT_GE(b, a);
}

TEST(Power, FakeRaplDetection) {
    TempRoot r;
    fake_rapl(r, 1000000, 5000000);
    const auto ms = detect_meters(r.dir);
    const MeterInfo* p0 = find(ms, "rapl:intel-rapl:0");
    ASSERT_NE(p0, nullptr);
    EXPECT_EQ(p0->domain, "package-0");
    EXPECT_TRUE(p0->available);
    const MeterInfo* core = find(ms, "rapl:intel-rapl:0:0");
    ASSERT_NE(core, nullptr);
    EXPECT_EQ(core->domain, "core");
    ASSERT_NE(find(ms, "rapl:intel-rapl:2"), nullptr);
    EXPECT_EQ(find(ms, "rapl:intel-rapl:2")->domain, "psys");
    EXPECT_EQ(find(ms, "rapl"), nullptr);  // no "absent" entry when zones exist
}

TEST(Power, FakeRaplSumsPackagesAndUnwraps) {
    TempRoot r;
    fake_rapl(r, 1000000, 5000000);
    std::string why;
    auto m = open_host_energy_meter(&why, r.dir);
    ASSERT_NE(m, nullptr) << why;
    EXPECT_EQ(m->name(), "rapl:package-0+package-1");
    EXPECT_DOUBLE_EQ(m->read_joules(), 0.0);

    // +2.5 J on package 0, +1 J on package 1; core, psys and mmio move too but must not count
    const std::string pc = "sys/class/powercap/";
    r.write(pc + "intel-rapl:0/energy_uj", "3500000\n");
    r.write(pc + "intel-rapl:1/energy_uj", "6000000\n");
    r.write(pc + "intel-rapl:0:0/energy_uj", "99999999\n");
    r.write(pc + "intel-rapl:2/energy_uj", "1\n");
    r.write(pc + "intel-rapl-mmio:0/energy_uj", "88888888\n");
    EXPECT_NEAR(m->read_joules(), 3.5, 1e-9);

    // package 0 wraps: 1 J before the top of the range, then 0.5 J past zero -> +1.5 J
    r.write(pc + "intel-rapl:0/energy_uj", std::to_string(RANGE_UJ - 1000000) + "\n");
    const double before = m->read_joules();
    r.write(pc + "intel-rapl:0/energy_uj", "500000\n");
    EXPECT_NEAR(m->read_joules() - before, 1.5, 1e-6);

    // a counter that disappears is an error, not a silent zero
    fs::remove(r.dir / pc / "intel-rapl:1/energy_uj");
    EXPECT_THROW(m->read_joules(), std::runtime_error);
}

TEST(Power, NoPowercapGivesAReason) {
    TempRoot r;
    std::string why;
    EXPECT_EQ(open_host_energy_meter(&why, r.dir), nullptr);
#if !defined(__APPLE__)
    EXPECT_NE(why.find("/sys/class/powercap"), std::string::npos) << why;
    const auto ms = detect_meters(r.dir);
    const MeterInfo* rapl = find(ms, "rapl");
    ASSERT_NE(rapl, nullptr);
    EXPECT_FALSE(rapl->available);
    EXPECT_NE(rapl->reason.find("no /sys/class/powercap"), std::string::npos);
    const MeterInfo* hw = find(ms, "hwmon");
    ASSERT_NE(hw, nullptr);
    EXPECT_NE(hw->reason.find("no /sys/class/hwmon"), std::string::npos);
#endif
}

#if !defined(__APPLE__)
TEST(Power, UnreadableCounterIsExplained) {
    TempRoot r;
    const std::string pc = "sys/class/powercap/";
    r.write(pc + "intel-rapl:0/name", "package-0\n");
    if (::geteuid() == 0) {
        // root reads any mode, so make the read itself fail: a directory where the counter should be
        fs::create_directories(r.dir / pc / "intel-rapl:0/energy_uj");
    } else {
        r.write(pc + "intel-rapl:0/energy_uj", "1\n");
        fs::permissions(r.dir / pc / "intel-rapl:0/energy_uj", fs::perms::none);
    }
    std::string why;
    EXPECT_EQ(open_host_energy_meter(&why, r.dir), nullptr);
    EXPECT_NE(why.find("energy_uj"), std::string::npos) << why;
    if (::geteuid() != 0) {
        EXPECT_NE(why.find("root only"), std::string::npos) << why;
    }
    const auto ms = detect_meters(r.dir);
    const MeterInfo* p0 = find(ms, "rapl:intel-rapl:0");
    ASSERT_NE(p0, nullptr);
    EXPECT_FALSE(p0->available);
    EXPECT_FALSE(p0->reason.empty());
}

TEST(Power, FakeHwmon) {
    TempRoot r;
    r.write("sys/class/hwmon/hwmon0/name", "k10temp\n");
    r.write("sys/class/hwmon/hwmon0/temp1_input", "45000\n");
    r.write("sys/class/hwmon/hwmon1/name", "amdgpu\n");
    r.write("sys/class/hwmon/hwmon1/power1_average", "15000000\n");
    r.write("sys/class/hwmon/hwmon1/power1_label", "PPT\n");
    r.write("sys/class/hwmon/hwmon1/power1_cap", "200000000\n");  // a limit, not a reading
    const auto ms = detect_meters(r.dir);
    const MeterInfo* ppt = find(ms, "hwmon:amdgpu/power1_average");
    ASSERT_NE(ppt, nullptr);
    EXPECT_EQ(ppt->domain, "PPT");
    EXPECT_TRUE(ppt->available);
    EXPECT_EQ(find(ms, "hwmon:amdgpu/power1_cap"), nullptr);

    TempRoot t;
    t.write("sys/class/hwmon/hwmon0/name", "k10temp\n");
    t.write("sys/class/hwmon/hwmon0/temp1_input", "45000\n");
    const auto tms = detect_meters(t.dir);
    const MeterInfo* hw = find(tms, "hwmon");
    ASSERT_NE(hw, nullptr);
    EXPECT_FALSE(hw->available);
    EXPECT_NE(hw->reason.find("k10temp"), std::string::npos) << hw->reason;
}
#endif

// ---- GPU meter (NVML sampling) with made-up samples ----

namespace {

GpuSample sample(double t, double power, double energy = NAN, uint64_t reasons = 0, double temp = NAN,
                 double clock = NAN) {
    GpuSample s;
    s.t_s = t;
    s.power_w = power;
    s.energy_j = energy;
    s.event_reasons = reasons;
    s.temp_c = temp;
    s.sm_clock_mhz = clock;
    return s;
}

}  // namespace

TEST(GpuMeter, IntegratesPowerByTrapezoids) {
    GpuEnergyIntegrator in;
    // 100 W for 1 s, then a ramp to 300 W over 1 s: 100 + 200 = 300 J over 2 s.
    in.add(sample(10.0, 100));
    in.add(sample(10.5, 100));
    in.add(sample(11.0, 100));
    in.add(sample(12.0, 300));
    const GpuWindow w = in.result();
    EXPECT_TRUE(w.reason.empty());
    EXPECT_FALSE(w.from_counter);
    EXPECT_EQ(w.samples, 4);
    EXPECT_DOUBLE_EQ(w.seconds, 2.0);
    EXPECT_NEAR(w.joules, 300.0, 1e-9);
    EXPECT_NEAR(w.avg_power_w, 150.0, 1e-9);
    EXPECT_FALSE(w.throttled);
}

TEST(GpuMeter, PrefersTheEnergyCounter) {
    GpuEnergyIntegrator in;
    // The counter says 250 J over 1 s whatever the (averaged, lagging) power readings say.
    in.add(sample(0.0, 100, 5000.0, 0, 60, 1800));
    in.add(sample(0.5, 100, 5120.0, 0, 65, 1700));
    in.add(sample(1.0, 100, 5250.0, 0, 63, 1600));
    const GpuWindow w = in.result();
    EXPECT_TRUE(w.from_counter);
    EXPECT_NEAR(w.joules, 250.0, 1e-9);
    EXPECT_NEAR(w.avg_power_w, 250.0, 1e-9);
    EXPECT_DOUBLE_EQ(w.max_temp_c, 65.0);
    EXPECT_NEAR(w.avg_sm_clock_mhz, 1700.0, 1e-9);
}

TEST(GpuMeter, CounterThatGoesBackFallsBackToPower) {
    GpuEnergyIntegrator in;
    in.add(sample(0.0, 200, 9000.0));
    in.add(sample(1.0, 200, 10.0));  // the driver reloaded: the counter restarted
    const GpuWindow w = in.result();
    EXPECT_FALSE(w.from_counter);
    EXPECT_NEAR(w.joules, 200.0, 1e-9);
}

TEST(GpuMeter, UnreadPowerIntervalsAreLeftOut) {
    GpuEnergyIntegrator in;
    in.add(sample(0.0, 100));
    in.add(sample(1.0, NAN));
    in.add(sample(2.0, 100));
    in.add(sample(3.0, 100));
    EXPECT_NEAR(in.result().joules, 100.0, 1e-9);  // only 2..3 s has both ends

    GpuEnergyIntegrator none;
    none.add(sample(0.0, NAN));
    none.add(sample(1.0, NAN));
    EXPECT_FALSE(none.result().reason.empty());
}

TEST(GpuMeter, OneSampleIsNotAnEnergy) {
    GpuEnergyIntegrator in;
    in.add(sample(0.0, 100));
    const GpuWindow w = in.result();
    EXPECT_EQ(w.joules, 0.0);
    EXPECT_NE(w.reason.find("fewer than two"), std::string::npos) << w.reason;
}

TEST(GpuMeter, ThrottleReasonsIgnoreIdleAndClockSettings) {
    GpuEnergyIntegrator in;
    in.add(sample(0.0, 100, NAN, 0x1 | 0x2 | 0x10 | 0x100));  // idle, app clocks, sync boost, display
    in.add(sample(1.0, 100));
    EXPECT_FALSE(in.result().throttled);
    in.add(sample(2.0, 100, NAN, 0x4 | 0x40));  // power cap + hardware thermal slowdown
    const GpuWindow w = in.result();
    EXPECT_TRUE(w.throttled);
    EXPECT_EQ(gpu_throttle_names(w.event_reasons), "sw power cap, hw thermal slowdown");
    EXPECT_EQ(gpu_throttle_names(0x1 | 0x2), "");
}

namespace {

// A GPU drawing a constant 150 W with a counter, on the real clock; counts its reads.
class FakeGpu final : public GpuSampleSource {
public:
    explicit FakeGpu(std::atomic<int>* reads, int fail_after = -1) : reads_(reads), fail_after_(fail_after) {}
    std::string name() const override { return "fake"; }
    GpuSample read() override {
        const int n = ++*reads_;
        if (fail_after_ >= 0 && n > fail_after_) throw std::runtime_error("[power] fake GPU fell off the bus");
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        if (t0_ < 0) t0_ = t;
        return sample(t, 150, 1000 + 150 * (t - t0_), 0, 70, 1500);
    }

private:
    std::atomic<int>* reads_;
    int fail_after_;
    double t0_ = -1;
};

}  // namespace

TEST(GpuMeter, SamplingThreadMeasuresAWindow) {
    std::atomic<int> reads{0};
    GpuEnergyMeter m(std::make_unique<FakeGpu>(&reads), std::chrono::milliseconds(5));
    EXPECT_EQ(m.name(), "fake");
    m.begin();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    // The thread's samples may be late on a busy machine: wait for two of them, however long that takes.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (reads.load() < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const GpuWindow w = m.end();
    EXPECT_GE(w.samples, 4);  // first + last + the thread's
    EXPECT_EQ(w.samples, reads.load());
    EXPECT_TRUE(w.from_counter);
    EXPECT_GT(w.seconds, 0.05);
    EXPECT_NEAR(w.avg_power_w, 150.0, 1e-6);
    EXPECT_NEAR(w.joules, 150.0 * w.seconds, 1e-6);
    // A second window starts afresh, and no sampling happens between windows.
    const int between = reads.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(reads.load(), between);
    m.begin();
    const GpuWindow w2 = m.end();
    EXPECT_EQ(w2.samples, 2);
}

TEST(GpuMeter, SamplingErrorSurfacesAtEnd) {
    std::atomic<int> reads{0};
    GpuEnergyMeter m(std::make_unique<FakeGpu>(&reads, 2), std::chrono::milliseconds(2));
    m.begin();
    // Until the sampling thread has met the failure (a busy machine may delay it by far more than its period).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (reads.load() <= 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_THROW(m.end(), std::runtime_error);
    // cancel() and a new begin() after a failed window do not hang or throw
    m.cancel();
    EXPECT_THROW(m.begin(), std::runtime_error);  // the source itself is dead now
}

TEST(GpuMeter, WithoutNvmlThereIsAReason) {
    std::string why;
    auto m = open_gpu_energy_meter("", 0, &why);
    if (m) GTEST_SKIP() << "NVML and a GPU are present: " << m->name();
    EXPECT_FALSE(why.empty());
}
