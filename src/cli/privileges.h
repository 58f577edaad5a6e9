#pragma once
// Running as a non-root user when started as root (the container image does: `BERTH_USER=berth`).
//
// registry:2 runs as root, and volumes people mount are often root-owned, as are the TLS keys and
// htpasswd files they mount beside them (`openssl ... -keyout domain.key` makes a 0600 root file).
// So Berth starts as root and gives up root in two steps:
//
//   1. Prepare (before App::Create, while the process has one thread): give the storage root
//      (a filesystem driver's rootdirectory) to the user, recursively, when its top directory is
//      not the user's yet (a one-time migration of a root-owned volume); then switch the
//      file-system identity (setfsuid/setfsgid) to the user, keeping of the file capabilities only
//      CAP_DAC_READ_SEARCH (or, where that is not permitted, as in Docker's default set,
//      CAP_DAC_OVERRIDE), so everything the registry creates from here is the user's, while
//      root-only key files can still be read.
//   2. Finish (after App::Start: files read, ports bound, even below 1024): setgroups + setresgid +
//      setresuid to the user, for every thread (glibc applies set*id to all threads), which clears
//      every capability.
//
// "Where the volume allows": if the storage root cannot be given to the user (a read-only or
// root-squashed NFS volume, say), Prepare says so and the process stays root (`drop` false).
// Errors: kInvalidArgument when the user does not exist (names BERTH_USER); kIo when a step that
// must not half-succeed fails (the process must then not serve).
// Not thread-safe: call from main, Prepare before any thread starts.

#include <sys/types.h>

#include <string>

#include "common/error.h"

namespace berth::cli {

struct PrivilegePlan {
  bool drop = false;  // false: stay root (see `reason`)
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string reason;  // why not, when drop is false
  size_t chowned = 0;  // entries given to the user in step 1
};

// `user`: a name from /etc/passwd, or "UID[:GID]". `storage_root`: empty when the storage is not
// a local directory.
Result<PrivilegePlan> PreparePrivilegeDrop(const std::string& user,
                                           const std::string& storage_root);
Status FinishPrivilegeDrop(const PrivilegePlan& plan);

}  // namespace berth::cli
