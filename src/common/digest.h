#pragma once
// Content digests ("sha256:<64 hex>", "sha512:<128 hex>") and incremental hashing.
//
// Digest::Parse accepts exactly the OCI grammar for the registered algorithms Berth supports and returns
// DIGEST_INVALID for anything else (wrong length, upper-case hex, unknown algorithm, junk); it never throws.
// Hasher is not thread-safe: one per stream.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth {

enum class DigestAlgorithm : uint8_t { kSha256, kSha512 };

std::string_view AlgorithmName(DigestAlgorithm alg);
size_t AlgorithmHexLength(DigestAlgorithm alg);

class Digest {
 public:
  Digest() = default;
  static Result<Digest> Parse(std::string_view text);
  static Digest FromHex(DigestAlgorithm alg, std::string hex) { return Digest(alg, std::move(hex)); }
  // Digest of an in-memory byte string (manifests, small test data).
  static Digest Of(std::string_view bytes, DigestAlgorithm alg = DigestAlgorithm::kSha256);

  DigestAlgorithm algorithm() const { return alg_; }
  std::string_view algorithm_name() const { return AlgorithmName(alg_); }
  const std::string& hex() const { return hex_; }
  std::string str() const;
  bool empty() const { return hex_.empty(); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  Digest(DigestAlgorithm alg, std::string hex) : alg_(alg), hex_(std::move(hex)) {}
  DigestAlgorithm alg_ = DigestAlgorithm::kSha256;
  std::string hex_;
};

// Incremental hash over a stream of bytes.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm alg = DigestAlgorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Digest of everything so far; the hasher stays usable (the state is copied).
  Digest Current() const;
  uint64_t bytes() const { return bytes_; }
  DigestAlgorithm algorithm() const { return alg_; }

 private:
  struct Ctx;
  DigestAlgorithm alg_;
  std::unique_ptr<Ctx> ctx_;
  uint64_t bytes_ = 0;
};

}  // namespace berth
