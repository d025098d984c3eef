// What blocking reads cost (docs/http-api.md, "Blocking reads"): N clients each hold a
// document GET with If-None-Match + Prefer: wait=60 on a document of their own; the bench
// then changes one document at a time and measures commit → the held client's 200 (wake
// latency, p50/p99) while all N are held, and the server's RSS growth per held request
// and threads. Beside it, clients polling every 100 ms: their requests/s, and the server
// CPU they cost versus N held reads.
//
// The server is a child process (`prom serve` as a library) on a PostgreSQL database; the
// bench writes the documents through its own store on the same database, so every wake-up
// travels commit → NOTIFY → the server's commit listener → the held connection, as it
// does between two nodes. Two processes also keep each under the file descriptor limit
// with 10,000 connections.
//   long_poll_bench POSTGRES_URL [held,… default 1000,10000] [samples, default 300]
//                   [pollers,… default as held]
// Each size runs against a fresh server process, one after the other, in one run.
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "prom/store.hpp"
#include "server/node.hpp"
#include "server_child.hpp"

using namespace prom;
using namespace std::chrono;
using bench::connect_to;
using bench::rss_kib;
using bench::send_all;
using bench::thread_count;

namespace {

// utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat).
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i >= 14) ticks += std::atof(f.c_str());
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Reads one response (headers and Content-Length body); returns (status, etag).
std::pair<int, std::string> read_response(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
        auto end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::size_t len = 0;
            auto cl = in.find("Content-Length: ");
            if (cl != std::string::npos && cl < end) len = std::stoul(in.substr(cl + 16));
            if (in.size() >= end + 4 + len) {
                std::string etag;
                auto e = in.find("ETag: ");
                if (e != std::string::npos && e < end) {
                    etag = in.substr(e + 6, in.find("\r\n", e) - e - 6);
                }
                return {std::atoi(in.c_str() + 9), etag};
            }
        }
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return {0, {}};
        in.append(buf, static_cast<std::size_t>(n));
    }
}

std::string held_get(std::size_t i, const std::string& etag) {
    return "GET /collections/lp/snap/k" + std::to_string(i) +
           " HTTP/1.1\r\nHost: b\r\nIf-None-Match: " + etag + "\r\nPrefer: wait=60\r\n\r\n";
}

void put_doc(store& s, std::size_t i, int v) {
    auto txn = s.begin();
    json::object o{{"v", v}};
    (void)(*txn)->update_one("lp", "k" + std::to_string(i), o, true);
    (void)(*txn)->commit();
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

// One size: a fresh server process, HELD held reads, then POLLERS pollers.
int run_once(const std::string& url, std::size_t held, std::size_t samples, std::size_t pollers) {
    const std::size_t docs = std::max(held, pollers);

    // The documents first (a fresh state per run), then the server.
    auto opened = open_store(url, {.durable = false});
    if (!opened) {
        std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
        return 1;
    }
    store& s = **opened;
    {
        auto txn = s.begin();
        for (std::size_t i = 0; i < docs; ++i) {
            json::object o{{"v", 0}};
            (void)(*txn)->update_one("lp", "k" + std::to_string(i), o, true);
        }
        (void)(*txn)->commit();
    }
    std::vector<std::string> etags(docs);
    for (std::size_t i = 0; i < docs; ++i) {
        etags[i] = (*s.find_one("lp", "k" + std::to_string(i)))->etag;
    }
    auto server = bench::start_server_child(url);
    const pid_t child = server.pid;
    const std::uint16_t port = server.port;
    if (port == 0) {
        std::fprintf(stderr, "the server did not start\n");
        return 1;
    }
    std::this_thread::sleep_for(300ms);

    // ---- held reads
    const double rss0 = rss_kib(child);
    const std::size_t threads0 = thread_count(child);
    std::vector<int> fds(held);
    for (std::size_t i = 0; i < held; ++i) {
        fds[i] = connect_to(port);
        send_all(fds[i], held_get(i, etags[i]));
    }
    std::this_thread::sleep_for(2s);  // every request parsed and parked
    const double rss1 = rss_kib(child);
    const std::size_t threads1 = thread_count(child);
    const double idle0 = cpu_seconds(child);
    std::this_thread::sleep_for(3s);
    const double held_cpu = (cpu_seconds(child) - idle0) / 3.0;

    std::mt19937 rng(7);
    std::vector<double> lat_ms, commit_ms;
    for (std::size_t n = 0; n < samples; ++n) {
        std::size_t i = rng() % held;
        auto t0 = steady_clock::now();
        put_doc(s, i, static_cast<int>(n + 1));
        commit_ms.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
        auto [status, etag] = read_response(fds[i]);
        auto t1 = steady_clock::now();
        if (status != 200) {
            std::fprintf(stderr, "held read %zu answered %d\n", i, status);
            ::kill(child, SIGKILL);
            return 1;
        }
        lat_ms.push_back(duration<double, std::milli>(t1 - t0).count());
        etags[i] = etag;
        send_all(fds[i], held_get(i, etag));  // hold it again
    }
    for (int fd : fds) ::close(fd);

    std::printf("held reads: %zu (PostgreSQL; commit -> NOTIFY -> server -> client)\n", held);
    std::printf("  wake latency commit -> 200: p50 %.3f ms, p99 %.3f ms (%zu samples)\n",
                pct(lat_ms, 0.5), pct(lat_ms, 0.99), lat_ms.size());
    std::printf("  of which the bench's own commit: p50 %.3f ms, p99 %.3f ms\n",
                pct(commit_ms, 0.5), pct(commit_ms, 0.99));
    std::printf("  server RSS growth: %.0f KiB total, %.2f KiB per held read\n", rss1 - rss0,
                (rss1 - rss0) / static_cast<double>(held));
    std::printf("  server threads: %zu before, %zu while held\n", threads0, threads1);
    std::printf("  server CPU while %zu reads are held and nothing changes: %.3f s/s\n", held,
                held_cpu);

    // ---- 100 ms pollers: each sends a conditional GET every 100 ms (304 while unchanged).
    std::this_thread::sleep_for(1s);
    std::vector<int> pfds(pollers);
    for (std::size_t i = 0; i < pollers; ++i) pfds[i] = connect_to(port);
    const auto poll_for = 3s;
    std::size_t answered = 0;
    const double cpu0 = cpu_seconds(child);
    const auto end = steady_clock::now() + poll_for;
    while (steady_clock::now() < end) {
        auto tick = steady_clock::now();
        for (std::size_t i = 0; i < pollers; ++i) {
            send_all(pfds[i], "GET /collections/lp/snap/k" + std::to_string(i) +
                                  " HTTP/1.1\r\nHost: b\r\nIf-None-Match: " + etags[i] +
                                  "\r\n\r\n");
        }
        for (std::size_t i = 0; i < pollers; ++i) answered += read_response(pfds[i]).first != 0;
        std::this_thread::sleep_until(tick + 100ms);
    }
    const double secs = duration<double>(poll_for).count();
    const double poll_cpu = (cpu_seconds(child) - cpu0) / secs;
    for (int fd : pfds) ::close(fd);
    std::printf("100 ms pollers: %zu\n", pollers);
    std::printf("  requests/s: %.0f (%.1f per poller; a change is seen 50 ms late on average)\n",
                static_cast<double>(answered) / secs,
                static_cast<double>(answered) / secs / static_cast<double>(pollers));
    std::printf("  server CPU: %.3f s/s\n", poll_cpu);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: long_poll_bench POSTGRES_URL [held,… default 1000,10000] [samples] "
                     "[pollers,… default as held]\n");
        return 2;
    }
    std::string url = argv[1];
    url += (url.find('?') == std::string::npos ? "?" : "&");
    url += "schema=long_poll_bench";
    auto sizes = [](const char* text) {
        std::vector<std::size_t> out;
        std::string t = text;
        for (std::size_t at = 0; at < t.size();) {
            auto comma = t.find(',', at);
            out.push_back(std::stoul(t.substr(at, comma - at)));
            at = comma == std::string::npos ? t.size() : comma + 1;
        }
        return out;
    };
    const auto held = sizes(argc > 2 ? argv[2] : "1000,10000");
    const std::size_t samples = argc > 3 ? std::stoul(argv[3]) : 300;
    const auto pollers = argc > 4 ? sizes(argv[4]) : held;
    for (std::size_t i = 0; i < held.size(); ++i) {
        if (int rc = run_once(url, held[i], samples, pollers[std::min(i, pollers.size() - 1)])) {
            return rc;
        }
    }
    return 0;
}
