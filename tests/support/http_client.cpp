#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/text.hpp"

namespace prom::test {

namespace {}  // namespace

std::optional<std::string> http_reply::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) return v;
    }
    return std::nullopt;
}

std::size_t http_reply::count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& [k, v] : headers) n += iequals(k, name) ? 1 : 0;
    return n;
}

http_connection::http_connection(std::uint16_t port, std::chrono::milliseconds timeout,
                                 int receive_buffer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (receive_buffer > 0) {
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

http_connection::~http_connection() {
    if (fd_ >= 0) ::close(fd_);
}

bool http_connection::send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<http_reply> http_connection::read_reply(bool head) {
    auto fill = [&]() {
        char buf[16384];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        buffered_.append(buf, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
    }
    std::string_view head_text(buffered_.data(), end);
    http_reply r;
    auto line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) return std::nullopt;
    std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
    if (status_line.size() > 13) r.reason = std::string(status_line.substr(13));
    std::string_view rest =
        line_end == std::string_view::npos ? "" : head_text.substr(line_end + 2);
    while (!rest.empty()) {
        auto e = rest.find("\r\n");
        std::string_view line = rest.substr(0, e);
        rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    std::size_t length = 0;
    bool no_body = head || r.status == 304 || r.status == 204 || r.status < 200;
    if (!no_body) {
        auto cl = r.header("Content-Length");
        if (!cl) return std::nullopt;
        std::from_chars(cl->data(), cl->data() + cl->size(), length);
    }
    buffered_.erase(0, end + 4);
    while (buffered_.size() < length) {
        if (!fill()) return std::nullopt;
    }
    r.body = buffered_.substr(0, length);
    buffered_.erase(0, length);
    return r;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        int rc = ::poll(&p, 1, static_cast<int>(left.count()));
        if (rc <= 0) return false;
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
        // Bytes (an error reply): keep reading until EOF.
    }
}

std::optional<http_reply> http_connection::request(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
    std::string req;
    req += method;
    req += ' ';
    req += target;
    req += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool has_length = false;
    for (const auto& [k, v] : headers) {
        req += k;
        req += ": ";
        req += v;
        req += "\r\n";
        has_length = has_length || iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding");
    }
    if (!body.empty() && !has_length)
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n";
    req += body;
    if (!send_raw(req)) return std::nullopt;
    return read_reply(method == "HEAD");
}

http_reply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view body) {
    http_connection c(port);
    if (!c.connected()) return {};
    auto r = c.request(method, target, headers, body);
    return r ? std::move(*r) : http_reply{};
}

}  // namespace prom::test
