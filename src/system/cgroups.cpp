#include "system/cgroups.hpp"

#include <algorithm>
#include <vector>

#include "base/text.hpp"
#include "system/files.hpp"

namespace versus::system {

namespace fs = std::filesystem;
using base::split;

constexpr uint64_t CGROUP_UNLIMITED = uint64_t(1) << 60;  // v1 reports "no limit" as ~2^63 rounded to a page

// Where the process's cgroup for `controller` lives. v2 wins when its root lists the controller;
// otherwise (v1, or hybrid with an empty unified hierarchy) the v1 mount that carries it.
std::optional<CgroupDir> locate_cgroup(const fs::path& root, std::string_view controller) {
    auto self = read_text(under(root, "/proc/self/cgroup"));
    auto mi = read_text(under(root, "/proc/self/mountinfo"));
    if (!self || !mi) return std::nullopt;
    std::optional<std::string> v2_path, v1_path;
    for (auto line : split(*self, '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        // the path may itself contain ':'; it is everything after the second colon
        const size_t p2 = line.find(':', line.find(':') + 1);
        std::string path(line.substr(p2 + 1));
        if (f[0] == "0" && f[1].empty())
            v2_path = path;
        else if (has_token(f[1], controller, ','))
            v1_path = path;
    }
    const auto mounts = parse_mountinfo(*mi);
    // cgroup paths are relative to the mount's root (the cgroup namespace root inside a container)
    auto compose = [&](const Mount& m, const std::string& cg) {
        std::string rel = cg;
        if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
        const fs::path relp = fs::path(rel).relative_path();
        fs::path d = relp.empty() ? fs::path(m.mountpoint) : fs::path(m.mountpoint) / relp;
        // a path outside our namespace (e.g. "/../..") cannot be opened: fall back to the mount root
        if (rel.find("..") != std::string::npos || !is_dir(under(root, d))) d = m.mountpoint;
        return d.lexically_normal();
    };
    if (v2_path) {
        for (const auto& m : mounts) {
            if (m.fstype != "cgroup2") continue;
            auto ctrls = read_line(under(root, fs::path(m.mountpoint) / "cgroup.controllers"));
            if (!ctrls || !has_token(*ctrls, controller, ' ')) continue;
            return CgroupDir{"v2", m.mountpoint, compose(m, *v2_path)};
        }
    }
    if (v1_path) {
        for (const auto& m : mounts) {
            if (m.fstype == "cgroup" && has_token(m.superopts, controller, ','))
                return CgroupDir{"v1", m.mountpoint, compose(m, *v1_path)};
        }
    }
    return std::nullopt;
}

namespace {

uint64_t stat_value(const fs::path& memory_stat, std::string_view key) {
    auto t = read_text(memory_stat, 64 * 1024);
    if (!t) return 0;
    auto v = field(*t, key, ' ');
    auto n = v ? parse_u64(*v) : std::nullopt;
    return n.value_or(0);
}

}  // namespace

CgroupMemory read_cgroup_memory_at(const fs::path& root, const CgroupDir& loc) {
    CgroupMemory cm;
    cm.version = loc.version;
    cm.path = loc.dir.string();
    if (loc.version == "v2") {
        // Limits nest: walk up to the mount root and keep the level with the least headroom.
        uint64_t best_headroom = UINT64_MAX;
        for (fs::path d = loc.dir;; d = d.parent_path()) {
            auto max = read_line(under(root, d / "memory.max"));
            auto cur = read_u64(under(root, d / "memory.current"));
            if (d == loc.dir) {
                cm.usage_bytes = cur.value_or(0);
                cm.inactive_file_bytes = stat_value(under(root, d / "memory.stat"), "inactive_file");
            }
            if (max && *max != "max") {
                CgroupMemory level;
                level.limit_bytes = parse_u64(*max).value_or(0);
                level.usage_bytes = cur.value_or(0);
                level.inactive_file_bytes = stat_value(under(root, d / "memory.stat"), "inactive_file");
                if (level.limit_bytes > 0 && level.limit_bytes < CGROUP_UNLIMITED &&
                    level.headroom_bytes() < best_headroom) {
                    best_headroom = level.headroom_bytes();
                    cm.limit_bytes = level.limit_bytes;
                    cm.usage_bytes = level.usage_bytes;
                    cm.inactive_file_bytes = level.inactive_file_bytes;
                    cm.path = d.string();
                }
            }
            if (d == loc.mountpoint || d == d.parent_path() || !d.has_relative_path()) break;
        }
    } else {
        // v1 does the walk for us: hierarchical_memory_limit is the effective (tightest) limit.
        const fs::path d = loc.dir;
        const fs::path st = under(root, d / "memory.stat");
        uint64_t limit = read_u64(under(root, d / "memory.limit_in_bytes")).value_or(0);
        if (uint64_t h = stat_value(st, "hierarchical_memory_limit"); h > 0) limit = limit ? std::min(limit, h) : h;
        cm.limit_bytes = limit < CGROUP_UNLIMITED ? limit : 0;
        cm.usage_bytes = read_u64(under(root, d / "memory.usage_in_bytes")).value_or(0);
        uint64_t inact = stat_value(st, "total_inactive_file");
        cm.inactive_file_bytes = inact ? inact : stat_value(st, "inactive_file");
    }
    return cm;
}

uint64_t CgroupMemory::headroom_bytes() const {
    if (limit_bytes == 0) return UINT64_MAX;
    const uint64_t used = usage_bytes > inactive_file_bytes ? usage_bytes - inactive_file_bytes : 0;
    return limit_bytes > used ? limit_bytes - used : 0;
}

CgroupMemory read_cgroup_memory(const fs::path& root) {
    auto loc = locate_cgroup(root, "memory");
    return loc ? read_cgroup_memory_at(root, *loc) : CgroupMemory{};
}

double read_cpu_quota(const fs::path& root) {
    auto loc = locate_cgroup(root, "cpu");
    if (!loc) return 0;
    double best = 0;
    auto take = [&](double q) {
        if (q > 0 && (best == 0 || q < best)) best = q;
    };
    if (loc->version == "v2") {
        for (fs::path d = loc->dir;; d = d.parent_path()) {
            if (auto l = read_line(under(root, d / "cpu.max"))) {
                auto f = split(*l, ' ');
                auto q = parse_u64(f[0]);
                auto p = f.size() > 1 ? parse_u64(f[1]) : std::nullopt;
                if (q && p && *p) take(double(*q) / double(*p));
            }
            if (d == loc->mountpoint || d == d.parent_path() || !d.has_relative_path()) break;
        }
    } else {
        auto q = read_line(under(root, loc->dir / "cpu.cfs_quota_us"));  // "-1" when unlimited
        auto p = read_u64(under(root, loc->dir / "cpu.cfs_period_us"));
        if (q && p && *p && !q->empty() && (*q)[0] != '-')
            if (auto qv = parse_u64(*q)) take(double(*qv) / double(*p));
    }
    return best;
}

}  // namespace versus::system
