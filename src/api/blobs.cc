// Blobs and upload sessions.
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

Response Created(const Ctx& c, const std::string& name, const Digest& d) {
  Response res = Empty(201);
  res.headers.Add("Location", Url(c, "v2/" + name + "/blobs/" + d.str()));
  res.headers.Add("Docker-Content-Digest", d.str());
  res.log_note = d.str();
  return res;
}

Response Accepted(const Ctx& c, const std::string& name, const std::string& id, uint64_t size) {
  Response res = Empty(202);
  res.headers.Add("Location", Url(c, "v2/" + name + "/blobs/uploads/" + id));
  res.headers.Add("Range", UploadRange(size));
  res.headers.Add("Docker-Upload-UUID", id);
  return res;
}

// Streams a request body into an upload; on success either answers 202 (PATCH) or commits (PUT and
// monolithic POST).
class UploadSink : public http::BodySink {
 public:
  static constexpr uint64_t kReserveFrom = 1 << 20;

  UploadSink(Ctx c, storage::UploadWriterPtr w, std::optional<Digest> commit_digest,
             std::optional<uint64_t> expect_bytes)
      : req_(c.req),
        route_(c.route),
        reg_(c.reg),
        opt_(c.opt),
        writer_(std::move(w)),
        commit_digest_(std::move(commit_digest)),
        expect_bytes_(expect_bytes),
        start_size_(writer_->size()) {
    // Large bodies only: for a small blob the extra syscall costs more than it saves.
    if (c.req.content_length && *c.req.content_length >= kReserveFrom) {
      writer_->Reserve(*c.req.content_length);
    }
  }

  Status Write(const char* data, size_t n) override { return writer_->Write(data, n); }

  Response Finish(const Status& body) override {
    Ctx c{req_, route_, reg_, opt_};
    if (!body) {
      writer_->Close();  // what arrived stays; the client resumes from GET's Range
      return Fail(c, body.error().code == ErrorCode::kCancelled
                         ? Error{ErrorCode::kBlobUploadInvalid, "request body ended early", {}, 0}
                         : body.error());
    }
    uint64_t received = writer_->size() - start_size_;
    if (expect_bytes_ && received != *expect_bytes_) {
      writer_->Close();
      return Fail(c, Error{ErrorCode::kSizeInvalid,
                           "Content-Range announced " + std::to_string(*expect_bytes_) +
                               " bytes but " + std::to_string(received) + " arrived",
                           {}, 0});
    }
    if (!commit_digest_) {
      uint64_t size = writer_->size();
      std::string id = writer_->id();
      writer_->Close();
      return Accepted(c, route_.name, id, size);
    }
    auto info = writer_->Commit(*commit_digest_);
    if (!info) return Fail(c, info.error());
    return Created(c, route_.name, info->digest);
  }

 private:
  http::Request& req_;  // the server keeps the request alive until Finish returns
  Route route_;         // a copy: the router's Route is gone by the time the body arrives
  storage::Namespace& reg_;
  const ApiOptions& opt_;
  storage::UploadWriterPtr writer_;
  std::optional<Digest> commit_digest_;
  std::optional<uint64_t> expect_bytes_;
  uint64_t start_size_;
};

Result<std::optional<Digest>> DigestParam(const Query& q) {
  auto v = q.Get("digest");
  if (!v) return std::optional<Digest>();
  BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(*v));
  return std::optional<Digest>(std::move(d));
}

}  // namespace

Dispatch HandleBlob(Ctx& c) {
  auto digest = Digest::Parse(c.route.arg);
  if (!digest) return FailNow(c, digest.error());
  const std::string& m = c.req.method;
  if (m == "DELETE") {
    if (!c.opt.delete_enabled) return FailNow(c, DeleteDisabled());
    if (c.opt.readonly) return FailNow(c, ReadOnly());
    auto st = c.reg.Blobs().Delete(c.route.name, *digest);
    if (!st) return FailNow(c, st.error());
    Response res = Empty(202);
    res.headers.Add("Docker-Content-Digest", digest->str());
    return Dispatch::Respond(std::move(res));
  }
  if (m != "GET" && m != "HEAD") {
    return FailNow(c, MethodNotAllowed(m));
  }
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
      Response err = Fail(c, Error{ErrorCode::kRangeInvalid,
                                   "range " + std::string(range_header) + " is outside the blob's " +
                                       std::to_string(info->size) + " bytes",
                                   {}, 0});
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
  if (c.head() || length == 0) return Dispatch::Respond(std::move(res));
  auto reader = c.reg.Blobs().Open(c.route.name, *digest, first);
  if (!reader) return FailNow(c, reader.error());
  res.stream = std::make_unique<BlobSource>(std::move(*reader), length);
  return Dispatch::Respond(std::move(res));
}

Dispatch HandleUploadStart(Ctx& c) {
  if (c.req.method != "POST") {
    return FailNow(c, MethodNotAllowed(c.req.method));
  }
  if (c.opt.readonly) return FailNow(c, ReadOnly());
  Query q(c.req.query);
  if (auto mount = q.Get("mount")) {
    auto d = Digest::Parse(*mount);
    if (!d) return FailNow(c, d.error());
    auto from = q.Get("from");
    if (from && ValidateRepositoryName(*from)) {
      if (auto info = c.reg.Blobs().Mount(c.route.name, *from, *d)) {
        Response res = Created(c, c.route.name, info->digest);
        res.log_note = "mounted " + d->str() + " from " + *from;
        return Dispatch::Respond(std::move(res));
      } else if (info.error().code != ErrorCode::kBlobUnknown) {
        return FailNow(c, info.error());
      }
    }
    // Not mountable: fall through to an ordinary session, as the spec allows.
  }
  auto digest = DigestParam(q);
  if (!digest) return FailNow(c, digest.error());
  auto upload = c.reg.Uploads().Start(c.route.name);
  if (!upload) return FailNow(c, upload.error());
  if (!*digest) return Dispatch::Respond(Accepted(c, c.route.name, upload->id, 0));
  // Monolithic upload: the whole blob in this request's body.
  auto writer = c.reg.Uploads().Open(c.route.name, upload->id);
  if (!writer) return FailNow(c, writer.error());
  return Dispatch::StreamBody(
      std::make_unique<UploadSink>(c, std::move(*writer), **digest, c.req.content_length));
}

Dispatch HandleUpload(Ctx& c) {
  const std::string& m = c.req.method;
  const std::string& id = c.route.arg;
  if (m == "GET" || m == "HEAD") {
    auto info = c.reg.Uploads().Get(c.route.name, id);
    if (!info) return FailNow(c, info.error());
    Response res = Empty(204);
    res.headers.Add("Location", Url(c, "v2/" + c.route.name + "/blobs/uploads/" + id));
    res.headers.Add("Range", UploadRange(info->size));
    res.headers.Add("Docker-Upload-UUID", id);
    return Dispatch::Respond(std::move(res));
  }
  if (m == "DELETE") {
    auto st = c.reg.Uploads().Cancel(c.route.name, id);
    if (!st) return FailNow(c, st.error());
    return Dispatch::Respond(Empty(204));
  }
  if (m != "PATCH" && m != "PUT") {
    return FailNow(c, MethodNotAllowed(m));
  }
  if (c.opt.readonly) return FailNow(c, ReadOnly());
  std::optional<Digest> commit;
  if (m == "PUT") {
    Query q(c.req.query);
    auto d = DigestParam(q);
    if (!d) return FailNow(c, d.error());
    if (!*d) {
      return FailNow(c, Error{ErrorCode::kDigestInvalid, "the digest query parameter is required", {}, 0});
    }
    commit = **d;
  }
  auto writer = c.reg.Uploads().Open(c.route.name, id);
  if (!writer) return FailNow(c, writer.error());
  std::optional<uint64_t> expect;
  if (auto cr = c.req.headers.Get("Content-Range"); !cr.empty()) {
    auto range = http::ParseContentRange(cr);
    uint64_t size = (*writer)->size();
    if (!range || range->first != size) {
      Response err = Fail(c, Error{ErrorCode::kRangeInvalid,
                                   "Content-Range " + std::string(cr) +
                                       " does not continue the upload at offset " +
                                       std::to_string(size),
                                   {}, 0});
      err.headers.Add("Location", Url(c, "v2/" + c.route.name + "/blobs/uploads/" + id));
      err.headers.Add("Range", UploadRange(size));
      err.headers.Add("Docker-Upload-UUID", id);
      return Dispatch::Respond(std::move(err));
    }
    expect = range->length();
    if (c.req.content_length && *c.req.content_length != *expect) {
      return FailNow(c, Error{ErrorCode::kSizeInvalid,
                              "Content-Length " + std::to_string(*c.req.content_length) +
                                  " does not match Content-Range " + std::string(cr),
                              {}, 0});
    }
  }
  return Dispatch::StreamBody(std::make_unique<UploadSink>(c, std::move(*writer), commit, expect));
}

}  // namespace berth::api::internal
