#include "gc/reachability.h"

#include <gtest/gtest.h>

#include "gc/digest_set.h"

namespace berth::gc {
namespace {

Digest D(char c) { return Digest::Of(std::string(1, c)); }

ManifestNode Node(char c, bool tagged = false) {
  ManifestNode n;
  n.digest = D(c);
  n.tagged = tagged;
  return n;
}

TEST(ExtractReferences, FindsConfigLayersChildrenAndSubject) {
  std::string m = R"({"schemaVersion":2,"config":{"digest":")" + D('c').str() +
                  R"("},"layers":[{"digest":")" + D('l').str() +
                  R"("},{"digest":"sha256:bogus"}],"subject":{"digest":")" + D('s').str() +
                  R"("}})";
  auto r = ExtractReferences(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->blobs, (std::vector<Digest>{D('c'), D('l')}));
  ASSERT_TRUE(r->subject.has_value());
  EXPECT_EQ(*r->subject, D('s'));

  std::string index = R"({"manifests":[{"digest":")" + D('a').str() + R"("}]})";
  EXPECT_EQ(ExtractReferences(index)->children, std::vector<Digest>{D('a')});
}

TEST(ExtractReferences, ReadsSchema1BlobSums) {
  std::string m = R"({"schemaVersion":1,"fsLayers":[{"blobSum":")" + D('x').str() + R"("}]})";
  EXPECT_EQ(ExtractReferences(m)->blobs, std::vector<Digest>{D('x')});
}

TEST(ExtractReferences, JunkIsInvalid) {
  EXPECT_FALSE(ExtractReferences("not json").has_value());
  EXPECT_FALSE(ExtractReferences("[1,2]").has_value());
}

TEST(KeptManifests, UntaggedKeptUnlessDeletingUntagged) {
  std::vector<ManifestNode> nodes = {Node('a', true), Node('b')};
  EXPECT_EQ(KeptManifests(nodes, {.delete_untagged = false}), (std::vector<bool>{true, true}));
  EXPECT_EQ(KeptManifests(nodes, {.delete_untagged = true}), (std::vector<bool>{true, false}));
}

TEST(KeptManifests, TaggedIndexKeepsUntaggedChildrenUnderDeleteUntagged) {
  ManifestNode index = Node('i', true);
  index.refs.children = {D('x'), D('y')};
  std::vector<ManifestNode> nodes = {Node('x'), index, Node('y'), Node('z')};
  EXPECT_EQ(KeptManifests(nodes, {.delete_untagged = true}),
            (std::vector<bool>{true, true, true, false}));
}

TEST(KeptManifests, ReferrersOfKeptManifestsAreKeptTransitively) {
  ManifestNode sig = Node('s');
  sig.refs.subject = D('c');  // signs the child of a tagged index
  ManifestNode sig_of_sig = Node('t');
  sig_of_sig.refs.subject = D('s');
  ManifestNode orphan_sig = Node('o');
  orphan_sig.refs.subject = D('u');  // subject untagged and deleted
  ManifestNode index = Node('i', true);
  index.refs.children = {D('c')};
  std::vector<ManifestNode> nodes = {sig_of_sig, sig, orphan_sig, Node('u'), Node('c'), index};
  EXPECT_EQ(KeptManifests(nodes, {.delete_untagged = true}),
            (std::vector<bool>{true, true, false, false, true, true}));
}

TEST(KeptManifests, YoungManifestsAreKept) {
  ManifestNode young = Node('y');
  young.young = true;
  young.refs.children = {D('c')};
  std::vector<ManifestNode> nodes = {young, Node('c')};
  EXPECT_EQ(KeptManifests(nodes, {.delete_untagged = true}), (std::vector<bool>{true, true}));
}

TEST(DigestSet, ContainsWhatWasAddedOnly) {
  DigestSet s;
  s.Add(D('a'));
  s.Add(D('b'));
  s.Add(D('a'));
  s.Seal();
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.Contains(D('a')));
  EXPECT_TRUE(s.Contains(D('b')));
  EXPECT_FALSE(s.Contains(D('c')));
}

}  // namespace
}  // namespace berth::gc
