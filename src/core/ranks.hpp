// ranks: one run over the ranks of a job (`mpirun -np N versus run|bench ...`). Every rank plans and measures its own
// rows on its own share of its host; rank 0 alone writes. Before anything runs, rank 0's run id and start time go
// to every rank (one history run), the rows every rank must run together (collectives) are cut to those all of them
// plan, and each rank sends rank 0 the head of every row it will produce. Then each rank sends rank 0 its records
// as they complete, and rank 0 puts them in its results file beside its own. At the end rank 0 waits for every
// rank's rows; a rank whose process is gone, or that stays silent past the timeout, is lost: its rows that never
// came are written as `error` rows with the reason, and the others are kept.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "comm/comm.hpp"
#include "core/context.hpp"
#include "core/record.hpp"
#include "core/runner.hpp"

namespace versus::core {

// How long a rank waits for another before counting it lost (`--rank-timeout`): long enough for the slowest row
// another rank measures before it reaches a collective. Ranks on the same host are watched directly and lost at once.
inline constexpr double DEFAULT_RANK_TIMEOUT_S = 600;

// The CPU threads a rank uses by default: the cores the launcher bound it to (Open MPI binds each of up to two
// ranks to a core), or, unbound (`available` is every hardware thread), an equal share among the host's ranks.
int rank_threads(int available, int hardware_threads, const comm::Identity& id);
// Whether this rank measures device `device` of a backend: a host device always (its share of the cores), a GPU
// when it is this rank's, one GPU per rank among the ranks of the host (device % local_size == local_rank).
bool rank_owns_device(const versus_device_info& info, int device, const comm::Identity& id);

class RankRun {
public:
    // Takes rank 0's run id and time into ctx (and the rank fields every record carries).
    RankRun(comm::Comm& c, Context& ctx);

    bool leader() const { return comm_.rank() == 0; }
    comm::Comm& comm() { return comm_; }

    // Cuts the lockstep jobs (Workload::lockstep) to those every rank planned, the others becoming skipped rows in
    // `pre`, and sends rank 0 this rank's plan: the heads of `pre` and of the jobs, in the order they will come.
    // Returns the jobs to run. Rank 0 receives every rank's plan here. Throws comm::PeerLost when a rank is lost
    // before the run starts.
    std::vector<Job> agree(std::vector<Job> jobs, std::vector<Record>& pre);

    // A finished row: on rank 0 it goes to `sink` (with whatever the other ranks sent meanwhile); elsewhere to
    // rank 0.
    void publish(const Record& r, const std::function<void(const Record&)>& sink);

    struct Outcome {
        int lost_ranks = 0;
        int lost_rows = 0;  // rows of lost ranks written as `error`
        std::vector<std::string> notes;  // one line per lost rank
    };
    // The end of the run. Elsewhere: tells rank 0 how many rows were sent and waits for them to leave. On rank 0:
    // gathers every rank's rows, writing a lost rank's missing rows as `error` rows; `stopping` (the launcher is
    // ending the job) takes what has arrived and loses the rest at once.
    Outcome finish(const std::function<void(const Record&)>& sink, bool stopping);

private:
    struct Peer {
        std::vector<Record> plan;  // heads of every row, in order
        size_t received = 0;
        long expected = -1;  // rows it says it sent (its done message), -1 before
        double last_heard = 0;
        bool lost = false;
    };
    void drain(const std::function<void(const Record&)>& sink);
    void lose(int rank, const std::string& why, const std::function<void(const Record&)>& sink, Outcome* out);

    comm::Comm& comm_;
    const Context& ctx_;
    std::vector<Peer> peers_;  // rank 0 only
    size_t sent_ = 0;
};

}  // namespace versus::core
