// audit-evaluate: the evaluators behind `versus audit`. Each claim row names its evaluator in the
// `test` column; Auditor::evaluators() is the table from that name to the member function that tests it.
// The evaluators are spread over audit-evaluate*.cpp by the evidence they read (specs and the
// predictor; LLM and training rows). The public interface is report/audit.hpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/text.hpp"
#include "core/record.hpp"
#include "predict/fit.hpp"
#include "predict/roofline.hpp"
#include "predict/throughput.hpp"
#include "report/audit-claims.hpp"
#include "report/audit.hpp"

namespace versus::report::audit_detail {

using base::join;
using predict::Estimate;
using predict::format_estimate;
using predict::format_number;
using predict::Platform;

// How a claimed range compares with the evidence. `off` is how far apart they are, as a factor >= 1.
struct Judgement {
    Verdict v = Verdict::CONSISTENT;
    double off = 1;
};

Judgement judge(double clo, double chi, double elo, double ehi, bool higher_better);
// Several figures of one reading of the claim: all must hold; when they miss both ways, the larger miss wins.
Judgement combine(const std::vector<Judgement>& js);

// A claim that leaves something open (the format, the data set) is read every way the row lists: it is
// consistent if one reading is, or if the readings miss on both sides (one in between would fit).
struct Reading {
    std::string name;
    Judgement j;
};
std::pair<Verdict, std::string> combine_readings(const std::vector<Reading>& rs);

// "30-40", "450", "more than 300", "under 5".
std::string claimed(double lo, double hi);
// A measured point prints as one number, an estimate with its range.
std::string estimate_text(const predict::Estimate& e);
std::string range_text(double lo, double hi);
std::string gb(double bytes);
std::string layers_text(const predict::MemoryPlan& m);
// Names of the spec quantities in the lines.
std::string quantity_name(const std::string& q);

using Outcome = std::pair<Verdict, std::string>;  // the verdict and its line

// Evidence sources of measured figures.
inline constexpr const char* MEASURED_HERE = "measured here";
inline constexpr const char* MEASURED_GIVEN = "measured in the given results";

class Auditor {
public:
    explicit Auditor(const AuditInput& in) : in_(in) {}
    AuditRow run(const Claim& c);

    using Evaluator = Outcome (Auditor::*)(const Claim&);
    // The `test` column's names and the member that tests each.
    static const std::map<std::string, Evaluator, std::less<>>& evaluators();

private:
    const AuditInput& in_;
    std::vector<Evidence>* ev_ = nullptr;
    std::map<std::pair<std::string, std::string>, std::string> device_ids_;  // (backend, device) -> platform id

    void evidence(std::string what, const predict::Estimate& e, std::string unit, std::string source);
    // The platform a measured record ran on, "" when the spec database does not know it.
    std::string platform_id(const core::Record& r);
    // Completed rows of `workload` measured on platform `id`.
    std::vector<const core::Record*> measured(const std::string& workload, const std::string& id);
    std::string no_measurement_reason() const;
    std::optional<predict::Estimate> spec_figure(const predict::Platform& p, const std::string& q, std::string* source);
    struct Measured {
        double value = 0;
        std::string from, source;  // "DEVICE OP"; MEASURED_HERE or MEASURED_GIVEN
    };
    std::optional<Measured> measured_figure(const predict::Platform& p, const std::string& q);
    // MEASURED_HERE for a record of this machine, else MEASURED_GIVEN.
    std::string source_of(const core::Record& r) const;
    struct Speed {
        Estimate e;
        std::string source, text;  // evidence source; "measured 812 img/s (MFU 41%)" or "predicted 300 (200-400)"
    };
    Speed training_speed(const Target& t, const predict::DataSet& d);
    std::string missing_training(const std::vector<Target>& targets, const std::vector<std::string>& datasets);
    predict::LlmQuery query(const std::string& model, const std::string& type);
    std::optional<std::pair<predict::Estimate, std::string>> decode_speed(const Target& t, const std::string& model,
                                                                          const std::string& type);

    // Evaluators (audit-evaluate.cpp).
    Outcome spec(const Claim& c);
    Outcome transfer(const Claim& c);
    Outcome offload(const Claim& c);
    Outcome figures(const Claim& c);
    // Evaluators on LLM and training rows (audit-evaluate-llm.cpp).
    Outcome llm_decode(const Claim& c);
    Outcome llm_power(const Claim& c);
    Outcome train_epoch(const Claim& c);
    Outcome train_ratio(const Claim& c);
    // Evaluators on what this machine and the records say beyond the spec and the predictor
    // (audit-evaluate-measured.cpp).
    Outcome containers(const Claim& c);
    Outcome attention(const Claim& c);
    Outcome quality(const Claim& c);
    // Measured --gpu-layers sweeps: one phrase per sweep, a judgement each on `js` (offloaded slower).
    std::vector<std::string> offload_sweeps(std::vector<Judgement>* js);
};

}  // namespace versus::report::audit_detail
