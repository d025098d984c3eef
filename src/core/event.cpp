#include "prom/event.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <type_traits>
#include <utility>

#include "core/event_times.hpp"
#include "core/json_int.hpp"
#include "core/json_size.hpp"
#include "core/key_limit.hpp"
#include "core/reserved_headers.hpp"
#include "core/text.hpp"
#include "core/topic_name.hpp"

namespace prom {

namespace {

constexpr std::size_t max_id_bytes = 256;

}  // namespace

ts_ms now_ms() {
    using namespace std::chrono;
    return ts_ms{duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

std::string new_event_id() {
    // UUIDv7 (RFC 9562): 48-bit ms time, then a per-process counter in rand_a so ids made in
    // the same millisecond still sort in creation order, then 62 random bits.
    static std::mutex mu;
    static std::mt19937_64 rng{std::random_device{}()};
    static std::uint64_t last_ms = 0;
    static std::uint16_t counter = 0;
    std::uint64_t ms, rand_b;
    std::uint16_t rand_a;
    {
        std::lock_guard lock(mu);
        ms = static_cast<std::uint64_t>(now_ms().value);
        if (ms <= last_ms) {
            ms = last_ms;
            if (++counter > 0xfff) {  // counter exhausted: borrow the next millisecond
                ++ms;
                counter = 0;
            }
        } else {
            counter = static_cast<std::uint16_t>(rng() & 0x3ff);
        }
        last_ms = ms;
        rand_a = counter;
        rand_b = rng();
    }
    std::uint64_t hi = (ms << 16) | 0x7000 | (rand_a & 0xfff);
    std::uint64_t lo = (rand_b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    // 8-4-4-4-12 hex digits.
    std::string id(36, '-');
    write_hex(id.data(), hi >> 32, 8);
    write_hex(id.data() + 9, hi >> 16, 4);
    write_hex(id.data() + 14, hi, 4);
    write_hex(id.data() + 19, lo >> 48, 4);
    write_hex(id.data() + 24, lo, 12);
    return id;
}

status validate_input(const event_input& in) {
    if (auto why = topic_name_problem(in.topic)) return fail(errc::invalid_argument, *why);
    // Keyless events belong to no key: an expectation about "their" key would compare with
    // every keyless event of the topic as if they were one key named "".
    if (in.expect_key_seq && in.key.empty()) {
        return fail(errc::invalid_argument,
                    "expect (a key's seq) needs a key: keyless events belong to no key");
    }
    if (auto why = key_problem(in.key)) return fail(errc::invalid_argument, *why);
    if (in.id && !is_clean_text(*in.id))
        return fail(errc::invalid_argument, "id must be UTF-8 without NUL");
    for (const auto& [k, v] : in.headers) {
        if (!is_clean_text(k) || !is_clean_text(v)) {
            return fail(errc::invalid_argument, "headers must be UTF-8 without NUL");
        }
    }
    if (in.id) {
        if (in.id->empty()) return fail(errc::invalid_argument, "id must not be empty");
        if (in.id->size() > max_id_bytes) {
            return fail(errc::invalid_argument, "id is longer than 256 bytes");
        }
    }
    if (in.ts && *in.ts < 0) return fail(errc::invalid_argument, "ts must not be negative");
    if (in.ts && in.ts->value > last_event_ms) {
        return fail(errc::invalid_argument, "ts must not be after 9999-12-31T23:59:59.999Z (" +
                                                std::to_string(last_event_ms) + " ms)");
    }
    return {};
}

json::object to_json(const event& e) {
    json::object o;
    o["id"] = e.id;
    o["topic"] = e.topic;
    o["key"] = e.key;
    o["ts"] = e.ts.value;
    o["seq"] = e.seq.value;
    o["payload"] = e.payload;
    json::object h;
    for (const auto& [k, v] : e.headers) h[k] = v;
    o["headers"] = std::move(h);
    return o;
}

std::string to_json_text(const event& e) { return canonical_json(to_json(e)); }

json::value payload_value(const event_input& in) {
    if (in.payload_canonical.empty()) return in.payload;
    // Checked canonical when it was read: it parses (parse_stored_json reads numbers as the
    // general path does, so the value is the one that path would have built).
    auto v = parse_stored_json(in.payload_canonical.text());
    return v ? std::move(*v) : json::value{};
}

json::object to_json(const append_result& r) {
    json::object o;
    o["id"] = r.id;
    o["seq"] = r.seq.value;
    o["ts"] = r.ts.value;
    o["duplicate"] = r.duplicate;
    return o;
}

namespace {

result<ts_ms> ts_from_json(const json::value& v) {
    if (auto n = int64_of(v)) return ts_ms{*n};
    if (v.is_string()) return parse_time(v.get_string());
    return fail(errc::invalid_argument, "ts must be epoch milliseconds or an ISO-8601 string");
}

// {"key_seq": N}, N a non-negative integer (docs/http-api.md, "Conditional append").
result<seq_t> expected_key_seq_of(const json::value& v) {
    constexpr std::string_view shape =
        "expect must be {\"key_seq\": N} with N a non-negative integer (0: the key has no "
        "event yet)";
    if (!v.is_object() || v.get_object().size() != 1 || !v.get_object().contains("key_seq")) {
        return fail(errc::invalid_argument, std::string(shape));
    }
    const json::value& n = v.get_object().at("key_seq");
    if (auto k = int64_of(n); k && *k >= 0) return seq_t{*k};
    return fail(errc::invalid_argument, std::string(shape));
}

}  // namespace

namespace {

// Both forms of event_input_from_json: `Value` is `const json::value` (the payload is copied)
// or `json::value` (it is moved out: a publish body is parsed only to become its events).
template <class Value>
result<event_input> read_event_input(Value& v) {
    if (!v.is_object()) return fail(errc::invalid_argument, "an event must be a JSON object");
    auto& o = v.get_object();
    event_input in;
    bool has_payload = false;
    for (auto& kv : o) {
        std::string_view k = kv.key();
        auto& f = kv.value();
        if (k == "topic") {
            if (!f.is_string()) return fail(errc::invalid_argument, "topic must be a string");
            in.topic = f.get_string();
        } else if (k == "key") {
            if (!f.is_string()) return fail(errc::invalid_argument, "key must be a string");
            in.key = f.get_string();
        } else if (k == "id") {
            if (!f.is_string()) return fail(errc::invalid_argument, "id must be a string");
            if (reserved_event_id(f.get_string())) {
                return fail(errc::invalid_argument, std::string(reserved_event_id_message));
            }
            in.id = std::string(f.get_string());
        } else if (k == "ts") {
            auto ts = ts_from_json(f);
            if (!ts) return std::unexpected(ts.error());
            in.ts = *ts;
        } else if (k == "expect") {
            auto want = expected_key_seq_of(f);
            if (!want) return std::unexpected(want.error());
            in.expect_key_seq = *want;
        } else if (k == "payload") {
            if constexpr (std::is_const_v<Value>) {
                in.payload = f;
            } else {
                in.payload = std::move(f);
            }
            has_payload = true;
        } else if (k == "headers") {
            if (!f.is_object()) {
                return fail(errc::invalid_argument, "headers must be an object of strings");
            }
            for (const auto& h : f.get_object()) {
                if (!h.value().is_string()) {
                    return fail(errc::invalid_argument,
                                "header '" + std::string(h.key()) + "' must be a string");
                }
                // prom's own headers mark what prom made (an erasure marker, a dead-letter
                // replay, a projector's emit) and change how projectors treat the event: a
                // publisher forging one could make a group skip it or delete a document.
                if (reserved_header_name(h.key())) {
                    return fail(errc::invalid_argument,
                                "header '" + std::string(h.key()) +
                                    "': names starting with 'prom-' are reserved for prom");
                }
                in.headers[std::string(h.key())] = std::string(h.value().get_string());
            }
        } else {
            return fail(errc::invalid_argument, "unknown event field '" + std::string(k) + "'");
        }
    }
    if (in.topic.empty()) return fail(errc::invalid_argument, "an event needs a topic");
    if (!has_payload) return fail(errc::invalid_argument, "an event needs a payload");
    // The payload's own depth, whatever envelope carried it (publish_body_max_depth): a
    // payload `prom publish` takes is taken over HTTP and the WebSocket too, alone or in a
    // batch.
    if (in.payload.is_structured() && measure_json(in.payload).depth > max_payload_depth) {
        return fail(errc::invalid_argument, "the payload nests deeper than " +
                                                std::to_string(max_payload_depth) + " levels");
    }
    if (auto ok = validate_input(in); !ok) return std::unexpected(ok.error());
    return in;
}

}  // namespace

result<event_input> event_input_from_json(const json::value& v) { return read_event_input(v); }

result<event_input> event_input_from_json(json::value&& v) { return read_event_input(v); }

}  // namespace prom
