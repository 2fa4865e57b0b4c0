// Data-parallel training over MPI, run by tests/mpi-data-parallel.sh under mpirun: every rank steps the `tiny` GPT
// on its micro-batch with the gradients summed through the comm layer (the MPI plugin's in-place all-reduce); each
// rank's weights must equal every other rank's bit for bit (an all-gather of their fingerprints) and stay within
// data-parallel-check.hpp's tolerance of one process stepping on the concatenated batch (computed on each rank).
// Prints one line per rank; exits 0 when all hold, 1 otherwise, 2 when the job cannot start.
#include <cmath>
#include <cstdio>
#include <string>

#include "comm/comm.hpp"
#include "data-parallel-check.hpp"

using namespace versus;

int main() {
    std::string why;
    auto c = comm::Comm::load(&why);
    if (!c) {
        std::fprintf(stderr, "mpi-data-parallel: %s\n", why.c_str());
        return 2;
    }
    c->set_timeout(60);
    const auto sum = workloads::comm_rank_sum(*c, 60);
    std::vector<double> losses, ref_losses;
    const std::vector<float> w = dptest::rank_weights(*sum, &losses);
    const std::vector<float> ref = dptest::reference_weights(c->size(), &ref_losses);
    const double err = dptest::max_error_lr(w, ref);
    bool ok = err < dptest::TOLERANCE_LR;
    for (size_t s = 0; s < losses.size(); ++s) ok = ok && std::fabs(losses[s] - ref_losses[s]) <= 1e-5 * ref_losses[s];
    int differs = -1;
    const bool same = workloads::same_on_every_rank(
        *c, workloads::weights_fingerprint(w.data(), static_cast<int64_t>(w.size())), 60, &differs);
    std::printf(
        "rank %d of %d: %s; weights %s every rank's; %.3g lr from one process on the whole batch (limit %.0e); "
        "loss %.6f -> %.6f (one process %.6f -> %.6f)\n",
        c->rank(), c->size(), ok && same ? "ok" : "FAILED", same ? "bit-identical to" : "differ from", err,
        dptest::TOLERANCE_LR, losses.front(), losses.back(), ref_losses.front(), ref_losses.back());
    return ok && same ? 0 : 1;
}
