//! Deterministic random numbers shared by data sampling and initialisation.
