#include "ws/protocol.hpp"

#include "bus/reserved_groups.hpp"
#include "core/canonical_event.hpp"
#include "core/event_times.hpp"
#include "core/json_duplicates.hpp"
#include "core/json_fields.hpp"
#include "core/key_limit.hpp"
#include "core/text.hpp"
#include "core/topic_name.hpp"
#include "prom/user_projector.hpp"

namespace prom::ws {

namespace {

protocol_error bad(std::string id, std::string message) {
    return {std::move(id), "bad_request", std::move(message)};
}

const json::value* member(const json::object& o, std::string_view a, std::string_view b = {}) {
    if (auto it = o.find(a); it != o.end()) return &it->value();
    if (!b.empty()) {
        if (auto it = o.find(b); it != o.end()) return &it->value();
    }
    return nullptr;
}

std::optional<std::string> string_member(const json::object& o, std::string_view name) {
    const json::value* v = member(o, name);
    if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
    return std::string(v->get_string());
}

// `from: {"seqs": {topic: N, …}}`: where each listed topic of a pattern subscription starts,
// as `{"seq": N}` says for one topic (a client resuming a pattern names what it saw of each).
// A topic the pattern does not match is refused, as a position it could never use.
constexpr std::size_t max_from_seqs = 4096;
result<std::map<std::string, seq_t, std::less<>>> pattern_positions(std::string_view pattern,
                                                                    const json::value& seqs) {
    if (!is_topic_pattern(pattern)) {
        return fail(errc::invalid_argument,
                    "from.seqs is for a topic pattern (\"order.*\"): one topic takes {\"seq\": N}");
    }
    if (!seqs.is_object()) {
        return fail(errc::invalid_argument, "from.seqs must be an object of topic: seq");
    }
    if (seqs.get_object().size() > max_from_seqs) {
        return fail(errc::invalid_argument,
                    "from.seqs names at most " + std::to_string(max_from_seqs) + " topics");
    }
    std::map<std::string, seq_t, std::less<>> out;
    for (const auto& [topic, n] : seqs.get_object()) {
        if (!topic_matches(pattern, topic)) {
            return fail(errc::invalid_argument, "from.seqs names '" + std::string(topic) +
                                                    "', which pattern '" + std::string(pattern) +
                                                    "' does not match");
        }
        if (!n.is_int64() || n.get_int64() < 1) {
            return fail(errc::invalid_argument,
                        "from.seqs['" + std::string(topic) + "'] must be an integer >= 1");
        }
        out.emplace(std::string(topic), seq_t{n.get_int64()});
    }
    return out;
}

// Each op's fields (`op` and `id` besides): a misspelt field ("manualack") is refused rather
// than left at its default, which would change what the subscription does without a word.
std::optional<protocol_error> unknown_field_refusal(const json::object& o, std::string_view op,
                                                    const std::string& id) {
    auto check =
        [&](std::initializer_list<std::string_view> known) -> std::optional<protocol_error> {
        if (auto name = first_unknown_field(o, known)) {
            return bad(id, std::string(op) + ": " + unknown_field_message(*name, known));
        }
        return std::nullopt;
    };
    if (op == "subscribe") {
        return check({"op", "id", "topic", "group", "from", "batchSize", "batch_size", "manualAck",
                      "manual_ack"});
    }
    if (op == "ack") return check({"op", "id", "topic", "group", "seq"});
    if (op == "unsubscribe") return check({"op", "id", "topic", "group"});
    if (op == "publish") return check({"op", "id", "event", "events"});
    if (op == "watch") return check({"op", "id", "collection", "key", "prefix", "after"});
    if (op == "unwatch") return check({"op", "id", "collection", "key", "prefix"});
    return std::nullopt;  // an unknown op is refused as such
}

}  // namespace

std::variant<command, protocol_error> parse_command(std::string_view text) {
    // A publish frame in the usual shape is read without building its JSON, as POST /publish
    // reads one (core/canonical_event.hpp); any other frame, and every error, goes below.
    if (text.size() <= parse_limits{}.max_bytes) {
        if (auto fast = read_canonical_publish_frame(text, max_request_id_bytes)) {
            command c;
            c.id = std::move(fast->id);
            publish_cmd p;
            p.events.push_back(std::move(fast->event));
            c.op = std::move(p);
            return c;
        }
    }
    auto v = parse_json(text, {.max_depth = publish_body_max_depth});
    if (!v) {
        // A frame refused for what it holds (a number out of range, a duplicate key) may still
        // carry the request's id, which the client needs to tell which request failed.
        std::string id;
        if (auto lax = parse_stored_json(text); lax && lax->is_object()) {
            const json::value* given = member(lax->get_object(), "id");
            if (given && given->is_string() && given->get_string().size() <= max_request_id_bytes) {
                id = given->get_string();
            }
        }
        return bad(id, v.error().message);
    }
    if (!v->is_object()) return bad("", "a request must be a JSON object");
    const auto& o = v->get_object();
    if (auto twice = first_duplicate_envelope_key(text, *v)) {
        const json::value* given = member(o, "id");
        return bad(given && given->is_string() && given->get_string().size() <= max_request_id_bytes
                       ? std::string(given->get_string())
                       : std::string(),
                   duplicate_member_message(*twice));
    }
    command c;
    if (const json::value* id = member(o, "id")) {
        if (!id->is_string() || id->get_string().size() > max_request_id_bytes) {
            return bad("", "id must be a string of at most " +
                               std::to_string(max_request_id_bytes) + " bytes");
        }
        c.id = id->get_string();
    }
    auto op = string_member(o, "op");
    if (!op)
        return bad(c.id,
                   "a request needs an op: subscribe, ack, unsubscribe, publish, watch or unwatch");

    if (auto refusal = unknown_field_refusal(o, *op, c.id)) return *refusal;

    if (*op == "subscribe" || *op == "ack" || *op == "unsubscribe") {
        auto topic = string_member(o, "topic");
        auto group = string_member(o, "group");
        // Without a group, subscribe is ephemeral (no cursor, no lease); its group is "".
        // An ack needs a group: an ephemeral subscription has nothing to acknowledge.
        const bool group_given = member(o, "group") != nullptr;
        if (!topic || (group_given && !group) || (*op == "ack" && !group)) {
            return bad(
                c.id,
                *op == "ack"
                    ? "ack needs a topic and a group"
                    : *op + " needs a topic, and a group that is a non-empty string when given");
        }
        if (!group) group.emplace();
        if (auto why = group_name_problem(*group)) return bad(c.id, *why);
        if (auto why = reserved_group_problem(*group)) return bad(c.id, *why);
        // A '*' only as the last character: a prefix pattern, which only subscribe and
        // unsubscribe take (an ack names the one topic of the events it acknowledges).
        if (topic->find('*') < topic->size() - 1 || (*op == "ack" && is_topic_pattern(*topic))) {
            return bad(c.id, *op == "ack"
                                 ? "ack names one topic, not a pattern"
                                 : "a topic pattern is a prefix followed by one final '*'");
        }
        // A name no event can have (`a b`) is refused as publish refuses it, before a
        // subscribe could store a cursor for it; a pattern's prefix is checked the same way.
        if (std::string_view name = is_topic_pattern(*topic)
                                        ? std::string_view(*topic).substr(0, topic->size() - 1)
                                        : std::string_view(*topic);
            !name.empty() || !is_topic_pattern(*topic)) {
            event_input probe;
            probe.topic = std::string(name);
            if (auto ok = validate_input(probe); !ok) return bad(c.id, ok.error().message);
        }
        if (*op == "unsubscribe") {
            c.op = unsubscribe_cmd{*topic, *group};
            return c;
        }
        if (*op == "ack") {
            const json::value* seq = member(o, "seq");
            if (!seq || !seq->is_int64() || seq->get_int64() < 0) {
                return bad(c.id, "ack needs a seq (a non-negative integer)");
            }
            c.op = ack_cmd{*topic, *group, seq_t{seq->get_int64()}};
            return c;
        }
        subscribe_cmd s{*topic, *group};
        if (const json::value* from = member(o, "from")) {
            if (*from == "earliest") {
                s.from = start_from::earliest;
            } else if (*from == "latest") {
                s.from = start_from::latest;
            } else if (from->is_object() && from->get_object().size() == 1 &&
                       from->get_object().contains("seq")) {
                const auto& n = from->get_object().at("seq");
                if (!n.is_int64() || n.get_int64() < 1) {
                    return bad(c.id, "from.seq must be an integer >= 1");
                }
                s.from_seq = seq_t{n.get_int64()};
            } else if (from->is_object() && from->get_object().size() == 1 &&
                       from->get_object().contains("ts")) {
                const auto& t = from->get_object().at("ts");
                std::optional<ts_ms> ts;
                // A time an event can have, as everywhere a time is taken (found from outside:
                // one past 9999-12-31 started at the end of the topic without a word).
                if (t.is_int64() && t.get_int64() >= 0 && t.get_int64() <= last_event_ms) {
                    ts = ts_ms{t.get_int64()};
                }
                if (t.is_string()) {
                    if (auto parsed = parse_time(t.get_string())) ts = *parsed;
                }
                if (!ts) return bad(c.id, "from.ts must be epoch ms or an ISO-8601 time");
                s.from_ts = *ts;
            } else if (from->is_object() && from->get_object().size() == 1 &&
                       from->get_object().contains("seqs")) {
                auto seqs = pattern_positions(s.topic, from->get_object().at("seqs"));
                if (!seqs) return bad(c.id, seqs.error().message);
                s.from_seqs = std::move(*seqs);
            } else {
                return bad(c.id,
                           "from must be \"earliest\", \"latest\", {\"seq\": N}, {\"ts\": T} "
                           "or {\"seqs\": {topic: N}}");
            }
        }
        if (s.from_seq && is_topic_pattern(s.topic)) {
            return bad(c.id,
                       "from.seq is a position in one topic: a pattern takes a ts, or seqs per "
                       "topic");
        }
        // Two spellings of one field: refused rather than one of them silently ignored.
        for (auto [camel, snake] :
             {std::pair{"batchSize", "batch_size"}, std::pair{"manualAck", "manual_ack"}}) {
            if (o.contains(camel) && o.contains(snake)) {
                return bad(c.id,
                           std::string(camel) + " and " + snake + " are one field: give it once");
            }
        }
        if (const json::value* b = member(o, "batchSize", "batch_size")) {
            if (!b->is_int64() || b->get_int64() < 1 ||
                b->get_int64() > static_cast<std::int64_t>(max_batch_size)) {
                return bad(c.id, "batchSize must be an integer from 1 to 10000");
            }
            s.batch_size = static_cast<std::size_t>(b->get_int64());
        }
        if (const json::value* m = member(o, "manualAck", "manual_ack")) {
            if (!m->is_bool()) return bad(c.id, "manualAck must be true or false");
            s.manual_ack = m->get_bool();
        }
        c.op = std::move(s);
        return c;
    }
    if (*op == "publish") {
        publish_cmd p;
        // Non-const: each event's payload is moved out of the parsed request, not copied.
        json::value* one = v->get_object().if_contains("event");
        json::value* many = v->get_object().if_contains("events");
        if ((one == nullptr) == (many == nullptr)) {
            return bad(c.id, "publish needs either an event or an events array");
        }
        // Any number of events, as in a POST /publish body: the message's size is the bound
        // (found from outside: 1,001 events went over HTTP and were refused here, and neither
        // limit was written down).
        if (many && (!many->is_array() || many->get_array().empty())) {
            return bad(c.id, "events must be a non-empty array of events");
        }
        // `where` names a batch's event as POST /publish does ("events[1]: …").
        auto add = [&](json::value& e, std::string where) -> std::optional<protocol_error> {
            auto in = event_input_from_json(std::move(e));
            if (!in) return bad(c.id, where + in.error().message);
            p.events.push_back(std::move(*in));
            return std::nullopt;
        };
        if (one) {
            if (auto err = add(*one, "")) return *err;
        } else {
            auto& items = many->get_array();
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (auto err = add(items[i], "events[" + std::to_string(i) + "]: ")) return *err;
            }
        }
        c.op = std::move(p);
        return c;
    }
    if (*op == "watch" || *op == "unwatch") {
        auto collection = string_member(o, "collection");
        if (!collection) return bad(c.id, *op + " needs a collection");
        const json::value* key = member(o, "key");
        const json::value* prefix = member(o, "prefix");
        if (key && prefix) return bad(c.id, *op + " takes key or prefix, not both");
        std::optional<std::string> k;
        std::string p;
        if (key) {
            if (!key->is_string() || key->get_string().empty()) {
                return bad(c.id, "key must be a non-empty string");
            }
            // A key no document can have, refused as the SSE watch refuses it (found from
            // outside: the WebSocket watch took it).
            if (auto why = key_problem(key->get_string())) return bad(c.id, *why);
            k = std::string(key->get_string());
        }
        if (prefix) {
            if (!prefix->is_string()) return bad(c.id, "prefix must be a string");
            p = prefix->get_string();
        }
        if (*op == "unwatch") {
            c.op = unwatch_cmd{*collection, std::move(k), std::move(p)};
            return c;
        }
        watch_cmd w{*collection, std::move(k), std::move(p), std::nullopt};
        if (const json::value* after = member(o, "after")) {
            if (!after->is_int64() || after->get_int64() < 0) {
                return bad(c.id, "after must be the seq of a change (a non-negative integer)");
            }
            w.after = seq_t{after->get_int64()};
        }
        c.op = std::move(w);
        return c;
    }
    return bad(c.id, "unknown op '" + *op + "'");
}

std::string change_frame(std::string_view change_json) {
    std::string out = R"({"op":"change",)";
    out += change_json.substr(1);
    return out;
}

json::object watch_fields(std::string_view collection, const std::optional<std::string>& key,
                          std::string_view prefix) {
    json::object o{{"collection", collection}};
    if (key) {
        o["key"] = *key;
    } else {
        o["prefix"] = prefix;
    }
    return o;
}

bool sendable_close_code(std::uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1013) ||
           (code >= 3000 && code <= 4999);
}

std::string events_frame(std::string_view topic, std::string_view group,
                         std::span<const event> batch) {
    // Built by hand around each event's canonical text: no second copy of the batch as a
    // JSON tree. Keys stay in canonical (sorted) order.
    std::string out = R"({"events":[)";
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i) out.push_back(',');
        out += to_json_text(batch[i]);
    }
    out += R"(],"group":)";
    append_canonical_json(out, json::string(group));
    out += R"(,"op":"events","topic":)";
    append_canonical_json(out, json::string(topic));
    out.push_back('}');
    return out;
}

std::string error_code_of(errc code) {
    if (code == errc::invalid_argument || code == errc::type_error) return "bad_request";
    return std::string(to_string(code));
}

std::string reply_frame(std::string_view id, std::string_view op, json::object fields) {
    fields["op"] = op;
    if (!id.empty()) fields["id"] = id;
    return canonical_json(fields);
}

std::string error_frame(std::string_view id, std::string_view code, std::string_view message) {
    // A text frame must be valid UTF-8 (RFC 6455 §8.1), and messages may quote client input.
    return reply_frame(id, "error",
                       json::object{{"error", code}, {"message", valid_utf8(message)}});
}

std::string error_frame_of(std::string_view id, const error& e) {
    // The codes docs/ws-protocol.md lists: bad input is `bad_request`, as for a frame refused
    // before it reached the store (found from outside: "invalid_argument").
    json::object o{{"error", error_code_of(e.code)}, {"message", valid_utf8(e.message)}};
    // The members POST /publish's answer has for the same refusal (docs/http-api.md).
    if (e.key_seq) {
        o["error"] = "conflict";
        o["key_seq"] = *e.key_seq;
    }
    if (e.horizon) o["horizon"] = *e.horizon;
    return reply_frame(id, "error", std::move(o));
}

}  // namespace prom::ws
