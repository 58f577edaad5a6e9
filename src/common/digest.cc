#include "common/digest.h"

#include <openssl/evp.h>

#include <cstring>

namespace berth {

std::string_view AlgorithmName(DigestAlgorithm alg) {
  return alg == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

size_t AlgorithmHexLength(DigestAlgorithm alg) { return alg == DigestAlgorithm::kSha256 ? 64 : 128; }

Result<Digest> Digest::Parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return MakeError(ErrorCode::kDigestInvalid, "digest \"" + std::string(text.substr(0, 200)) +
                                                    "\" is not of the form algorithm:hex");
  }
  std::string_view alg_name = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  DigestAlgorithm alg;
  if (alg_name == "sha256") {
    alg = DigestAlgorithm::kSha256;
  } else if (alg_name == "sha512") {
    alg = DigestAlgorithm::kSha512;
  } else {
    return MakeError(ErrorCode::kDigestInvalid,
                     "digest algorithm \"" + std::string(alg_name.substr(0, 64)) + "\" is not supported");
  }
  if (hex.size() != AlgorithmHexLength(alg)) {
    return MakeError(ErrorCode::kDigestInvalid, "digest \"" + std::string(text.substr(0, 200)) +
                                                    "\" has the wrong length for " +
                                                    std::string(alg_name));
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return MakeError(ErrorCode::kDigestInvalid, "digest \"" + std::string(text.substr(0, 200)) +
                                                      "\" is not lower-case hex");
    }
  }
  return Digest(alg, std::string(hex));
}

std::string Digest::str() const {
  std::string out(AlgorithmName(alg_));
  out += ':';
  out += hex_;
  return out;
}

Digest Digest::Of(std::string_view bytes, DigestAlgorithm alg) {
  Hasher h(alg);
  h.Update(bytes);
  return h.Current();
}

struct Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestAlgorithm alg) : alg_(alg), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx_->md, alg == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512(), nullptr);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(const void* data, size_t n) {
  if (n == 0) return;
  EVP_DigestUpdate(ctx_->md, data, n);
  bytes_ += n;
}

Digest Hasher::Current() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, ctx_->md);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, out, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    hex[2 * i] = kHex[out[i] >> 4];
    hex[2 * i + 1] = kHex[out[i] & 15];
  }
  return Digest::FromHex(alg_, std::move(hex));
}

}  // namespace berth
