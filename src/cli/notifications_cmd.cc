// `berth notifications list|replay [config]`: what each endpoint's durable queue holds, its dead
// letters, and resending them. Safe while the registry serves: list only reads, and replay hands
// the events to the running service through the endpoint's inbox (notify/deadletter.h).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/time.h"
#include "notify/config.h"
#include "notify/deadletter.h"
#include "notify/queue.h"

namespace berth::cli {
namespace {

struct NotificationArgs {
  std::string config;
  std::string endpoint;          // "" = every endpoint
  std::vector<std::string> ids;  // replay: "" = every dead letter
  bool json = false;
};

Result<notify::NotificationsConfig> Load(const NotificationArgs& a) {
  BERTH_ASSIGN_OR_RETURN(auto loaded, LoadCommandConfig(a.config));
  BERTH_ASSIGN_OR_RETURN(auto nc, notify::DecodeNotifications(loaded.config));
  if (!a.endpoint.empty()) {
    std::erase_if(nc.endpoints, [&](const auto& e) { return e.name != a.endpoint; });
    if (nc.endpoints.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "no notification endpoint is named \"" + a.endpoint + "\"");
    }
  }
  return nc;
}

int List(const NotificationArgs& a) {
  auto nc = Load(a);
  if (!nc) {
    std::cerr << "berth notifications: " << nc.error().message << "\n";
    return 2;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : nc->endpoints) {
    auto stats = notify::Queue::Inspect(e.directory);
    auto letters = notify::ReadDeadLetters(e.directory);
    if (!stats || !letters) {
      std::cerr << "berth notifications: " << e.name << ": "
                << (!stats ? stats.error().message : letters.error().message) << "\n";
      return 1;
    }
    nlohmann::json dead = nlohmann::json::array();
    for (const auto& l : *letters) dead.push_back(nlohmann::json::parse(l, nullptr, false));
    if (a.json) {
      out.push_back({{"endpoint", e.name},
                     {"disabled", e.disabled},
                     {"pending", stats->pending},
                     {"oldest", stats->oldest ? FormatRfc3339(*stats->oldest) : ""},
                     {"deadletters", dead}});
      continue;
    }
    std::cout << e.name << (e.disabled ? " (disabled)" : "") << ": " << stats->pending
              << " pending";
    if (stats->oldest) std::cout << " (oldest " << FormatRfc3339(*stats->oldest) << ")";
    std::cout << ", " << dead.size() << " dead letter(s)\n";
    for (const auto& d : dead) {
      if (!d.is_object()) continue;
      const auto& ev = d.value("event", nlohmann::json::object());
      const auto& t = ev.value("target", nlohmann::json::object());
      std::cout << "  " << ev.value("id", "?") << "  " << ev.value("action", "?") << " "
                << t.value("repository", "") << (t.contains("tag") ? ":" + t.value("tag", "") : "")
                << (t.contains("digest") ? "@" + t.value("digest", "") : "") << "  since "
                << d.value("enqueued", "?") << "  " << d.value("lasterror", "") << "\n";
    }
  }
  if (a.json) std::cout << out.dump(2) << "\n";
  return 0;
}

int Replay(const NotificationArgs& a) {
  auto nc = Load(a);
  if (!nc) {
    std::cerr << "berth notifications: " << nc.error().message << "\n";
    return 2;
  }
  size_t total = 0;
  for (const auto& e : nc->endpoints) {
    auto n = notify::ReplayDeadLetters(e.directory, a.ids);
    if (!n) {
      std::cerr << "berth notifications: " << e.name << ": " << n.error().message << "\n";
      return 1;
    }
    if (*n > 0) std::cout << e.name << ": " << *n << " event(s) queued for redelivery\n";
    total += *n;
  }
  if (total == 0) std::cout << "no dead letters to replay\n";
  return 0;
}

}  // namespace

void AddNotificationsCommands(CLI::App& cli, CommandResult& result) {
  auto* n = cli.add_subcommand("notifications", "Webhook queues: pending events and dead letters");
  n->require_subcommand(1);
  auto args = std::make_shared<NotificationArgs>();
  auto* list = n->add_subcommand("list", "Show each endpoint's queue and its dead letters");
  list->add_option("config", args->config, "config.yml (default: REGISTRY_CONFIG_PATH)");
  list->add_option("--endpoint", args->endpoint, "only this endpoint");
  list->add_flag("--json", args->json, "machine-readable output");
  list->callback([&result, args] { result.code = List(*args); });
  auto* replay = n->add_subcommand(
      "replay", "Resend dead letters (all, or --id ...); the running registry picks them up");
  replay->add_option("config", args->config, "config.yml (default: REGISTRY_CONFIG_PATH)");
  replay->add_option("--endpoint", args->endpoint, "only this endpoint");
  replay->add_option("--id", args->ids, "event ids to resend (repeatable)");
  replay->callback([&result, args] { result.code = Replay(*args); });
}

}  // namespace berth::cli
