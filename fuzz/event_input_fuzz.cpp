// Event input JSON and batches: parse_json, the single-event or {"events":[…]} body shape
// of POST /publish, event_input_from_json and validate_input. An input that passes must
// render to canonical JSON that parses again (what `prom scan` and subscribers get).
// The reader of bodies in the usual shape (read_canonical_event) is compared with the
// general path on every input: what it takes, the general path takes, as the same event.
#include "core/canonical_event.hpp"
#include "fuzz_support.hpp"
#include "prom/event.hpp"

namespace {

void compare_with_the_general_path(std::string_view text) {
    using namespace prom;
    auto fast = read_canonical_event(text);
    if (!fast) return;
    auto body = parse_json(text, {.max_depth = publish_body_max_depth});
    fuzz::require(body.has_value());
    auto in = event_input_from_json(*body);
    fuzz::require(in.has_value());
    fuzz::require(in->topic == fast->topic && in->key == fast->key && in->id == fast->id &&
                  in->ts == fast->ts && in->headers == fast->headers && !in->expect_key_seq);
    fuzz::require(fast->payload.is_null());
    fuzz::require(canonical_json(in->payload) == fast->payload_canonical.text());
    fuzz::require(payload_value(*fast) == in->payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    compare_with_the_general_path(fuzz::as_text(data, size));
    auto body = parse_json(fuzz::as_text(data, size), {.max_depth = 64, .max_bytes = 200 * 1024});
    if (!body) return 0;
    const json::value* items = nullptr;
    json::array single;
    if (body->is_object() && body->get_object().contains("events") &&
        body->get_object()["events"].is_array()) {
        items = &body->get_object()["events"];
    } else {
        single.push_back(*body);
    }
    const json::array& list = items ? items->get_array() : single;
    for (const auto& v : list) {
        auto in = event_input_from_json(v);
        if (!in) continue;
        fuzz::require(validate_input(*in).has_value());
        event e;
        e.id = in->id.value_or("id");
        e.topic = in->topic;
        e.key = in->key;
        e.ts = in->ts.value_or(ts_ms{});
        e.seq = seq_t{1};
        e.payload = in->payload;
        e.headers = in->headers;
        fuzz::require(parse_json(to_json_text(e)).has_value());
    }
    return 0;
}
