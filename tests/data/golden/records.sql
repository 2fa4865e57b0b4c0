CREATE TABLE IF NOT EXISTS results (
  "schema_version" INTEGER,
  "run_id" TEXT,
  "time" TEXT,
  "versus_version" TEXT,
  "build_type" TEXT,
  "host" TEXT,
  "os" TEXT,
  "cpu" TEXT,
  "gpu" TEXT,
  "backend" TEXT,
  "device" TEXT,
  "memory_kind" TEXT,
  "workload" TEXT,
  "key" TEXT,
  "dtype" TEXT,
  "threads" INTEGER,
  "size" INTEGER,
  "reps" INTEGER,
  "samples_ns" TEXT,
  "median_ns" REAL,
  "mdape_pct" REAL,
  "unstable" INTEGER,
  "gflops" REAL,
  "peak_pct" REAL,
  "status" TEXT,
  "reason" TEXT,
  "checksum" TEXT,
  "op" TEXT,
  "size_bytes" INTEGER,
  "gbps" REAL
);
INSERT INTO results ("schema_version", "run_id", "time", "versus_version", "build_type", "host", "os", "cpu", "gpu", "backend", "device", "memory_kind", "workload", "key", "dtype", "threads", "size", "reps", "samples_ns", "median_ns", "mdape_pct", "unstable", "gflops", "peak_pct", "status", "reason", "checksum") VALUES (1, '20261126T000000Z-abcdef', '2026-11-26T00:00:00Z', '0.1.0', 'Release', 'box', 'Debian GNU/Linux 12', 'Test CPU', NULL, 'cpu', 'Test CPU', 'host', 'gemm', 'threads=2,dtype=f32,size=1024', 'f32', 2, 1024, 3, '[1000,1010,990]', 1000, 1, 0, 180.25, 78.5, 'ok', NULL, '1.5e+03');
INSERT INTO results ("schema_version", "run_id", "time", "versus_version", "build_type", "host", "os", "cpu", "gpu", "backend", "device", "memory_kind", "workload", "key", "dtype", "threads", "size", "reps", "samples_ns", "median_ns", "mdape_pct", "unstable", "gflops", "peak_pct", "status", "reason", "checksum") VALUES (1, '20261126T000000Z-abcdef', '2026-11-26T00:00:00Z', '0.1.0', 'Release', 'box', 'Debian GNU/Linux 12', 'Test CPU', NULL, 'cpu', 'Test CPU', 'host', 'gemm', 'threads=2,dtype=bf16,size=1024', 'bf16', 2, 1024, 3, '[1000,1010,990]', 1000, 1, 0, 301, 65, 'ok', NULL, '1.5e+03');
INSERT INTO results ("schema_version", "run_id", "time", "versus_version", "build_type", "host", "os", "cpu", "gpu", "backend", "device", "memory_kind", "workload", "key", "dtype", "threads", "size", "reps", "samples_ns", "median_ns", "mdape_pct", "unstable", "gflops", "peak_pct", "status", "reason", "checksum") VALUES (1, '20261126T000000Z-abcdef', '2026-11-26T00:00:00Z', '0.1.0', 'Release', 'box', 'Debian GNU/Linux 12', 'Test CPU', NULL, 'cpu', 'Test CPU', 'host', 'gemm', 'threads=2,dtype=fp8,size=1024', 'fp8', 2, 1024, 3, '[1000,1010,990]', 1000, 1, 0, NULL, NULL, 'skipped', 'no CPU GEMM kernel for this dtype', '1.5e+03');
INSERT INTO results ("schema_version", "run_id", "time", "versus_version", "build_type", "host", "os", "cpu", "gpu", "backend", "device", "memory_kind", "workload", "key", "dtype", "threads", "op", "size_bytes", "reps", "samples_ns", "median_ns", "mdape_pct", "unstable", "gbps", "status", "reason", "checksum") VALUES (1, '20261126T000000Z-abcdef', '2026-11-26T00:00:00Z', '0.1.0', 'Release', 'box', 'Debian GNU/Linux 12', 'Test CPU', NULL, 'cpu', 'Test CPU', 'host', 'membw', 'threads=2,op=triad,size_bytes=16384', NULL, 2, 'triad', 16384, 3, '[1000,1010,990]', 1000, 1, 0, 250.5, 'ok', NULL, '1.5e+03');
INSERT INTO results ("schema_version", "run_id", "time", "versus_version", "build_type", "host", "os", "cpu", "gpu", "backend", "device", "memory_kind", "workload", "key", "dtype", "threads", "op", "size_bytes", "reps", "samples_ns", "median_ns", "mdape_pct", "unstable", "gbps", "status", "reason", "checksum") VALUES (1, '20261126T000000Z-abcdef', '2026-11-26T00:00:00Z', '0.1.0', 'Release', 'box', 'Debian GNU/Linux 12', 'Test CPU', NULL, 'cpu', 'Test CPU', 'host', 'membw', 'threads=2,op=triad,size_bytes=268435456', NULL, 2, 'triad', 268435456, 3, '[1000,1010,990]', 1000, 1, 0, 41.75, 'ok', NULL, '1.5e+03');
