#include "policy/pattern.h"

#include <regex>

namespace berth::policy {

struct TagPattern::Compiled {
  std::regex re;
};

Result<TagPattern> TagPattern::Compile(std::string text, std::string_view key) {
  try {
    auto compiled = std::make_shared<Compiled>(Compiled{std::regex(text, std::regex::ECMAScript)});
    return TagPattern(std::move(text), std::move(compiled));
  } catch (const std::regex_error& e) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(key) + ": invalid regular expression \"" + text + "\": " + e.what());
  }
}

bool TagPattern::MatchesOr(std::string_view tag, bool on_error) const {
  try {
    return std::regex_search(tag.begin(), tag.end(), re_->re);
  } catch (const std::regex_error&) {
    return on_error;
  }
}

}  // namespace berth::policy
