#include "cli/ws_tail.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cstdio>

#include "prom/event.hpp"
#include "prom/json.hpp"

namespace prom::cli {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

std::string without_source_location(std::string text) {
    // Boost errors end in " [category:N at /path/file.hpp:LINE:COL in function '…']".
    auto open = text.rfind(" [");
    if (open != std::string::npos && text.ends_with(']') &&
        text.find(" at /", open) != std::string::npos) {
        text.erase(open);
    }
    return text;
}

status tail_over_gateway(const ws_tail_options& o, const volatile int& interrupted) {
    const std::string url_text = o.url;  // NUL-terminated for Boost.URL 1.81
    auto url = boost::urls::parse_uri(url_text);
    if (!url || url->scheme() != "ws" || url->host().empty()) {
        return fail(errc::invalid_argument, "--url must look like ws://HOST:PORT/ws");
    }
    // The Host header keeps an IPv6 literal's brackets; the resolver takes the address
    // without them (found from outside: `ws://[::1]:PORT/ws` was "Host not found").
    std::string host = url->host();
    const std::string address = url->host_type() == boost::urls::host_type::ipv6
                                    ? url->host_ipv6_address().to_string()
                                    : host;
    std::string port = url->has_port() ? std::string(url->port()) : "80";
    int port_value = 0;  // Boost.URL 1.81's port_number() wraps 99999 round to 34463
    auto [port_end, port_ec] = std::from_chars(port.data(), port.data() + port.size(), port_value);
    if (port_ec != std::errc{} || port_end != port.data() + port.size() || port_value < 1 ||
        port_value > 65535) {
        return fail(errc::invalid_argument, "--url: the port must be a number from 1 to 65535");
    }
    std::string target = url->encoded_path().empty() ? "/ws" : std::string(url->encoded_path());
    if (url->has_query()) target += "?" + std::string(url->encoded_query());
    try {
        net::io_context ioc;
        net::ip::tcp::resolver resolver(ioc);
        websocket::stream<beast::tcp_stream> ws(ioc);
        beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
        beast::get_lowest_layer(ws).connect(resolver.resolve(address, port));
        beast::get_lowest_layer(ws).expires_never();
        std::string token = o.token;
        ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
            if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
        }));
        websocket::response_type res;
        beast::error_code ec;
        ws.handshake(res, host + ":" + port, target, ec);
        if (ec) {
            std::string why = res.result_int() == 401
                                  ? "the gateway wants a valid --token"
                                  : "WebSocket handshake failed: " + ec.message();
            return fail(errc::unavailable, why);
        }
        // Without --group the subscription is ephemeral: the gateway stores no cursor and
        // leaves no group behind (docs/ws-protocol.md).
        json::object sub{{"op", "subscribe"},
                         {"id", "tail"},
                         {"topic", o.topic},
                         {"from", o.from},
                         {"manualAck", true}};
        if (!o.group.empty()) sub["group"] = o.group;
        ws.write(net::buffer(canonical_json(sub)));
        std::size_t printed = 0;
        beast::flat_buffer buf;
        // Reads run asynchronously in short slices of the io_context, so Ctrl-C is noticed
        // without closing the connection.
        bool done_reading = false;
        beast::error_code read_ec;
        auto start_read = [&] {
            done_reading = false;
            ws.async_read(buf, [&](beast::error_code e, std::size_t) {
                read_ec = e;
                done_reading = true;
            });
        };
        start_read();
        while (!interrupted && printed < o.limit) {
            ioc.restart();
            ioc.run_for(std::chrono::milliseconds(200));
            if (!done_reading) continue;
            if (read_ec)
                return fail(errc::unavailable,
                            "the gateway closed the connection: " + read_ec.message());
            auto msg = parse_json(beast::buffers_to_string(buf.data()),
                                  {.max_depth = 1024, .max_bytes = SIZE_MAX});
            buf.consume(buf.size());
            start_read();
            if (!msg || !msg->is_object()) continue;
            const auto& m = msg->get_object();
            auto op = m.find("op");
            if (op == m.end()) continue;
            if (op->value() == "error") {
                return fail(errc::invalid_argument,
                            "gateway: " + std::string(m.at("message").as_string()));
            }
            if (op->value() != "events") continue;
            std::int64_t last = 0;
            std::string out;
            for (const auto& e : m.at("events").as_array()) {
                if (printed >= o.limit) break;
                out += canonical_json(e);
                out.push_back('\n');
                last = e.at("seq").as_int64();
                ++printed;
            }
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
            if (last > 0 && !o.group.empty()) {
                json::object ack{
                    {"op", "ack"}, {"topic", o.topic}, {"group", o.group}, {"seq", last}};
                auto text = std::make_shared<std::string>(canonical_json(ack));
                ws.async_write(net::buffer(*text), [text](beast::error_code, std::size_t) {});
                ioc.restart();
                ioc.run_for(std::chrono::milliseconds(100));  // let the ack go out
            }
        }
        beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(2));
        ws.close(websocket::close_code::normal, ec);
    } catch (const boost::system::system_error& e) {
        // what() appends "[system:111 at /usr/include/boost/…]"; the code's message does not.
        return fail(errc::unavailable,
                    "cannot reach the gateway at " + host + ":" + port + ": " + e.code().message());
    } catch (const std::exception& e) {
        return fail(errc::unavailable, "cannot reach the gateway at " + host + ":" + port + ": " +
                                           without_source_location(e.what()));
    }
    return {};
}

}  // namespace prom::cli
