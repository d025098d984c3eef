// Finding a key given twice in one object. Boost.JSON keeps the last value of a repeated key
// and drops the others without a word; for configuration and definitions that would let a
// second `"auth"` silently replace the first (docs/config.md), so their parsers ask here.
#include "core/json_duplicates.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <set>
#include <vector>

#include "core/json_pointer.hpp"

namespace prom {

namespace {

// Walks the text's events, keeping the keys seen in each open object and the path to the
// current value, and stops at the first key an object already holds.
class duplicate_finder {
  public:
    // Objects inside a member of this name (when not empty) are data, not looked at.
    explicit duplicate_finder(std::string_view data_member) : data_member_(data_member) {}

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
        bool data = false;                        // inside the data member: keys not collected
        std::set<std::string, std::less<>> keys;  // an object's keys so far
        std::string key;                          // an object's current key
        std::size_t next_index = 0;               // an array's next element
        std::size_t index = 0;                    // an array's current element
    };

    // Whether a value starting now is data: inside data, or the data member's value.
    bool opens_data() const {
        if (frames_.empty()) return false;
        const frame& parent = frames_.back();
        return parent.data ||
               (parent.object && !data_member_.empty() && parent.key == data_member_);
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

    std::string_view data_member_;
    std::vector<frame> frames_;
    std::string key_;
};

std::optional<std::string> first_duplicate(std::string_view text, std::string_view data_member) {
    boost::json::parse_options options;
    options.max_depth = text.size() + 1;  // the caller's parse has applied its own limit
    boost::json::basic_parser<duplicate_finder> p{options, data_member};
    boost::system::error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    return std::move(p.handler().found);
}

}  // namespace

std::optional<std::string> first_duplicate_key(std::string_view text) {
    return first_duplicate(text, {});
}

std::optional<std::string> first_duplicate_envelope_key(std::string_view text) {
    return first_duplicate(text, "payload");
}

std::string duplicate_member_message(std::string_view pointer) {
    return "duplicate key at '" + std::string(pointer) +
           "': each member of a request may appear once (only payloads keep the last value of "
           "a repeated key)";
}

}  // namespace prom
