#include "http/message.h"

#include <algorithm>

#include "common/strings.h"

namespace berth::http {

// Linear scans: a request carries a dozen headers at most, where a map would cost more than it
// saves.

std::string_view Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool Headers::Has(std::string_view name) const {
  return std::any_of(items_.begin(), items_.end(),
                     [&](const auto& item) { return IEquals(item.first, name); });
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items_) {
    if (IEquals(k, name)) out.emplace_back(v);
  }
  return out;
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  items_.emplace_back(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(items_, [&](const auto& item) { return IEquals(item.first, name); });
}

}  // namespace berth::http
