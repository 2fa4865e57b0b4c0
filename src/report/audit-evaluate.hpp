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
    std::optional<std::pair<double, std::string>> measured_figure(const predict::Platform& p, const std::string& q);
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
};

}  // namespace versus::report::audit_detail
