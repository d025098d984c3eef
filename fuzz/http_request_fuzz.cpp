// The HTTP request path in process: raw bytes → Beast's request parser → prom::http::api
// (router and handlers) on a fresh memory: store, exactly as http_session.cpp hands a parsed
// request over, without sockets. Each input gets its own store (one document, two events),
// so a crash replays from its input alone. Requests with an Authorization header go to an
// api with bearer tokens configured; the others to one without.
//
// Properties checked besides the sanitizers: the handler answers (a non-blocking call that
// declines is answered by the blocking call), with a status between 100 and 599.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "auth/auth_policy.hpp"
#include "fuzz_support.hpp"
#include "http/api.hpp"
#include "http/http_metrics.hpp"
#include "http/snapshot_cache.hpp"
#include "prom/store.hpp"

namespace {

namespace bhttp = boost::beast::http;
using namespace prom;

constexpr std::size_t body_limit = 200 * 1024;

const auth::auth_policy& fuzz_policy() {
    static const auth::auth_policy policy = [] {
        auto config = parse_json(R"({"tokens":[
            {"token":"fuzz-token-0123456789abcdef0123","name":"all",
             "publish":["*"],"subscribe":["*"],"read":["*"]},
            {"token":"fuzz-token-readonly-0123456789ab","name":"reader",
             "read":["processes"],"subscribe":["t*"]}]})");
        auto p = auth::auth_policy::from_json(*config);
        if (!p) fuzz::property_failed();  // the harness itself is out of date
        return std::move(*p);
    }();
    return policy;
}

void seed(store& s) {
    auto tx = s.begin();
    if (!tx) fuzz::property_failed();
    auto doc = parse_json(R"({"status":"up","cpu":12.5,"n":3,"name":"p1"})");
    if (!(*tx)->update_one("processes", "p1", doc->get_object(), true)) fuzz::property_failed();
    if (!(*tx)->commit()) fuzz::property_failed();
    std::vector<event_input> events(2);
    for (int i = 0; i < 2; ++i) {
        events[i].topic = "t";
        events[i].key = "k";
        events[i].ts = ts_ms{1700000000000 + static_cast<std::int64_t>(i)};
        events[i].payload = json::object{{"v", i}};
    }
    if (!s.append(std::move(events))) fuzz::property_failed();
}

http::method method_of(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get:
            return http::method::get;
        case bhttp::verb::head:
            return http::method::head;
        case bhttp::verb::post:
            return http::method::post;
        default:
            return http::method::other;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(body_limit);
    parser.eager(true);
    boost::asio::const_buffer input(data, size);
    boost::beast::error_code ec;
    while (input.size() > 0 && !parser.is_done()) {
        std::size_t used = parser.put(input, ec);
        if (ec == bhttp::error::need_more) return 0;
        if (ec) return 0;
        input += used;
        if (used == 0) break;
    }
    if (!parser.is_done()) return 0;
    const auto& msg = parser.get();

    // The same conversion as http_session.cpp (several If-None-Match lines form one list).
    http::request req;
    req.verb = method_of(msg.method());
    req.target = msg.target();
    std::string joined_inm;
    for (auto [it, end] = msg.equal_range(bhttp::field::if_none_match); it != end; ++it) {
        if (!joined_inm.empty()) joined_inm += ", ";
        joined_inm += it->value();
    }
    if (msg.count(bhttp::field::if_none_match) > 0) req.if_none_match = joined_inm;
    if (auto it = msg.find(bhttp::field::if_modified_since); it != msg.end()) {
        req.if_modified_since = it->value();
    }
    if (auto it = msg.find(bhttp::field::content_type); it != msg.end()) {
        req.content_type = it->value();
    }
    if (auto it = msg.find(bhttp::field::authorization); it != msg.end()) {
        req.authorization = it->value();
    }
    req.body = msg.body();
    req.received = std::chrono::steady_clock::now();

    auto opened = open_store("memory:");
    if (!opened) fuzz::property_failed();
    store& s = **opened;
    http::snapshot_cache cache(s, {});
    seed(s);
    http::http_metrics metrics;
    http::api_options options;
    options.body_limit = body_limit;
    if (req.authorization) options.auth = &fuzz_policy();
    http::api handlers(s, cache, metrics, options);

    auto answer = handlers.handle(req, false);
    if (!answer) answer = handlers.handle(req, true);
    fuzz::require(answer.has_value());
    fuzz::require(answer->status >= 100 && answer->status <= 599);
    (void)http::head_of(*answer);
    (void)http::body_of(*answer);
    metrics.record_request(answer->route, answer->status, std::chrono::nanoseconds(1));
    std::string page;
    metrics.render(page);
    return 0;
}
