// How the session writes answers (src/http/http_session.cpp): one non-blocking write first,
// the rest asynchronously when the kernel does not take it all. Pipelined answers that do
// not fit the sockets' buffers must still arrive whole and in order.
#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class http_write_path : public server_test {};

// loopback's largest send buffer (tcp_wmem's maximum), 4 MiB when it cannot be read.
std::size_t largest_send_buffer() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_wmem");
    std::size_t min = 0, def = 0, max = 0;
    if (in >> min >> def >> max && max > 0) return max;
    return std::size_t{4} << 20;
}

TEST_F(http_write_path, answers_larger_than_the_socket_takes_arrive_whole_and_in_order) {
    // Batch publishes of 6,000 events, each answered with ~570 KB, pipelined by a client
    // with a 4 KiB receive buffer that reads nothing until the server has stopped reading:
    // together the answers are more than the server's socket can hold, so one of them is
    // written only in part at first and the rest asynchronously.
    constexpr int per_batch = 6000;
    const int batches = static_cast<int>(largest_send_buffer() / 500'000) + 4;
    std::string body = R"({"events":[)";
    for (int i = 0; i < per_batch; ++i) {
        if (i > 0) body += ',';
        body += R"({"topic":"big","payload":)" + std::to_string(i) + "}";
    }
    body += "]}";
    const std::string one =
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    std::string all;
    for (int b = 0; b < batches; ++b) all += one;
    all += "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    http_connection c(port(), std::chrono::seconds(60), 4096);
    ASSERT_TRUE(c.connected());
    std::thread sender([&] { EXPECT_TRUE(c.send_raw(all)); });
    // The server answers a connection's requests one after the other: while an answer waits
    // for room in the socket, it reads no further request, and the topic stops growing.
    auto count = [&] {
        auto t = db().topic("big");
        return t && *t ? (*t)->count : 0;
    };
    std::int64_t seen = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto now = count();
        if (now == seen) break;
        seen = now;
    }
    EXPECT_GT(seen, 0);
    EXPECT_LT(seen, std::int64_t{batches} * per_batch) << "the server never waited for room";

    std::int64_t next_seq = 0;
    for (int b = 0; b < batches; ++b) {
        auto r = c.read_reply();
        ASSERT_TRUE(r) << "answer " << b;
        ASSERT_EQ(r->status, 200) << r->body;
        auto parsed = boost::json::parse(r->body);
        const auto& results = parsed.at("results").as_array();
        ASSERT_EQ(results.size(), static_cast<std::size_t>(per_batch)) << "answer " << b;
        for (const auto& one_result : results) {
            const auto seq = one_result.at("seq").to_number<std::int64_t>();
            if (next_seq != 0) EXPECT_EQ(seq, next_seq) << "answer " << b;
            next_seq = seq + 1;
        }
    }
    auto last = c.read_reply();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->status, 200);
    EXPECT_EQ(last->body, R"({"db":"up","status":"ok"})");
    sender.join();
    EXPECT_EQ(count(), std::int64_t{batches} * per_batch);
}

}  // namespace
}  // namespace prom::test
