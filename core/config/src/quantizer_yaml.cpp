// A standalone quantizer entry in YAML (the SPEC.yaml of `lowbit quant`), read with the recipe
// reader's value parsing so types, ranges, enums and unknown keys report exactly as in recipes.
#include "lowbit/config/quantizer_yaml.h"

#include "lowbit/config/recipe_schema.h"

#include <fstream>
#include <iterator>
#include <map>

#include "key_suggest.h"
#include "recipe_reader.h"

namespace lowbit::config {
namespace detail {

QuantizerSpec RecipeReader::read_quantizer(const YAML::Node& node,
                                           const QuantTensorSpec& tensor,
                                           const std::string& prefix) {
    if (!node.IsMap()) {
        fail(locate(prefix, node.Mark()),
             prefix,
             "expected a map of quantizer keys, e.g. {bits: 8, granularity: per_channel}, got " +
                 describe_node(node));
    }
    const std::string rows = "quant." + tensor.name + ".";
    std::vector<std::string> keys;
    for (const FieldSpec& f : recipe_fields()) {
        if (f.path.starts_with(rows)) {
            keys.push_back(f.path.substr(rows.size()));
        }
    }
    Recipe scratch;  // keys not given keep the tensor type's defaults
    std::map<std::string, int> first_line;
    for (const auto& entry : node) {
        const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        const Location key_at = locate(path, entry.first.Mark());
        const FieldSpec* field = find_field(rows + key);
        if (field == nullptr) {
            const std::string nearest = nearest_word(key, keys);
            std::string expected;
            for (const std::string& k : keys) {
                expected += (expected.empty() ? "" : ", ") + k;
            }
            fail(key_at,
                 path,
                 "unknown key '" + key + "'" +
                     (nearest.empty() ? "" : "; did you mean '" + nearest + "'?") +
                     " (expected one of: " + expected + ")");
        }
        if (const auto [it, inserted] = first_line.emplace(key, key_at.line); !inserted) {
            fail(key_at,
                 path,
                 "duplicate key (first given on line " + std::to_string(it->second) + ")");
        }
        if (entry.second.IsNull()) {
            fail(key_at, path, "expected " + describe_expected(*field) + ", got nothing (null)");
        }
        const FieldValue value = read_value(*field, entry.second, path, true);
        if (auto problem = check_field_value(*field, value)) {
            fail(locate(path, entry.second.Mark()), path, *problem);
        }
        field->set(scratch, value);
    }
    return scratch.quant.*tensor.member;
}

}  // namespace detail

QuantizerSpec parse_quantizer_yaml(std::string_view text, const std::string& source_name) {
    detail::RecipeReader reader(source_name, std::nullopt);
    const YAML::Node root = reader.parse(text);
    return reader.read_quantizer(root, *find_quant_tensor("weight"), "");
}

QuantizerSpec load_quantizer_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw RecipeError(path.string(),
                          0,
                          0,
                          "",
                          std::filesystem::exists(path, ec)
                              ? "is not a regular file (expected a quantizer YAML file)"
                              : "quantizer spec file not found");
    }
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in && !in.eof()) {
        throw RecipeError(path.string(), 0, 0, "", "cannot read the quantizer spec file");
    }
    return parse_quantizer_yaml(text, path.string());
}

}  // namespace lowbit::config
