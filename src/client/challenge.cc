#include "client/challenge.h"

#include "common/strings.h"

namespace berth::client {
namespace {

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~/=").find(c) != std::string_view::npos;
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool AtEnd() {
    SkipSpace();
    return i_ >= s_.size();
  }
  bool Eat(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // A token without '=' (so "realm=" stops before '=').
  std::string Token() {
    SkipSpace();
    size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_]) && s_[i_] != '=') ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // A token68 or token value (may contain '=' padding), or a quoted string.
  std::optional<std::string> Value() {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == '"') {
      std::string out;
      for (++i_; i_ < s_.size(); ++i_) {
        char c = s_[i_];
        if (c == '\\' && i_ + 1 < s_.size()) {
          out.push_back(s_[++i_]);
        } else if (c == '"') {
          ++i_;
          return out;
        } else {
          out.push_back(c);
        }
      }
      return std::nullopt;  // unterminated
    }
    size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<Challenge> ParseChallenges(std::string_view header) {
  std::vector<Challenge> out;
  Lexer lx(header);
  while (!lx.AtEnd()) {
    if (lx.Eat(',')) continue;
    std::string scheme = lx.Token();
    if (scheme.empty()) break;
    Challenge ch;
    ch.scheme = ToLower(scheme);
    // Parameters: name=value pairs separated by commas, until a bare token starts a new challenge.
    while (!lx.AtEnd()) {
      size_t save = lx.pos();
      lx.Eat(',');
      std::string name = lx.Token();
      if (name.empty() || !lx.Eat('=')) {
        lx.set_pos(save);
        break;
      }
      auto value = lx.Value();
      if (!value) return out;
      ch.params[ToLower(name)] = std::move(*value);
    }
    out.push_back(std::move(ch));
    if (!lx.AtEnd() && !lx.Eat(',')) {
      // A new challenge follows after a parameter list ended without a comma, or junk: stop on
      // junk that does not make progress.
      size_t before = lx.pos();
      if (lx.Token().empty()) break;
      lx.set_pos(before);
    }
  }
  return out;
}

}  // namespace berth::client
