// Event input JSON and batches: parse_json, the single-event or {"events":[…]} body shape
// of POST /publish, event_input_from_json and validate_input. An input that passes must
// render to canonical JSON that parses again (what `prom scan` and subscribers get).
#include "fuzz_support.hpp"
#include "prom/event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
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
