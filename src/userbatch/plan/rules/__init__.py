"""The Power Platform rules, each a short vectorized function over frames citing its id."""
