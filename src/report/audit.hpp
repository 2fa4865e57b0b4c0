// audit: the claims audit. Each claim of the Apple Silicon vs CUDA comparison (data/claims/claims.csv,
// compiled in) is tested against what versus knows — measured records from the results store, the
// predictor, the spec database — and gets a verdict with its numbers and reasoning in one line.
// How claims are encoded and verdicts decided: docs/audit.md. Parsing: audit-claims.cpp; the evaluators
// (a table from the `test` column to a function): audit-evaluate*.cpp; outputs: audit-render.cpp.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.hpp"
#include "predict/specs.hpp"

namespace versus::report {

enum class Verdict { CONSISTENT, OPTIMISTIC, PESSIMISTIC, QUALITATIVE, NOT_TESTABLE };
// "consistent", "optimistic", "pessimistic", "qualitative", "not testable here".
const char* verdict_name(Verdict v);

// A claimed figure may be compared only this far apart from the evidence and still be consistent:
// the evidence range is widened by this share on each side.
inline constexpr double AUDIT_TOLERANCE = 0.15;

// One row of data/claims/claims.csv; column meanings in docs/audit.md.
struct Claim {
    std::string id, text, dimension;
    std::string kind;  // range, fact, qualitative, measurement
    std::string test;  // the evaluator: spec-max, spec-span, llm-decode, llm-power, train-epoch, train-ratio,
                       // transfer, offload, figures
    std::string quantity;
    std::string platforms;  // ';'-separated: id[@GB][:low[-high]] or vendor=NAME
    std::optional<double> low, high;  // the claimed range; high empty = open-ended
    std::string unit;
    bool higher_better = true;  // which way a figure favours the platform it describes
    std::string model;
    std::vector<std::string> types, datasets;
    std::vector<std::pair<std::string, std::string>> params;
    std::string note;
    int line = 0;
    std::string param(std::string_view key, std::string fallback = {}) const;
};

// Parses the claims table; `place` names it in errors (std::logic_error "place:line: what", since the
// table is compiled in and a bad row is a bug in the data).
std::vector<Claim> parse_claims(std::string_view csv, const std::string& place);
// The compiled-in table, parsed once.
const std::vector<Claim>& builtin_claims();

// What a figure rests on, strongest first: a record of this machine, a record of the results given
// (another machine, or no way to tell), the predictor (with its range), the spec database.
enum class EvidenceKind { MEASURED_HERE, MEASURED_GIVEN, PREDICTED, SPEC };
// "measured here", "measured in the given results", "predicted (with range)", "spec".
const char* evidence_kind_name(EvidenceKind k);

// One figure the verdict rests on.
struct Evidence {
    std::string what;  // "m4-max-40c memory bandwidth", "llama-7b q4_0 decode on m3-max-40c"
    double value = 0, low = 0, high = 0;
    std::string unit;
    std::string source;  // "measured here", "measured in the given results", "predicted" or "spec"
    EvidenceKind kind = EvidenceKind::SPEC;
};

struct AuditRow {
    std::string id, claim, dimension;
    Verdict verdict = Verdict::NOT_TESTABLE;
    std::string reasoning;  // one line: the numbers and why
    std::vector<Evidence> evidence;
    // The kinds of evidence the verdict used, strongest first, without repeats; empty: none.
    std::vector<EvidenceKind> kinds() const;
};
// "measured in the given results + predicted (with range)", or "none".
std::string evidence_kinds_text(const AuditRow& r);

// This machine as the probe sees it: whether it is a container or a VM, and which GPUs it can see.
struct HostFindings {
    std::string host, os;
    bool container = false, vm = false;
    std::string container_kind, vm_kind;  // "" = unknown
    std::vector<std::string> container_markers;
    std::vector<std::string> gpu_nodes;  // device nodes: "/dev/nvidia0"
    std::string gpu_statement;           // the probe's sentence on GPU visibility
};

}  // namespace versus::report
namespace versus::system {
struct SystemInfo;
}  // namespace versus::system
namespace versus::report {
// The findings of the probe's result that the audit reads.
HostFindings host_findings(const system::SystemInfo& sys);

struct AuditInput {
    // Records of the results store; null when there is none (then claims needing a measurement are
    // not testable, and the lines say why).
    const std::vector<core::Record>* records = nullptr;
    std::string store;  // its path, for the reasoning lines
    // This machine, when the audit runs on it: records with its host name are "measured here", and the
    // container claim reads its findings. Null: every record is "measured in the given results".
    const HostFindings* here = nullptr;
};

AuditRow audit_claim(const Claim& c, const AuditInput& in);
std::vector<AuditRow> audit_claims(const std::vector<Claim>& claims, const AuditInput& in);

// Outputs: an aligned table (claims shortened to fit a terminal) or Markdown, both with a summary line;
// JSON is an array with one object per claim.
std::string audit_table(const std::vector<AuditRow>& rows, bool markdown);
nlohmann::ordered_json audit_json(const std::vector<AuditRow>& rows);

struct Table;  // report/compare.hpp
// The audit as a table of the comparison and the HTML report (id "audit-claims").
Table audit_report_table(const std::vector<AuditRow>& rows);
// Every built-in claim audited against `records`; `store` names them in the lines ("the compared files").
Table audit_report_table(const std::vector<core::Record>& records, const std::string& store);

namespace detail {
using EmbeddedFile = predict::detail::EmbeddedFile;
// data/claims/claims.csv, compiled in (generated embedded-claims.cpp).
std::span<const EmbeddedFile> embedded_claim_files();
}  // namespace detail

}  // namespace versus::report
