// The TCP stream under the gateway's WebSocket stream, with one rule added: the server never
// sends a close code that RFC 6455 §7.4 does not allow; it sends 1002 (protocol error)
// instead.
//
// Why a stream layer: Beast answers a client's close frame by echoing its code, and it
// accepts any code from 3000 up, so a client closing with 5000–65535 got the same code back
// (issue 12 item 16). Beast offers no hook between reading the close frame and writing the
// echo, so the echo is corrected on its way out. The layer follows the server's frames
// through the bytes written (server frames are unmasked), so a close frame is recognised
// only where a frame starts, never inside a payload.
//
// The layer also hands Beast first what the HTTP server read past the upgrade request
// (read_first): a client that sends frames without waiting for the 101 had them lost, and
// their bytes taken as the start of its next message (found from outside).
//
// Beast/Asio: include only from ws_session.cpp. Used from the connection's thread only.
#pragma once

#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstdint>
#include <string>

#include "ws/protocol.hpp"

namespace prom::ws {

// Where the written bytes are in the sequence of server frames.
class frame_tracker {
  public:
    bool at_frame_start() const { return payload_left_ == 0 && header_have_ == 0; }

    void advance(const unsigned char* p, std::size_t n) {
        while (n > 0) {
            if (payload_left_ > 0) {
                auto k = static_cast<std::size_t>(
                    std::min<std::uint64_t>(payload_left_, static_cast<std::uint64_t>(n)));
                payload_left_ -= k;
                p += k;
                n -= k;
                continue;
            }
            header_[header_have_++] = *p++;
            --n;
            if (header_have_ == header_size()) {
                payload_left_ = payload_size();
                header_have_ = 0;
            }
        }
    }

  private:
    // 2 bytes, then 2 or 8 more for a 16- or 64-bit length (no mask: the server's frames).
    std::size_t header_size() const {
        if (header_have_ < 2) return 2;
        auto len7 = header_[1] & 0x7F;
        return len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    }
    std::uint64_t payload_size() const {
        auto len7 = static_cast<std::uint64_t>(header_[1] & 0x7F);
        if (len7 < 126) return len7;
        std::uint64_t v = 0;
        for (std::size_t i = 2; i < header_size(); ++i) v = (v << 8) | header_[i];
        return v;
    }

    std::array<unsigned char, 10> header_{};
    std::size_t header_have_ = 0;
    std::uint64_t payload_left_ = 0;
};

class close_code_guard_stream : public boost::beast::tcp_stream {
  public:
    explicit close_code_guard_stream(boost::beast::tcp_stream&& s)
        : boost::beast::tcp_stream(std::move(s)) {}
    close_code_guard_stream(close_code_guard_stream&&) = default;

    boost::beast::tcp_stream& base() { return *this; }

    // Called once the handshake's HTTP answer is written: from here on the bytes written
    // are frames. (Before, they pass unchecked.)
    void start_frames() { framing_ = true; }

    // Bytes already read from the socket, to be read before anything more comes from it.
    void read_first(std::string bytes) { unread_ = std::move(bytes); }

    template <class MutableBufferSequence, class ReadHandler>
    auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
        namespace net = boost::asio;
        return net::async_initiate<ReadHandler, void(boost::system::error_code, std::size_t)>(
            initiate_read<MutableBufferSequence>{this}, handler, buffers);
    }

    template <class ConstBufferSequence, class WriteHandler>
    auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
        namespace net = boost::asio;
        return net::async_initiate<WriteHandler, void(boost::system::error_code, std::size_t)>(
            initiate_write<ConstBufferSequence>{this}, handler, buffers);
    }

  private:
    template <class MutableBufferSequence>
    struct initiate_read {
        close_code_guard_stream* self;

        template <class Handler>
        void operator()(Handler&& handler, const MutableBufferSequence& buffers) const {
            self->start_read(std::forward<Handler>(handler), buffers);
        }
    };

    template <class Handler, class MutableBufferSequence>
    void start_read(Handler&& handler, const MutableBufferSequence& buffers) {
        namespace net = boost::asio;
        if (unread_.empty()) {
            base().async_read_some(buffers, std::forward<Handler>(handler));
            return;
        }
        const std::size_t n = net::buffer_copy(buffers, net::buffer(unread_));
        unread_.erase(0, n);
        // Completed through the handler's executor, never inside this call (Asio's rule).
        auto ex = net::get_associated_executor(handler, get_executor());
        net::post(ex, [h = std::forward<Handler>(handler), n]() mutable {
            std::move(h)(boost::system::error_code{}, n);
        });
    }

    template <class ConstBufferSequence>
    struct initiate_write {
        close_code_guard_stream* self;

        template <class Handler>
        void operator()(Handler&& handler, const ConstBufferSequence& buffers) const {
            self->start_write(std::forward<Handler>(handler), buffers);
        }
    };

    template <class Handler, class ConstBufferSequence>
    void start_write(Handler&& handler, const ConstBufferSequence& buffers) {
        namespace net = boost::asio;
        auto ex = net::get_associated_executor(handler, get_executor());
        if (framing_ && tracker_.at_frame_start() && take_bad_close_frame(buffers)) {
            // The whole (small) corrected frame goes out before the handler hears of it, so
            // a partial write can never leave the original code bytes to follow.
            net::async_write(
                base(), net::buffer(corrected_),
                net::bind_executor(ex, [this, h = std::forward<Handler>(handler)](
                                           boost::system::error_code ec, std::size_t n) mutable {
                    tracker_.advance(reinterpret_cast<const unsigned char*>(corrected_.data()), n);
                    std::move(h)(ec, n);
                }));
            return;
        }
        base().async_write_some(
            buffers,
            net::bind_executor(ex, [this, buffers, h = std::forward<Handler>(handler)](
                                       boost::system::error_code ec, std::size_t n) mutable {
                if (framing_) track(buffers, n);
                std::move(h)(ec, n);
            }));
    }

    template <class ConstBufferSequence>
    void track(const ConstBufferSequence& buffers, std::size_t n) {
        namespace net = boost::asio;
        for (auto it = net::buffer_sequence_begin(buffers);
             it != net::buffer_sequence_end(buffers) && n > 0; ++it) {
            net::const_buffer b(*it);
            std::size_t k = std::min(n, b.size());
            tracker_.advance(static_cast<const unsigned char*>(b.data()), k);
            n -= k;
        }
    }

    // When `buffers` start with a whole close frame whose code may not be sent: its bytes,
    // code replaced by 1002, in corrected_. Close frames are at most 127 bytes.
    template <class ConstBufferSequence>
    bool take_bad_close_frame(const ConstBufferSequence& buffers) {
        namespace net = boost::asio;
        std::array<unsigned char, 127> frame;
        std::size_t have = net::buffer_copy(net::buffer(frame), buffers);
        if (have < 4 || frame[0] != 0x88) return false;  // FIN + close, with a code
        std::size_t len = frame[1] & 0x7F;
        if (len < 2 || len > 125 || have < 2 + len) return false;
        auto code = static_cast<std::uint16_t>((frame[2] << 8) | frame[3]);
        if (sendable_close_code(code)) return false;
        frame[2] = 0x03;  // 1002
        frame[3] = 0xEA;
        corrected_.assign(reinterpret_cast<const char*>(frame.data()), 2 + len);
        return true;
    }

    bool framing_ = false;
    frame_tracker tracker_;
    std::string corrected_;
    std::string unread_;
};

// Closing the connection after the close handshake: as for the TCP stream underneath.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, close_code_guard_stream& stream,
                    TeardownHandler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.socket(), std::forward<TeardownHandler>(handler));
}

inline void teardown(boost::beast::role_type role, close_code_guard_stream& stream,
                     boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.socket(), ec);
}

}  // namespace prom::ws
