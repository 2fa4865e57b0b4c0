// test-power: meter detection on this machine explains every absence, and the RAPL reader parses a
// fake powercap tree, sums only package domains and unwraps its counters.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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
