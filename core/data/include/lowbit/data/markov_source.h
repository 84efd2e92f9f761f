// builtin:markov: a seeded, English-like word corpus drawn from a random sparse first-order
// Markov chain over synthetic words. Words are joined by single spaces, so the character stream
// is uniquely decodable and its entropy rate is exactly H_word / E_pi[len(word) + 1], where
// H_word = sum_i pi_i H(P_i) over the chain's stationary distribution pi.
#pragma once

#include "lowbit/config/recipe.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::data {

struct MarkovSource {
    std::vector<std::string> words;
    std::vector<std::vector<std::pair<int, double>>> transitions;  // (next word, probability)
    std::vector<double> stationary;                                // pi
    double entropy_rate_nats_per_word = 0;
    double entropy_rate_nats_per_char = 0;
};

MarkovSource make_markov_source(const config::MarkovSpec& spec);
// Generates spec.tokens characters (bytes) of text from the source.
std::string generate_markov_text(const MarkovSource& source, const config::MarkovSpec& spec);

}  // namespace lowbit::data
