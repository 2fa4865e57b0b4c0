# Sourced by the tests that run versus under mpirun, after $versus and $mpirun are set: exits 77 (skipped) without
# mpirun or the MPI plugin, and sets the environment every such job needs.
if ! command -v "$mpirun" >/dev/null 2>&1; then echo "skipped: no mpirun (scripts/setup.sh installs openmpi-bin)"; exit 77; fi
if [[ ! -e "$(dirname "$versus")/libversus-mpi.so" ]]; then echo "skipped: the MPI plugin was not built"; exit 77; fi

# Open MPI refuses root without these (its documented settings); the sanitizer build must not count the MPI
# library's own allocations at exit as our leaks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# Shared memory and the loopback only: no network interfaces probed, nothing outside this host.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
