#include "config/structured_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace orb {
namespace {

std::string ErrorOf(std::string_view text, const std::string& name) {
  try {
    ParseStructuredText(text, name);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    return e.what();
  }
  return "";
}

TEST(StructuredFileTest, YamlScalarsGetTypes) {
  auto doc = ParseStructuredText(
      "a: 1\nb: true\nc: \"1\"\nd: 1.5\ne: ~\nf: hello\ng: '007'\nh: [x, 2]\n", "x.yaml");
  EXPECT_TRUE(doc["a"].is_number_integer());
  EXPECT_TRUE(doc["b"].is_boolean());
  EXPECT_TRUE(doc["c"].is_string());
  EXPECT_TRUE(doc["d"].is_number_float());
  EXPECT_TRUE(doc["e"].is_null());
  EXPECT_EQ(doc["f"], "hello");
  EXPECT_EQ(doc["g"], "007");
  EXPECT_EQ(doc["h"][1], 2);
  auto zero = ParseStructuredText("tag: 007\nzero: 0\nneg: -012\n", "x.yaml");
  EXPECT_EQ(zero["tag"], "007");
  EXPECT_EQ(zero["zero"], 0);
  EXPECT_EQ(zero["neg"], "-012");
}

TEST(StructuredFileTest, KeepsKeyOrder) {
  auto doc = ParseStructuredText(R"({"z": 1, "a": 2, "m": 3})", "x.json");
  std::vector<std::string> keys;
  for (auto it = doc.begin(); it != doc.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "a", "m"}));
}

TEST(StructuredFileTest, SyntaxErrorsNameFileLineAndColumn) {
  EXPECT_NE(ErrorOf("{\n  \"a\": 1,\n  \"b\" 2\n}", "t.json")
                .find("t.json: JSON syntax error at line 3, column"),
            std::string::npos);
  EXPECT_NE(ErrorOf("a: [1, 2\nb: 3\n", "t.yaml").find("t.yaml: YAML syntax error at line"),
            std::string::npos);
  EXPECT_TRUE(ParseStructuredText("  \n\t", "t.json").is_null());
}

// nlohmann quotes the text it read last; in a config file with an unterminated
// string that is the value, perhaps a secret key: messages leave it out.
TEST(StructuredFileTest, SyntaxErrorsNeverQuoteTheValue) {
  for (const char* text :
       {"{\n  \"AWS_SECRET_ACCESS_KEY\": \"wJalrXUtnFEMI/K7MDENG\n}\n",
        "{\"AWS_SECRET_ACCESS_KEY\": \"wJalrXUtnFEMI/K7MDENG\t\"}",
        "{\"AWS_SECRET_ACCESS_KEY\": wJalrXUtnFEMI/K7MDENG}",
        "{\"AWS_SECRET_ACCESS_KEY\" \"wJalrXUtnFEMI/K7MDENG\"}"}) {
    const std::string message = ErrorOf(text, "c.json");
    EXPECT_NE(message.find("c.json: JSON syntax error at line"), std::string::npos) << message;
    EXPECT_EQ(message.find("wJalr"), std::string::npos) << message;
    EXPECT_EQ(message.find("last read"), std::string::npos) << message;
  }
  EXPECT_NE(ErrorOf("{\"a\" \"b\"}", "c.json").find("expected ':'"), std::string::npos)
      << "what was expected is kept";
}

TEST(StructuredFileTest, ExtensionlessFilesAreSniffed) {
  EXPECT_EQ(ParseStructuredText("{\"a\": 1}", "conf")["a"], 1);
  EXPECT_EQ(ParseStructuredText("a: 1", "conf")["a"], 1);
}

TEST(StructuredFileTest, MissingFileAndDirectory) {
  try {
    ReadStructuredFile("/nonexistent/dir/file.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/file.json: file does not exist"),
              std::string::npos);
  }
  try {
    ReadStructuredFile(std::filesystem::temp_directory_path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos);
  }
}

// Found by fuzzing (fuzz/corpus/template_file/regression-yaml-invalid-utf8): YAML
// passes bytes through, and a value that is not UTF-8 made every JSON output of
// the file (getAvailableTemplates, 'templates create') fail to serialise.
TEST(StructuredFileTest, YamlTextThatIsNotUtf8IsASyntaxError) {
  for (const std::string& text : {std::string("templates:\n  - templateId: caf\xe9\n"),
                                 std::string("a:\n  b\x87: 1\n")}) {
    try {
      ParseStructuredText(text, "t.yaml");
      FAIL() << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
      EXPECT_NE(std::string(e.what()).find("t.yaml: YAML syntax error at line 2"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
    }
  }
  // UTF-8 is fine, and so are bytes of a comment.
  EXPECT_EQ(ParseStructuredText("a: caf\xc3\xa9 # \xe9\n", "t.yaml")["a"], "caf\xc3\xa9");
}

// Found by fuzzing (fuzz/corpus/template_file/regression-yaml-alias-cycle): an alias
// inside the node it names made the YAML conversion recurse until the stack ran out.
// Such a node, one expanding exponentially, and nesting past 256 levels are errors.
TEST(StructuredFileTest, YamlAliasesAndDeepNestingAreBounded) {
  const std::string laughs =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
  const std::string cycle = "d: &d\n  x: 1\n  self: *d\n";
  for (const auto& [text, says] :
       {std::pair<std::string, std::string>{laughs, "once its aliases are expanded"},
        {cycle, "levels deep"},
        {std::string(300, '[') + std::string(300, ']'), "levels deep"}}) {
    for (const char* name : {"t.yaml", "t.json"}) {
      if (std::string(name) == "t.json" && text[0] != '[') continue;
      try {
        ParseStructuredText(text, name);
        FAIL() << name << ": " << text.substr(0, 40);
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
        EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      }
    }
  }
  // 256 levels are fine.
  EXPECT_NO_THROW(ParseStructuredText(std::string(256, '[') + std::string(256, ']'), "t.json"));
}

// Caught by the template_file fuzz target: a number beyond a double made nlohmann
// throw out_of_range, which is not a parse_error, past the JSON error handling.
TEST(StructuredFileTest, JsonNumberOutOfRangeIsAnError) {
  try {
    ParseStructuredText(R"({"templates": [{"maxNumber": 1e400}]})", "t.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find("t.json: JSON number overflow parsing '1e400'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace orb
