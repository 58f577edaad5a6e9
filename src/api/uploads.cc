// Upload sessions: POST /v2/<name>/blobs/uploads/ (plain, monolithic, cross-repository mount) and
// GET/HEAD/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>.
#include <memory>

#include "api/internal.h"
#include "common/names.h"
#include "http/range.h"
#include "storage/paths.h"

namespace berth::api::internal {
namespace {

using http::Dispatch;
using http::Response;

// At most this many repositories named by the caller's token are tried by a mount without `from`.
constexpr size_t kMaxMountCandidates = 32;

Response Created(const Ctx& c, const std::string& name, const Digest& d) {
  Response res = Empty(201);
  res.headers.Add("Location", Url(c, "v2/" + name + "/blobs/" + d.str()));
  res.headers.Add("Docker-Content-Digest", d.str());
  res.log_note = d.str();
  return res;
}

// Location, Range and Docker-Upload-UUID of a session.
void AddSessionHeaders(Response& res, const Ctx& c, const std::string& id, uint64_t size) {
  res.headers.Add("Location", Url(c, "v2/" + c.route.name + "/blobs/uploads/" + id));
  res.headers.Add("Range", UploadRange(size));
  res.headers.Add("Docker-Upload-UUID", id);
}

Response Accepted(const Ctx& c, const std::string& id, uint64_t size) {
  Response res = Empty(202);
  AddSessionHeaders(res, c, id, size);
  return res;
}

Error TooLarge(uint64_t limit) {
  return Error{
      ErrorCode::kSizeInvalid,
      "blob would exceed the registry's maximum blob size of " + std::to_string(limit) + " bytes",
      {},
      413};
}

// Whether `more` bytes on top of `have` stay within the maximum blob size.
bool Fits(const ApiOptions& opt, uint64_t have, uint64_t more) {
  return opt.max_blob_bytes == 0 ||
         (have <= opt.max_blob_bytes && more <= opt.max_blob_bytes - have);
}

// Streams a request body into an upload; on success either answers 202 (PATCH) or commits (PUT and
// monolithic POST). A body that grows past the maximum blob size (chunked, so no length was
// announced) stops with 413; what arrived before stays in the session.
class UploadSink : public http::BodySink {
 public:
  static constexpr uint64_t kReserveFrom = 1 << 20;

  UploadSink(const Ctx& c, storage::UploadWriterPtr w, std::optional<Digest> commit_digest,
             std::optional<uint64_t> expect_bytes)
      : c_(c, c.req),
        writer_(std::move(w)),
        commit_digest_(std::move(commit_digest)),
        expect_bytes_(expect_bytes),
        start_size_(writer_->size()) {
    // Large bodies only: for a small blob the extra syscall costs more than it saves.
    if (c.req.content_length && *c.req.content_length >= kReserveFrom) {
      writer_->Reserve(*c.req.content_length);
    }
  }

  Status Write(const char* data, size_t n) override {
    if (!Fits(c_.opt, writer_->size(), n)) return std::unexpected(TooLarge(c_.opt.max_blob_bytes));
    return writer_->Write(data, n);
  }

  Response Finish(const Status& body) override {
    const Ctx& c = c_;  // the server keeps the request alive until Finish returns
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
                           {},
                           0});
    }
    if (!commit_digest_) {
      uint64_t size = writer_->size();
      std::string id = writer_->id();
      writer_->Close();
      return Accepted(c, id, size);
    }
    auto info = writer_->Commit(*commit_digest_);
    if (!info) return Fail(c, info.error());
    EmitBlob(c, EventAction::kPush, info->digest, info->size, 201);
    return Created(c, c.route.name, info->digest);
  }

 private:
  Ctx c_;  // a copy: the dispatcher's Ctx is gone by the time the body arrives
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

// Opens the session for a body of the request's announced length, refusing lengths past the
// maximum blob size before a byte is stored.
Result<storage::UploadWriterPtr> OpenForBody(const Ctx& c, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(auto writer, c.reg.Uploads().Open(c.route.name, id));
  if (c.req.content_length && !Fits(c.opt, writer->size(), *c.req.content_length)) {
    writer->Close();
    return std::unexpected(TooLarge(c.opt.max_blob_bytes));
  }
  return writer;
}

// ?mount=<digest>&from=<repo>: links the blob when the caller may pull `from` (the dispatcher
// asked, NeededAccess::optional) and `from` has it. A source the caller may not read is treated as
// lacking the blob, so the answer (a new session) says nothing about it.
Result<std::optional<storage::BlobInfo>> MountFrom(const Ctx& c, const std::string& from,
                                                   const Digest& d) {
  if (!ValidateRepositoryName(from) || !c.Granted(auth::Access{"repository", from, "pull"})) {
    return std::optional<storage::BlobInfo>();
  }
  auto info = c.reg.Blobs().Mount(c.route.name, from, d);
  if (info) return std::optional<storage::BlobInfo>(*info);
  if (info.error().code == ErrorCode::kBlobUnknown) return std::optional<storage::BlobInfo>();
  return std::unexpected(info.error());
}

// ?mount=<digest> without `from`: links the blob when a repository the caller may pull has it.
// Cost, bounded and independent of the registry's size (no walk over repositories):
//  - the target already links it: one link read;
//  - the global blob store lacks it: one stat, then a new session;
//  - callers who may pull every repository (no auth, htpasswd): the global blob store's copy is
//    enough, one stat and one link write;
//  - token auth: the repositories the token grants pull on are tried as sources (one link read
//    each, at most kMaxMountCandidates). Policy globs of the built-in service are not enumerated:
//    docker and podman name the source with `from`, so this path is rare.
Result<std::optional<storage::BlobInfo>> MountFromAnywhere(const Ctx& c, const Digest& d) {
  const std::string& target = c.route.name;
  if (auto here = c.reg.Blobs().Stat(target, d)) return std::optional<storage::BlobInfo>(*here);
  auto global = c.reg.Blobs().StatGlobal(d);
  if (!global) return std::optional<storage::BlobInfo>();
  PullScope scope(c);
  if (scope.all()) {
    BERTH_ASSIGN_OR_RETURN(auto linked, c.reg.Blobs().Link(target, d));
    return std::optional<storage::BlobInfo>(linked);
  }
  size_t tried = 0;
  for (const std::string& from : scope.named()) {
    if (from == target || !ValidateRepositoryName(from)) continue;
    if (++tried > kMaxMountCandidates) break;
    auto info = c.reg.Blobs().Mount(target, from, d);
    if (info) return std::optional<storage::BlobInfo>(*info);
    if (info.error().code != ErrorCode::kBlobUnknown) return std::unexpected(info.error());
  }
  return std::optional<storage::BlobInfo>();
}

}  // namespace

Dispatch HandleUploadStart(Ctx& c) {
  if (auto mount = c.query.Get("mount")) {
    auto d = Digest::Parse(*mount);
    if (!d) return FailNow(c, d.error());
    auto from = c.query.Get("from");
    auto mounted = from ? MountFrom(c, *from, *d) : MountFromAnywhere(c, *d);
    if (!mounted) return FailNow(c, mounted.error());
    if (*mounted) {
      Response res = Created(c, c.route.name, (*mounted)->digest);
      res.log_note = "mounted " + d->str() + (from ? " from " + *from : "");
      EmitBlob(c, EventAction::kMount, (*mounted)->digest, (*mounted)->size, 201, from.value_or(""));
      return Dispatch::Respond(std::move(res));
    }
    // Not mountable: an ordinary session, as the spec allows.
  }
  auto digest = DigestParam(c.query);
  if (!digest) return FailNow(c, digest.error());
  if (*digest && c.req.content_length && !Fits(c.opt, 0, *c.req.content_length)) {
    return FailNow(c, TooLarge(c.opt.max_blob_bytes));
  }
  auto upload = c.reg.Uploads().Start(c.route.name);
  if (!upload) return FailNow(c, upload.error());
  if (!*digest) return Dispatch::Respond(Accepted(c, upload->id, 0));
  // Monolithic upload: the whole blob in this request's body.
  auto writer = OpenForBody(c, upload->id);
  if (!writer) return FailNow(c, writer.error());
  return Dispatch::StreamBody(
      std::make_unique<UploadSink>(c, std::move(*writer), **digest, c.req.content_length));
}

Dispatch HandleUploadStatus(Ctx& c) {
  auto info = c.reg.Uploads().Get(c.route.name, c.route.arg);
  if (!info) return FailNow(c, info.error());
  Response res = Empty(204);
  AddSessionHeaders(res, c, c.route.arg, info->size);
  return Dispatch::Respond(std::move(res));
}

Dispatch HandleUploadCancel(Ctx& c) {
  auto st = c.reg.Uploads().Cancel(c.route.name, c.route.arg);
  if (!st) return FailNow(c, st.error());
  return Dispatch::Respond(Empty(204));
}

Dispatch HandleUploadWrite(Ctx& c) {
  const std::string& id = c.route.arg;
  std::optional<Digest> commit;
  if (c.req.method == "PUT") {
    auto d = DigestParam(c.query);
    if (!d) return FailNow(c, d.error());
    if (!*d) {
      return FailNow(
          c, Error{ErrorCode::kDigestInvalid, "the digest query parameter is required", {}, 0});
    }
    commit = **d;
  }
  auto writer = OpenForBody(c, id);
  if (!writer) return FailNow(c, writer.error());
  std::optional<uint64_t> expect;
  if (auto cr = c.req.headers.Get("Content-Range"); !cr.empty()) {
    auto range = http::ParseContentRange(cr);
    uint64_t size = (*writer)->size();
    if (!range || range->first != size) {
      Response err =
          Fail(c, Error{ErrorCode::kRangeInvalid,
                        "Content-Range " + std::string(cr.substr(0, 100)) +
                            " does not continue the upload at offset " + std::to_string(size),
                        {},
                        0});
      AddSessionHeaders(err, c, id, size);
      return Dispatch::Respond(std::move(err));
    }
    expect = range->length();
    if (c.req.content_length && *c.req.content_length != *expect) {
      return FailNow(c, Error{ErrorCode::kSizeInvalid,
                              "Content-Length " + std::to_string(*c.req.content_length) +
                                  " does not match Content-Range " + std::string(cr.substr(0, 100)),
                              {},
                              0});
    }
  }
  return Dispatch::StreamBody(std::make_unique<UploadSink>(c, std::move(*writer), commit, expect));
}

}  // namespace berth::api::internal
