// `lowbit quant IN.safetensors --spec SPEC.yaml --out OUT.safetensors [--only GLOB]`: fake-quantize
// the tensors of a file with one quantizer entry and print per-tensor SQNR, MSE, clip and
// underflow fractions (core/telemetry/quantize_file.h does the work).
#include "lowbit/config/quantizer_yaml.h"
#include "lowbit/quant/kernel_params.h"
#include "lowbit/telemetry/quantize_file.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"

namespace lowbit::app {
namespace {

struct QuantOptions {
    std::string input;
    std::string spec;
    std::string out;
    std::string only;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return text + "]";
}

const char* action_text(telemetry::QuantizedTensorRow::Action action) {
    using Action = telemetry::QuantizedTensorRow::Action;
    switch (action) {
        case Action::kQuantized:
            return "quantized";
        case Action::kCopied1D:
            return "copied unchanged (1-D)";
        case Action::kCopiedNotFloat:
            return "copied unchanged (not floating point)";
        case Action::kCopiedNotSelected:
            return "copied unchanged (not matched by --only)";
    }
    return "?";
}

void print_report(const telemetry::QuantizedFileReport& report) {
    std::printf("%-40s %-18s %-5s %10s %12s %9s %11s\n",
                "tensor",
                "shape",
                "dtype",
                "SQNR dB",
                "MSE",
                "clip %",
                "underflow %");
    for (const telemetry::QuantizedTensorRow& row : report.rows) {
        const std::string shape = shape_text(row.shape);
        if (row.action != telemetry::QuantizedTensorRow::Action::kQuantized) {
            std::printf("%-40s %-18s %-5s %s\n",
                        row.name.c_str(),
                        shape.c_str(),
                        row.dtype.c_str(),
                        action_text(row.action));
            continue;
        }
        std::printf("%-40s %-18s %-5s %10.4f %12.6g %9.4f %11.4f\n",
                    row.name.c_str(),
                    shape.c_str(),
                    row.dtype.c_str(),
                    row.metrics.sqnr_db,
                    row.metrics.mse,
                    100.0 * row.metrics.clip_fraction,
                    100.0 * row.metrics.underflow_fraction);
    }
    const telemetry::QuantizedFileTotal& t = report.total;
    const std::string what = std::to_string(t.tensors) + " tensors";
    std::printf("%-40s %-18s %-5s %10.4f %12.6g %9.4f %11.4f\n",
                "total",
                what.c_str(),
                "",
                t.sqnr_db,
                t.mse,
                100.0 * t.clip_fraction,
                100.0 * t.underflow_fraction);
}

}  // namespace

void add_quant_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<QuantOptions>();
    CLI::App* cmd = app.add_subcommand(
        "quant", "Fake-quantize the tensors of a safetensors file and report SQNR per tensor");
    cmd->add_option("input", options->input, "Input .safetensors file")->required();
    cmd->add_option("--spec",
                    options->spec,
                    "Quantizer YAML: {bits, granularity, group_size, symmetric, signed, "
                    "rounding, min_range, grid} as in a recipe's quant.weight")
        ->required();
    cmd->add_option("--out", options->out, "Output .safetensors file")->required();
    cmd->add_option("--only", options->only, "Quantize only tensors matching this glob");
    cmd->callback([options, &exit_code] {
        const config::QuantizerSpec spec = config::load_quantizer_file(options->spec);
        if (!spec.enabled()) {
            throw util::BadInput(options->spec + ": bits: " + std::to_string(spec.bits) +
                                 " means off (expected bits: 2..8)");
        }
        // The fake quantizer lays groups along rows only; per_block's flat blocks are the layout
        // of stored optimizer states (docs/quantized-pretraining.md §Granularities).
        const kernels::GranularityTraits& granularity =
            kernels::granularity_traits(spec.granularity);
        if (!granularity.for_weights && !granularity.for_activations) {
            throw util::BadInput(options->spec + ": granularity: " + granularity.name +
                                 " is for optimizer states only (expected per_tensor, "
                                 "per_channel, per_token or per_group)");
        }
        if (granularity.view == kernels::KernelView::kPositionsFirst) {
            throw util::BadInput(options->spec + ": granularity: " + granularity.name +
                                 " needs (B, T, C) activations with a sequence axis, which a "
                                 "safetensors file's tensors do not have (expected per_tensor, "
                                 "per_channel, per_token or per_group)");
        }
        if (!spec.is_signed && !kernels::grid_allows_unsigned(spec.grid)) {
            throw util::BadInput(options->spec + ": signed: false needs grid: reference (grid: " +
                                 kernels::quant_grid_name(spec.grid) + " has no unsigned choice)");
        }
        const telemetry::QuantizedFileReport report = telemetry::quantize_safetensors_file(
            options->input, options->out, quant::kernel_params(spec), options->only);
        print_report(report);
        std::printf("wrote %s\n", options->out.c_str());
        exit_code = util::kExitOk;
    });
}

}  // namespace lowbit::app
