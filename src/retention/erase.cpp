// erase (retention.hpp, docs/retention.md): every trace of one key of a topic goes in one
// transaction, and a marker without the payload says that it happened.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/key_limit.hpp"
#include "core/topic_name.hpp"
#include "prom/event.hpp"
#include "retention/erasure_marker.hpp"
#include "retention/retention.hpp"
#include "retention/topic_lease.hpp"

namespace prom::retention {

namespace {

using namespace std::chrono_literals;

constexpr auto erase_lease_ttl = 10s;  // one transaction; a killed erasure blocks no longer

// FNV-1a: stable across processes and builds (std::hash is not promised to be).
std::uint64_t fnv1a(std::string_view a, std::string_view b) {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
    };
    mix(a);
    mix(std::string_view("\0", 1));
    mix(b);
    return h;
}

// The marker's id: the same for the same erasure (the key up to the same last seq), so an
// erasure retried after its answer was lost is answered as a duplicate, not appended twice.
std::string marker_id(std::string_view topic, std::string_view key, seq_t last) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(topic, key)));
    return "prom-erased-" + std::string(hex) + "-" + to_string(last);
}

// The header alone, unlike is_erasure_marker: an event that carries it is never counted as
// the key's, whatever its payload ("erased already" must hold for a forged one too).
bool is_marker(const event& e) { return e.headers.contains(std::string(erasure_marker_header)); }

// What there is of the key in one topic: events other than erasure markers, and the
// greatest seq of any of its events.
struct key_events {
    std::int64_t payloads = 0;
    seq_t last{};
    std::optional<seq_t> marker;  // the last marker of an earlier erasure
    std::int64_t markers = 0;     // earlier erasures' markers
};

result<key_events> look_at(store& s, std::string_view topic, std::string_view key) {
    // In pages: a key's events may hold more than one page's bytes (store.hpp).
    scan_query q{.topic = std::string(topic), .key = std::string(key), .limit = 1000};
    key_events out;
    for (;;) {
        auto events = scan_fitting(s, q);
        if (!events) return std::unexpected(events.error());
        for (const auto& e : *events) {
            out.last = std::max(out.last, e.seq);
            if (is_marker(e)) {
                out.marker = e.seq;
                ++out.markers;
            } else {
                ++out.payloads;
            }
        }
        if (events->size() < *q.limit) return out;
        q.from_seq = events->back().seq.next();
    }
}

}  // namespace

json::object to_json(const erase_report& r) {
    return json::object{{"topic", r.topic},
                        {"key", r.key},
                        {"events", r.events},
                        {"dead_letters", r.dead_letters},
                        {"marker_seq", r.marker_seq.value}};
}

result<erase_report> erase(store& s, std::string_view topic, std::string_view key) {
    if (topic.empty()) return fail(errc::invalid_argument, "a topic is required");
    if (key.empty()) {
        return fail(errc::invalid_argument,
                    "a key is required: events without a key belong to no key to erase");
    }
    // Names no event can have are bad input, as the readers say, not unknown (found from
    // outside: a 1025-byte key, or a topic with a space, was "not found").
    if (auto why = topic_name_problem(topic)) return fail(errc::invalid_argument, *why);
    if (auto why = key_problem(key)) return fail(errc::invalid_argument, *why);
    auto info = s.topic(topic);
    if (!info) return std::unexpected(info.error());
    if (!*info) {
        return fail(errc::not_found, "unknown topic '" + std::string(topic) + "': nothing erased");
    }
    const std::string dlq = std::string(topic) + ".dlq";
    auto dlq_info = s.topic(dlq);
    if (!dlq_info) return std::unexpected(dlq_info.error());

    // A pass folding the key while it goes would store its states again: one at a time.
    auto lease = topic_lease::take(s, topic, "erase:" + std::to_string(::getpid()), erase_lease_ttl,
                                   "erasing a key");
    if (!lease) return std::unexpected(lease.error());

    auto here = look_at(s, topic, key);
    if (!here) return std::unexpected(here.error());
    key_events dead;
    if (*dlq_info) {
        auto d = look_at(s, dlq, key);
        if (!d) return std::unexpected(d.error());
        dead = *d;
    }
    // A key whose every event retention dropped still has states in its base snapshots.
    auto record = s.find_key_horizon(topic, key);
    if (!record) return std::unexpected(record.error());
    if (here->payloads == 0 && dead.payloads == 0 && !*record) {
        std::string why = "key '" + std::string(key) + "' of topic '" + std::string(topic) +
                          "' has no event: nothing erased";
        if (here->marker)
            why += " (it was erased already: marker at seq " + to_string(*here->marker) + ")";
        return fail(errc::not_found, std::move(why));
    }

    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    erase_report report{std::string(topic), std::string(key)};
    auto n = (*txn)->erase_key(topic, key);
    if (!n) return std::unexpected(n.error());
    // The key's events, not the earlier erasures' markers that go with them (found from
    // outside: a second erasure counted the first one's marker as an erased event). The new
    // marker stands for every erasure of the key (docs/retention.md).
    report.events = std::max<std::int64_t>(0, static_cast<std::int64_t>(*n) - here->markers);
    if (*dlq_info) {
        auto d = (*txn)->erase_key(dlq, key);
        if (!d) return std::unexpected(d.error());
        report.dead_letters = static_cast<std::int64_t>(*d);
    }
    // The marker is an event of the key like any: at or after the horizon, so it is accepted.
    const ts_ms when = std::max(now_ms(), (*info)->horizon);
    event_input marker{.topic = std::string(topic),
                       .id = marker_id(topic, key, std::max(here->last, dead.last)),
                       .key = std::string(key),
                       .ts = when,
                       .payload = nullptr,
                       .headers = {{std::string(erasure_marker_header), to_string(when)}}};
    auto appended = (*txn)->append({marker});
    if (!appended) return std::unexpected(appended.error());
    if (appended->front().duplicate) {
        // Another event holds the id (published before ids starting "prom-" were refused, or
        // by a library caller): the marker must still be written, under an id of its own.
        marker.id = *marker.id + "-" + new_event_id();
        appended = (*txn)->append({std::move(marker)});
        if (!appended) return std::unexpected(appended.error());
    }
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    report.marker_seq = appended->front().seq;
    return report;
}

}  // namespace prom::retention
