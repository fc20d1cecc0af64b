"""Pure domain: models, marketplace rules, pricing and allocation maths, validators. No I/O."""
