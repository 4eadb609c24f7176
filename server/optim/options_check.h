// Validation shared by the optimizers' constructors and the factory. Every failure throws
// std::invalid_argument("<field>: expected <what>, received <value>"), a message the RPC layer
// returns verbatim as INVALID_ARGUMENT.
#pragma once
#include <initializer_list>
#include <string>

namespace attune::optim {

// Formats a double the way users typed it (shortest round-trip form).
std::string format_value(double value);

[[noreturn]] void throw_invalid(const std::string& field, const std::string& expected,
                                const std::string& received);

void require_in_unit_interval(const std::string& field, double value);  // [0, 1)
void require_non_negative(const std::string& field, double value);      // finite, ≥ 0
void require_positive(const std::string& field, double value);          // finite, > 0

// Constructor checks: lr ≥ 0 (schedules may reach 0), eps ≥ 0, weight_decay ≥ 0,
// each beta in [0, 1). Field names are prefixed with the optimizer's name.
void check_hyperparameters(const std::string& optimizer, double lr, double eps, double weight_decay,
                           std::initializer_list<double> betas);

}  // namespace attune::optim
