#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"

namespace berth::log {
namespace {

// What an attacker can put into a repository name, a user name, a user agent or a path.
const std::string kHostile =
    "app\r\nlevel=error msg=\"forged\"\n{\"level\":\"error\"}\t\x1b[31m\x7f\x01 "
    "\xff\xc3(\xe2\x80\xa8 "
    "caf\xc3\xa9 \\ \"q\"";

class LogTest : public ::testing::Test {
 protected:
  std::vector<std::string> Run(Format format, std::map<std::string, std::string> fields = {},
                               std::string level = "info") {
    std::ostringstream out;
    Options o;
    o.format = format;
    o.fields = std::move(fields);
    o.level = level;
    auto saved = spdlog::default_logger();
    spdlog::set_default_logger(
        MakeLogger(o, std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
    spdlog::info("pushed {}", kHostile);
    Entry(spdlog::level::info, "access",
          {{"http.request.useragent", kHostile}, {"http.response.status", "201"}});
    spdlog::debug("debug only");
    spdlog::error("broken {}", 1);
    spdlog::set_default_logger(saved);
    std::vector<std::string> lines;
    const std::string text = out.str();
    for (std::string_view l : Split(text, '\n')) {
      if (!l.empty()) lines.emplace_back(l);
    }
    return lines;
  }
};

TEST_F(LogTest, JsonLinesParseAndKeepTheMessage) {
  auto lines = Run(Format::kJson, {{"service", "registry"}, {"env", "a \"b\"\n"}});
  ASSERT_EQ(lines.size(), 3u);  // debug is below the level; each record is exactly one line
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << l;
    EXPECT_EQ(j["service"], "registry") << l;
    EXPECT_EQ(j["env"], "a \"b\"\n") << l;
    EXPECT_TRUE(j.contains("time"));
  }
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  std::string msg = first["msg"];
  // Valid UTF-8 survives as is; bytes that are not UTF-8 become U+FFFD.
  EXPECT_NE(msg.find("app\r\nlevel=error"), std::string::npos);
  EXPECT_NE(msg.find("caf\xc3\xa9"), std::string::npos);
  EXPECT_NE(msg.find("\xef\xbf\xbd"), std::string::npos);
  auto access = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(access["http.response.status"], "201");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["level"], "error");
}

TEST_F(LogTest, LogstashLinesParseWithItsKeys) {
  auto lines = Run(Format::kLogstash, {{"service", "registry"}});
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l;
    EXPECT_EQ(j["@version"], "1");
    EXPECT_TRUE(j.contains("@timestamp"));
    EXPECT_TRUE(j.contains("message"));
    EXPECT_EQ(j["service"], "registry");
  }
}

TEST_F(LogTest, TextLinesCannotBeForged) {
  auto lines = Run(Format::kText, {{"service", "registry"}, {"two words", "x y"}});
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    EXPECT_TRUE(l.starts_with("time=\"")) << l;
    EXPECT_TRUE(l.ends_with(" service=registry two_words=\"x y\"")) << l;
    for (char c : l) {
      auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "control byte " << int(u) << " in " << l;
    }
    EXPECT_EQ(l.find("\xe2\x80\xa8"), std::string::npos);
    EXPECT_EQ(l.find("\xff"), std::string::npos);
  }
  EXPECT_NE(lines[0].find(R"(msg="pushed app\r\nlevel=error msg=\"forged\"\n)"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("http.response.status=201"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" level=error msg=\"broken 1\""), std::string::npos) << lines[2];
}

TEST_F(LogTest, LevelFiltersAndNamesAreLogrus) {
  auto lines = Run(Format::kJson, {}, "debug");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["level"], "debug");
  EXPECT_EQ(Run(Format::kJson, {}, "error").size(), 1u);
  std::ostringstream out;
  Options o;
  o.level = "warn";
  auto logger = MakeLogger(o, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->warn("w");
  EXPECT_NE(out.str().find("level=warning"), std::string::npos);
}

TEST(LogEscape, TextValueQuotesOnlyWhenNeeded) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"registry", "registry"}, {"10.0.0.1:5000", "10.0.0.1:5000"}, {"", "\"\""},
      {"a b", "\"a b\""},       {"a\r\nb", "\"a\\r\\nb\""},         {"\x1b", "\"\\x1b\""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(TextValue(in), want) << in;
  EXPECT_EQ(JsonString("\x01\"\\\xc0\xaf"), "\"\\u0001\\\"\\\\\\ufffd\\ufffd\"");
}

}  // namespace
}  // namespace berth::log
