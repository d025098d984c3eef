#include "ops/dlq.hpp"

#include <algorithm>

#include "bus/reserved_groups.hpp"
#include "core/reserved_headers.hpp"
#include "core/topic_name.hpp"

namespace prom::ops {

namespace {

std::string header_or(const headers_map& h, std::string_view name, std::string fallback = {}) {
    auto it = h.find(std::string(name));
    return it == h.end() ? fallback : it->second;
}

// Headers the projector added when it dead-lettered the event, or a replay added to a copy:
// not part of the original event.
bool added_by_prom(std::string_view name) {
    return name == "prom-error" || name == "prom-source-topic" || name == "prom-source-seq" ||
           name == "prom-group" || name == replay_group_header || name == "prom-original-id" ||
           name == "prom-dlq-seq" || name == original_seq_header;
}

}  // namespace

bool replay_meant_for_other_group(const event& e, std::string_view group) {
    auto it = e.headers.find(std::string(replay_group_header));
    return it != e.headers.end() && it->second != group;
}

bool filed_under(std::string_view entry_group, std::string_view asked) {
    if (entry_group == asked) return true;
    return asked.starts_with(projector_group_prefix) && asked.find('@') == std::string_view::npos &&
           entry_group.size() > asked.size() + 1 && entry_group.starts_with(asked) &&
           entry_group[asked.size()] == '@';
}

std::string dead_letter_id(const event& e, std::string_view group) {
    // By seq, which no other event of the topic ever has: an id is reused once retention
    // dropped its event, and a long id's fallback could equal a short one (found from
    // outside: either way a second dead letter was a "duplicate" of the first, and lost).
    // "prom-": nobody publishing into the .dlq topic can take an entry's id first.
    constexpr std::size_t max_id_bytes = 256;  // validate_input's bound
    std::string id = "prom-dl:" + to_string(e.seq) + "@" + std::string(group);
    if (id.size() <= max_id_bytes) return id;
    std::string hashed = etag_of(group);  // quoted hex
    return "prom-dl:" + to_string(e.seq) + "@" + hashed.substr(1, hashed.size() - 2);
}

result<std::vector<dead_letter>> list_dead_letters(store& s, std::string_view topic,
                                                   std::optional<std::string_view> group,
                                                   std::size_t max, seq_t after) {
    // A name no event can have is bad input (400, exit 2), as for every reader, not a topic
    // that happens to be missing (found from outside: 404 "no topic").
    if (auto why = topic_name_problem(topic)) return fail(errc::invalid_argument, *why);
    auto t = s.topic(topic);
    if (!t) return std::unexpected(t.error());
    if (!*t) return fail(errc::not_found, "no topic '" + std::string(topic) + "'");
    if (topic.ends_with(".dlq")) {
        // The dead-letter topic itself named, not its source (found from outside: an empty
        // answer); unless it has dead letters of its own.
        auto own = s.topic(std::string(topic) + ".dlq");
        if (!own) return std::unexpected(own.error());
        if (!*own) {
            return fail(errc::invalid_argument,
                        "'" + std::string(topic) + "' is a dead-letter topic: name its source ('" +
                            std::string(topic.substr(0, topic.size() - 4)) + "')");
        }
    }
    std::vector<dead_letter> out;
    if (after.value == std::numeric_limits<std::int64_t>::max()) return out;  // none past it
    scan_query q{.topic = std::string(topic) + ".dlq", .limit = 1000};
    q.from_seq = after + 1;
    for (;;) {
        auto page = scan_fitting(s, q);
        if (!page) return std::unexpected(page.error());
        for (auto& e : *page) {
            dead_letter d;
            d.group = header_or(e.headers, "prom-group");
            if (group && !filed_under(d.group, *group)) continue;
            d.error = header_or(e.headers, "prom-error");
            d.original_id = header_or(e.headers, "prom-original-id", e.id);
            auto src = header_or(e.headers, "prom-source-seq");
            if (!src.empty()) {
                try {
                    d.source_seq = seq_t{std::stoll(src)};
                } catch (...) {
                }
            }
            d.entry = std::move(e);
            out.push_back(std::move(d));
            if (out.size() >= max) return out;
        }
        if (page->size() < *q.limit) break;
        q.from_seq = page->back().seq + 1;
    }
    if (group && out.empty() && !group->starts_with(projector_group_prefix)) {
        // A group nobody ever consumed as: a typo, said as such rather than nothing (found
        // from outside: `dlq ls` said nothing where `dlq replay` named the typo). A
        // projector's name covers its versions' groups, which come and go.
        auto cursor = s.cursor(topic, *group);
        if (!cursor) return std::unexpected(cursor.error());
        if (!*cursor) {
            return fail(errc::not_found, "no group '" + std::string(*group) + "' on topic '" +
                                             std::string(topic) + "'");
        }
    }
    return out;
}

json::object to_json(const dead_letter& d) {
    json::object o;
    o["id"] = d.entry.id;
    o["dlq_seq"] = d.entry.seq.value;
    o["key"] = d.entry.key;
    o["ts"] = d.entry.ts.value;
    o["group"] = d.group;
    o["error"] = d.error;
    o["original_id"] = d.original_id;
    o["source_seq"] = d.source_seq ? json::value(d.source_seq->value) : json::value(nullptr);
    o["payload"] = d.entry.payload;
    return o;
}

result<dlq_replay_outcome> replay_dead_letters(store& s, std::string_view topic,
                                               const dlq_replay_options& o) {
    std::optional<std::string_view> group;
    if (o.group) group = *o.group;
    auto entries = list_dead_letters(s, topic, group);
    if (!entries) return std::unexpected(entries.error());
    std::vector<const dead_letter*> chosen;
    for (const auto& d : *entries) {
        // Only what prom dead-lettered goes back: its entries carry prom-group, a header no
        // publisher or projector emit can set. An event published into the .dlq topic is
        // listed (it is there) but never copied into the source (found from outside: a
        // forged entry was replayed into the source topic).
        if (!d.entry.headers.contains("prom-group")) continue;
        if (!o.ids.empty() && std::find(o.ids.begin(), o.ids.end(), d.entry.id) == o.ids.end() &&
            std::find(o.ids.begin(), o.ids.end(), d.original_id) == o.ids.end()) {
            continue;
        }
        chosen.push_back(&d);
    }
    for (const auto& id : o.ids) {
        bool found = std::any_of(chosen.begin(), chosen.end(), [&](const dead_letter* d) {
            return d->entry.id == id || d->original_id == id;
        });
        if (!found) {
            return fail(errc::invalid_argument,
                        "no dead letter with id '" + id + "' in '" + std::string(topic) + ".dlq'" +
                            (o.group ? " for group '" + *o.group + "'" : ""));
        }
    }
    std::vector<event_input> copies;
    for (const dead_letter* d : chosen) {
        event_input in;
        in.topic = std::string(topic);
        // "prom-": a publisher cannot take the copy's id first (replaying would then append
        // nothing and call the entry already replayed).
        in.id = "prom-dlq-replay:" + to_string(d->entry.seq) + ":" + d->original_id;
        if (in.id->size() > 256) in.id = "prom-dlq-replay:" + to_string(d->entry.seq);
        in.key = d->entry.key;
        in.ts = d->entry.ts;
        in.payload = d->entry.payload;
        for (const auto& [k, v] : d->entry.headers) {
            if (!added_by_prom(k)) in.headers[k] = v;
        }
        in.headers[std::string(replay_group_header)] = d->group;
        in.headers["prom-original-id"] = d->original_id;
        in.headers["prom-dlq-seq"] = to_string(d->entry.seq);
        // The first event's seq: an entry made before prom-original-seq existed has the
        // failed event's (prom-source-seq), which for a first failure is the same.
        std::string first_seq = header_or(d->entry.headers, original_seq_header);
        if (first_seq.empty()) first_seq = header_or(d->entry.headers, "prom-source-seq");
        if (!first_seq.empty()) in.headers[std::string(original_seq_header)] = first_seq;
        copies.push_back(std::move(in));
    }
    dlq_replay_outcome out;
    if (copies.empty()) return out;
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    auto r = (*txn)->append(std::move(copies));
    if (!r) return std::unexpected(r.error());
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    for (const auto& a : *r) (a.duplicate ? out.already : out.replayed) += 1;
    out.appended = std::move(*r);
    return out;
}

json::object to_json(const dlq_replay_outcome& r) {
    json::array items;
    for (const auto& a : r.appended) items.push_back(to_json(a));
    json::object o;
    o["replayed"] = r.replayed;
    o["already_replayed"] = r.already;
    o["events"] = std::move(items);
    return o;
}

}  // namespace prom::ops
