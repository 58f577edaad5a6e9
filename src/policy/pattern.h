#pragma once
// A tag pattern: an ECMAScript regular expression searched in a tag (so `^v[0-9]+$` must match the
// whole tag and `rc` matches any tag containing "rc"), compiled once when the configuration is
// loaded. Tags are at most 128 characters (common/names.h), which bounds the engine's work.
// Thread-safe: Search may be called concurrently (the compiled expression is immutable).

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::policy {

class TagPattern {
 public:
  // kInvalidArgument "<key>: invalid regular expression ..." when `text` does not compile.
  static Result<TagPattern> Compile(std::string text, std::string_view key);

  // True when the expression matches somewhere in `tag`. A failure of the engine counts as no match
  // for keep-style callers; see MatchesOr.
  bool Search(std::string_view tag) const { return MatchesOr(tag, false); }
  // As Search, with `on_error` as the answer when the engine gives up (complexity limits).
  bool MatchesOr(std::string_view tag, bool on_error) const;
  const std::string& text() const { return text_; }

 private:
  struct Compiled;
  TagPattern(std::string text, std::shared_ptr<const Compiled> re)
      : text_(std::move(text)), re_(std::move(re)) {}
  std::string text_;
  std::shared_ptr<const Compiled> re_;
};

}  // namespace berth::policy
