// The WebSocket gateway's command parser (src/ws/protocol.*): any frame text is either a
// command within the documented limits or a protocol error whose frame is valid JSON.
#include <variant>

#include "fuzz_support.hpp"
#include "ws/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    auto parsed = ws::parse_command(fuzz::as_text(data, size));
    if (auto* err = std::get_if<ws::protocol_error>(&parsed)) {
        // The error frame echoes the client's id: it must still be JSON.
        fuzz::require(parse_json(ws::error_frame(err->id, err->code, err->message)).has_value());
        return 0;
    }
    auto& c = std::get<ws::command>(parsed);
    fuzz::require(parse_json(ws::reply_frame(c.id, "ok")).has_value());
    if (auto* s = std::get_if<ws::subscribe_cmd>(&c.op)) {
        fuzz::require(s->batch_size >= 1 && s->batch_size <= ws::max_batch_size);
    } else if (auto* a = std::get_if<ws::ack_cmd>(&c.op)) {
        fuzz::require(a->seq >= 0);
    } else if (auto* p = std::get_if<ws::publish_cmd>(&c.op)) {
        fuzz::require(!p->events.empty());
    }
    return 0;
}
