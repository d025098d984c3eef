// What watches cost (docs/watches.md): N Server-Sent Events watchers on one `prom serve`.
//
// Phase 1, one document each: N clients each watch GET /collections/wb/watch?key=kI; the
// bench commits a change to one random document at a time and times commit start → that
// watcher's event (p50/p99), with all N watching. Phase 2, fan-out: N clients watch the
// whole collection; each commit reaches all N, timed to the last one. RSS and threads are
// the server process's (/proc/PID), measured with N watchers open and idle.
//
// The server is a child process on a PostgreSQL database and the bench commits through its
// own store, so every event travels commit → NOTIFY → the server's feed → the stream, as
// between two nodes (and the two processes each stay under the descriptor limit).
//   watch_bench POSTGRES_URL [watchers,… default 1000,10000] [samples, default 300]
//               [fan-out commits, default 20]
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
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

// A watcher's stream: reads until `buf` holds `needle` followed by a blank line, and drops
// everything up to there.
struct stream {
    int fd = -1;
    std::string buf;
    bool until(std::string_view needle) {
        char chunk[8192];
        for (;;) {
            auto at = buf.find(needle);
            if (at != std::string::npos) {
                auto end = buf.find("\n\n", at);
                if (end != std::string::npos) {
                    buf.erase(0, end + 2);
                    return true;
                }
            }
            auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return false;
            buf.append(chunk, static_cast<std::size_t>(n));
        }
    }
};

void put_doc(store& s, std::size_t i, int v) {
    auto txn = s.begin();
    json::object o{{"v", v}};
    (void)(*txn)->update_one("wb", "k" + std::to_string(i), o, true);
    (void)(*txn)->commit();
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// Opens `n` watches (`target(i)`) and reads each one's preamble (headers, `id:`).
std::vector<stream> open_watches(std::uint16_t port, std::size_t n,
                                 const std::function<std::string(std::size_t)>& target) {
    std::vector<stream> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i].fd = connect_to(port);
        send_all(out[i].fd, "GET " + target(i) + " HTTP/1.1\r\nHost: b\r\n\r\n");
    }
    for (auto& s : out) {
        if (!s.until("\nid: ")) {
            std::fprintf(stderr, "a watch did not open\n");
            std::exit(1);
        }
    }
    return out;
}

}  // namespace

int run_once(const std::string& url, std::size_t watchers, std::size_t samples,
             std::size_t fanout_commits) {
    auto opened = open_store(url, {.durable = false});
    if (!opened) {
        std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
        return 1;
    }
    store& s = **opened;
    {
        auto txn = s.begin();
        for (std::size_t i = 0; i < watchers; ++i) {
            json::object o{{"v", 0}};
            (void)(*txn)->update_one("wb", "k" + std::to_string(i), o, true);
        }
        (void)(*txn)->commit();
    }
    auto server = bench::start_server_child(url);
    const pid_t child = server.pid;
    const std::uint16_t port = server.port;
    if (port == 0) {
        std::fprintf(stderr, "the server did not start\n");
        return 1;
    }
    std::this_thread::sleep_for(300ms);

    // ---- phase 1: one document per watcher
    const double rss0 = rss_kib(child);
    const std::size_t threads0 = thread_count(child);
    auto streams = open_watches(port, watchers, [](std::size_t i) {
        return "/collections/wb/watch?key=k" + std::to_string(i);
    });
    std::this_thread::sleep_for(1s);
    const double rss1 = rss_kib(child);
    const std::size_t threads1 = thread_count(child);
    std::mt19937 rng(7);
    std::vector<double> lat_ms, commit_ms;
    for (std::size_t n = 0; n < samples; ++n) {
        std::size_t i = rng() % watchers;
        auto t0 = steady_clock::now();
        put_doc(s, i, static_cast<int>(n + 1));
        commit_ms.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
        if (!streams[i].until("data: ")) {
            std::fprintf(stderr, "watch %zu ended\n", i);
            ::kill(child, SIGKILL);
            return 1;
        }
        lat_ms.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
    }
    const double rss2 = rss_kib(child);
    for (auto& st : streams) ::close(st.fd);
    std::printf("SSE watchers: %zu, one document each (PostgreSQL; commit -> NOTIFY -> feed)\n",
                watchers);
    std::printf("  commit -> event: p50 %.3f ms, p99 %.3f ms (%zu samples)\n", pct(lat_ms, 0.5),
                pct(lat_ms, 0.99), lat_ms.size());
    std::printf("  of which the bench's own commit: p50 %.3f ms, p99 %.3f ms\n",
                pct(commit_ms, 0.5), pct(commit_ms, 0.99));
    std::printf("  server RSS growth: %.0f KiB, %.2f KiB per watcher (%.2f after the samples)\n",
                rss1 - rss0, (rss1 - rss0) / static_cast<double>(watchers),
                (rss2 - rss0) / static_cast<double>(watchers));
    std::printf("  server threads: %zu before, %zu with %zu watchers\n", threads0, threads1,
                watchers);

    // ---- phase 2: fan-out, every watcher sees every change
    std::this_thread::sleep_for(1s);
    streams = open_watches(port, watchers, [](std::size_t) { return "/collections/wb/watch"; });
    std::this_thread::sleep_for(500ms);
    std::vector<double> last_ms, all_ms;
    for (std::size_t n = 0; n < fanout_commits; ++n) {
        auto t0 = steady_clock::now();
        put_doc(s, n % watchers, static_cast<int>(1000000 + n));
        // Round-robin over the streams in the order they become readable.
        std::vector<bool> got(watchers, false);
        std::size_t left = watchers;
        std::vector<pollfd> pfds(watchers);
        while (left > 0) {
            for (std::size_t i = 0; i < watchers; ++i) {
                pfds[i] = {got[i] ? -1 : streams[i].fd, POLLIN, 0};
            }
            if (::poll(pfds.data(), pfds.size(), 10000) <= 0) {
                std::fprintf(stderr, "fan-out: %zu watchers got nothing in 10 s\n", left);
                ::kill(child, SIGKILL);
                return 1;
            }
            for (std::size_t i = 0; i < watchers; ++i) {
                if (got[i] || !(pfds[i].revents & POLLIN)) continue;
                if (!streams[i].until("data: ")) {
                    std::fprintf(stderr, "fan-out watch %zu ended\n", i);
                    ::kill(child, SIGKILL);
                    return 1;
                }
                got[i] = true;
                --left;
                all_ms.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
            }
        }
        last_ms.push_back(duration<double, std::milli>(steady_clock::now() - t0).count());
    }
    for (auto& st : streams) ::close(st.fd);
    std::printf("SSE watchers: %zu, each watching the whole collection (fan-out)\n", watchers);
    std::printf("  commit -> event, every delivery: p50 %.3f ms, p99 %.3f ms (%zu deliveries)\n",
                pct(all_ms, 0.5), pct(all_ms, 0.99), all_ms.size());
    std::printf("  commit -> the last of %zu watchers: p50 %.3f ms, max %.3f ms (%zu commits)\n",
                watchers, pct(last_ms, 0.5), pct(last_ms, 1.0), last_ms.size());
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: watch_bench POSTGRES_URL [watchers,… default 1000,10000] [samples] "
                     "[fan-out commits]\n");
        return 2;
    }
    std::string url = argv[1];
    url += (url.find('?') == std::string::npos ? "?" : "&");
    url += "schema=watch_bench";
    std::vector<std::size_t> sizes;
    std::string t = argc > 2 ? argv[2] : "1000,10000";
    for (std::size_t at = 0; at < t.size();) {
        auto comma = t.find(',', at);
        sizes.push_back(std::stoul(t.substr(at, comma - at)));
        at = comma == std::string::npos ? t.size() : comma + 1;
    }
    const std::size_t samples = argc > 3 ? std::stoul(argv[3]) : 300;
    const std::size_t fanout = argc > 4 ? std::stoul(argv[4]) : 20;
    for (auto n : sizes) {
        if (int rc = run_once(url, n, samples, fanout)) return rc;
    }
    return 0;
}
