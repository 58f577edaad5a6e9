#pragma once
// A base for objects that own something a copy would share or free twice (a descriptor, a thread,
// a directory). Derive privately: `class TarWriter : NonCopyable { ... };`.

namespace berth {

class NonCopyable {
 public:
  NonCopyable(const NonCopyable&) = delete;
  NonCopyable& operator=(const NonCopyable&) = delete;

 protected:
  NonCopyable() = default;
  ~NonCopyable() = default;
};

}  // namespace berth
