// builtin:markov: word list shape, a valid irreducible chain, the exact entropy rate against an
// empirical estimate from generated text, and seed determinism.
#include "lowbit/data/markov_source.h"

#include "lowbit/data/data_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace lowbit::data {
namespace {

config::MarkovSpec small_spec() {
    config::MarkovSpec spec;
    spec.words = 48;
    spec.successors = 6;
    spec.concentration = 1.0;
    spec.tokens = 1'500'000;
    spec.seed = 7;
    return spec;
}

TEST(MarkovSource, WordsAndTransitions) {
    const MarkovSource source = make_markov_source(small_spec());
    ASSERT_EQ(source.words.size(), 48u);
    EXPECT_EQ(std::set<std::string>(source.words.begin(), source.words.end()).size(), 48u);
    for (const std::string& word : source.words) {
        EXPECT_FALSE(word.empty());
        for (const char c : word) {
            EXPECT_TRUE(c >= 'a' && c <= 'z') << word;
        }
    }
    ASSERT_EQ(source.transitions.size(), 48u);
    for (size_t i = 0; i < 48; ++i) {
        const auto& row = source.transitions[i];
        EXPECT_EQ(row.size(), 6u);
        double sum = 0;
        bool has_next = false;
        for (const auto& [j, p] : row) {
            EXPECT_GT(p, 0.0);
            sum += p;
            has_next = has_next || j == static_cast<int>((i + 1) % 48);
        }
        EXPECT_NEAR(sum, 1.0, 1e-12);
        EXPECT_TRUE(has_next) << "word " << i << " must lead to word " << (i + 1) % 48;
    }
    double pi_sum = 0;
    for (const double p : source.stationary) {
        EXPECT_GT(p, 0.0);
        pi_sum += p;
    }
    EXPECT_NEAR(pi_sum, 1.0, 1e-12);
    // pi is stationary: pi P = pi.
    std::vector<double> next(48, 0.0);
    for (size_t i = 0; i < 48; ++i) {
        for (const auto& [j, p] : source.transitions[i]) {
            next[static_cast<size_t>(j)] += source.stationary[i] * p;
        }
    }
    for (size_t i = 0; i < 48; ++i) {
        EXPECT_NEAR(next[i], source.stationary[i], 1e-13);
    }
    EXPECT_GT(source.entropy_rate_nats_per_word, 0.0);
    EXPECT_LT(source.entropy_rate_nats_per_word, std::log(6.0));
}

TEST(MarkovSource, EntropyRateMatchesEmpiricalEstimate) {
    const config::MarkovSpec spec = small_spec();
    const MarkovSource source = make_markov_source(spec);
    const std::string text = generate_markov_text(source, spec);
    ASSERT_EQ(text.size(), static_cast<size_t>(spec.tokens));

    std::map<std::string, int> index;
    for (size_t i = 0; i < source.words.size(); ++i) {
        index[source.words[i]] = static_cast<int>(i);
    }
    std::vector<int> walk;
    std::istringstream in(text);
    for (std::string word; in >> word;) {
        walk.push_back(index.count(word) ? index[word] : -1);
    }
    walk.pop_back();  // the last word may be cut off by the length limit
    ASSERT_GT(walk.size(), 100'000u);
    double nll = 0;
    for (size_t t = 0; t + 1 < walk.size(); ++t) {
        ASSERT_GE(walk[t], 0);
        double p = 0;
        for (const auto& [j, q] : source.transitions[static_cast<size_t>(walk[t])]) {
            if (j == walk[t + 1]) {
                p = q;
            }
        }
        ASSERT_GT(p, 0.0) << "a transition outside the chain at word " << t;
        nll -= std::log(p);
    }
    const double per_word = nll / static_cast<double>(walk.size() - 1);
    EXPECT_NEAR(
        per_word, source.entropy_rate_nats_per_word, 0.03 * source.entropy_rate_nats_per_word);
    const double per_char = nll / static_cast<double>(text.size());
    EXPECT_NEAR(
        per_char, source.entropy_rate_nats_per_char, 0.03 * source.entropy_rate_nats_per_char);
}

TEST(MarkovSource, DeterministicPerSeed) {
    config::MarkovSpec spec = small_spec();
    spec.tokens = 10'000;
    const MarkovSource a = make_markov_source(spec);
    const MarkovSource b = make_markov_source(spec);
    EXPECT_EQ(a.words, b.words);
    EXPECT_EQ(a.transitions, b.transitions);
    EXPECT_EQ(a.entropy_rate_nats_per_char, b.entropy_rate_nats_per_char);
    EXPECT_EQ(generate_markov_text(a, spec), generate_markov_text(b, spec));

    config::MarkovSpec other = spec;
    other.seed = 8;
    const MarkovSource c = make_markov_source(other);
    EXPECT_NE(a.words, c.words);
    EXPECT_NE(generate_markov_text(a, spec), generate_markov_text(c, other));
}

TEST(MarkovSource, EdgeCases) {
    config::MarkovSpec spec = small_spec();
    spec.tokens = 0;
    EXPECT_EQ(generate_markov_text(make_markov_source(spec), spec), "");
    // Tiny concentration: rows become near-deterministic but stay irreducible.
    spec.concentration = 0.01;
    spec.tokens = 1000;
    const MarkovSource peaked = make_markov_source(spec);
    for (const double p : peaked.stationary) {
        EXPECT_GT(p, 0.0);
    }
    EXPECT_EQ(generate_markov_text(peaked, spec).size(), 1000u);
    // One successor per word still gives an aperiodic chain (word 0 also loops to itself).
    spec.successors = 1;
    spec.words = 5;
    const MarkovSource cycle = make_markov_source(spec);
    EXPECT_GT(cycle.entropy_rate_nats_per_word, 0.0);
    spec.words = 0;
    EXPECT_THROW(make_markov_source(spec), DataError);
}

}  // namespace
}  // namespace lowbit::data
