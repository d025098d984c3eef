// Finding a key given twice in one object. Boost.JSON keeps the last value of a repeated key
// and drops the others without a word; for configuration and definitions that would let a
// second `"auth"` silently replace the first (docs/config.md), so their parsers ask here.
#include "core/json_duplicates.hpp"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <vector>

#include "core/json_pointer.hpp"

namespace prom {

namespace {

// Walks the text's events, keeping the keys seen in each open object and the path to the
// current value, and stops at the first key an object already holds.
class duplicate_finder {
  public:
    // Values of members with these names are data: their keys are not looked at.
    explicit duplicate_finder(std::span<const std::string_view> data_members)
        : data_members_(data_members) {}

    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    std::optional<std::string> found;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        value_begins();
        frames_.push_back({.object = true, .data = opens_data()});
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        frames_.pop_back();
        return true;
    }
    bool on_array_begin(boost::system::error_code&) {
        value_begins();
        frames_.push_back({.object = false, .data = opens_data()});
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        frames_.pop_back();
        return true;
    }
    bool on_key_part(boost::json::string_view part, std::size_t, boost::system::error_code&) {
        key_.append(part.data(), part.size());
        return true;
    }
    bool on_key(boost::json::string_view part, std::size_t, boost::system::error_code& ec) {
        key_.append(part.data(), part.size());
        frame& f = frames_.back();
        if (f.data) {
            key_.clear();
            return true;
        }
        if (!f.keys.insert(key_).second) {
            found = path();
            append_pointer_token(*found, key_);
            ec = boost::json::error::extra_data;  // any error: it only stops the walk
            return false;
        }
        f.key = std::move(key_);
        key_.clear();
        return true;
    }
    bool on_string_part(boost::json::string_view, std::size_t, boost::system::error_code&) {
        return true;
    }
    bool on_string(boost::json::string_view, std::size_t, boost::system::error_code&) {
        return scalar();
    }
    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, boost::json::string_view, boost::system::error_code&) {
        return scalar();
    }
    bool on_uint64(std::uint64_t, boost::json::string_view, boost::system::error_code&) {
        return scalar();
    }
    bool on_double(double, boost::json::string_view, boost::system::error_code&) {
        return scalar();
    }
    bool on_bool(bool, boost::system::error_code&) { return scalar(); }
    bool on_null(boost::system::error_code&) { return scalar(); }
    bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

  private:
    struct frame {
        bool object = false;
        bool data = false;                        // inside data: keys not collected
        std::set<std::string, std::less<>> keys;  // an object's keys so far
        std::string key;                          // an object's current key
        std::size_t next_index = 0;               // an array's next element
        std::size_t index = 0;                    // an array's current element
    };

    // Whether a value starting now is data: inside data, or a data member's value.
    bool opens_data() const {
        if (frames_.empty()) return false;
        const frame& parent = frames_.back();
        return parent.data || (parent.object && is_data_member(parent.key));
    }
    bool is_data_member(std::string_view key) const {
        return std::find(data_members_.begin(), data_members_.end(), key) != data_members_.end();
    }

    // An array's element starts: it takes the next index (an object's value has its key).
    void value_begins() {
        if (!frames_.empty() && !frames_.back().object) {
            frames_.back().index = frames_.back().next_index++;
        }
    }
    bool scalar() {
        value_begins();
        return true;
    }

    // The JSON pointer (RFC 6901) of the value that holds the current frame.
    std::string path() const {
        std::string out;
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
            const frame& f = frames_[i];
            if (f.object) {
                append_pointer_token(out, f.key);
            } else {
                out += "/" + std::to_string(f.index);
            }
        }
        return out;
    }

    std::span<const std::string_view> data_members_;
    std::vector<frame> frames_;
    std::string key_;
};

std::optional<std::string> first_duplicate(std::string_view text,
                                           std::span<const std::string_view> data_members) {
    boost::json::parse_options options;
    options.max_depth = text.size() + 1;  // the caller's parse has applied its own limit
    boost::json::basic_parser<duplicate_finder> p{options, data_members};
    boost::system::error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    return std::move(p.handler().found);
}

// A publish request's data: what a payload or a header holds is the publisher's.
constexpr std::array<std::string_view, 2> envelope_data{"payload", "headers"};

// The names of the request's envelope (everything but its data), each with how many of its
// objects have a member of that name (from the parsed value) and how often the text writes
// it as a key: a name given twice in one object is written more often than objects hold it
// (the parsed object kept one of the two). A fixed table: publish requests name a handful.
struct envelope_names {
    struct entry {
        std::string_view name;
        std::uint32_t objects = 0;
        std::uint32_t written = 0;
    };
    std::array<entry, 24> entries;
    std::size_t size = 0;
    bool overflow = false;

    void count_objects(const boost::json::value& v) {
        if (const auto* a = v.if_array()) {
            for (const auto& e : *a) count_objects(e);
            return;
        }
        const auto* o = v.if_object();
        if (!o) return;
        for (const auto& m : *o) {
            std::string_view name(m.key().data(), m.key().size());
            if (entry* e = find(name)) {
                ++e->objects;
            } else if (size < entries.size()) {
                entries[size++] = {name, 1, 0};
            } else {
                overflow = true;
            }
            if (std::find(envelope_data.begin(), envelope_data.end(), name) ==
                envelope_data.end()) {
                count_objects(m.value());
            }
        }
    }
    entry* find(std::string_view name) {
        for (std::size_t i = 0; i < size; ++i) {
            if (entries[i].name == name) return &entries[i];
        }
        return nullptr;
    }
    // Counts the keys of a text without escapes (so every '"' opens or closes a string) in one
    // pass; true as soon as a name is written more often than objects hold it.
    bool written_more_often(std::string_view text) {
        const char* p = text.data();
        const char* const end = p + text.size();
        for (;;) {
            const auto* open = static_cast<const char*>(std::memchr(p, '"', end - p));
            if (!open) return false;
            const auto* close =
                static_cast<const char*>(std::memchr(open + 1, '"', end - open - 1));
            if (!close) return false;
            p = close + 1;
            const char* after = p;
            while (after < end &&
                   (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')) {
                ++after;
            }
            if (after == end || *after != ':') continue;  // a string value, not a key
            if (entry* e = find(std::string_view(open + 1, close - open - 1))) {
                if (++e->written > e->objects) return true;
            }
        }
    }
};

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view text) {
    return first_duplicate(text, {});
}

std::optional<std::string> first_duplicate_envelope_key(std::string_view text,
                                                        const boost::json::value& parsed) {
    // Walking the text with Boost.JSON's parser costs about as much as parsing it, on every
    // publish (docs/benchmarks.md). Without escapes in the text every key is written as it
    // reads: when no envelope name is written as a key more often than objects of the parsed
    // envelope hold it, no object had it twice, and one pass over the text's quotes tells.
    // Otherwise (a repeated name, or the same name as a key in a payload) the walk decides.
    if (text.find('\\') == std::string_view::npos) {
        envelope_names names;
        names.count_objects(parsed);
        if (!names.overflow && !names.written_more_often(text)) return std::nullopt;
    }
    return first_duplicate(text, envelope_data);
}

std::string duplicate_member_message(std::string_view pointer) {
    return "duplicate key at '" + std::string(pointer) +
           "': each member of a request may appear once (only payloads and headers keep the last "
           "value of a repeated key)";
}

}  // namespace prom
