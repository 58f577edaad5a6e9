#pragma once
// Small helpers the filesystem-layout stores share: link files, existence checks and error wording.
// Thread-safe (stateless over a thread-safe driver).

#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/error.h"
#include "storage/driver/driver.h"

namespace berth::storage::fs {

inline bool IsNotFound(const Error& e) { return e.code == ErrorCode::kNotFound; }

// "\"<s>\"", for messages that name a repository or tag.
std::string Quoted(std::string_view s);

// Last path component.
std::string_view BaseName(std::string_view path);

// The digest a link file names. kNotFound when absent; kIo when the file holds junk.
Result<Digest> ReadLink(driver::StorageDriver& driver, const std::string& path);

// Whether `path` exists (one Stat); errors other than kNotFound pass through.
Result<bool> Exists(driver::StorageDriver& driver, const std::string& path);

}  // namespace berth::storage::fs
