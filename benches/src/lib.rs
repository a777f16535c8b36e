//! Benchmark inputs shared by the criterion benches (loaded from `corpus/`).
