// prom as a library inside your own program (docs/clients.md, "C++ library"): opens a
// SQLite store and writes a few page views to its log, starts the embedded server on that
// store (prom/harness.hpp: the snapshot API and the WebSocket gateway on a free loopback
// port), runs a projector that counts views per page into the collection `page_views`, and
// serves the counts as snapshots.
//
//   embed [--db PATH] [--serve SECONDS]
//
// Without --serve it fetches its own snapshot over HTTP, prints it and exits 0 only when the
// count is right: scripts/install-test.sh runs it so, built against the installed package.
// With --serve it keeps serving for that long, for curl.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "prom/harness.hpp"
#include "prom/json.hpp"
#include "prom/projector.hpp"
#include "prom/store.hpp"

namespace {

int fail(const std::string& what) {
    std::fprintf(stderr, "embed: %s\n", what.c_str());
    return 1;
}

// A minimal HTTP/1.1 GET over a loopback socket: the example needs no HTTP library.
std::optional<std::string> http_get(std::uint16_t port, const std::string& target) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        std::string request =
            "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
            char buf[4096];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, n);
        }
    }
    ::close(fd);
    if (answer.empty()) return std::nullopt;
    return answer;
}

}  // namespace

int main(int argc, char** argv) {
    std::string db_path;
    int serve_seconds = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view flag = argv[i];
        if (flag == "--db") {
            db_path = argv[i + 1];
        } else if (flag == "--serve") {
            serve_seconds = std::atoi(argv[i + 1]);
        } else {
            return fail("usage: embed [--db PATH] [--serve SECONDS]");
        }
    }
    const bool temporary = db_path.empty();
    if (temporary) {
        db_path = (std::filesystem::temp_directory_path() /
                   ("prom-embed-" + std::to_string(::getpid()) + ".db"))
                      .string();
    }
    const std::string url = "sqlite:" + db_path;

    // 1. A store: three page views in the log. (Closed again before the server opens it.)
    {
        auto store = prom::open_store(url);
        if (!store) return fail("open_store: " + store.error().message);
        std::vector<prom::event_input> views;
        for (const char* page : {"home", "about", "home"}) {
            prom::event_input e;
            e.topic = "page.viewed";
            e.key = page;
            e.payload = prom::json::object{{"page", page}};
            views.push_back(std::move(e));
        }
        if (auto r = (*store)->append(std::move(views)); !r) {
            return fail("append: " + r.error().message);
        }
    }

    // 2. The embedded server on the same database, without the built-in process projectors.
    prom::harness_options options;
    options.db = url;
    options.process_projectors = false;
    auto server = prom::harness::start(options);
    if (!server) return fail("harness::start: " + server.error().message);

    // 3. A projector: page.viewed → page_views/{page} {views: N}, exactly once per event.
    prom::projector_options p;
    p.topic = "page.viewed";
    p.group = "page-views";
    p.handler = [](const prom::event& e, prom::transaction& txn) -> prom::status {
        prom::json::object inc{{"$inc", prom::json::object{{"views", 1}}}};
        if (auto r = txn.update_one("page_views", e.key, inc, /*upsert=*/true); !r) {
            return std::unexpected(r.error());
        }
        return {};
    };
    auto projector = prom::start_transactional_projector((*server)->storage(), std::move(p));
    if (!projector->wait_until(prom::seq_t{3}, std::chrono::seconds(30))) {
        return fail("the projector did not reach seq 3");
    }

    // 4. Snapshots over HTTP.
    const std::string snap = "/collections/page_views/snap/home";
    std::printf("serving %s%s\n", (*server)->http_url().c_str(), snap.c_str());
    std::fflush(stdout);
    int status = 0;
    if (serve_seconds > 0) {
        std::this_thread::sleep_for(std::chrono::seconds(serve_seconds));
    } else {
        auto answer = http_get((*server)->port(), snap);
        if (!answer) {
            status = fail("no answer from " + snap);
        } else {
            auto body_at = answer->find("\r\n\r\n");
            std::string body = body_at == std::string::npos ? "" : answer->substr(body_at + 4);
            std::printf("%s\n", body.c_str());
            auto doc = prom::parse_json(body);
            if (answer->rfind("HTTP/1.1 200", 0) != 0 || !doc || !doc->is_object() ||
                doc->as_object().if_contains("views") == nullptr ||
                doc->as_object().at("views") != prom::json::value(2)) {
                status =
                    fail("expected 200 with {\"views\":2,...}, got: " + answer->substr(0, 200));
            }
        }
    }

    projector.reset();  // stops it before the store goes away
    (*server)->stop();
    server->reset();
    if (temporary) {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
    }
    return status;
}
