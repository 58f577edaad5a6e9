#include "cli/privileges.h"

#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/strings.h"

namespace berth::cli {
namespace {

Result<PrivilegePlan> LookUp(const std::string& user) {
  PrivilegePlan plan;
  plan.user = user;
  auto colon = user.find(':');
  std::string_view first = std::string_view(user).substr(0, colon);
  if (auto uid = ParseUint64(first)) {
    plan.uid = static_cast<uid_t>(*uid);
    plan.gid = plan.uid;
    if (colon != std::string::npos) {
      auto gid = ParseUint64(std::string_view(user).substr(colon + 1));
      if (!gid) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "BERTH_USER=" + user + ": want a user name or UID[:GID]");
      }
      plan.gid = static_cast<gid_t>(*gid);
    }
  } else {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || !found) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "BERTH_USER=" + user +
                           ": no such user in /etc/passwd (set it to an "
                           "existing user, to UID[:GID], or to nothing to stay root)");
    }
    plan.uid = pw.pw_uid;
    plan.gid = pw.pw_gid;
  }
  if (plan.uid == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "BERTH_USER=" + user + " is root; leave BERTH_USER empty to run as root");
  }
  return plan;
}

// nftw has no user pointer: the walk's state lives here (Prepare runs once, single-threaded).
struct Walk {
  uid_t uid;
  gid_t gid;
  size_t count = 0;
  int error = 0;
  std::string failed_path;
};
Walk* g_walk = nullptr;

int ChownOne(const char* path, const struct stat* st, int, FTW*) {
  if (st->st_uid == g_walk->uid && st->st_gid == g_walk->gid) return 0;
  if (lchown(path, g_walk->uid, g_walk->gid) != 0) {
    g_walk->error = errno;
    g_walk->failed_path = path;
    return 1;  // stop the walk
  }
  ++g_walk->count;
  return 0;
}

// Reading root-only files (a mounted 0600 TLS key) needs CAP_DAC_READ_SEARCH in the effective set
// once the file identity is not root. Containers often do not grant it (Docker's default set has
// CAP_DAC_OVERRIDE instead, which also permits reading): raise whichever is permitted, else none
// (such a file then fails to load with an error naming it).
Status RaiseFileRead() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) {
    return MakeError(ErrorCode::kIo, std::string("capget: ") + std::strerror(errno));
  }
  for (int cap : {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE}) {
    const uint32_t bit = 1u << (cap % 32);
    if ((data[cap / 32].permitted & bit) == 0) continue;
    data[cap / 32].effective |= bit;
    if (syscall(SYS_capset, &header, data) != 0) {
      return MakeError(ErrorCode::kIo, std::string("capset: ") + std::strerror(errno));
    }
    return Ok();
  }
  return Ok();
}

}  // namespace

Result<PrivilegePlan> PreparePrivilegeDrop(const std::string& user,
                                           const std::string& storage_root) {
  auto plan = LookUp(user);
  if (!plan) return plan;
  const std::string who = user + " (uid " + std::to_string(plan->uid) + ")";
  if (!storage_root.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(storage_root, ec);
    struct stat st {};
    if (ec || stat(storage_root.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kIo, "storage.filesystem.rootdirectory " + storage_root + ": " +
                                           (ec ? ec.message() : std::strerror(errno)));
    }
    if (st.st_uid != plan->uid || st.st_gid != plan->gid) {
      Walk walk{plan->uid, plan->gid, 0, 0, {}};
      g_walk = &walk;
      nftw(storage_root.c_str(), ChownOne, 64, FTW_PHYS | FTW_MOUNT);
      g_walk = nullptr;
      plan->chowned = walk.count;
      if (walk.error != 0) {
        plan->reason = "cannot give " + storage_root + " to " + who + ": " + walk.failed_path +
                       ": " + std::strerror(walk.error);
        return plan;  // stay root: the volume does not allow the user
      }
    }
  }
  setfsgid(plan->gid);
  setfsuid(plan->uid);
  if (static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1))) != plan->uid ||
      static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1))) != plan->gid) {
    return MakeError(ErrorCode::kIo, "cannot switch the file identity to " + who);
  }
  if (auto st = RaiseFileRead(); !st) return std::unexpected(st.error());
  plan->drop = true;
  return plan;
}

Status FinishPrivilegeDrop(const PrivilegePlan& plan) {
  if (!plan.drop) return Ok();
  const std::string who = plan.user + " (uid " + std::to_string(plan.uid) + ")";
  if (setgroups(1, &plan.gid) != 0 || setresgid(plan.gid, plan.gid, plan.gid) != 0 ||
      setresuid(plan.uid, plan.uid, plan.uid) != 0) {
    return MakeError(ErrorCode::kIo, "cannot become " + who + ": " + std::strerror(errno));
  }
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  // Fail closed: if root could be regained, something above did not take.
  if (r != plan.uid || e != plan.uid || s != plan.uid || setuid(0) == 0) {
    return MakeError(ErrorCode::kIo, "the switch to " + who + " did not take");
  }
  return Ok();
}

}  // namespace berth::cli
