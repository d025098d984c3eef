#include "support/sse_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>

namespace prom::test {

sse_client::sse_client(std::uint16_t port, std::string_view target,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close();
        return;
    }
    std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n";
    req += "Accept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) {
        req += k;
        req += ": ";
        req += v;
        req += "\r\n";
    }
    req += "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        close();
        return;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !fill(left)) return;
    }
    std::string_view head(buf_.data(), end);
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() >= 12) {
        std::from_chars(status_line.data() + 9, status_line.data() + 12, reply_.status);
        if (status_line.size() > 13) reply_.reason = status_line.substr(13);
    }
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
    while (!rest.empty()) {
        auto e = rest.find("\r\n");
        std::string_view h = rest.substr(0, e);
        rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
        auto colon = h.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        reply_.headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
    }
    buf_.erase(0, end + 4);
    if (reply_.status != 200) {
        std::size_t length = 0;
        if (auto cl = reply_.header("Content-Length")) length = std::stoul(*cl);
        while (buf_.size() < length) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !fill(left)) break;
        }
        reply_.body = buf_.substr(0, length);
        buf_.clear();
    }
}

sse_client::~sse_client() { close(); }

void sse_client::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool sse_client::fill(std::chrono::milliseconds timeout) {
    if (fd_ < 0 || ended_) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(timeout.count(), 0)));
    if (r <= 0) return false;
    char chunk[16384];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
        ended_ = true;
        return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::optional<sse_event> sse_client::next(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // One block per blank line (the server ends lines with \n only).
        auto end = buf_.find("\n\n");
        if (end != std::string::npos) {
            std::string block = buf_.substr(0, end);
            buf_.erase(0, end + 2);
            sse_event e;
            bool has_data = false, has_id = false;
            std::string_view rest = block;
            while (!rest.empty()) {
                auto nl = rest.find('\n');
                std::string_view line = rest.substr(0, nl);
                rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
                if (line.starts_with(":")) {
                    ++comments_;
                    continue;
                }
                auto colon = line.find(':');
                std::string_view field = line.substr(0, colon);
                std::string_view value =
                    colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
                if (value.starts_with(" ")) value.remove_prefix(1);
                if (field == "id") {
                    e.id = value;
                    has_id = true;
                } else if (field == "data") {
                    if (has_data) e.data += '\n';
                    e.data += value;
                    has_data = true;
                }
            }
            if (has_id) last_id_ = e.id;
            if (has_data) return e;
            continue;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
}

std::vector<sse_event> sse_client::drain(std::chrono::milliseconds quiet) {
    std::vector<sse_event> out;
    while (auto e = next(quiet)) out.push_back(std::move(*e));
    return out;
}

}  // namespace prom::test
