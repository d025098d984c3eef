#include "storage/key_expectations.hpp"

#include <set>

namespace prom::storage {

bool has_expectations(const std::vector<event_input>& batch) {
    for (const auto& in : batch) {
        if (in.expect_key_seq) return true;
    }
    return false;
}

std::vector<std::pair<std::string, std::string>> expected_keys(
    const std::vector<event_input>& batch) {
    std::set<std::pair<std::string, std::string>> keys;
    for (const auto& in : batch) {
        if (in.expect_key_seq) keys.emplace(in.topic, in.key);
    }
    return {keys.begin(), keys.end()};
}

status check_key_expectations(const std::vector<event_input>& batch,
                              const std::vector<append_result>& appended, key_seqs latest_before) {
    if (appended.size() != batch.size()) {
        return fail(errc::internal, "the append answered " + std::to_string(appended.size()) +
                                        " results for " + std::to_string(batch.size()) + " events");
    }
    // Every expected key is tracked from the start, so an earlier event of the key without
    // an expectation still moves it.
    for (auto& k : expected_keys(batch)) latest_before.try_emplace(std::move(k), seq_t{});
    // What a refusal reports: the key's seq before the batch, which is still its seq when
    // nothing of the batch is appended (an earlier event's seq inside the batch is not).
    const key_seqs committed = latest_before;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const event_input& in = batch[i];
        if (appended[i].duplicate) continue;
        auto pos =
            latest_before.find(std::pair<std::string_view, std::string_view>(in.topic, in.key));
        if (in.expect_key_seq) {
            seq_t current = pos->second;
            if (current != *in.expect_key_seq) {
                const seq_t before = committed.find(pos->first)->second;
                std::string message = "key '" + in.key + "' of topic '" + in.topic +
                                      "' is at seq " + to_string(before);
                if (current != before) {
                    message += " (an earlier event of the batch would have taken it to " +
                               to_string(current) + ")";
                }
                message += ", the event expected " + to_string(*in.expect_key_seq) +
                           "; nothing was appended";
                error e{errc::conflict, std::move(message)};
                e.key_seq = before.value;
                return std::unexpected(std::move(e));
            }
        }
        if (pos != latest_before.end()) pos->second = appended[i].seq;
    }
    return {};
}

}  // namespace prom::storage
