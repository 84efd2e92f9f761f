// Validation driven by the schema: what a valid value looks like, per-field range/enum checks,
// the rules that span several keys, and the round-trip formatting of doubles.
#include "lowbit/config/recipe_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "schema_rows.h"

namespace lowbit::config {
namespace {

bool is_integer_type(FieldType type) {
    return type == FieldType::kInt || type == FieldType::kInt64 || type == FieldType::kUInt64;
}

// Bounds print as integers when they are whole numbers: "in [0, 1)", ">= 32".
std::string format_bound(double value) {
    if (std::abs(value) < 1e15 && value == std::floor(value)) {
        return std::to_string(static_cast<int64_t>(value));
    }
    std::string text = format_double(value);
    return text;
}

// A bound equal to the C++ type's own limit is not worth printing.
bool is_type_limit(const FieldSpec& field, double value) {
    return field.type == FieldType::kInt && (value == double(std::numeric_limits<int>::min()) ||
                                             value == double(std::numeric_limits<int>::max()));
}

std::string describe_range(const FieldSpec& field) {
    const bool has_min = field.min && !is_type_limit(field, field.min->value);
    const bool has_max = field.max && !is_type_limit(field, field.max->value);
    if (has_min && has_max) {
        return std::string(" in ") + (field.min->inclusive ? "[" : "(") +
               format_bound(field.min->value) + ", " + format_bound(field.max->value) +
               (field.max->inclusive ? "]" : ")");
    }
    if (has_min) {
        return std::string(field.min->inclusive ? " >= " : " > ") + format_bound(field.min->value);
    }
    if (has_max) {
        return std::string(field.max->inclusive ? " <= " : " < ") + format_bound(field.max->value);
    }
    return "";
}

bool in_range(const FieldSpec& field, double value) {
    if (field.min &&
        (field.min->inclusive ? value < field.min->value : value <= field.min->value)) {
        return false;
    }
    if (field.max &&
        (field.max->inclusive ? value > field.max->value : value >= field.max->value)) {
        return false;
    }
    return true;
}

std::string out_of_range(const FieldSpec& field, const std::string& shown) {
    return shown + " is out of range (expected " + describe_expected(field) + ")";
}

std::optional<std::string> check_number(const FieldSpec& field, double value, std::string shown) {
    if (!std::isfinite(value)) {
        return shown + " is not a finite number (expected " + describe_expected(field) + ")";
    }
    if (!in_range(field, value)) {
        return out_of_range(field, shown);
    }
    return std::nullopt;
}

}  // namespace

std::string format_double(double value) {
    if (std::isnan(value)) {
        return ".nan";
    }
    if (std::isinf(value)) {
        return value > 0 ? ".inf" : "-.inf";
    }
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    std::string text(buffer, result.ptr);
    if (text.find_first_of(".ne") == std::string::npos) {
        text += ".0";
    } else if (text.find('.') == std::string::npos && text.find('e') != std::string::npos) {
        text.insert(text.find('e'), ".0");  // YAML 1.1 floats need the dot: 1.0e-08
    }
    return text;
}

std::string describe_expected(const FieldSpec& field) {
    if (!field.allowed_text.empty()) {
        return field.allowed_text;
    }
    switch (field.type) {
        case FieldType::kBool:
            return "true or false";
        case FieldType::kInt:
        case FieldType::kInt64:
            return "an integer" + describe_range(field);
        case FieldType::kUInt64:
            return "a non-negative integer" + describe_range(field);
        case FieldType::kDouble:
            return "a number" + describe_range(field);
        case FieldType::kString:
            return field.non_empty ? "a non-empty string" : "a string";
        case FieldType::kStringList:
            return field.non_empty ? "a string or a non-empty list of strings"
                                   : "a string or a list of strings";
        case FieldType::kDoubleList:
            return "a list of " + std::to_string(field.list_size) + " numbers, each" +
                   describe_range(field);
        case FieldType::kInt64List:
            return "an integer or a list of integers, each" + describe_range(field);
        case FieldType::kEnum: {
            std::string text = "one of: ";
            for (std::size_t i = 0; i < field.choices.size(); ++i) {
                text += (i ? ", " : "") + field.choices[i];
            }
            return text;
        }
        case FieldType::kQuantOverrides:
            return "a list of {layers: GLOB, <tensor>: {key: value}}";
    }
    return "?";
}

std::optional<std::string> check_field_value(const FieldSpec& field, const FieldValue& value) {
    if (const auto* i = std::get_if<int64_t>(&value); i && is_integer_type(field.type)) {
        if (!in_range(field, static_cast<double>(*i))) {
            return out_of_range(field, std::to_string(*i));
        }
        if (!field.allowed.empty() &&
            std::find(field.allowed.begin(), field.allowed.end(), *i) == field.allowed.end()) {
            return std::to_string(*i) + " is not a supported " + field.noun + " (expected " +
                   describe_expected(field) + ")";
        }
    } else if (const auto* u = std::get_if<uint64_t>(&value); u && is_integer_type(field.type)) {
        if (!in_range(field, static_cast<double>(*u))) {
            return out_of_range(field, std::to_string(*u));
        }
    } else if (const auto* d = std::get_if<double>(&value)) {
        return check_number(field, *d, format_double(*d));
    } else if (const auto* list = std::get_if<std::vector<double>>(&value)) {
        if (list->size() != field.list_size) {
            return "got " + std::to_string(list->size()) + " numbers (expected " +
                   describe_expected(field) + ")";
        }
        for (std::size_t k = 0; k < list->size(); ++k) {
            const std::string shown =
                "element " + std::to_string(k) + " (" + format_double((*list)[k]) + ")";
            if (auto problem = check_number(field, (*list)[k], shown)) {
                return problem;
            }
        }
    } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&value)) {
        for (std::size_t k = 0; k < ints->size(); ++k) {
            if (!in_range(field, static_cast<double>((*ints)[k]))) {
                return out_of_range(
                    field,
                    "element " + std::to_string(k) + " (" + std::to_string((*ints)[k]) + ")");
            }
        }
    } else if (const auto* s = std::get_if<std::string>(&value)) {
        if (field.type == FieldType::kEnum) {
            for (const std::string& choice : field.choices) {
                if (choice == *s) {
                    return std::nullopt;
                }
            }
            return "unknown value '" + *s + "' (expected " + describe_expected(field) + ")";
        }
        if (field.non_empty && s->empty()) {
            return "is empty (expected " + describe_expected(field) + ")";
        }
    } else if (const auto* strings = std::get_if<std::vector<std::string>>(&value)) {
        if (field.non_empty && strings->empty()) {
            return "is an empty list (expected " + describe_expected(field) + ")";
        }
        for (std::size_t k = 0; k < strings->size(); ++k) {
            if ((*strings)[k].empty()) {
                return "entry " + std::to_string(k) + " is an empty string (expected " +
                       (field.is_path ? "a path" : "a non-empty string") + ")";
            }
        }
    } else if (const auto* overrides = std::get_if<std::vector<QuantOverride>>(&value)) {
        for (std::size_t k = 0; k < overrides->size(); ++k) {
            const QuantOverride& o = (*overrides)[k];
            const std::string entry = "entry " + std::to_string(k);
            if (o.layers.empty()) {
                return entry + " has no layers pattern (expected e.g. layers: \"blocks.0.*\")";
            }
            if (!o.weight && !o.activation && !o.grad_output && !o.optim_m && !o.optim_v) {
                return entry + " ('" + o.layers +
                       "') sets no tensor (expected weight, activation, grad_output, optim_m or "
                       "optim_v)";
            }
        }
    }
    return std::nullopt;
}

std::vector<RecipeProblem> check_recipe_consistency(const Recipe& r) {
    std::vector<RecipeProblem> problems;
    auto fail = [&](std::string key,
                    std::string other,
                    std::string message,
                    bool only_if_given = false) {
        problems.push_back({std::move(key), std::move(other), std::move(message), only_if_given});
    };
    const auto& m = r.model;
    if (m.d_model % m.heads != 0) {
        fail("model.d_model",
             "model.heads",
             std::to_string(m.d_model) + " is not divisible by model.heads (" +
                 std::to_string(m.heads) + ") (expected a multiple of model.heads)");
    } else if (m.family == ModelFamily::kLlama && (m.d_model / m.heads) % 2 != 0) {
        fail("model.d_model",
             "model.heads",
             "head dimension d_model/heads = " + std::to_string(m.d_model / m.heads) +
                 " is odd (expected an even head dimension: RoPE rotates pairs of channels)");
    }
    if (m.family != ModelFamily::kLlama) {
        for (const auto& [key, on] : {std::pair{"model.fused_qkv", m.fused_qkv},
                                      std::pair{"model.fused_gate_up", m.fused_gate_up}}) {
            if (on) {
                fail(key,
                     "model.family",
                     "applies to Llama only (expected false for model.family: gpt2, whose qkv is "
                     "always fused and whose MLP has no gate)");
            }
        }
    }
    const auto& t = r.train;
    if (t.min_lr > t.lr) {
        fail("train.min_lr",
             "train.lr",
             format_double(t.min_lr) + " is above train.lr (" + format_double(t.lr) +
                 ") (expected 0 <= min_lr <= lr)");
    }
    if (t.warmup_steps > t.steps) {
        fail("train.warmup_steps",
             "train.steps",
             std::to_string(t.warmup_steps) + " is more than train.steps (" +
                 std::to_string(t.steps) + ") (expected warmup_steps <= steps)",
             true);
    }
    const auto& d = r.data;
    const bool sentencepiece = d.tokenizer == TokenizerKind::kSentencePiece;
    if (sentencepiece && d.vocab_size < 32) {
        fail("data.vocab_size",
             "data.tokenizer",
             std::to_string(d.vocab_size) +
                 " is too small for a SentencePiece vocabulary (expected an integer >= 32)");
    }
    if (!sentencepiece && !d.tokenizer_model.empty()) {
        fail("data.tokenizer_model",
             "data.tokenizer",
             "is set but data.tokenizer is byte (expected data.tokenizer: sentencepiece)");
    }
    if (m.vocab_size != 0 && !sentencepiece && m.vocab_size < 256) {
        fail("model.vocab_size",
             "data.tokenizer",
             std::to_string(m.vocab_size) +
                 " is smaller than the byte tokenizer's 256 ids (expected 0 or >= 256)");
    }
    if (m.vocab_size != 0 && sentencepiece && d.tokenizer_model.empty() &&
        m.vocab_size < d.vocab_size) {
        fail("model.vocab_size",
             "data.vocab_size",
             std::to_string(m.vocab_size) + " is smaller than data.vocab_size (" +
                 std::to_string(d.vocab_size) + ") (expected 0 or >= data.vocab_size)");
    }
    if (d.markov.successors > d.markov.words) {
        fail("data.markov.successors",
             "data.markov.words",
             std::to_string(d.markov.successors) + " is more than data.markov.words (" +
                 std::to_string(d.markov.words) + ") (expected successors <= words)");
    }
    for (const std::string& entry : d.train) {
        if (entry.starts_with("builtin:") && entry != "builtin:markov") {
            fail("data.train",
                 "",
                 "unknown built-in corpus '" + entry + "' (expected one of: builtin:markov)");
        } else if (entry == "builtin:markov" && d.train.size() != 1) {
            fail("data.train",
                 "",
                 "builtin:markov must be the only entry (expected builtin:markov alone or paths)");
        }
    }
    for (const std::string& entry : d.val) {
        if (entry.starts_with("builtin:")) {
            fail("data.val",
                 "",
                 "'" + entry + "' is not allowed here (expected paths; builtin:markov is split " +
                     "by data.val_fraction)");
        }
    }
    if (r.distributed.error_feedback &&
        r.distributed.gradient_allreduce == GradientAllreduce::kFp32) {
        fail("distributed.error_feedback",
             "distributed.gradient_allreduce",
             "true needs an encoded gradient exchange, but distributed.gradient_allreduce is "
             "fp32, which loses nothing (expected gradient_allreduce bf16 or int8, or "
             "error_feedback false)");
    }
    detail::check_quant(r, problems);
    detail::check_telemetry(r, problems);
    detail::check_qat(r, problems);
    return problems;
}

}  // namespace lowbit::config
