#pragma once
// The files of an OCI image layout (or a docker-archive), written to and read from either a
// directory or a single tar file. Export, import, backup and restore speak to these two interfaces
// and never to the filesystem or tar directly.
//
//   auto out = OpenLayoutWriter("out.tar");   // ".tar": one archive; anything else: a directory
//   out->PutBlob(BlobPath(d), d, size, reader);  // verified while streaming
//   out->PutFile("index.json", json);
//   out->Commit();
//
// Guarantees:
//  - A blob is written under a temporary name, hashed while it streams, and only renamed to its
//    content-addressed name (directory) when digest and size match; a mismatch is DIGEST_INVALID
//    and leaves nothing under the real name. A tar is written to "<out>.tmp-<pid>" and renamed on
//    Commit, so a crash or an error never leaves a half archive at OUT.
//  - Directory files are fsynced before the rename, and small files (index.json) replace the old
//    ones atomically: a backup interrupted at any point still holds the previous, complete index.
//  - Names are relative paths built from validated digests; anything with "..", a leading "/" or
//    an empty component is refused (kInvalidArgument).
//
// Not thread-safe: one writer or reader per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/error.h"
#include "storage/driver/driver.h"

namespace berth::transfer {

// "blobs/<alg>/<hex>": where the OCI image layout keeps a blob.
std::string BlobPath(const Digest& d);

class LayoutWriter {
 public:
  virtual ~LayoutWriter() = default;
  // True when `name` is already present (a directory being updated, as backups do); the caller may
  // then skip it. Always false for a tar being written.
  virtual bool Has(std::string_view name) = 0;
  // A small file, replaced atomically.
  virtual Status PutFile(std::string_view name, std::string_view bytes) = 0;
  // Streams `size` bytes from `r` into `name`, checking they hash to `d`. DIGEST_INVALID or
  // SIZE_INVALID on a mismatch (naming the digest).
  virtual Status PutBlob(std::string_view name, const Digest& d, uint64_t size,
                         storage::driver::Reader& r) = 0;
  // Makes everything durable and visible at the output path.
  virtual Status Commit() = 0;
  // Bytes written so far (blob bytes and files).
  virtual uint64_t bytes_written() const = 0;
};
using LayoutWriterPtr = std::unique_ptr<LayoutWriter>;

// `out` ending in ".tar": a new archive (an existing file is replaced on Commit). Otherwise a
// directory, created if absent; an existing one is updated in place.
Result<LayoutWriterPtr> OpenLayoutWriter(const std::string& out);

class LayoutReader {
 public:
  virtual ~LayoutReader() = default;
  // kNotFound when absent.
  virtual Result<uint64_t> Size(std::string_view name) = 0;
  // The whole file; kInvalidArgument when it is larger than `max_bytes`.
  virtual Result<std::string> ReadFile(std::string_view name, size_t max_bytes) = 0;
  virtual Result<storage::driver::ReaderPtr> Open(std::string_view name) = 0;
  // Every file name (relative, '/'-separated), sorted. For verification.
  virtual Result<std::vector<std::string>> ListFiles() = 0;
};
using LayoutReaderPtr = std::unique_ptr<LayoutReader>;

// A directory, or a tar file (anything that is a regular file).
Result<LayoutReaderPtr> OpenLayoutReader(const std::string& in);

// Copies everything `r` gives (up to its end) through a hasher, checking `d` and `size`; for
// verification of layouts. DIGEST_INVALID/SIZE_INVALID naming `what` on a mismatch.
Status VerifyStream(storage::driver::Reader& r, const Digest& d, uint64_t size,
                    std::string_view what);

}  // namespace berth::transfer
