// The binary as a user meets it: exit codes, one-line errors with hints, probe speed and fields,
// a bench run end to end into a results file.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <csignal>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "cli/guard.hpp"
#include "core/results-file.hpp"
#include "llm/gguf.hpp"
#include "predict/specs.hpp"

namespace {

struct Result {
    int code;
    std::string out, err;
};

// Runs versus with args through the shell; stdout and stderr captured separately.
Result run_versus(const std::string& args) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto out = dir / "out", err = dir / "err";
    const std::string cmd = std::string(VERSUS_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    auto slurp = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

std::string tmpfile(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

}  // namespace

TEST(Cli, UsageErrorsExitTwoWithHint) {
    const std::array<std::string, 9> bad = {
        "bench nosuch",
        "bench gemm --size 0",
        "bench gemm --size -5",
        "bench gemm --size 8-1",
        "bench membw --size 1M-1G*1",
        "bench gemm --dtype f33",
        "run --bogus",
        "bench gemm -o xml",
        "bench gemm --backend tpu",
    };
    for (const auto& args : bad) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
        EXPECT_TRUE(r.out.empty()) << args;
    }
}

TEST(Cli, InputThatIsNotAFileExitsTwoWithOneLine) {
    // A directory where a results file is expected used to end in std::terminate (exit 134).
    const std::string dir = std::filesystem::path(tmpfile("x")).parent_path().string();
    for (const std::string& args : {"compare " + dir, "audit --results " + dir, "history --db " + tmpfile("h.db") + " --import " + dir}) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("[" + dir + "]"), std::string::npos) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    }
}

TEST(Cli, EveryFailureIsOneLineAndADocumentedCode) {
    // What a command throws decides the code; nothing escapes to std::terminate.
    auto code = [](auto fail) { return versus::cli::run_guarded([&]() -> int { fail(); return 0; }); };
    EXPECT_EQ(code([] { throw versus::UsageError("x", "bad", "fix it"); }), 2);
    EXPECT_EQ(code([] {
                  throw std::filesystem::filesystem_error("cannot", "/no/such",
                                                          std::make_error_code(std::errc::permission_denied));
              }),
              2);
    EXPECT_EQ(code([] { throw std::runtime_error("sqlite said no\nsecond line"); }), 1);
    EXPECT_EQ(code([] { throw std::bad_alloc(); }), 1);
    EXPECT_EQ(code([] { throw 42; }), 1);
    EXPECT_EQ(versus::cli::run_guarded([] { return 130; }), 130);
    EXPECT_EQ(versus::cli::one_line("a\nb\r\n"), "a; b");
}

TEST(Cli, SizeThatCannotFitIsRefusedBeforeAllocating) {
    auto r = run_versus("bench gemm --dtype f32 --size 65536 -r 1");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("needs"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("available"), std::string::npos) << r.err;
}

TEST(Cli, UnwritableOutputPathIsUsageError) {
    auto r = run_versus("run --out /proc/versus/results.jsonl -q");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("/proc/versus/results.jsonl"), std::string::npos);
}

TEST(Cli, ProbeJsonHasTheFieldsAndIsFast) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_versus("probe -o json");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    for (const char* k : {"system", "backends", "power_meters", "probe_ms"}) EXPECT_TRUE(j.contains(k)) << k;
    bool cpu = false, cuda = false;
    for (const auto& b : j["backends"]) {
        if (b["name"] == "cpu") cpu = b["available"] == true && b["devices"].size() == 1;
        if (b["name"] == "cuda") cuda = true;
    }
    EXPECT_TRUE(cpu);
    EXPECT_TRUE(cuda);  // listed, available or with its reason
    EXPECT_LT(j["probe_ms"].get<double>(), 200.0);
    // The whole process, start-up included; generous for sanitizer builds and a noisy VM.
    EXPECT_LT(ms, 2000.0);
    EXPECT_EQ(run_versus("probe").code, 0);
}

TEST(Cli, BenchWritesResultsAndPrintsEveryFormat) {
    const std::string out = tmpfile("bench.jsonl");
    std::filesystem::remove(out);
    auto r = run_versus("bench gemm --dtype f32,bf16 --size 64 -r 2 -t 1 -o jsonl -q --out " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    auto stored = versus::core::read_results(out);
    ASSERT_EQ(stored.records.size(), 2u);
    EXPECT_TRUE(stored.problems.empty());
    EXPECT_EQ(stored.records[1].str("dtype"), "bf16");
    for (const char* f : {"table", "md", "csv", "json", "sql"}) {
        auto rf = run_versus(std::string("bench latency --op dispatch -r 2 -q -o ") + f);
        EXPECT_EQ(rf.code, 0) << f << rf.err;
        EXPECT_FALSE(rf.out.empty()) << f;
    }
}

TEST(Cli, UnavailableBackendIsASkippedRowNotAFailure) {
    auto r = run_versus("bench latency --op dispatch -r 2 -q -o jsonl --backend cuda,cpu");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"backend\":\"cuda\""), std::string::npos);
    EXPECT_NE(r.out.find("\"status\":\"skipped\""), std::string::npos);
}

TEST(Cli, DataParallelWithoutRanksIsASkippedRow) {
    // Alone (no launcher), --data-parallel says what it needs; the plain step still runs beside it.
    auto r = run_versus("bench train-gpt --model tiny --batch 1 --seq 8 -t 1 -r 1 -q -o jsonl --data-parallel");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"status\":\"skipped\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mpirun -np 2"), std::string::npos) << r.out;
    r = run_versus("bench train-gpt --model tiny --batch 1 --seq 8 -t 1 -r 1 -q -o jsonl --data-parallel off,on");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"data_parallel\":\"off\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"status\":\"ok\""), std::string::npos) << r.out;
    EXPECT_EQ(run_versus("bench train-gpt --model tiny --data-parallel maybe -q").code, 2);
}

TEST(Cli, InterruptKeepsCompletedRowsAndMarksTheRun) {
    const std::string out = tmpfile("interrupted.jsonl");
    std::filesystem::remove(out);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::freopen("/dev/null", "w", stdout);
        std::freopen("/dev/null", "w", stderr);
        execl(VERSUS_BINARY, VERSUS_BINARY, "bench", "latency", "--op", "dispatch,roundtrip", "-t", "1,1,1,1,1,1,1,1",
              "--time", "0.5", "-q", "-o", "jsonl", "--out", out.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    // Wait for at least one completed row, then Ctrl-C.
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (std::filesystem::exists(out) && std::filesystem::file_size(out) > 0) break;
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
    auto stored = versus::core::read_results(out);
    EXPECT_TRUE(stored.problems.empty());
    ASSERT_GE(stored.records.size(), 2u);
    EXPECT_EQ(stored.records.front().str("status"), "ok");
    EXPECT_EQ(stored.records.back().str("status"), "interrupted");
}

TEST(CliLlm, BenchGenerateCreateInfo) {
    auto bench = run_versus("bench llm --model tiny --type q8_0 -p 16 -n 4 -t 1 -r 2 -q -o jsonl");
    ASSERT_EQ(bench.code, 0) << bench.err;
    EXPECT_NE(bench.out.find("\"phase\":\"prefill\""), std::string::npos);
    EXPECT_NE(bench.out.find("\"phase\":\"decode\""), std::string::npos);
    EXPECT_NE(bench.out.find("\"mbu_pct\""), std::string::npos);

    const std::string file = tmpfile("tiny.gguf");
    ASSERT_EQ(run_versus("model create --preset tiny --type q4_k --seed 2 -o " + file).code, 0);
    auto info = run_versus("model info -o json " + file);
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_EQ(nlohmann::json::parse(info.out)["n_layer"], 2);

    auto gen = run_versus("generate --gguf " + file + " --tokens 1,5,9 -n 6 -t 2 -o json");
    ASSERT_EQ(gen.code, 0) << gen.err;
    auto j = nlohmann::json::parse(gen.out);
    EXPECT_EQ(j["tokens"].size(), 6u);
    EXPECT_EQ(j["steps"][0]["top5"].size(), 5u);
    // The same ids from the preset in memory: the file and the preset are the same model.
    auto mem = run_versus("generate --model tiny --type q4_k --seed 2 --tokens 1,5,9 -n 6 -t 1 -o json");
    ASSERT_EQ(mem.code, 0) << mem.err;
    EXPECT_EQ(nlohmann::json::parse(mem.out)["tokens"], j["tokens"]);

    auto on_file = run_versus("bench llm --gguf " + file + " -p 8 -n 2 -t 1 -r 1 -q -o jsonl");
    EXPECT_EQ(on_file.code, 0) << on_file.err;
}

TEST(CliLlm, BadInputExitsTwo) {
    const std::string junk = tmpfile("junk.gguf");
    std::ofstream(junk) << "this is not a model";
    for (const std::string& args : std::vector<std::string>{
             "generate --gguf " + junk + " --tokens 1", "generate --model tiny --tokens 1,99999 -n 2",
          "generate --model nosuch --tokens 1", "generate --model tiny --type q5_0 --tokens 1",
          "bench llm --model llama-70b --type f32 -p 8 -n 0", "model info /nonexistent.gguf",
          "generate --model tiny --tokens 1,2 -n 4 --ctx 3"}) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
    }
    auto r = run_versus("bench llm --model llama-70b --type f32 -p 8 -n 0");
    EXPECT_NE(r.err.find("weights"), std::string::npos) << r.err;
}

TEST(CliSpecs, ListShowAndErrors) {
    auto list = run_versus("specs list -o json");
    ASSERT_EQ(list.code, 0) << list.err;
    const auto j = nlohmann::json::parse(list.out);
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j.size(), versus::predict::platforms().size());
    // 29 columns + the selected memory_GB + what is read from them: pcie_gen, pcie_lanes, nvlink_GBps_bidir,
    // thin, thin_reasons, prices.
    EXPECT_EQ(j[0].size(), 36u);

    auto nvidia = run_versus("specs list --vendor nvidia -o json");
    ASSERT_EQ(nvidia.code, 0) << nvidia.err;
    for (const auto& row : nlohmann::json::parse(nvidia.out)) EXPECT_EQ(row["vendor"], "nvidia");
    auto table = run_versus("specs list --vendor cpu");
    ASSERT_EQ(table.code, 0) << table.err;
    EXPECT_NE(table.out.find("zen2-vcpu"), std::string::npos);
    EXPECT_EQ(table.out.find("rtx-4090"), std::string::npos);

    auto show = run_versus("specs show rtx-4090");
    ASSERT_EQ(show.code, 0) << show.err;
    EXPECT_NE(show.out.find("1008 GB/s"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("https://"), std::string::npos) << show.out;
    auto show_json = run_versus("specs show \"Apple M2 Ultra@128\" -o json");
    ASSERT_EQ(show_json.code, 0) << show_json.err;
    const auto one = nlohmann::json::parse(show_json.out);
    EXPECT_EQ(one["id"], "m2-ultra-76c");
    EXPECT_EQ(one["memory_GB"], 128);
    EXPECT_TRUE(one["gpu_mem_max_GB"].is_null());

    for (const std::string args : {"specs show nosuch", "specs show m2-ultra-76c@100", "specs list --vendor acme",
                                   "specs list -o sql", "specs show rtx-4090 -o md", "specs"}) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
    }
    EXPECT_NE(run_versus("specs show nosuch").err.find("did you mean"), std::string::npos);
}

TEST(CliPredict, PredictBacktestAndErrors) {
    auto p = run_versus("predict --model llama-70b --type q4_k_m --on m2-ultra-76c@192,rtx-4090,h100-sxm -o json");
    ASSERT_EQ(p.code, 0) << p.err;
    const auto j = nlohmann::json::parse(p.out);
    ASSERT_EQ(j.size(), 3u);
    EXPECT_EQ(j[0]["fits"], true);
    EXPECT_EQ(j[1]["fits_device"], false);  // ~42 GB on a 24 GB card: offloaded
    EXPECT_LT(j[1]["layers_on_device"].get<int>(), 80);
    for (const auto& row : j) {
        const auto& tg = row["decode_tokens_per_s"];
        EXPECT_LE(tg["low"].get<double>(), tg["value"].get<double>());
        EXPECT_GE(tg["high"].get<double>(), tg["value"].get<double>());
        EXPECT_FALSE(row["rests_on"].empty());
        EXPECT_FALSE(row["cost"].empty());  // a figure, or a note saying why there is none
    }
    EXPECT_EQ(j[2]["cost"][0]["basis"], "cloud");  // no list price for an H100: its cloud price
    auto table = run_versus("predict --model llama-7b --type q4_0 --on \"GeForce RTX 4090\"");
    ASSERT_EQ(table.code, 0) << table.err;
    EXPECT_NE(table.out.find("rtx-4090"), std::string::npos);

    const std::string csv = tmpfile("bt.csv");
    {
        std::ofstream f(csv);
        f << "platform,model,type,test,measured_tokens_per_s\n"
             "rtx-4090,llama-7b,q4_0,tg128,150\n"
             "rtx-4090,llama-7b,q4_0,tg128,not-a-number\n";
    }
    auto bt = run_versus("predict --backtest " + csv + " -o json");
    ASSERT_EQ(bt.code, 0) << bt.err;
    const auto b = nlohmann::json::parse(bt.out);
    ASSERT_EQ(b["rows"].size(), 2u);
    EXPECT_TRUE(b["rows"][0].contains("ape_pct"));
    EXPECT_TRUE(b["rows"][1].contains("error"));
    EXPECT_NE(bt.err.find(":3]"), std::string::npos) << bt.err;  // reported by line

    for (const std::string args : {"predict --on nosuch-gpu", "predict --on rtx-4090 --model llama-99b", "predict --on rtx-4090 --type q1_x",
                                   "predict --model llama-7b", "predict --backtest /nonexistent.csv", "predict --on rtx-4090 -p 0",
                                   "calibrate --from /nonexistent.csv", "predict --on rtx-4090 --currency EUR",
                                   "predict --on rtx-4090 --cost-basis lease"}) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
    }
    EXPECT_NE(run_versus("predict --on rtx-4009").err.find("rtx-4090"), std::string::npos);  // the closest ids
}

// Text commands: a file without a vocabulary still runs on ids; bad vocabularies, texts and prompts are
// refused with exit code 2 and the numbers.
TEST(Cli, TextCommandsRefuseBadInput) {
    const std::string tiny = tmpfile("tiny-text.gguf"), notok = tmpfile("tiny-notok.gguf"), tekken = tmpfile("tiny-tekken.gguf");
    ASSERT_EQ(run_versus("model create --preset tiny --type q8_0 -o " + tiny).code, 0);
    {
        const auto src = versus::llm::GgufFile::open(tiny);
        versus::llm::GgufWriter w, pre;
        for (const auto& kv : src.metadata()) {
            if (!kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value);
            pre.set(kv.key, kv.value);
        }
        pre.set_string("tokenizer.ggml.model", "gpt2");
        pre.set_string("tokenizer.ggml.pre", "tekken");
        pre.set_strings("tokenizer.ggml.merges", std::vector<std::string>{"a b"});
        for (const auto& t : src.tensors()) {
            std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
            std::vector<uint8_t> bytes(t.bytes().begin(), t.bytes().end());
            w.add_tensor(t.name, ne, t.type, bytes);
            pre.add_tensor(t.name, ne, t.type, std::move(bytes));
        }
        w.write(notok);
        pre.write(tekken);
    }
    auto r = run_versus("tokenize --gguf " + notok + " hello");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("tokenizer.ggml.model"), std::string::npos) << r.err;
    EXPECT_EQ(run_versus("generate --gguf " + notok + " --tokens 1,5,9 -n 2 -t 1").code, 0);  // ids still work
    EXPECT_EQ(run_versus("generate --gguf " + notok + " --prompt hello -n 2 -t 1").code, 2);
    r = run_versus("tokenize --gguf " + tekken + " hello");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("llama-bpe"), std::string::npos) << r.err;  // the supported ones are listed
    // A prompt the model's context (256 for tiny) cannot hold.
    std::string long_prompt;
    for (int i = 0; i < 200; ++i) long_prompt += "word ";
    r = run_versus("generate --gguf " + tiny + " --prompt '" + long_prompt + "' -n 8 -t 1");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("context of 256"), std::string::npos) << r.err;
    // Text in, text out.
    r = run_versus("generate --gguf " + tiny + " --prompt 'abc def' -n 4 -t 1");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("abc def"), std::string::npos) << r.out;
    // A tokenizer.json of another model type; a text that is not UTF-8.
    const std::string json = tmpfile("unigram.json"), latin1 = tmpfile("latin1.txt");
    std::ofstream(json) << R"({"model":{"type":"Unigram","vocab":[]}})";
    std::ofstream(latin1) << "caf\xe9 au lait";
    r = run_versus("model create --preset tiny --tokenizer " + json + " -o " + tmpfile("x.gguf"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("Unigram"), std::string::npos) << r.err;
    r = run_versus("quality --gguf " + tiny + " --text " + latin1 + " -c 16 -t 1");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("not UTF-8 (byte 3"), std::string::npos) << r.err;
}

// Questions about several GPUs: all-reduce time (ring and tree), data-parallel scaling and a layer split, each
// with a range; bad multi-GPU input is a usage error.
TEST(CliPredict, SeveralGpusAnswerWithARange) {
    auto in_range = [](const nlohmann::json& e) {
        return e["low"].get<double>() <= e["value"].get<double>() && e["value"].get<double>() <= e["high"].get<double>();
    };
    auto ar = run_versus("predict --workload allreduce --on h100-sxm --gpus 16 --system dgx-h100 --size 1G -o json");
    ASSERT_EQ(ar.code, 0) << ar.err;
    const auto a = nlohmann::json::parse(ar.out);
    EXPECT_EQ(a[0]["nodes"], 2);
    EXPECT_TRUE(in_range(a[0]["ring_s"]) && in_range(a[0]["tree_s"]) && in_range(a[0]["busbw_GBps"]));
    auto dp = run_versus("predict --workload train-gpt --model gpt2-350m --on h100-sxm --gpus 8 -o json");
    ASSERT_EQ(dp.code, 0) << dp.err;
    const auto d = nlohmann::json::parse(dp.out);
    EXPECT_TRUE(in_range(d[0]["scaling_efficiency"]));
    EXPECT_LE(d[0]["scaling_efficiency"]["high"].get<double>(), 1.0);
    auto sp = run_versus("predict --model llama3-70b --type q4_k_m --on rtx-3090 --gpus 2 -o json");
    ASSERT_EQ(sp.code, 0) << sp.err;
    const auto s = nlohmann::json::parse(sp.out);
    EXPECT_EQ(s[0]["fits"], true);  // 40 + 40 layers, where one 24 GB card cannot hold 70B
    EXPECT_TRUE(in_range(s[0]["decode_tokens_per_s"]));
    for (const std::string args : {"predict --on rtx-3090 --gpus 2 --split row", "predict --workload allreduce --on h100-sxm --size 1Q",
                                   "predict --workload allreduce --on h100-sxm --system nosuch"}) {
        auto r = run_versus(args);
        EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find("HINT"), std::string::npos) << args << "\n" << r.err;
    }
}
