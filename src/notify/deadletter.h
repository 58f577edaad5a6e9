#pragma once
// The dead-letter file and the redelivery inbox of one endpoint's queue directory.
//
//   deadletter.jsonl  one JSON object per line, appended (and fsynced) by the delivery worker when
//                     an event stayed undeliverable past `deadletterafter`:
//                     {"endpoint","seq","enqueued","deadlettered","attempts","lasterror",
//                      "event":<the Distribution event object>}
//   inbox/            files of event objects (one per line) waiting to be appended to the queue;
//                     `berth notifications replay` writes them (temporary + rename) and the
//                     running service (or the next start) takes them in, oldest file first.
//
// Writers of deadletter.jsonl (the service appending, `replay` rewriting) serialise on flock(2) of
// deadletter.lock, so replay may run while the registry serves. Errors: kIo naming the path.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::notify {

Status AppendDeadLetter(const std::string& dir, std::string_view json_line);
// Every dead letter, oldest first (lines that do not parse are skipped and counted in `bad`).
Result<std::vector<std::string>> ReadDeadLetters(const std::string& dir, size_t* bad = nullptr);
// Moves the dead letters whose event id is in `ids` (all when empty) to the inbox and removes
// them from deadletter.jsonl. Returns how many moved.
Result<size_t> ReplayDeadLetters(const std::string& dir, const std::vector<std::string>& ids);
// The inbox files, oldest first, with their event lines. The caller appends the events to the
// queue and then deletes the files (RemoveInboxFile), so a crash in between redelivers.
struct InboxFile {
  std::string path;
  std::vector<std::string> events;
};
Result<std::vector<InboxFile>> ReadInbox(const std::string& dir);
Status RemoveInboxFile(const std::string& path);

}  // namespace berth::notify
