// builtin:markov: synthetic syllable words, a sparse random transition matrix with Dirichlet
// rows, its stationary distribution and exact entropy rate, and seeded text generation. All
// randomness goes through random.h so the corpus is the same with any standard library.
#include "lowbit/data/markov_source.h"

#include "lowbit/data/data_error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "random.h"

namespace lowbit::data {

namespace {

// Every listed transition keeps at least kFloor / successors probability, so a tiny
// concentration cannot underflow an edge to zero and break irreducibility.
constexpr double kFloor = 1e-3;
constexpr double kTwoPi = 6.283185307179586476925286766559;

constexpr std::array<const char*, 36> kOnsets = {
    "",   "",   "b",  "c",  "d",  "f",  "g",  "h",  "j",  "k",  "l",  "m",
    "n",  "p",  "r",  "s",  "t",  "v",  "w",  "y",  "z",  "br", "ch", "cl",
    "cr", "dr", "fl", "fr", "gr", "pl", "pr", "sh", "sl", "st", "th", "tr",
};
constexpr std::array<const char*, 12> kVowels = {
    "a",
    "e",
    "i",
    "o",
    "u",
    "a",
    "e",
    "o",
    "ai",
    "ea",
    "ee",
    "ou",
};
constexpr std::array<const char*, 14> kCodas = {
    "",
    "",
    "",
    "",
    "n",
    "r",
    "s",
    "t",
    "l",
    "m",
    "ng",
    "st",
    "nd",
    "ck",
};

std::string make_word(std::mt19937_64& rng) {
    // 1-3 syllables, weighted 4:4:2 like short everyday English words.
    const uint64_t roll = uniform_below(rng, 10);
    const int syllables = roll < 4 ? 1 : (roll < 8 ? 2 : 3);
    std::string word;
    for (int s = 0; s < syllables; ++s) {
        word += kOnsets[uniform_below(rng, kOnsets.size())];
        word += kVowels[uniform_below(rng, kVowels.size())];
        word += kCodas[uniform_below(rng, kCodas.size())];
    }
    return word;
}

double standard_normal(std::mt19937_64& rng) {
    // Box-Muller, one output per call; 1 - u keeps the logarithm's argument in (0, 1].
    const double u1 = 1.0 - uniform01(rng);
    const double u2 = uniform01(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

// log of a Gamma(alpha, 1) draw (Marsaglia and Tsang 2000). Logarithms keep very small shapes,
// whose draws underflow a double, usable for the Dirichlet normalisation.
double log_gamma_draw(std::mt19937_64& rng, double alpha) {
    if (alpha < 1.0) {
        // Gamma(alpha) = Gamma(alpha + 1) * U^(1/alpha).
        const double u = 1.0 - uniform01(rng);
        return log_gamma_draw(rng, alpha + 1.0) + std::log(u) / alpha;
    }
    const double d = alpha - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
        const double x = standard_normal(rng);
        const double t = 1.0 + c * x;
        if (t <= 0.0) {
            continue;
        }
        const double v = t * t * t;
        const double u = 1.0 - uniform01(rng);
        if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
            return std::log(d * v);
        }
    }
}

std::vector<double> dirichlet_with_floor(std::mt19937_64& rng, size_t k, double concentration) {
    std::vector<double> logs(k);
    for (double& g : logs) {
        g = log_gamma_draw(rng, concentration);
    }
    const double top = *std::max_element(logs.begin(), logs.end());
    std::vector<double> p(k);
    double sum = 0;
    for (size_t j = 0; j < k; ++j) {
        p[j] = std::exp(logs[j] - top);
        sum += p[j];
    }
    for (double& q : p) {
        q = (1.0 - kFloor) * q / sum + kFloor / static_cast<double>(k);
    }
    return p;
}

std::vector<double> stationary_distribution(
    const std::vector<std::vector<std::pair<int, double>>>& transitions) {
    const size_t n = transitions.size();
    std::vector<double> pi(n, 1.0 / static_cast<double>(n));
    std::vector<double> next(n);
    // The chain is irreducible and aperiodic by construction, so power iteration converges.
    for (int iter = 0; iter < 1'000'000; ++iter) {
        std::fill(next.begin(), next.end(), 0.0);
        for (size_t i = 0; i < n; ++i) {
            for (const auto& [j, p] : transitions[i]) {
                next[static_cast<size_t>(j)] += pi[i] * p;
            }
        }
        double total = 0;
        for (const double x : next) {
            total += x;
        }
        double change = 0;
        for (size_t i = 0; i < n; ++i) {
            next[i] /= total;
            change += std::abs(next[i] - pi[i]);
        }
        pi.swap(next);
        if (change < 1e-15) {
            break;
        }
    }
    return pi;
}

size_t sample_index(std::mt19937_64& rng, const std::vector<double>& weights) {
    const double u = uniform01(rng);
    double cumulative = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        cumulative += weights[i];
        if (u < cumulative) {
            return i;
        }
    }
    return weights.size() - 1;  // u fell in the rounding gap above the last cumulative sum
}

}  // namespace

MarkovSource make_markov_source(const config::MarkovSpec& spec) {
    if (spec.words < 1 || spec.successors < 1 || !(spec.concentration > 0)) {
        throw DataError("builtin:markov: words and successors must be >= 1 and concentration > 0");
    }
    std::mt19937_64 rng(mix64(spec.seed));
    const auto n = static_cast<size_t>(spec.words);

    MarkovSource source;
    std::unordered_set<std::string> seen;
    for (int attempts = 0; source.words.size() < n; ++attempts) {
        if (attempts > 100 * spec.words + 10000) {
            throw DataError("builtin:markov: cannot make " + std::to_string(spec.words) +
                            " distinct synthetic words");
        }
        std::string word = make_word(rng);
        if (seen.insert(word).second) {
            source.words.push_back(std::move(word));
        }
    }

    // Successor sets always contain i+1 (mod n), which makes one cycle through every word
    // (irreducible), and word 0 also loops to itself: cycle lengths 1 and n are coprime
    // (aperiodic). The rest are distinct words drawn uniformly.
    const size_t k = std::min(n, static_cast<size_t>(spec.successors));
    source.transitions.resize(n);
    for (size_t i = 0; i < n; ++i) {
        std::vector<int> next = {static_cast<int>((i + 1) % n)};
        if (i == 0 && n > 1) {
            next.push_back(0);
        }
        while (next.size() < k) {
            const auto candidate = static_cast<int>(uniform_below(rng, n));
            if (std::find(next.begin(), next.end(), candidate) == next.end()) {
                next.push_back(candidate);
            }
        }
        std::sort(next.begin(), next.end());
        const std::vector<double> p = dirichlet_with_floor(rng, next.size(), spec.concentration);
        for (size_t j = 0; j < next.size(); ++j) {
            source.transitions[i].emplace_back(next[j], p[j]);
        }
    }

    source.stationary = stationary_distribution(source.transitions);
    double h_word = 0;
    double mean_chars = 0;
    for (size_t i = 0; i < n; ++i) {
        double h = 0;
        for (const auto& [j, p] : source.transitions[i]) {
            h -= p * std::log(p);
        }
        h_word += source.stationary[i] * h;
        // Each word is followed by one space in the character stream.
        mean_chars += source.stationary[i] * static_cast<double>(source.words[i].size() + 1);
    }
    source.entropy_rate_nats_per_word = h_word;
    source.entropy_rate_nats_per_char = h_word / mean_chars;
    return source;
}

std::string generate_markov_text(const MarkovSource& source, const config::MarkovSpec& spec) {
    if (source.words.empty() || spec.tokens <= 0) {
        return "";
    }
    // A stream separate from the one that built the source, so changing tokens keeps the chain.
    std::mt19937_64 rng(mix64(spec.seed ^ 0x6d61726b6f76ull));
    const auto total = static_cast<size_t>(spec.tokens);
    std::string text;
    text.reserve(total + 32);
    std::vector<double> weights;
    size_t word = sample_index(rng, source.stationary);
    while (true) {
        text += source.words[word];
        if (text.size() >= total) {
            break;
        }
        text += ' ';
        const auto& row = source.transitions[word];
        weights.clear();
        for (const auto& edge : row) {
            weights.push_back(edge.second);
        }
        word = static_cast<size_t>(row[sample_index(rng, weights)].first);
    }
    text.resize(total);
    return text;
}

}  // namespace lowbit::data
