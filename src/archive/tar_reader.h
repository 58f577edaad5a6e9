#pragma once
// Reads a tar archive (ustar, GNU long names, PAX path/size records) from a file by indexing it
// once: one pass over the headers, seeking over member data, then members are read by name with
// pread, in any order and without extracting anything. Names are normalised ("./a/b" -> "a/b");
// nothing is ever written to the filesystem, so names like "../x" cannot escape anywhere: they
// are just keys that no lookup asks for.
//
// Untrusted input: checksums are verified, sizes are checked against the file, PAX records are
// bounded (1 MiB), a truncated archive is an error, and at most kMaxMembers members are indexed.
// Errors: kInvalidArgument "not a tar archive: ..." naming the file and offset; kIo with strerror;
// kNotFound for a member that is not there.
//
// Thread-safety: Open may be called from several threads; each MemberReader is used by one thread.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/noncopyable.h"

namespace berth::archive {

inline constexpr size_t kMaxMembers = 1'000'000;

class MemberReader {
 public:
  virtual ~MemberReader() = default;
  // 0 at the end of the member.
  virtual Result<size_t> Read(char* buf, size_t cap) = 0;
};
using MemberReaderPtr = std::unique_ptr<MemberReader>;

class TarReader : NonCopyable {
 public:
  static Result<std::unique_ptr<TarReader>> Open(const std::string& path);
  ~TarReader();

  struct Member {
    uint64_t offset = 0;  // of the data
    uint64_t size = 0;
    bool is_dir = false;
  };
  // kNotFound when absent (the last member of that name wins, as tar extraction would have it).
  Result<Member> Stat(std::string_view name) const;
  Result<MemberReaderPtr> OpenMember(std::string_view name) const;
  const std::map<std::string, Member, std::less<>>& members() const { return members_; }

 private:
  TarReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Index();
  int fd_;
  std::string path_;
  std::map<std::string, Member, std::less<>> members_;
};

// "./a//b/" -> "a/b"; "" stays "".
std::string NormaliseMemberName(std::string_view name);

}  // namespace berth::archive
