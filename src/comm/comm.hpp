// comm: the ranks of one job, when a launcher (mpirun, srun) started this process as one of them. The MPI
// library lives in a plugin (libversus-mpi.so, comm-abi.h) loaded only then; a plain `versus` never loads it.
//
// Every operation that involves another rank is started, then polled under a deadline: a peer that died (its
// process is gone, checked directly for ranks on this host) or that stays silent past the timeout becomes a
// PeerLost exception, never a hang. After one, the group is `broken()`: further operations fail at once and
// the library is not finalised (its closing handshake could wait for the lost rank). Messages between the ranks
// that are still there keep flowing, so that rank 0 can still gather their results.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/comm-abi.h"

namespace versus::comm {

class CommError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// A rank stopped answering (died, was killed, or hung) or the group was broken before.
class PeerLost : public CommError {
public:
    using CommError::CommError;
};

// The launcher variable that marks this process as a rank ("OMPI_COMM_WORLD_SIZE=2"), or "" when there is none.
// Open MPI (OMPI_COMM_WORLD_SIZE), MPICH/Hydra and Intel MPI (PMI_SIZE), PMIx launchers (PMIX_RANK), MVAPICH.
std::string launcher_marker();

struct Identity {
    int rank = 0, size = 1;
    int local_rank = 0, local_size = 1;  // among the ranks on this host
    std::string host;                    // the library's processor name
    std::string library;                 // "Open MPI v4.1.4, package: ..."
};

// What a rank knows of a peer, exchanged when the group forms.
struct Peer {
    long pid = 0;
    bool same_host = false;  // same host, boot and PID namespace: its pid can be checked directly
};

class Comm {
public:
    // Loads libversus-mpi.so (next to the binary, ../lib/versus, or VERSUS_PLUGIN_DIR) and initialises the
    // library. nullptr with *why when it cannot.
    static std::unique_ptr<Comm> load(std::string* why);
    // Wraps an initialised table (tests give their own); takes ownership of table.ctx and dl_handle.
    Comm(const versus_comm_i& table, void* dl_handle);
    ~Comm();
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    const Identity& id() const { return id_; }
    int rank() const { return id_.rank; }
    int size() const { return id_.size; }
    const std::vector<Peer>& peers() const { return peers_; }

    // How long one operation may wait for other ranks before they count as lost (seconds).
    void set_timeout(double seconds) { timeout_s_ = seconds; }
    double timeout() const { return timeout_s_; }
    // A flag (the runner's interrupt flag) that ends every wait at once with PeerLost("interrupted").
    void set_stop_flag(const std::atomic<bool>* flag) { stop_ = flag; }
    bool broken() const { return broken_; }
    const std::string& broken_reason() const { return broken_reason_; }

    // Starts a collective and waits for it (timeout_s <= 0: the group's timeout). Throws PeerLost or CommError.
    void collective(const versus_coll_args& a, double timeout_s = 0);
    void barrier(double timeout_s = 0);
    // Sums / maxima of one value over the ranks, every rank getting the result.
    double sum(double v, double timeout_s = 0);
    double max(double v, double timeout_s = 0);

    // A started send; its buffer is owned here until done. wait_sends() completes them all.
    void send(int dest, int tag, std::string bytes);
    // Completes what send() started (sends to lost ranks are abandoned); throws PeerLost if `dest` stays silent.
    void wait_sends(double timeout_s = 0);
    // A waiting message with `tag` (from -1: any rank): true and fills *from / *bytes, without blocking.
    bool try_recv(int source, int tag, int* from, std::string* bytes);
    // The next message with `tag` from `source`, waiting for it; throws PeerLost when the source's process is gone or
    // it stays silent past the timeout (<= 0: the group's).
    std::string recv_wait(int source, int tag, double timeout_s = 0);
    // Marks the group broken (after a lost rank seen elsewhere): collectives fail at once, messages still flow.
    void mark_broken(const std::string& why);
    // The first of `ranks` whose process is known to be gone (-1: none known).
    int dead_peer(const std::vector<int>& ranks) const;

private:
    void wait(void* req, double timeout_s, const std::string& what, const std::vector<int>& watch);
    void start_check();
    void exchange_peers();
    [[noreturn]] void lose(const std::string& why);

    versus_comm_i t_;
    void* dl_handle_;
    Identity id_;
    std::vector<Peer> peers_;
    double timeout_s_ = 300;
    const std::atomic<bool>* stop_ = nullptr;
    bool broken_ = false;
    std::string broken_reason_;
    bool oversubscribed_ = false;
    struct Pending {
        int dest;
        void* req;
        std::unique_ptr<std::string> buf;
    };
    std::vector<Pending> sends_;
};

// "coll" kinds by name, for parameters and messages: "all_reduce", "all_gather", "reduce_scatter", "broadcast",
// "all_to_all", "send_recv".
const char* coll_kind_name(versus_coll_kind k);
bool coll_kind_from_name(const std::string& name, versus_coll_kind* out);

}  // namespace versus::comm
