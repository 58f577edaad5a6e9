// /v2/<name>/blobs/<digest>: GET/HEAD (with Range), DELETE.
#include <algorithm>
#include <memory>

#include "api/internal.h"
#include "common/strings.h"
#include "http/range.h"

namespace berth::api::internal {
namespace {

using http::Dispatch;
using http::Response;

// Streams [offset, offset+remaining) of a blob.
class BlobSource : public http::BodySource {
 public:
  BlobSource(storage::driver::ReaderPtr r, uint64_t remaining)
      : reader_(std::move(r)), remaining_(remaining) {}
  Result<size_t> Read(char* buf, size_t cap) override {
    if (remaining_ == 0) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, remaining_));
    BERTH_ASSIGN_OR_RETURN(size_t n, reader_->Read(buf, want));
    if (n == 0) return MakeError(ErrorCode::kIo, "blob ended early");
    remaining_ -= n;
    return n;
  }
  int NativeFd() const override { return reader_->NativeFd(); }

 private:
  storage::driver::ReaderPtr reader_;
  uint64_t remaining_;
};

}  // namespace

Dispatch HandleDeleteBlob(Ctx& c) {
  auto digest = Digest::Parse(c.route.arg);
  if (!digest) return FailNow(c, digest.error());
  if (!c.opt.delete_enabled) return FailNow(c, DeleteDisabled());
  auto st = c.reg.Blobs().Delete(c.route.name, *digest);
  if (!st) return FailNow(c, st.error());
  EmitBlob(c, EventAction::kDelete, *digest, 0, 202);
  Response res = Empty(202);
  res.headers.Add("Docker-Content-Digest", digest->str());
  return Dispatch::Respond(std::move(res));
}

Dispatch HandleGetBlob(Ctx& c) {
  auto digest = Digest::Parse(c.route.arg);
  if (!digest) return FailNow(c, digest.error());
  auto info = c.reg.Blobs().Stat(c.route.name, *digest);
  if (!info) return FailNow(c, info.error());
  if (NotModified(c, *digest)) return Dispatch::Respond(NotModifiedResponse(*digest));
  Response res;
  res.headers.Add("Content-Type", "application/octet-stream");
  res.headers.Add("Docker-Content-Digest", digest->str());
  res.headers.Add("Accept-Ranges", "bytes");
  res.headers.Add("ETag", "\"" + digest->str() + "\"");
  res.headers.Add("Cache-Control", "max-age=31536000");
  res.log_note = digest->str();
  uint64_t first = 0, length = info->size;
  if (auto range_header = c.req.headers.Get("Range"); !range_header.empty()) {
    auto range = http::ParseRange(range_header, info->size);
    if (!range) {
      Response err =
          Fail(c, Error{ErrorCode::kRangeInvalid,
                        "range " + std::string(range_header) + " is outside the blob's " +
                            std::to_string(info->size) + " bytes",
                        {},
                        0});
      err.headers.Add("Content-Range", "bytes */" + std::to_string(info->size));
      return Dispatch::Respond(std::move(err));
    }
    if (*range) {
      first = (*range)->first;
      length = (*range)->length();
      res.status = 206;
      res.headers.Add("Content-Range", "bytes " + std::to_string(first) + "-" +
                                           std::to_string((*range)->last) + "/" +
                                           std::to_string(info->size));
    }
  }
  res.content_length = length;
  if (c.head() || length == 0) {
    EmitBlob(c, EventAction::kPull, *digest, info->size, res.status);
    return Dispatch::Respond(std::move(res));
  }
  auto reader = c.reg.Blobs().Open(c.route.name, *digest, first);
  if (!reader) return FailNow(c, reader.error());
  EmitBlob(c, EventAction::kPull, *digest, info->size, res.status);
  res.stream = std::make_unique<BlobSource>(std::move(*reader), length);
  return Dispatch::Respond(std::move(res));
}

}  // namespace berth::api::internal
