#include "report/audit.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "base/text.hpp"
#include "core/printers.hpp"
#include "report/audit-evaluate.hpp"
#include "report/compare.hpp"

namespace versus::report {

using base::join;

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::CONSISTENT: return "consistent";
        case Verdict::OPTIMISTIC: return "optimistic";
        case Verdict::PESSIMISTIC: return "pessimistic";
        case Verdict::QUALITATIVE: return "qualitative";
        case Verdict::NOT_TESTABLE: return "not testable here";
    }
    return "?";
}

const char* evidence_kind_name(EvidenceKind k) {
    switch (k) {
        case EvidenceKind::MEASURED_HERE: return "measured here";
        case EvidenceKind::MEASURED_GIVEN: return "measured in the given results";
        case EvidenceKind::PREDICTED: return "predicted (with range)";
        case EvidenceKind::SPEC: return "spec";
    }
    return "?";
}

std::vector<EvidenceKind> AuditRow::kinds() const {
    std::vector<EvidenceKind> out;
    for (const auto& e : evidence)
        if (std::find(out.begin(), out.end(), e.kind) == out.end()) out.push_back(e.kind);
    std::sort(out.begin(), out.end());
    return out;
}

std::string evidence_kinds_text(const AuditRow& r) {
    std::vector<std::string> names;
    for (const auto k : r.kinds()) names.emplace_back(evidence_kind_name(k));
    return names.empty() ? "none" : join(names, " + ");
}

AuditRow audit_claim(const Claim& c, const AuditInput& in) { return audit_detail::Auditor(in).run(c); }

std::vector<AuditRow> audit_claims(const std::vector<Claim>& claims, const AuditInput& in) {
    audit_detail::Auditor a(in);  // one device-name cache for the whole table
    std::vector<AuditRow> out;
    for (const auto& c : claims) out.push_back(a.run(c));
    return out;
}

std::string audit_table(const std::vector<AuditRow>& rows, bool md) {
    // A terminal cannot show the claims and their reasoning in full side by side; Markdown can.
    constexpr size_t CLAIM_WIDTH = 48;
    std::vector<std::vector<std::string>> cells;
    std::map<Verdict, int> count;
    for (const auto& r : rows) {
        std::string claim = r.claim;
        if (!md && claim.size() > CLAIM_WIDTH) claim = claim.substr(0, CLAIM_WIDTH - 3) + "...";
        cells.push_back({r.id, claim, verdict_name(r.verdict), evidence_kinds_text(r), r.reasoning});
        ++count[r.verdict];
    }
    std::string out = core::render_grid({"id", "claim", "verdict", "evidence", "reasoning"}, cells,
                                        {false, false, false, false, false}, md);
    std::vector<std::string> parts;
    for (Verdict v : {Verdict::CONSISTENT, Verdict::OPTIMISTIC, Verdict::PESSIMISTIC, Verdict::QUALITATIVE, Verdict::NOT_TESTABLE})
        parts.push_back(fmt::format("{} {}", count[v], verdict_name(v)));
    out += fmt::format("\n{} claims: {}. The evidence column says what each verdict used (measured here, measured in the given results, predicted, spec or none); a claim is consistent within "
                       "+-{:.0f}% of the evidence (docs/audit.md).\n",
                       rows.size(), join(parts, ", "), AUDIT_TOLERANCE * 100);
    return out;
}

nlohmann::ordered_json audit_json(const std::vector<AuditRow>& rows) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
        nlohmann::ordered_json j;
        j["id"] = r.id;
        j["claim"] = r.claim;
        j["dimension"] = r.dimension;
        j["verdict"] = verdict_name(r.verdict);
        j["evidence_kind"] = evidence_kinds_text(r);
        j["reasoning"] = r.reasoning;
        j["evidence"] = nlohmann::ordered_json::array();
        for (const auto& e : r.evidence)
            j["evidence"].push_back({{"what", e.what}, {"value", e.value}, {"low", e.low}, {"high", e.high},
                                     {"unit", e.unit}, {"source", e.source},
                                     {"kind", evidence_kind_name(e.kind)}});
        out.push_back(j);
    }
    return out;
}

Table audit_report_table(const std::vector<AuditRow>& rows) {
    Table t;
    t.id = "audit-claims";
    t.title = "Claims against these results";
    t.header = {"claim", "dimension", "verdict", "evidence", "reasoning"};
    t.right = {false, false, false, false, false};
    for (const auto& r : rows)
        t.rows.push_back({r.id + ": " + r.claim, r.dimension, verdict_name(r.verdict), evidence_kinds_text(r), r.reasoning});
    t.notes.push_back("How claims are encoded and verdicts decided: docs/audit.md (versus audit).");
    return t;
}

Table audit_report_table(const std::vector<core::Record>& records, const std::string& store) {
    AuditInput in;
    in.records = &records;
    in.store = store;
    return audit_report_table(audit_claims(builtin_claims(), in));
}

}  // namespace versus::report
