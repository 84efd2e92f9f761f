// The grid of a parameter sweep: `--vary key=v1,v2` options expanded into their cartesian
// product, each point a list of `key=value` overrides in the syntax of `--set`.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lowbit::config {

struct SweepAxis {
    std::string key;                  // recipe key path, e.g. "quant.weight.bits"
    std::vector<std::string> values;  // as written, e.g. {"8", "4"}
};

// One run of the sweep: the value of every axis, in axis order.
struct SweepPoint {
    std::vector<std::pair<std::string, std::string>> assignments;

    // "key=value" strings for apply_overrides / `lowbit train --set`.
    std::vector<std::string> overrides() const;
    // Short label for run names: "quant.weight.bits=8 seed=1".
    std::string label() const;
};

// Parses "key=v1,v2,...". Commas inside [...] or {...} belong to the value, so a list such as
// train.betas=[0.9,0.95],[0.9,0.99] gives two values. Throws RecipeError (key "--vary") for a
// missing '=', an empty key, an empty value or a key given twice across axes (checked by
// expand_sweep).
SweepAxis parse_sweep_axis(const std::string& text);

// Cartesian product, first axis varying slowest (so `--vary a=1,2 --vary seed=1,2,3` runs the
// three seeds of a=1 first). No axes gives one point with no assignments.
std::vector<SweepPoint> expand_sweep(const std::vector<SweepAxis>& axes);

}  // namespace lowbit::config
