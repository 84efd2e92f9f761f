// The recipe schema: one table listing every recipe key with its type, range, default (read from
// Recipe{}), doc string and accessors. YAML parsing, JSON (de)serialisation, the commented default
// recipe and the GUI's recipe form are all driven by this table, so a new section means new rows.
#pragma once

#include "lowbit/config/recipe.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lowbit::config {

enum class FieldType {
    kBool,
    kInt,     // int
    kInt64,   // int64_t
    kUInt64,  // uint64_t (seeds)
    kDouble,
    kString,
    kStringList,  // YAML: one string or a list of strings
    kDoubleList,  // fixed length (list_size), e.g. Adam betas
    kInt64List,   // any length, e.g. telemetry.steps; YAML: one integer or a list
    kEnum,        // stored as its lowercase name; `choices` lists the valid names
    // quant.overrides: a list of maps {layers: GLOB, weight: {bits: 8, ...}, ...}; each tensor
    // map takes the keys of the quant.<tensor> section (see quant_tensors()).
    kQuantOverrides,
};

// A field's value in neutral form: integers widened, enums as names, arrays as vectors.
using FieldValue = std::variant<bool,
                                int64_t,
                                uint64_t,
                                double,
                                std::string,
                                std::vector<std::string>,
                                std::vector<double>,
                                std::vector<QuantOverride>,
                                std::vector<int64_t>>;

struct Bound {
    double value = 0.0;
    bool inclusive = true;
};

struct FieldSpec {
    std::string path;  // dotted key path, e.g. "train.lr"
    FieldType type = FieldType::kInt;
    std::string doc;           // one line: what it does and its unit
    std::optional<Bound> min;  // numbers (each element for kDoubleList and kInt64List)
    std::optional<Bound> max;
    std::vector<std::string> choices;  // kEnum
    // Integers valid only at these values (empty: any in range), e.g. bit-widths; `allowed_text`
    // is then what describe_expected says and `noun` names a value in errors ("bit-width").
    std::vector<int64_t> allowed;
    std::string allowed_text;
    std::string noun;
    std::size_t list_size = 0;  // kDoubleList: exact length
    bool non_empty = false;     // kString / kStringList must not be empty
    bool is_path = false;       // file paths, resolved against the recipe file's folder
    std::function<FieldValue(const Recipe&)> get;
    std::function<void(Recipe&, const FieldValue&)> set;  // value already validated
};

// A map of keys (e.g. "train", "data.markov"); the top level is the section "".
struct SectionSpec {
    std::string path;
    std::string doc;
};

// All leaf keys in document order (the order `lowbit recipe defaults` prints them).
std::span<const FieldSpec> recipe_fields();
// All sections in document order, parents before children; excludes the top level.
std::span<const SectionSpec> recipe_sections();

const FieldSpec* find_field(std::string_view path);
const SectionSpec* find_section(std::string_view path);

// What a valid value looks like, e.g. "an integer >= 1", "a number in [0, 1)",
// "one of: cosine, linear, constant".
std::string describe_expected(const FieldSpec& field);

// Range, enum and emptiness check of one value of the field's type; the problem, or nullopt.
// The text reads "what (expected ...)", e.g. "0 is out of range (expected an integer >= 1)".
std::optional<std::string> check_field_value(const FieldSpec& field, const FieldValue& value);

// One quantized tensor type of the quant: section, in document order: weight, activation,
// grad_output, optim_m, optim_v. Its keys are the fields "quant.<name>.*".
struct QuantTensorSpec {
    std::string name;
    QuantizerSpec QuantSpec::*member;
    std::optional<QuantizerSpec> QuantOverride::*override_member;
};

std::span<const QuantTensorSpec> quant_tensors();
const QuantTensorSpec* find_quant_tensor(std::string_view name);

// The keys of one quantizer entry ("bits", "granularity", ...) and their values for `spec`,
// read through the quant.<tensor>.* rows of the table.
std::vector<std::pair<std::string, FieldValue>> quantizer_values(const QuantTensorSpec& tensor,
                                                                 const QuantizerSpec& spec);

// A rule across several keys (e.g. d_model divisible by heads) that the recipe breaks.
struct RecipeProblem {
    std::string key_path;   // the key the message is about
    std::string other_key;  // the related key ("" if none), used to locate the error
    std::string message;
    // Reported only when the recipe's author gave key_path (file or --set), not when it holds its
    // default: e.g. warmup_steps (default 100) above steps is fine for `steps: 20` alone, since
    // the schedule then warms up throughout. JSON (machine-written) skips these.
    bool only_if_given = false;
};

// Every cross-key rule the recipe breaks, in table order (empty: the recipe is consistent).
std::vector<RecipeProblem> check_recipe_consistency(const Recipe& recipe);

// Shortest text that reads back as the same double, always with a '.' or an exponent.
std::string format_double(double value);

// The value as YAML text that reads back exactly (strings quoted, enums bare, lists and
// quant.overrides in flow style), as `lowbit recipe defaults` writes it; the GUI's recipe form
// shows and emits values with it.
std::string field_value_yaml(const FieldSpec& field, const FieldValue& value);

}  // namespace lowbit::config
