"""asv benchmarks (asv 0.6.6 requires this file in benchmark_dir)."""
