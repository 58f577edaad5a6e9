#include "policy/keep.h"

#include <map>

namespace berth::policy {
namespace {

// Breadth-first closure of `start` over `next(node)`.
template <typename Next>
std::set<Digest> Closure(const std::set<Digest>& start, Next next) {
  std::set<Digest> seen = start;
  std::vector<Digest> todo(start.begin(), start.end());
  while (!todo.empty()) {
    Digest d = std::move(todo.back());
    todo.pop_back();
    for (const Digest& n : next(d)) {
      if (seen.insert(n).second) todo.push_back(n);
    }
  }
  return seen;
}

struct Edges {
  std::map<Digest, std::vector<Digest>> down;        // index -> children, subject -> referrers
  std::map<Digest, std::vector<Digest>> subject_of;  // referrer -> subject

  explicit Edges(const std::vector<ManifestNode>& graph) {
    for (const ManifestNode& m : graph) {
      auto& out = down[m.digest];
      out.insert(out.end(), m.children.begin(), m.children.end());
      if (m.subject) {
        down[*m.subject].push_back(m.digest);
        subject_of[m.digest].push_back(*m.subject);
      }
    }
  }
  static const std::vector<Digest>& Get(const std::map<Digest, std::vector<Digest>>& m,
                                        const Digest& d) {
    static const std::vector<Digest> kNone;
    auto it = m.find(d);
    return it == m.end() ? kNone : it->second;
  }
};

}  // namespace

std::set<Digest> KeptBy(const std::vector<ManifestNode>& graph, const std::set<Digest>& roots) {
  Edges e(graph);
  return Closure(roots, [&](const Digest& d) {
    std::vector<Digest> next = Edges::Get(e.down, d);
    const auto& up = Edges::Get(e.subject_of, d);
    next.insert(next.end(), up.begin(), up.end());
    return next;
  });
}

std::set<Digest> Dependents(const std::vector<ManifestNode>& graph, const std::set<Digest>& seeds) {
  Edges e(graph);
  return Closure(seeds, [&](const Digest& d) { return Edges::Get(e.down, d); });
}

}  // namespace berth::policy
