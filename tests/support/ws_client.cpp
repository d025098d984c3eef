#include "support/ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace prom::test {

namespace {

bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

std::unique_ptr<raw_ws> raw_ws::connect(std::uint16_t port, handshake& result,
                                        const std::string& path,
                                        const std::vector<std::string>& extra_headers,
                                        const std::string& version, const std::string& key,
                                        int receive_buffer_bytes,
                                        const std::string& sent_with_request) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer_bytes > 0) {
        // Set before connect: it also turns the kernel's receive-buffer autotuning off.
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return nullptr;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string req = "GET " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Version: " +
                      version + "\r\n";
    if (!key.empty()) req += "Sec-WebSocket-Key: " + key + "\r\n";
    for (const auto& h : extra_headers) req += h + "\r\n";
    req += "\r\n";
    req += sent_with_request;
    std::unique_ptr<raw_ws> ws(new raw_ws(fd));
    if (!send_all(fd, req.data(), req.size())) return nullptr;
    // Read the answer's head; for a refusal also whatever body follows before the close.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string got;
    char c;
    while (got.find("\r\n\r\n") == std::string::npos) {
        if (!ws->read_exact(&c, 1, deadline)) break;
        got.push_back(c);
    }
    if (got.size() > 12) result.status = std::atoi(got.c_str() + 9);
    if (result.status != 101) {
        while (ws->read_exact(&c, 1, std::chrono::steady_clock::now() + std::chrono::seconds(2)))
            got.push_back(c);
    }
    result.response = got;
    return ws;
}

raw_ws::~raw_ws() { ::close(fd_); }

bool raw_ws::read_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point deadline) {
    while (n > 0) {
        if (!pending_.empty()) {
            std::size_t k = std::min(n, pending_.size());
            std::memcpy(out, pending_.data(), k);
            pending_.erase(0, k);
            out += k;
            n -= k;
            continue;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[65536];
        ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n), 0);
        if (r <= 0) return false;
        pending_.append(buf, static_cast<std::size_t>(r));
    }
    return true;
}

bool raw_ws::send_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool masked,
                        std::uint8_t rsv_bits) {
    std::string f = encode_frame(opcode, payload, fin, masked, rsv_bits);
    return send_all(fd_, f.data(), f.size());
}

std::string raw_ws::encode_frame(std::uint8_t opcode, std::string_view payload, bool fin,
                                 bool masked, std::uint8_t rsv_bits) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv_bits & 7) << 4) | (opcode & 0x0f)));
    std::uint8_t mask_bit = masked ? 0x80 : 0;
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xffff) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xff));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            f.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
    }
    if (masked) {
        static std::mt19937 rng(12345);
        char key[4];
        for (auto& k : key) k = static_cast<char>(rng());
        f.append(key, 4);
        for (std::size_t i = 0; i < payload.size(); ++i)
            f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
    } else {
        f.append(payload);
    }
    return f;
}

std::optional<raw_ws::frame> raw_ws::read_frame(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    unsigned char h[2];
    if (!read_exact(reinterpret_cast<char*>(h), 2, deadline)) return std::nullopt;
    frame f;
    f.fin = h[0] & 0x80;
    f.opcode = h[0] & 0x0f;
    std::uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        unsigned char e[2];
        if (!read_exact(reinterpret_cast<char*>(e), 2, deadline)) return std::nullopt;
        len = (std::uint64_t{e[0]} << 8) | e[1];
    } else if (len == 127) {
        unsigned char e[8];
        if (!read_exact(reinterpret_cast<char*>(e), 8, deadline)) return std::nullopt;
        len = 0;
        for (unsigned char b : e) len = (len << 8) | b;
    }
    f.payload.resize(len);
    if (len && !read_exact(f.payload.data(), len, deadline)) return std::nullopt;
    return f;
}

std::optional<std::string> raw_ws::read_text(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string message;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto f = read_frame(left);
        if (!f) return std::nullopt;
        if (f->opcode == 0x9) {
            send_frame(0xA, f->payload);
            continue;
        }
        if (f->opcode == 0xA) continue;
        if (f->opcode == 0x8) return std::nullopt;
        message += f->payload;
        if (f->fin) return message;
    }
}

std::optional<std::uint16_t> raw_ws::read_close(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto f = read_frame(left);
        if (!f) return std::nullopt;
        if (f->opcode != 0x8) continue;
        if (f->payload.size() < 2) return 1005;
        return static_cast<std::uint16_t>((static_cast<unsigned char>(f->payload[0]) << 8) |
                                          static_cast<unsigned char>(f->payload[1]));
    }
}

bool raw_ws::closed_by_peer(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char c;
    while (std::chrono::steady_clock::now() < deadline) {
        pending_.clear();
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
            char buf[65536];
            ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
            if (r <= 0) return true;
        }
        (void)c;
    }
    return false;
}

}  // namespace prom::test
