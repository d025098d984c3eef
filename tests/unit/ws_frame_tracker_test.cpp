// The close-code guard finds frame starts in the bytes the server writes, however the writes
// split them (ws/close_code_guard.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ws/close_code_guard.hpp"

namespace prom::ws {
namespace {

// An unmasked server frame with a payload of `n` bytes.
std::string frame(std::uint8_t opcode, std::size_t n) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (n < 126) {
        f.push_back(static_cast<char>(n));
    } else if (n <= 0xFFFF) {
        f.push_back(static_cast<char>(126));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n & 0xFF));
    } else {
        f.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            f.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
    return f + std::string(n, '\x88');  // payload bytes that look like close frames
}

TEST(ws_frame_tracker, finds_every_frame_start_whatever_the_write_sizes) {
    const std::vector<std::string> frames{frame(0x1, 0), frame(0x1, 125),   frame(0x1, 126),
                                          frame(0x9, 3), frame(0x1, 70000), frame(0x1, 65535),
                                          frame(0x8, 2)};
    std::string all;
    std::vector<std::size_t> starts;
    for (const auto& f : frames) {
        starts.push_back(all.size());
        all += f;
    }
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 125u, 4096u, 1u << 20}) {
        frame_tracker t;
        std::vector<std::size_t> seen;
        for (std::size_t at = 0; at < all.size(); at += chunk) {
            // A write may begin anywhere; only frame starts may be reported as such.
            for (std::size_t i = at; i < std::min(all.size(), at + chunk); ++i) {
                if (t.at_frame_start()) seen.push_back(i);
                t.advance(reinterpret_cast<const unsigned char*>(all.data()) + i, 1);
            }
        }
        EXPECT_EQ(seen, starts) << "chunk " << chunk;
        EXPECT_TRUE(t.at_frame_start());
        // The same with the chunks handed over whole.
        frame_tracker whole;
        std::size_t mid_frame_starts = 0;
        for (std::size_t at = 0; at < all.size(); at += chunk) {
            bool start = whole.at_frame_start();
            bool is_start = std::find(starts.begin(), starts.end(), at) != starts.end();
            if (start != is_start) ++mid_frame_starts;
            std::size_t n = std::min(chunk, all.size() - at);
            whole.advance(reinterpret_cast<const unsigned char*>(all.data()) + at, n);
        }
        EXPECT_EQ(mid_frame_starts, 0u) << "chunk " << chunk;
    }
}

}  // namespace
}  // namespace prom::ws
