#include "core/ranks.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace versus::core {

namespace {

// Message tags between ranks; the library's own operations use tag 0.
enum Tag : int { TAG_CONTEXT = 101, TAG_LOCKSTEP = 102, TAG_AGREED = 103, TAG_PLAN = 104, TAG_RECORD = 105, TAG_DONE = 106 };

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// What identifies a lockstep row across ranks: the backend, the workload and its parameters (device names differ).
std::string lockstep_key(const Job& j) {
    return fmt::format("{}|{}|{}", j.backend->name(), j.workload->key(), j.params.key());
}

Record job_head(const Context& ctx, const Job& j) {
    Record r = record_head(ctx, std::string(j.backend->name()), &j.info, *j.workload, j.params);
    return close_record(r, "error", "");
}

}  // namespace

int rank_threads(int available, int hardware_threads, const comm::Identity& id) {
    if (available < hardware_threads) return std::max(1, available);  // bound by the launcher: all of its share
    return std::max(1, available / std::max(1, id.local_size));
}

bool rank_owns_device(const versus_device_info& info, int device, const comm::Identity& id) {
    if (info.memory_kind != VERSUS_MEMORY_DISCRETE) return true;
    return device % std::max(1, id.local_size) == id.local_rank;
}

RankRun::RankRun(comm::Comm& c, Context& ctx) : comm_(c), ctx_(ctx) {
    ctx.rank = c.rank();
    ctx.world_size = c.size();
    if (leader()) {
        const std::string msg = nlohmann::json{{"run_id", ctx.run_id}, {"time", ctx.time}}.dump();
        for (int r = 1; r < c.size(); ++r) c.send(r, TAG_CONTEXT, msg);
        peers_.assign(static_cast<size_t>(c.size()), Peer{});
    } else {
        const auto j = nlohmann::json::parse(c.recv_wait(0, TAG_CONTEXT));
        ctx.run_id = j.at("run_id").get<std::string>();
        ctx.time = j.at("time").get<std::string>();
    }
}

std::vector<Job> RankRun::agree(std::vector<Job> jobs, std::vector<Record>& pre) {
    std::vector<std::string> keys;
    for (const auto& j : jobs)
        if (j.workload->lockstep(j.params)) keys.push_back(lockstep_key(j));
    // Rank 0 intersects every rank's lockstep rows and names, for each row left out, a rank that lacks it.
    std::set<std::string> agreed;
    std::map<std::string, int> missing;
    if (leader()) {
        std::vector<std::set<std::string>> all(static_cast<size_t>(comm_.size()));
        all[0] = std::set<std::string>(keys.begin(), keys.end());
        for (int r = 1; r < comm_.size(); ++r)
            all[r] = nlohmann::json::parse(comm_.recv_wait(r, TAG_LOCKSTEP)).get<std::set<std::string>>();
        std::set<std::string> every;
        for (const auto& s : all) every.insert(s.begin(), s.end());
        for (const auto& k : every) {
            int lacking = -1;
            for (int r = 0; r < comm_.size() && lacking < 0; ++r)
                if (!all[r].count(k)) lacking = r;
            if (lacking < 0) agreed.insert(k);
            else missing[k] = lacking;
        }
        const std::string msg = nlohmann::json{{"agreed", agreed}, {"missing", missing}}.dump();
        for (int r = 1; r < comm_.size(); ++r) comm_.send(r, TAG_AGREED, msg);
    } else {
        comm_.send(0, TAG_LOCKSTEP, nlohmann::json(keys).dump());
        const auto j = nlohmann::json::parse(comm_.recv_wait(0, TAG_AGREED));
        agreed = j.at("agreed").get<std::set<std::string>>();
        missing = j.at("missing").get<std::map<std::string, int>>();
    }
    std::vector<Job> kept;
    for (auto& j : jobs) {
        if (!j.workload->lockstep(j.params) || agreed.count(lockstep_key(j))) {
            kept.push_back(std::move(j));
            continue;
        }
        Record r = record_head(ctx_, std::string(j.backend->name()), &j.info, *j.workload, j.params);
        const auto it = missing.find(lockstep_key(j));
        pre.push_back(close_record(r, "skipped",
                                   fmt::format("every rank runs this row together, and rank {} has no such row",
                                               it == missing.end() ? -1 : it->second)));
    }
    // The plan: the heads of every row this rank will produce, in order (its skipped rows first, as execute() does).
    nlohmann::ordered_json plan = nlohmann::ordered_json::array();
    for (const auto& r : pre) plan.push_back(r.to_json(false));
    for (const auto& j : kept) plan.push_back(job_head(ctx_, j).to_json(false));
    if (leader()) {
        for (int r = 1; r < comm_.size(); ++r) {
            for (const auto& h : nlohmann::ordered_json::parse(comm_.recv_wait(r, TAG_PLAN)))
                peers_[r].plan.push_back(Record::from_json(h));
            peers_[r].last_heard = now_s();
        }
    } else {
        comm_.send(0, TAG_PLAN, plan.dump());
    }
    return kept;
}

void RankRun::drain(const std::function<void(const Record&)>& sink) {
    int from = -1;
    std::string bytes;
    while (comm_.try_recv(-1, TAG_RECORD, &from, &bytes)) {
        Peer& p = peers_[static_cast<size_t>(from)];
        p.last_heard = now_s();
        if (p.lost) continue;  // its missing rows were written already
        sink(Record::from_json(nlohmann::ordered_json::parse(bytes)));
        ++p.received;
    }
    while (comm_.try_recv(-1, TAG_DONE, &from, &bytes)) {
        peers_[static_cast<size_t>(from)].expected = std::stol(bytes);
        peers_[static_cast<size_t>(from)].last_heard = now_s();
    }
}

void RankRun::publish(const Record& r, const std::function<void(const Record&)>& sink) {
    if (leader()) {
        drain(sink);
        sink(r);
        return;
    }
    comm_.send(0, TAG_RECORD, r.to_json().dump());
    ++sent_;
}

void RankRun::lose(int rank, const std::string& why, const std::function<void(const Record&)>& sink, Outcome* out) {
    Peer& p = peers_[static_cast<size_t>(rank)];
    p.lost = true;
    ++out->lost_ranks;
    const std::string reason = fmt::format("rank {} lost before this row came: {}", rank, why);
    for (size_t i = p.received; i < p.plan.size(); ++i) {
        Record h = p.plan[i];
        sink(close_record(h, "error", reason));
        ++out->lost_rows;
    }
    out->notes.push_back(fmt::format("rank {} lost: {} ({} of its {} rows came)", rank, why, p.received, p.plan.size()));
    comm_.mark_broken(fmt::format("rank {} was lost: {}", rank, why));
}

RankRun::Outcome RankRun::finish(const std::function<void(const Record&)>& sink, bool stopping) {
    Outcome out;
    if (!leader()) {
        comm_.send(0, TAG_DONE, std::to_string(sent_));
        try {
            comm_.wait_sends();
        } catch (const comm::PeerLost& e) {
            out.notes.push_back(fmt::format("rank 0 did not take this rank's rows: {}", e.what()));
        }
        return out;
    }
    // The silence timeout counts from the last message or from now, whichever is later: another rank may still be
    // measuring a long row.
    const double start = now_s();
    for (auto& p : peers_) p.last_heard = std::max(p.last_heard, start);
    for (;;) {
        drain(sink);
        bool waiting = false;
        for (int r = 1; r < comm_.size(); ++r) {
            Peer& p = peers_[static_cast<size_t>(r)];
            if (p.lost || (p.expected >= 0 && p.received >= static_cast<size_t>(p.expected))) continue;
            if (stopping)
                lose(r, "the launcher ended the job (a rank failed or was killed; mpirun --enable-recovery keeps the "
                        "other ranks running)",
                     sink, &out);
            else if (comm_.dead_peer({r}) >= 0)
                lose(r, fmt::format("its process (pid {}) has exited", comm_.peers()[static_cast<size_t>(r)].pid), sink,
                     &out);
            else if (now_s() - p.last_heard > comm_.timeout())
                lose(r, fmt::format("no message for {:.0f} s", comm_.timeout()), sink, &out);
            else
                waiting = true;
        }
        if (!waiting) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return out;
}

}  // namespace versus::core
