// The measuring discipline of every benchmark (docs/benchmarks.md §How the benchmarks measure),
// for a shared machine where load comes and goes: the configurations compared run in rounds, each
// round running every configuration once in a rotating order, so a burst of outside load hits
// them alike; each configuration reports the median and the quartiles of its rounds, and the
// process CPU time beside the wall time (a wall time far above the CPU time means waiting:
// for threads, for the memory system or for other processes). Ratios are of medians.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace lowbit::bench {

inline double wall_seconds() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

inline double cpu_seconds() {  // every thread of the process
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Case {
    std::string name;
    std::function<void()> run;  // one repetition
    double units = 1;           // what one repetition processes (steps, bytes...), for rates
};

struct Timing {
    std::string name;
    double units = 1;
    std::vector<double> wall;  // seconds per repetition, one entry per round
    std::vector<double> cpu;

    static double quantile(std::vector<double> v, double q) {
        if (v.empty()) {
            return 0;
        }
        std::sort(v.begin(), v.end());
        const double at = q * static_cast<double>(v.size() - 1);
        const auto lo = static_cast<std::size_t>(at);
        const std::size_t hi = std::min(lo + 1, v.size() - 1);
        return v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
    }

    double median_wall() const {
        return quantile(wall, 0.5);
    }

    double median_cpu() const {
        return quantile(cpu, 0.5);
    }
};

// Runs every case `warmup` times, then `rounds` rounds of `reps` repetitions each (one timing per
// round: the mean of its repetitions), the case order rotating from round to round.
inline std::vector<Timing> run_interleaved(const std::vector<Case>& cases,
                                           int rounds,
                                           int reps = 1,
                                           int warmup = 1) {
    std::vector<Timing> timings(cases.size());
    for (std::size_t c = 0; c < cases.size(); ++c) {
        timings[c].name = cases[c].name;
        timings[c].units = cases[c].units;
        for (int w = 0; w < warmup; ++w) {
            cases[c].run();
        }
    }
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t k = 0; k < cases.size(); ++k) {
            const std::size_t c = (k + static_cast<std::size_t>(round)) % cases.size();
            const double wall0 = wall_seconds();
            const double cpu0 = cpu_seconds();
            for (int r = 0; r < reps; ++r) {
                cases[c].run();
            }
            timings[c].wall.push_back((wall_seconds() - wall0) / reps);
            timings[c].cpu.push_back((cpu_seconds() - cpu0) / reps);
        }
    }
    return timings;
}

// One line per case: median wall time [quartiles], median CPU time, CPU ÷ wall, and the rate in
// `unit` per second when unit is given.
inline void print_timings(const std::vector<Timing>& timings, const char* unit = nullptr) {
    for (const Timing& t : timings) {
        const double wall = t.median_wall();
        std::printf("%-44s wall %9.3f ms [%9.3f, %9.3f]  cpu %9.3f ms  cpu/wall %.2f",
                    t.name.c_str(),
                    wall * 1e3,
                    Timing::quantile(t.wall, 0.25) * 1e3,
                    Timing::quantile(t.wall, 0.75) * 1e3,
                    t.median_cpu() * 1e3,
                    wall > 0 ? t.median_cpu() / wall : 0.0);
        if (unit != nullptr && wall > 0) {
            std::printf("  %.4g %s/s", t.units / wall, unit);
        }
        std::printf("\n");
    }
}

inline const Timing& find_timing(const std::vector<Timing>& timings, const std::string& name) {
    for (const Timing& t : timings) {
        if (t.name == name) {
            return t;
        }
    }
    std::fprintf(stderr, "benchmark: no case named %s\n", name.c_str());
    std::abort();
}

// "label: a ÷ b = R (wall), R' (cpu)" from the medians of two cases of one run.
inline void print_ratio(const std::vector<Timing>& timings,
                        const std::string& label,
                        const std::string& numerator,
                        const std::string& denominator) {
    const Timing& a = find_timing(timings, numerator);
    const Timing& b = find_timing(timings, denominator);
    std::printf("%s = %.3f (wall), %.3f (cpu)\n",
                label.c_str(),
                a.median_wall() / b.median_wall(),
                b.median_cpu() > 0 ? a.median_cpu() / b.median_cpu() : 0.0);
}

// The thread settings a result depends on.
inline void print_thread_settings(int engine_threads) {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    std::printf("# threads: engine %d, OMP_NUM_THREADS %s, hardware %u\n",
                engine_threads,
                omp != nullptr ? omp : "(unset)",
                std::thread::hardware_concurrency());
}

}  // namespace lowbit::bench
