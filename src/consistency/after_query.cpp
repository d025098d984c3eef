#include "consistency/after_query.hpp"

#include <charconv>

#include "core/text.hpp"
#include "core/topic_name.hpp"
#include "http/percent.hpp"

namespace prom::consistency {

result<std::vector<after_position>> parse_after_list(std::string_view text, bool header_list) {
    std::vector<after_position> out;
    if (trim_ows(text).empty()) {
        return fail(errc::invalid_argument, "after must be TOPIC:SEQ[,TOPIC:SEQ…]; it is empty");
    }
    while (true) {
        auto comma = text.find(',');
        std::string_view item = trim_ows(text.substr(0, comma));
        if (item.empty() && header_list) {
            if (comma == std::string_view::npos) break;
            text = text.substr(comma + 1);
            continue;
        }
        auto colon = item.rfind(':');
        if (colon == std::string_view::npos || colon == 0) {
            return fail(errc::invalid_argument,
                        "after: '" + std::string(item) + "' is not TOPIC:SEQ");
        }
        std::string_view topic = item.substr(0, colon);
        // A position in a topic that cannot exist could only ever wait in vain (422).
        if (auto why = topic_name_problem(topic)) {
            return fail(errc::invalid_argument, "after: " + *why);
        }
        std::string_view seq_text = item.substr(colon + 1);
        seq_t seq{};
        if (!all_digits(seq_text)) {
            return fail(errc::invalid_argument, "after: the seq of '" + std::string(item) +
                                                    "' must be a non-negative decimal integer");
        }
        auto [end, ec] =
            std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), seq.value);
        if (ec != std::errc() || end != seq_text.data() + seq_text.size()) {
            return fail(errc::invalid_argument,
                        "after: the seq of '" + std::string(item) + "' is too large");
        }
        out.push_back({std::string(topic), seq});
        if (out.size() > max_after_positions) {
            return fail(errc::invalid_argument, "after: at most 64 TOPIC:SEQ positions");
        }
        if (comma == std::string_view::npos) break;
        text = text.substr(comma + 1);
    }
    return out;
}

result<std::chrono::seconds> parse_wait_seconds(std::string_view text) {
    int n = -1;
    if (all_digits(text) && text.size() <= 3) {
        std::from_chars(text.data(), text.data() + text.size(), n);
    }
    if (n < 0 || n > max_wait.count()) {
        return fail(errc::invalid_argument,
                    "wait must be whole seconds from 0 to 60, not '" + std::string(text) + "'");
    }
    return std::chrono::seconds(n);
}

bool mentions_consistency(std::string_view q, std::optional<std::string_view> prom_after) {
    if (prom_after) return true;
    // Each parameter's name, also without a value (`?after`) or percent-encoded (`%61fter=`):
    // parse_consistency_params refuses those, which it can only do when asked (found from
    // outside: `?after` answered at once).
    while (!q.empty()) {
        const auto amp = q.find('&');
        const std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        const std::string_view raw = item.substr(0, item.find('='));
        const bool encoded = raw.find_first_of("%+") != std::string_view::npos;
        const std::string decoded = encoded ? http::decode_query_component(raw) : std::string();
        const std::string_view name = encoded ? std::string_view(decoded) : raw;
        if (name == "after" || name == "wait" || name == "wait_for") return true;
    }
    return false;
}

result<consistency_params> parse_consistency_params(std::string_view q,
                                                    std::optional<std::string_view> prom_after) {
    consistency_params out;
    bool seen_after = false, seen_wait = false;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view param = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        auto eq = param.find('=');
        std::string name = http::decode_query_component(param.substr(0, eq));
        if (name != "after" && name != "wait" && name != "wait_for") continue;
        std::string value = eq == std::string_view::npos
                                ? std::string()
                                : http::decode_query_component(param.substr(eq + 1));
        if (name == "after") {
            if (seen_after) return fail(errc::invalid_argument, "'after' given twice");
            seen_after = true;
            auto list = parse_after_list(value);
            if (!list) return std::unexpected(list.error());
            out.after = std::move(*list);
        } else if (name == "wait") {
            if (seen_wait) return fail(errc::invalid_argument, "'wait' given twice");
            seen_wait = true;
            auto w = parse_wait_seconds(value);
            if (!w) return std::unexpected(w.error());
            out.wait = *w;
        } else {
            if (out.wait_for) return fail(errc::invalid_argument, "'wait_for' given twice");
            if (value.empty()) return fail(errc::invalid_argument, "wait_for names a collection");
            out.wait_for = std::move(value);
        }
    }
    if (prom_after) {
        auto list = parse_after_list(*prom_after, true);
        if (!list) {
            return fail(errc::invalid_argument, "Prom-After: " + list.error().message);
        }
        out.after.insert(out.after.end(), list->begin(), list->end());
        if (out.after.size() > max_after_positions) {
            return fail(errc::invalid_argument, "after: at most 64 TOPIC:SEQ positions");
        }
    }
    return out;
}

}  // namespace prom::consistency
