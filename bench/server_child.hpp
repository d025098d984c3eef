// A `prom serve` node in a child process for the HTTP benchmarks (long_poll_bench,
// watch_bench): its own address space, so its RSS and threads are measured alone in
// /proc/PID, and its own descriptor limit next to the bench's thousands of client sockets.
// Plus the raw loopback client calls those benches share.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "server/node.hpp"

namespace prom::bench {

struct server_child {
    pid_t pid = -1;
    std::uint16_t port = 0;  // 0: it did not start
};

// Forks a child that starts a node on `url` (a free loopback port, 2 network threads, no
// projectors) and runs until it is killed; returns once the child reported its port.
inline server_child start_server_child(const std::string& url) {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        spdlog::set_level(spdlog::level::warn);
        server::serve_config c;
        c.db = url;
        c.port = 0;
        c.threads = 2;
        c.durable = false;
        c.projectors.clear();
        auto started = server::node::start(c);
        std::uint16_t port = started ? (*started)->port() : 0;
        (void)::write(fds[1], &port, sizeof port);
        for (;;) ::pause();
    }
    std::uint16_t port = 0;
    if (::read(fds[0], &port, sizeof port) != sizeof port) port = 0;
    ::close(fds[0]);
    ::close(fds[1]);
    if (port == 0 && pid > 0) {  // it failed to start: do not leave it paused forever
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    return {pid, port};
}

// Resident memory of a process, KiB (VmRSS of /proc/PID/status).
inline double rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6);
    }
    return 0;
}

inline std::size_t thread_count(pid_t pid) {
    std::size_t n = 0;
    if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
        while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}

// A TCP_NODELAY connection to the loopback port; exits the bench if it cannot connect.
inline int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::perror("connect");
        std::exit(1);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            std::perror("send");
            std::exit(1);
        }
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace prom::bench
